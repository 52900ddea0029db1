import type Database from 'better-sqlite3';
import { SchemaTooNewError, type SchemaUpgradeReporter } from '../store.ts';
import { checkpointRow } from '../tree-checkpoint-rows.ts';

/**
 * Versioned schema. Each step runs once, in order, in its own transaction; the version is
 * kept in `PRAGMA user_version`. A store written by a newer logwarden is refused.
 *
 * Entries reference tenants and log types by small integer ids (`tid`, `type_id`) so the
 * page index stays compact; `seq` is AUTOINCREMENT so it is never reused after deletions and
 * increases in commit order (SQLite admits one writer at a time), which makes it a valid
 * snapshot watermark.
 */
/**
 * The user filter's index (../user-filter.ts): per sealed segment, one posting per user key it
 * holds, located by the segment's last position (unique per tenant and type) and with how many
 * of its entries carry the key. It depends on nothing but `segments`, so it applies after any
 * other step. Segments sealed before it are listed in `segment_users_pending` and indexed when
 * a store opens (index.ts, `indexPendingSegments`).
 */
const USER_INDEX = `
  CREATE TABLE segment_users (
    tid INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    user_key INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (tid, type_id, user_key, last_time, last_seq)
  ) WITHOUT ROWID;
  CREATE TABLE segment_users_pending (id INTEGER PRIMARY KEY);
  INSERT INTO segment_users_pending (id) SELECT id FROM segments;
  `;

/**
 * Every signed checkpoint kept in the compact form of ../tree-checkpoint-rows.ts instead of
 * its whole text (about a third of the bytes), each tenant's origins numbered in
 * `tree_origins`. The kept texts are converted here, each one checked to rebuild to itself.
 */
function compactCheckpoints(db: Database.Database): void {
  db.exec(`
    CREATE TABLE tree_origins (
      oid INTEGER PRIMARY KEY,
      tid INTEGER NOT NULL,
      origin TEXT NOT NULL,
      UNIQUE (tid, origin)
    );
    INSERT INTO tree_origins (tid, origin) SELECT DISTINCT tid, origin FROM tree_checkpoints ORDER BY tid, origin;
    ALTER TABLE tree_checkpoints RENAME TO tree_checkpoints_text;
    CREATE TABLE tree_checkpoints (
      tid INTEGER NOT NULL,
      oid INTEGER NOT NULL,
      size INTEGER NOT NULL,
      root BLOB,
      sig BLOB,
      note TEXT,
      PRIMARY KEY (tid, oid, size)
    ) WITHOUT ROWID;
  `);
  const add = db.prepare<[number, number, number, Buffer | null, Buffer | null, string | null]>(
    'INSERT INTO tree_checkpoints (tid, oid, size, root, sig, note) VALUES (?, ?, ?, ?, ?, ?)',
  );
  // In chunks, by origin and size (a statement cannot write while another one reads).
  const chunk = db.prepare<[number, number, number], { size: number; note: string }>(
    'SELECT size, note FROM tree_checkpoints_text WHERE tid = ? AND origin = (SELECT origin FROM tree_origins WHERE oid = ?) AND size > ? ORDER BY size LIMIT 10000',
  );
  // About 70,000 a second: a store of millions says where it is, as the tree upgrade does.
  const total = (db.prepare('SELECT count(*) AS n FROM tree_checkpoints_text').get() as { n: number }).n;
  let done = 0;
  for (const o of db.prepare<[], { oid: number; tid: number; origin: string }>('SELECT oid, tid, origin FROM tree_origins').all()) {
    for (let after = -1; ; ) {
      const rows = chunk.all(o.tid, o.oid, after);
      if (rows.length === 0) break;
      for (const r of rows) {
        const row = checkpointRow(o.origin, r.size, r.note);
        add.run(o.tid, o.oid, r.size, row.root, row.sig, row.note);
      }
      after = rows[rows.length - 1]!.size;
      done += rows.length;
      if (total > 500_000 && done % 500_000 < rows.length) {
        process.stderr.write(`logwarden store: keeping signed checkpoints compactly: ${done}/${total}\n`);
      }
    }
  }
  db.exec('DROP TABLE tree_checkpoints_text');
}

export const MIGRATIONS: readonly (string | ((db: Database.Database) => void))[] = [
  `
  CREATE TABLE tenants (
    tid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    read_per_second INTEGER,
    read_per_day INTEGER,
    ingest_per_second INTEGER
  );
  CREATE TABLE log_types (
    type_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
  );
  CREATE TABLE access_keys (
    access_key TEXT PRIMARY KEY,
    tid INTEGER NOT NULL REFERENCES tenants(tid),
    secret_hash BLOB NOT NULL,
    scopes TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
  );
  CREATE INDEX access_keys_by_tenant ON access_keys(tid);
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tid INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    event_time INTEGER NOT NULL,
    key BLOB NOT NULL,
    body TEXT NOT NULL
  );
  CREATE UNIQUE INDEX entries_by_key ON entries(tid, key);
  CREATE INDEX entries_by_time ON entries(tid, type_id, event_time, seq);
  CREATE TABLE checkpoints (
    source TEXT NOT NULL,
    tid INTEGER NOT NULL,
    log_type TEXT NOT NULL,
    through_ms INTEGER NOT NULL,
    entries_seen INTEGER NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (source, tid, log_type)
  );
  `,
  // Idempotency keys are digests, so an index on them alone takes inserts at random places:
  // past a few million entries every insert dirties a page of its own. Led by the event time,
  // entries arriving roughly in time order land together. Equal keys imply equal event times
  // (the key digests the text, which holds the time), so the constraint dedupes exactly as before.
  //
  // entry_counts holds the number of entries per (tenant, type, hour), kept in the appending
  // transaction, so that totals over huge ranges need not scan them (see count-plan.ts).
  `
  DROP INDEX entries_by_key;
  CREATE UNIQUE INDEX entries_by_time_key ON entries(tid, event_time, key);
  CREATE TABLE entry_counts (
    tid INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    hour INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (tid, type_id, hour)
  ) WITHOUT ROWID;
  INSERT INTO entry_counts (tid, type_id, hour, n)
    SELECT tid, type_id, (event_time - ((event_time % 3600000) + 3600000) % 3600000) / 3600000, count(*)
    FROM entries GROUP BY 1, 2, 3;
  `,
  // Page blocks (a design since replaced by version 4): consecutive entries' texts stored together (in the block
  // file, block-file.ts, at `at`, `bytes` long), derived from entries and built in the
  // background; a gap is the range of a block a late entry dropped. block_file holds how much of
  // the block file is committed.
  `
  CREATE TABLE entry_blocks (
    tid INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    after_time INTEGER NOT NULL,
    after_seq INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    max_seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    marks BLOB NOT NULL,
    at INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX entry_blocks_by_last ON entry_blocks(tid, type_id, last_time, last_seq);
  CREATE TABLE entry_block_gaps (
    tid INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    after_time INTEGER NOT NULL,
    after_seq INTEGER NOT NULL,
    until_time INTEGER NOT NULL,
    until_seq INTEGER NOT NULL,
    PRIMARY KEY (tid, type_id, after_time, after_seq)
  ) WITHOUT ROWID;
  CREATE TABLE block_file (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL
  );
  INSERT INTO block_file (id, size) VALUES (1, 0);
  `,
  // Entries sealed into compressed segments (sealer.ts, ../segment-codec.ts); page blocks and
  // their file go (openSqliteStore deletes page-blocks.dat once this has committed).
  //
  // `entries` keeps only the hot rows, those not yet sealed, with when they were stored
  // (`stored_at`, ms); rows already there count as stored long ago, so the sealer converts them
  // in the background while every read merges both places. Its `key` column is left unused
  // (dropping it would rewrite the whole table in one transaction): idempotency keys live in
  // `entry_keys`, for hot and sealed entries alike, the first 16 bytes of the SHA-256 digest
  // with tenant and event time. `segments` ids are never reused; a segment's range of
  // positions never overlaps another's of the same tenant and type.
  `
  CREATE TABLE entry_keys (
    tid INTEGER NOT NULL,
    event_time INTEGER NOT NULL,
    key BLOB NOT NULL,
    PRIMARY KEY (tid, event_time, key)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO entry_keys (tid, event_time, key)
    SELECT tid, event_time, substr(key, 1, 16) FROM entries ORDER BY tid, event_time, substr(key, 1, 16);
  DROP INDEX entries_by_time_key;
  ALTER TABLE entries ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    tid INTEGER NOT NULL,
    type_id INTEGER NOT NULL,
    first_time INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    max_seq INTEGER NOT NULL,
    data BLOB NOT NULL
  );
  CREATE UNIQUE INDEX segments_by_last ON segments(tid, type_id, last_time, last_seq);
  DROP TABLE entry_blocks;
  DROP TABLE entry_block_gaps;
  DROP TABLE block_file;
  `,
  // The verifiable log (tree.ts): each tenant's Merkle tree as packed leaf records per level 0
  // tile, hashes from level 8 up, signed checkpoints (by origin: a new origin prefix starts a
  // new series of checkpoints over the same tree), and the map from sequences to leaves.
  // Trees of the entries already stored are built after this step, by tree-backfill.ts, in
  // sequence order (the append order), resumably: `tree_backfill` holds the last sequence
  // stored before the upgrade, and goes once every tree is built.
  `
  CREATE TABLE tree_heads (
    tid INTEGER PRIMARY KEY,
    size INTEGER NOT NULL,
    partial BLOB NOT NULL
  );
  CREATE TABLE tree_tiles (
    tid INTEGER NOT NULL,
    tile INTEGER NOT NULL,
    records BLOB NOT NULL,
    PRIMARY KEY (tid, tile)
  );
  CREATE TABLE tree_high (
    tid INTEGER NOT NULL,
    level INTEGER NOT NULL,
    n INTEGER NOT NULL,
    hash BLOB NOT NULL,
    PRIMARY KEY (tid, level, n)
  ) WITHOUT ROWID;
  CREATE TABLE tree_checkpoints (
    tid INTEGER NOT NULL,
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    note TEXT NOT NULL,
    PRIMARY KEY (tid, origin, size)
  ) WITHOUT ROWID;
  CREATE TABLE tree_runs (
    tid INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    first_leaf INTEGER NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (tid, first_seq)
  ) WITHOUT ROWID;
  CREATE TABLE tree_backfill (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through_seq INTEGER NOT NULL
  );
  INSERT INTO tree_backfill (id, through_seq)
    SELECT 1, coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'entries'), 0);
  `,
  USER_INDEX,
  // Retention (issue 12): per tenant, its default (`log_type` '') and per log type, days kept
  // (NULL: forever); legal holds, never deleted (released ones keep who and why); the text of
  // every deletion receipt leaf by its leaf index (its leaf record in the tree holds its leaf
  // hash, ../tree-leaf-records.ts); and the lease that lets one process purge at a time.
  `
  CREATE TABLE retention (
    tid INTEGER NOT NULL,
    log_type TEXT NOT NULL,
    days INTEGER,
    PRIMARY KEY (tid, log_type)
  ) WITHOUT ROWID;
  CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    tid INTEGER NOT NULL REFERENCES tenants(tid),
    log_type TEXT,
    from_ms INTEGER,
    to_ms INTEGER,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    released_at TEXT,
    released_by TEXT,
    release_reason TEXT
  );
  CREATE INDEX holds_by_tenant ON holds(tid, created_at);
  CREATE TABLE tree_receipts (
    tid INTEGER NOT NULL,
    leaf INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (tid, leaf)
  ) WITHOUT ROWID;
  CREATE TABLE purge_lease (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    holder TEXT NOT NULL,
    until_ms INTEGER NOT NULL
  );
  INSERT INTO purge_lease (id, holder, until_ms) VALUES (1, '', 0);
  `,
  // A purge step's admin-trail entry is recorded in a transaction after its receipt's: a receipt
  // not yet "trailed" is one whose entry a process that ended meanwhile never wrote, found by
  // the partial index and written by the next purge (admin/purge-trail.ts). Receipts from before
  // this step count as trailed.
  `
  ALTER TABLE tree_receipts ADD COLUMN trailed INTEGER NOT NULL DEFAULT 1;
  CREATE INDEX tree_receipts_untrailed ON tree_receipts (tid, leaf) WHERE trailed = 0;
  `,
  compactCheckpoints,
  // When each access key was last used (ISO text, as created_at): written by the servers about
  // once a minute (server/key-use.ts); null for keys not used since this step.
  'ALTER TABLE access_keys ADD COLUMN last_used_at TEXT;',
  // Keys that existed before uses were recorded: their uses before are unknown, so a key with
  // no use recorded yet reads "unknown" rather than "never". A store upgraded to the previous
  // version some time ago cannot tell which of its unused keys came after that upgrade: each
  // of them counts as unknown too (never falsely "never"). ISO text with milliseconds, as created_at.
  `
  ALTER TABLE access_keys ADD COLUMN uses_recorded_since TEXT;
  UPDATE access_keys SET uses_recorded_since = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE last_used_at IS NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs step `v` (0-based: the one that makes version v + 1), without setting the version. */
export function applyMigration(db: Database.Database, v: number): void {
  const step = MIGRATIONS[v];
  if (step === undefined) throw new Error(`no schema step ${v}`);
  if (typeof step === 'string') db.exec(step);
  else step(db);
}

/** Brings the schema to SCHEMA_VERSION; tells `onUpgrade` when it upgraded a store made before. */
export function migrate(db: Database.Database, onUpgrade: SchemaUpgradeReporter): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) throw new SchemaTooNewError(current, SCHEMA_VERSION);
  let upgraded = false;
  for (let v = current; v < SCHEMA_VERSION; v++) {
    db.transaction(() => {
      // Another process may have migrated meanwhile: re-check inside the write transaction.
      const now = db.pragma('user_version', { simple: true }) as number;
      if (now > v) return;
      applyMigration(db, v);
      db.pragma(`user_version = ${v + 1}`);
      upgraded = true;
    }).immediate();
  }
  if (upgraded && current > 0) onUpgrade({ from: current, to: SCHEMA_VERSION });
}
