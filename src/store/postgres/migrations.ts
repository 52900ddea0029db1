import type pg from 'pg';
import { SchemaTooNewError, type SchemaUpgradeReporter } from '../store.ts';
import { lockExclusively } from './table-locks.ts';

/**
 * Versioned schema. All pending steps run in one transaction under an advisory lock, so two
 * processes starting at once migrate once; the version is the single row of `schema_version`.
 * A database written by a newer logwarden is refused.
 *
 * Layout, for scale:
 * - Entries reference tenants and log types by small integer ids (`tid`, `type_id`), as in the
 *   SQLite store, so the page index stays compact (tenant ids are up to 20 digits, beyond int8).
 * - `entries` is range-partitioned by event time (ms since the epoch). Monthly partitions are
 *   attached as data arrives (`attachMonth` below); the DEFAULT partition takes whatever has no
 *   partition, so no write ever fails for lack of one.
 * - The primary key (tid, type_id, event_time, seq) is the page order: a page is one keyset
 *   range scan per partition in range.
 * - Idempotency is `entry_keys` (tid, event_time, key): the key is the first 64 bits of the
 *   entry's digest, which with the tenant and the millisecond is collision-safe in practice.
 *   A unique constraint on a partitioned table must contain the partition key; event_time
 *   changes nothing, because the digest covers the entry's text, which holds its event time.
 * - Hot rows (`entries`) and sealed ones (`segments`) never overlap: the sealer moves rows in
 *   one transaction, so any one statement sees each entry exactly once.
 * - `seq` is allocated per tenant from `entry_seqs` inside the appending transaction. Updating
 *   that row locks it until commit, so one tenant's batches commit in seq order, and the row's
 *   committed value is an exact snapshot watermark (see index.ts).
 * - Every primary key and unique index of a per-tenant table leads with `tid`, so `entries`,
 *   `entry_keys`, `segments`, `entry_seqs` and `checkpoints` can be distributed by tenant; `tenants`, `log_types`,
 *   `access_keys`, `secrets` and `schema_version` are small and would be reference tables.
 */
/**
 * The user filter's index (../user-filter.ts, user-index.ts): per sealed segment, one posting
 * per user key it holds, located by the segment's last position and with how many of its
 * entries carry the key. It depends on nothing but `segments`, so it applies after any other
 * step. Segments sealed before it are listed in `segment_users_pending` and indexed when a
 * store opens.
 */
const USER_INDEX = `
  CREATE TABLE segment_users (
    tid integer NOT NULL,
    type_id integer NOT NULL,
    user_key bigint NOT NULL,
    last_time bigint NOT NULL,
    last_seq bigint NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (tid, type_id, user_key, last_time, last_seq)
  );
  CREATE TABLE segment_users_pending (id bigint PRIMARY KEY);
  INSERT INTO segment_users_pending (id) SELECT id FROM segments;
  `;

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    tid integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id text NOT NULL UNIQUE,
    name text NOT NULL,
    created_at timestamptz NOT NULL,
    read_per_second integer,
    read_per_day integer,
    ingest_per_second integer
  );
  CREATE TABLE entry_seqs (
    tid integer PRIMARY KEY REFERENCES tenants (tid),
    last_seq bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE log_types (
    type_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE
  );
  CREATE TABLE access_keys (
    access_key text PRIMARY KEY,
    tid integer NOT NULL REFERENCES tenants (tid),
    secret_hash bytea NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
  );
  CREATE INDEX access_keys_by_tenant ON access_keys (tid);
  CREATE TABLE secrets (
    name text PRIMARY KEY,
    value text NOT NULL
  );
  CREATE TABLE entries (
    event_time bigint NOT NULL,
    seq bigint NOT NULL,
    tid integer NOT NULL,
    type_id integer NOT NULL,
    key bytea NOT NULL,
    body text NOT NULL,
    PRIMARY KEY (tid, type_id, event_time, seq),
    UNIQUE (tid, key, event_time)
  ) PARTITION BY RANGE (event_time);
  CREATE TABLE entries_default PARTITION OF entries DEFAULT;
  CREATE TABLE checkpoints (
    tid integer NOT NULL REFERENCES tenants (tid),
    source text NOT NULL,
    log_type text NOT NULL,
    through_ms bigint NOT NULL,
    entries_seen bigint NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (tid, source, log_type)
  );
  `,
  // The number of entries per (tenant, type, hour), so that totals over huge ranges need not
  // scan them (count-plan.ts). A statement trigger keeps it, in the inserting transaction, from
  // the rows actually inserted (duplicates skipped by ON CONFLICT are not among them), whatever
  // inserts them. Hours are floor(event_time / 3600000), before 1970 too.
  `
  CREATE TABLE entry_counts (
    tid integer NOT NULL,
    type_id integer NOT NULL,
    hour bigint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (tid, type_id, hour)
  );
  CREATE FUNCTION lw_count_entries() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO entry_counts (tid, type_id, hour, n)
      SELECT tid, type_id, (event_time - ((event_time % 3600000) + 3600000) % 3600000) / 3600000, count(*)
      FROM inserted GROUP BY 1, 2, 3
      ON CONFLICT (tid, type_id, hour) DO UPDATE SET n = entry_counts.n + excluded.n;
    RETURN NULL;
  END $$;
  CREATE TRIGGER entries_counted AFTER INSERT ON entries
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION lw_count_entries();
  LOCK TABLE entries IN SHARE MODE;
  INSERT INTO entry_counts (tid, type_id, hour, n)
    SELECT tid, type_id, (event_time - ((event_time % 3600000) + 3600000) % 3600000) / 3600000, count(*)
    FROM entries GROUP BY 1, 2, 3;
  `,
  // Segments (issue 10): each entry's wire text is kept once. New entries are written to
  // `entries` (hot rows, uncompressed); the sealer (sealer.ts) moves old-enough hot rows into
  // immutable compressed `segments` of one tenant and type, cut at month boundaries so that
  // each segment lives in one monthly partition (retention can drop whole partitions).
  // Idempotency moves to `entry_keys`, one narrow row per entry, hot or sealed, so sealing never
  // touches it. Existing hot rows keep their place and `added_at` 0: the sealer converts them
  // in the background, oldest first.
  `
  CREATE TABLE entry_keys (
    tid integer NOT NULL,
    event_time bigint NOT NULL,
    key bigint NOT NULL,
    PRIMARY KEY (tid, event_time, key)
  ) PARTITION BY RANGE (event_time);
  CREATE TABLE entry_keys_default PARTITION OF entry_keys DEFAULT;
  CREATE SEQUENCE segment_ids;
  CREATE TABLE segments (
    id bigint NOT NULL DEFAULT nextval('segment_ids'),
    tid integer NOT NULL,
    type_id integer NOT NULL,
    first_time bigint NOT NULL,
    first_seq bigint NOT NULL,
    last_time bigint NOT NULL,
    last_seq bigint NOT NULL,
    n integer NOT NULL,
    data bytea NOT NULL
  ) PARTITION BY RANGE (first_time);
  ALTER TABLE segments ALTER COLUMN data SET STORAGE EXTERNAL;
  CREATE INDEX segments_by_end ON segments (tid, type_id, last_time, last_seq);
  CREATE TABLE segments_default PARTITION OF segments DEFAULT;
  DO $$
  DECLARE r record;
  BEGIN
    FOR r IN
      SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'entries'::regclass AND c.relname <> 'entries_default'
    LOOP
      EXECUTE format('CREATE TABLE %I PARTITION OF entry_keys %s', 'entry_keys_' || substr(r.name, 9), r.bound);
      EXECUTE format('CREATE TABLE %I PARTITION OF segments %s', 'segments_' || substr(r.name, 9), r.bound);
    END LOOP;
  END $$;
  LOCK TABLE entries IN SHARE MODE;
  INSERT INTO entry_keys (tid, event_time, key)
    SELECT tid, event_time, ('x' || encode(substring(key FROM 1 FOR 8), 'hex'))::bit(64)::bigint FROM entries;
  ALTER TABLE entries DROP CONSTRAINT entries_tid_key_event_time_key;
  ALTER TABLE entries DROP COLUMN key;
  ALTER TABLE entries ADD COLUMN added_at bigint NOT NULL DEFAULT 0;
  -- How the sealer finds rows old enough. BRIN: rows arrive in added_at order, and a B-tree
  -- here cost an eighth of the ingest rate.
  CREATE INDEX entries_by_age ON entries USING brin (added_at) WITH (autosummarize = on);
  -- The appending statement adds to the hourly tallies itself (it knows which entries were new):
  -- the trigger's transition table held every inserted row, texts included.
  DROP TRIGGER entries_counted ON entries;
  DROP FUNCTION lw_count_entries();
  `,
  // The verifiable log (tree.ts): each tenant's Merkle tree as packed leaf records per level 0
  // tile, hashes from level 8 up, every signed checkpoint (by origin), the map from sequences
  // to leaves, and the tree's tip in the tenant's entry_seqs row, which appends lock. Records
  // and hashes are random bytes: stored uncompressed (EXTERNAL), compression would not pay.
  // Trees of the entries already stored are built after this step by tree-backfill.ts, in
  // sequence order (the append order), resumably: `tree_backfill` holds each tenant's last
  // sequence before the upgrade, and a tenant's row goes once its tree is built.
  `
  ALTER TABLE entry_seqs
    ADD COLUMN tree_size bigint NOT NULL DEFAULT 0,
    ADD COLUMN tree_partial bytea NOT NULL DEFAULT '',
    ADD COLUMN tree_peaks bytea NOT NULL DEFAULT '',
    ADD COLUMN tree_note text;
  ALTER TABLE entry_seqs ALTER COLUMN tree_partial SET STORAGE EXTERNAL;
  CREATE TABLE tree_tiles (
    tid integer NOT NULL,
    tile bigint NOT NULL,
    records bytea NOT NULL,
    PRIMARY KEY (tid, tile)
  );
  ALTER TABLE tree_tiles ALTER COLUMN records SET STORAGE EXTERNAL;
  CREATE TABLE tree_high (
    tid integer NOT NULL,
    level smallint NOT NULL,
    n bigint NOT NULL,
    hash bytea NOT NULL,
    PRIMARY KEY (tid, level, n)
  );
  CREATE TABLE tree_checkpoints (
    tid integer NOT NULL,
    origin text NOT NULL,
    size bigint NOT NULL,
    note text NOT NULL,
    PRIMARY KEY (tid, origin, size)
  );
  CREATE TABLE tree_runs (
    tid integer NOT NULL,
    first_seq bigint NOT NULL,
    first_leaf bigint NOT NULL,
    n bigint NOT NULL,
    PRIMARY KEY (tid, first_seq)
  );
  CREATE TABLE tree_backfill (
    tid integer PRIMARY KEY,
    through_seq bigint NOT NULL
  );
  INSERT INTO tree_backfill (tid, through_seq) SELECT tid, last_seq FROM entry_seqs WHERE last_seq > 0;
  `,
  USER_INDEX,
  // Retention (issue 12): per tenant, its default (`log_type` '') and per log type, days kept
  // (NULL: forever); legal holds, never deleted (released ones keep who and why); the text of
  // every deletion receipt leaf by its leaf index (its leaf record in the tree holds its leaf
  // hash, ../tree-leaf-records.ts); and the lease that lets one process (of all the servers
  // sharing the database) purge at a time, timed by the database's clock.
  `
  CREATE TABLE retention (
    tid integer NOT NULL,
    log_type text NOT NULL,
    days integer,
    PRIMARY KEY (tid, log_type)
  );
  CREATE TABLE holds (
    id text PRIMARY KEY,
    tid integer NOT NULL REFERENCES tenants(tid),
    log_type text,
    from_ms bigint,
    to_ms bigint,
    reason text NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text NOT NULL,
    released_at timestamptz,
    released_by text,
    release_reason text
  );
  CREATE INDEX holds_by_tenant ON holds(tid, created_at);
  CREATE TABLE tree_receipts (
    tid integer NOT NULL,
    leaf bigint NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (tid, leaf)
  );
  CREATE TABLE purge_lease (
    id integer PRIMARY KEY CHECK (id = 1),
    holder text NOT NULL,
    until timestamptz NOT NULL
  );
  INSERT INTO purge_lease (id, holder, until) VALUES (1, '', '-infinity');
  `,
  // Idempotency of sealed entries (issue 10): a segment carries the keys of its entries (event
  // time and key, in entry order), so `entry_keys` keeps only those of hot rows: the sealer
  // deletes a row's key as it seals the row, in the same transaction. Segments sealed before
  // this step have none (NULL) and their entries' keys stay in `entry_keys` until the sealer
  // converts them in the background (sealed-keys.ts), the partial index finding them.
  `
  ALTER TABLE segments ADD COLUMN key_times int8[], ADD COLUMN keys int8[];
  CREATE INDEX segments_keyless ON segments (id) WHERE keys IS NULL;
  `,
  // A purge step's admin-trail entry is recorded in a transaction after its receipt's: a receipt
  // not yet "trailed" is one whose entry a process that ended meanwhile never wrote, found by
  // the partial index and written by the next purge (admin/purge-trail.ts). Receipts from before
  // this step count as trailed.
  `
  ALTER TABLE tree_receipts ADD COLUMN trailed boolean NOT NULL DEFAULT true;
  CREATE INDEX tree_receipts_untrailed ON tree_receipts (tid, leaf) WHERE NOT trailed;
  `,
  // Every signed checkpoint kept in the compact form of ../tree-checkpoint-rows.ts instead of
  // its whole text, each tenant's origins numbered in `tree_origins`. A kept text becomes its
  // root and signature only when they rebuild it exactly (the base64 fields checked before
  // they are decoded); any other is kept whole.
  `
  CREATE TABLE tree_origins (
    oid integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tid integer NOT NULL,
    origin text NOT NULL,
    UNIQUE (tid, origin)
  );
  INSERT INTO tree_origins (tid, origin) SELECT DISTINCT tid, origin FROM tree_checkpoints ORDER BY tid, origin;
  ALTER TABLE tree_checkpoints RENAME TO tree_checkpoints_text;
  ALTER INDEX tree_checkpoints_pkey RENAME TO tree_checkpoints_text_pkey;
  CREATE TABLE tree_checkpoints (
    tid integer NOT NULL,
    oid integer NOT NULL,
    size bigint NOT NULL,
    root bytea,
    sig bytea,
    note text,
    PRIMARY KEY (tid, oid, size)
  );
  INSERT INTO tree_checkpoints (tid, oid, size, root, sig, note)
  SELECT tid, oid, size,
    CASE WHEN compact THEN root END, CASE WHEN compact THEN sig END, CASE WHEN NOT compact THEN note END
  FROM (
    SELECT *, coalesce(note = origin || E'\n' || size || E'\n' || translate(encode(root, 'base64'), E'\n', '') || E'\n\n'
        || '\u2014 ' || origin || ' ' || translate(encode(sig, 'base64'), E'\n', '') || E'\n', false) AS compact
    FROM (
      SELECT c.tid, o.oid, o.origin, c.size, c.note,
        CASE WHEN l[3] ~ '^[A-Za-z0-9+/]{43}=$' THEN decode(l[3], 'base64') END AS root,
        CASE WHEN left(l[5], length(o.origin) + 3) = '\u2014 ' || o.origin || ' ' AND substr(l[5], length(o.origin) + 4) ~ '^[A-Za-z0-9+/]{91}=$'
          THEN decode(substr(l[5], length(o.origin) + 4), 'base64') END AS sig
      FROM tree_checkpoints_text c JOIN tree_origins o ON o.tid = c.tid AND o.origin = c.origin,
        string_to_array(c.note, E'\n') AS l
    ) parts
  ) checked;
  DROP TABLE tree_checkpoints_text;
  `,
  // When each access key was last used: written by the servers about once a minute
  // (server/key-use.ts); null for keys not used since this step.
  'ALTER TABLE access_keys ADD COLUMN last_used_at timestamptz;',
  // Keys that existed before uses were recorded: their uses before are unknown, so a key with
  // no use recorded yet reads "unknown" rather than "never". A store upgraded to the previous
  // version some time ago cannot tell which of its unused keys came after that upgrade: each
  // of them counts as unknown too (never falsely "never").
  `
  ALTER TABLE access_keys ADD COLUMN uses_recorded_since timestamptz;
  UPDATE access_keys SET uses_recorded_since = now() WHERE last_used_at IS NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Advisory lock keys (two-int form, first int = this namespace) so they never collide with others'. */
export const LOCK_NAMESPACE = 0x4c57; // "LW"
export const MIGRATION_LOCK = 1;
export const PARTITION_LOCK = 2;
/** Held (by a transaction left open) while trees of entries stored before the upgrade are built (tree-backfill.ts). */
export const TREE_BACKFILL_LOCK = 3;
/** Held (session level) by the one process rebuilding emptied hot partitions' indexes (hot-reclaim.ts). */
export const RECLAIM_LOCK = 4;
/** Namespace of the sealer's per-(tenant, type) locks (see sealer.ts). */
export const SEAL_LOCK_NAMESPACE = 0x4c58; // "LX"

/** Brings the schema to SCHEMA_VERSION; tells `onUpgrade` when it upgraded a database made before. */
export async function migrate(client: pg.PoolClient, onUpgrade: SchemaUpgradeReporter): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)');
    const r = await client.query<{ version: number }>('SELECT version FROM schema_version');
    const current = r.rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current, SCHEMA_VERSION);
    for (let v = current; v < SCHEMA_VERSION; v++) await client.query(MIGRATIONS[v]!);
    if (r.rowCount === 0) await client.query('INSERT INTO schema_version (version) VALUES ($1)', [SCHEMA_VERSION]);
    else if (current < SCHEMA_VERSION) await client.query('UPDATE schema_version SET version = $1', [SCHEMA_VERSION]);
    await client.query('COMMIT');
    if (current > 0 && current < SCHEMA_VERSION) onUpgrade({ from: current, to: SCHEMA_VERSION });
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {}); // the original error says more
    throw err;
  }
}

/** Months after the current one that get their own partition; later (and pre-1970) times go to DEFAULT. */
export const FUTURE_MONTHS = 12;

/** Months since 1970-01 (UTC) of an event time. */
export function monthOf(ms: number): number {
  const d = new Date(ms);
  return (d.getUTCFullYear() - 1970) * 12 + d.getUTCMonth();
}

/** The partition table of a month (a number from `monthOf`). */
/** A month (from `monthOf`) as people write it: `2025-01`. */
export function monthLabel(month: number): string {
  return new Date(Date.UTC(1970, month, 1)).toISOString().slice(0, 7);
}

export function partitionOf(month: number): string {
  const [year, mm] = monthLabel(month).split('-');
  return `entries_y${year}m${mm}`;
}

/** The tables partitioned by month, in the order their DEFAULT partitions are locked. */
export const PARTITIONED = ['entries', 'entry_keys', 'segments'] as const;

/** The partition of `table` for a month (a number from `monthOf`). */
export function monthTable(table: (typeof PARTITIONED)[number], month: number): string {
  return partitionOf(month).replace(/^entries_/, `${table}_`);
}

/** The first ms of the month `ms` falls in, `months` later (setUTCFullYear: Date.UTC reads years 0-99 as 1900-1999). */
function monthStartAfter(ms: number, months: number): number {
  const d = new Date(ms);
  const start = new Date(0);
  start.setUTCFullYear(d.getUTCFullYear(), d.getUTCMonth() + months, 1);
  return start.getTime();
}

/** The first ms of the month `ms` falls in. */
export function monthStart(ms: number): number {
  return monthStartAfter(ms, 0);
}

/** The first ms of the month after the one `ms` falls in. */
export function nextMonthStart(ms: number): number {
  return monthStartAfter(ms, 1);
}

/**
 * Begins a read-only REPEATABLE READ transaction (one snapshot for all its statements) over the
 * partitioned tables: their parents are locked, in the mode any read of them takes, before the
 * first statement takes the snapshot, and held to its end. A month attached (its rows moved out
 * of DEFAULT) or dropped after the snapshot would otherwise be planned over by a later statement
 * as it is then and read in the older snapshot: the moved rows in neither place it reads
 * (attachMonth). With the lock the attach or drop waits for the transaction, or the transaction
 * for it.
 */
export const BEGIN_SNAPSHOT = `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
  LOCK TABLE ${PARTITIONED.map((t) => `ONLY ${t}`).join(', ')} IN ACCESS SHARE MODE`;

/**
 * Gives a month its partitions (entries, entry_keys, segments) unless it has them, in a short
 * transaction of its own. Each table is created apart and then attached. Any rows of the month
 * that DEFAULT holds (written while the month had no partition) move into the new ones, since
 * PostgreSQL refuses to attach a range that DEFAULT still has rows for; segments move whole, id
 * and bytes unchanged.
 *
 * The three parents are locked meanwhile (ONLY: not their other months' partitions), with the
 * DEFAULT partitions, all or none at a time (table-locks.ts: never waiting for one while holding
 * another). Attaching alone takes a weaker lock on a parent, which lets a statement through it be
 * planned while the attach runs: planned over the months as they were (DEFAULT without the new
 * month's partition), it waits for DEFAULT and then reads it in a snapshot taken after the
 * commit, so the rows moved out of DEFAULT were in neither place it read, and a total or a page
 * went without them. Locked out of the parent, a statement waits before it is planned, and is
 * planned over the new partitions. Statements that read partitions by name (page-reader.ts)
 * read only months already attached, never DEFAULT, and carry on. A repeatable-read transaction
 * takes its snapshot once: those that read through the parents lock them before their first
 * statement (BEGIN_SNAPSHOT), so an attach waits for them to end.
 */
export async function attachMonth(client: pg.PoolClient, month: number, lockTimeoutMs: number): Promise<void> {
  const from = Date.UTC(1970, month, 1);
  const to = Date.UTC(1970, month + 1, 1);
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`);
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, PARTITION_LOCK]);
    const exists = await client.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [partitionOf(month)]);
    if (!exists.rows[0]!.e) {
      // DEFAULT waited for first, as a month's writes routed there hold it; the parents, which
      // every statement through them holds for a moment, taken when all are free at once.
      await lockExclusively(client, [...PARTITIONED.map((t) => `${t}_default`), ...PARTITIONED.map((t) => `ONLY ${t}`)], {
        waitForFirst: true,
        deadlineMs: Date.now() + lockTimeoutMs,
      });
      for (const table of PARTITIONED) {
        const name = monthTable(table, month);
        const key = table === 'segments' ? 'first_time' : 'event_time';
        await client.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)`);
        await client.query(
          `WITH moved AS (DELETE FROM ${table}_default WHERE ${key} >= ${from} AND ${key} < ${to} RETURNING *)
           INSERT INTO ${name} SELECT * FROM moved`,
        );
        await client.query(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`);
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {}); // the original error says more
    throw err;
  }
}

/** The months (from `monthOf`) that have their own partitions, ascending. */
export async function attachedMonths(client: pg.PoolClient | pg.Pool): Promise<number[]> {
  const r = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'entries'::regclass AND c.relname ~ '^entries_y[0-9]{4}m[0-9]{2}$'`,
  );
  return r.rows
    .map((row) => {
      const m = /^entries_y(\d{4})m(\d{2})$/.exec(row.name)!;
      return (Number(m[1]) - 1970) * 12 + Number(m[2]) - 1;
    })
    .sort((a, b) => a - b);
}

/**
 * Drops a month's partitions (entries, entry_keys, segments) when all three are empty, in a
 * short transaction of its own: what retention does once it has deleted every tenant's entries
 * of that month, so that their space goes back at once rather than through vacuum. Dropping a
 * partition locks its parent: `lockTimeoutMs` bounds how long reads and writes may queue
 * behind it (on a timeout nothing is dropped, and the next purge tries again); the three
 * parents are locked all or none at a time (table-locks.ts). Returns whether
 * the month was dropped. A process that still believes the month attached writes its rows to
 * DEFAULT, whence attaching the month again moves them.
 */
export async function dropEmptyMonth(client: pg.PoolClient, month: number, lockTimeoutMs: number): Promise<boolean> {
  const empty = async (): Promise<boolean> => {
    for (const table of PARTITIONED) if ((await client.query(`SELECT 1 FROM ${monthTable(table, month)} LIMIT 1`)).rowCount !== 0) return false;
    return true;
  };
  // Without locks first: a month still holding entries costs no one a wait.
  if (!(await empty())) return false;
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = ${Math.trunc(lockTimeoutMs)}`);
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, PARTITION_LOCK]);
    const exists = await client.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [partitionOf(month)]);
    if (!exists.rows[0]!.e) {
      await client.query('ROLLBACK');
      return false;
    }
    await lockExclusively(client, PARTITIONED, { waitForFirst: true, deadlineMs: Date.now() + lockTimeoutMs });
    if (!(await empty())) {
      await client.query('ROLLBACK');
      return false;
    }
    for (const table of PARTITIONED) await client.query(`DROP TABLE ${monthTable(table, month)}`);
    await client.query('COMMIT');
    return true;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
