/**
 * The server store: PostgreSQL through a `pg` pool, for data beyond one file and for several
 * server processes sharing one store. Schema and its rationale: migrations.ts.
 *
 * Snapshot paging: PostgreSQL hands out sequence values in call order, not commit order, so a
 * watermark taken from a sequence would let a batch that took lower values but committed later
 * slip into a running query. Here `seq` comes from the tenant's `entry_seqs` row, updated in the
 * appending transaction: the row stays locked until commit, so one tenant's batches commit in
 * seq order, and the row's value as seen by a query's snapshot bounds exactly the entries that
 * snapshot sees. A tenant's appends are serialised; different tenants' run in parallel.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type pg from 'pg';
import type { NewEntry } from '../../logs/entry.ts';
import { ADMIN_LOG_TYPE } from '../../logs/log-types.ts';
import { type Hash, leafHash } from '../../tlog/hash.ts';
import { BUCKET_MS, BucketTally, overlappingBuckets } from '../count-plan.ts';
import { LogWitness } from '../log-witness.ts';
import { EMPTY_PAGE } from '../page.ts';
import { emptyReceipt, purgeLimit } from '../purge-step.ts';
import type { SegmentOwner } from '../segment-codec.ts';
import type {
  AccessKeyRecord,
  AccessKeyWatcher,
  AppendResult,
  Checkpoint,
  EntryQuery,
  FirstPage,
  HourTally,
  KeyUse,
  LegalHold,
  NewAccessKey,
  NewLegalHold,
  PartitionOutcome,
  Position,
  PurgeReceipt,
  RetentionDays,
  RetentionSettings,
  Scope,
  StepCutoffOf,
  Store,
  StoredPage,
  Tenant,
  TenantLimits,
  TenantLog,
  TrailOf,
} from '../store.ts';
import {
  type BackgroundErrorReporter,
  backgroundProblem,
  reportSchemaUpgrade,
  reportToStderr,
  type SchemaUpgradeReporter,
  StoreInconsistencyError,
  UnknownTenantError,
} from '../store.ts';
import type { ImportProgress, StoreExport } from '../store-transfer.ts';
import { LogKeys, PREFIX_KEY_RECORD } from '../tree-keys.ts';
import { type LeafRecord, leafRecordOf, leafText } from '../tree-leaf-records.ts';
import { reportTreeProgress, type TreeOptions } from '../tree-upgrade.ts';
import { copyEntries, copyKeys } from './entry-copy.ts';
import { KeyWatch, notifyKeyChange } from './key-watch.ts';
import { attachedMonths, attachMonth, dropEmptyMonth, FUTURE_MONTHS, migrate, monthLabel, monthOf, monthTable } from './migrations.ts';
import { type CutoffOf, dropExpiredMonth } from './month-drop.ts';
import { PageReader } from './page-reader.ts';
import { backendPids, CONNECT_TIMEOUT_MS, endPool, isUnanswered, newPool, STATEMENT_TIMEOUT_MS, settlesBy } from './pool.ts';
import { checkPoolMode, type PoolMode, statementPoolingError } from './pool-mode.ts';
import { purgeStep } from './purge.ts';
import { retryingDeadlocks } from './read-retry.ts';
import * as retention from './retention.ts';
import { KnownNumbers } from './same-database.ts';
import { deleteKeyRows, sealedDuplicates } from './sealed-keys.ts';
import { Sealer } from './sealer.ts';
import { SegmentCache } from './segment-cache.ts';
import { exportPostgresStore } from './store-export.ts';
import { importIntoPostgres } from './store-import.ts';
import { readTotals } from './totals.ts';
import { PostgresTree, type TreeHeadRow, treeHeadSet, treeHeadValues, treeWriteCtes, treeWriteValues } from './tree.ts';
import { backfillTrees } from './tree-backfill.ts';
import { indexPendingSegments, userFirstPage, userNextPage, userTallies } from './user-index.ts';

/** Entries per step of an append (one key INSERT, one COPY), and the text size at which a chunk is cut short. */
const CHUNK_ROWS = 10_000;
const CHUNK_CHARS = 16 * 1024 * 1024;
/** How long attaching a partition may wait for locks before the rows go to DEFAULT instead. */
const PARTITION_LOCK_TIMEOUT_MS = 5000;
const PARTITION_RETRY_MS = 30_000;
/** How long dropping an emptied month's partitions may make reads and writes queue behind it. */
const PARTITION_DROP_LOCK_TIMEOUT_MS = 200;

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
  read_per_second: number | null;
  read_per_day: number | null;
  ingest_per_second: number | null;
}

interface KeyRow {
  access_key: string;
  tenant_id: string;
  secret_hash: Buffer;
  scopes: string[];
  created_at: Date;
  revoked_at: Date | null;
  last_used_at: Date | null;
  uses_recorded_since: Date | null;
}

function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at.toISOString(),
    limits: { readPerSecond: r.read_per_second, readPerDay: r.read_per_day, ingestPerSecond: r.ingest_per_second },
  };
}

function toKey(r: KeyRow): AccessKeyRecord {
  return {
    accessKey: r.access_key,
    tenantId: r.tenant_id,
    secretHash: r.secret_hash,
    scopes: r.scopes as Scope[],
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at && r.revoked_at.toISOString(),
    lastUsedAt: r.last_used_at && r.last_used_at.toISOString(),
    usesRecordedSince: r.uses_recorded_since && r.uses_recorded_since.toISOString(),
  };
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

async function tenantsIn(db: Queryable): Promise<Tenant[]> {
  const r = await db.query<TenantRow>(`SELECT ${SQL.tenantColumns} FROM tenants ORDER BY tid`);
  return r.rows.map(toTenant);
}

async function accessKeysIn(db: Queryable, tenantId: string): Promise<AccessKeyRecord[]> {
  const r = await db.query<KeyRow>(
    `SELECT ${SQL.keyColumns} FROM access_keys k JOIN tenants t ON t.tid = k.tid
     WHERE t.id = $1 ORDER BY k.created_at, k.access_key`,
    [tenantId],
  );
  return r.rows.map(toKey);
}

/** `sync`'s checkpoints, of one tenant or all. */
async function checkpointsIn(db: Queryable, tenantId: string | undefined): Promise<Checkpoint[]> {
  const r = await db.query<{ source: string; id: string; log_type: string; through_ms: string; entries_seen: string; updated_at: Date }>(
    `SELECT c.source, t.id, c.log_type, c.through_ms, c.entries_seen, c.updated_at FROM checkpoints c JOIN tenants t ON t.tid = c.tid
     WHERE $1::text IS NULL OR t.id = $1 ORDER BY t.id COLLATE "C", c.source COLLATE "C", c.log_type COLLATE "C"`,
    [tenantId ?? null],
  );
  return r.rows.map((row) => ({
    source: row.source,
    tenantId: row.id,
    logType: row.log_type,
    throughMs: Number(row.through_ms),
    entriesSeen: Number(row.entries_seen),
    updatedAt: row.updated_at.toISOString(),
  }));
}

/** One step's worth of entries, as column arrays (the key INSERT's `unnest` takes them). */
interface Chunk {
  types: string[];
  times: number[];
  /** The first 64 bits of each entry's key, as decimal text (int8). */
  keys: string[];
  /** Each entry's key (its first 8 bytes are the int8, big-endian). */
  keyBytes: Uint8Array[];
  /** Each entry's text: its UTF-8 bytes when at hand (NewEntry.bodyBytes), else the string. */
  texts: (string | Uint8Array)[];
  /** Each entry's wire-text digest when the parser computed it (NewEntry.digest). */
  digests: (Uint8Array | undefined)[];
  /** Entries of the batch so far (this chunk and earlier ones) also found earlier in it. */
  repeated: number;
}

/** Entries hashed between two turns of the event loop (about a millisecond's work). */
const SLICE = 500;

/**
 * The next chunk of entries, each (time, key) once: the INSERT matches the keys it stored back
 * to the entries by value, so a chunk must not hold one twice. Repeats across chunks are caught
 * by the key table itself.
 */
function pull(it: Iterator<NewEntry>): Chunk {
  const chunk: Chunk = { types: [], times: [], keys: [], keyBytes: [], texts: [], digests: [], repeated: 0 };
  const seen = new Set<string>();
  let chars = 0;
  while (chunk.times.length < CHUNK_ROWS && chars < CHUNK_CHARS) {
    const next = it.next();
    if (next.done) break;
    const e = next.value;
    const key = e.key.readBigInt64BE(0).toString();
    const id = `${e.eventTimeMs}/${key}`;
    if (seen.has(id)) {
      chunk.repeated++;
      continue;
    }
    seen.add(id);
    chunk.types.push(e.logType);
    chunk.times.push(e.eventTimeMs);
    chunk.keys.push(key);
    chunk.keyBytes.push(e.key);
    const text = e.bodyBytes ?? e.body;
    chunk.texts.push(text);
    chunk.digests.push(e.digest);
    chars += text.length;
  }
  return chunk;
}

/** PostgreSQL's error code for a unique violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * Stores a chunk's keys in `entry_keys` (its tenant's row held); returns the ids
 * (`time/key`) of those that were new, or undefined when all were. They go first as one COPY
 * under a savepoint, which costs PostgreSQL about a third of the CPU of an INSERT … ON CONFLICT
 * of the same keys (1.1 against 3.2 µs a key: bench/pg-entry-write.ts); most batches bring new
 * entries only. A key already stored fails the COPY with a unique violation: the keys then
 * go again with that INSERT, which skips the stored ones.
 */
async function newKeys(client: pg.PoolClient, tid: number, chunk: Chunk): Promise<Set<string> | undefined> {
  await client.query('SAVEPOINT lw_keys');
  try {
    const stored = await copyKeys(client, tid, chunk.times, chunk.keyBytes);
    if (stored !== chunk.times.length) throw new Error(`stored ${stored} of ${chunk.times.length} keys`);
    await client.query('RELEASE SAVEPOINT lw_keys');
    return undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
  }
  await client.query('ROLLBACK TO SAVEPOINT lw_keys; RELEASE SAVEPOINT lw_keys');
  const k = await client.query<{ n: string; fresh: string[] | null }>({
    name: 'lw_append_keys',
    text: SQL.keys,
    values: [tid, chunk.times.length, chunk.times, chunk.keys],
  });
  const { n, fresh } = k.rows[0]!;
  return Number(n) === chunk.times.length ? undefined : new Set(fresh ?? []);
}

const SQL = {
  // The tenant's row lock (appends of one tenant waiting on each other's keys would otherwise
  // deadlock), and with it the row as its last holder committed it: the sequence and the
  // tree's tip (tree.ts); and the time of adding.
  head: `
    SELECT last_seq, tree_size, tree_partial, tree_peaks, tree_note, (extract(epoch FROM now()) * 1000)::int8 AS at
    FROM entry_seqs WHERE tid = $1 FOR UPDATE`,
  // A chunk's keys when some are already stored (newKeys): inserts the others; returns how
  // many were new, and which (only when some were not).
  keys: `
    WITH k AS (
      INSERT INTO entry_keys (tid, event_time, key) SELECT $1, unnest($3::int8[]), unnest($4::int8[])
      ON CONFLICT DO NOTHING RETURNING event_time, key
    ), n AS (SELECT count(*) AS n FROM k)
    SELECT n.n, CASE WHEN n.n < $2 THEN (SELECT array_agg(k.event_time::text || '/' || k.key::text) FROM k) END AS fresh
    FROM n`,
  // Once the new entries are written (entry-copy.ts) with consecutive sequences after the
  // tenant's last: that last sequence moved past them; their number per (type, hour) added to
  // the tallies (count-plan.ts); the tree's new leaves, tip and checkpoint (tree.ts). The CTEs
  // do the work (each runs whether or not the SELECT reads it).
  afterEntries: `
    WITH s AS (
      UPDATE entry_seqs SET last_seq = $2::int8 + $3::int8, ${treeHeadSet(7)} WHERE tid = $1
    ), c AS (
      INSERT INTO entry_counts (tid, type_id, hour, n)
      SELECT $1, c.ty, c.h, c.n FROM unnest($4::int4[], $5::int8[], $6::int8[]) AS c (ty, h, n)
      ON CONFLICT (tid, type_id, hour) DO UPDATE SET n = entry_counts.n + excluded.n
    ), ${treeWriteCtes(11)}
    SELECT`,
  tenantColumns: 'id, name, created_at, read_per_second, read_per_day, ingest_per_second',
  keyColumns: `k.access_key, t.id AS tenant_id, k.secret_hash, k.scopes, k.created_at, k.revoked_at, k.last_used_at, k.uses_recorded_since`,
};

/** Defaults of the sealer: hot rows added this long ago are sealed; a look this often when idle. */
const SEAL_AGE_MS = 5 * 60_000;
const SEAL_IDLE_MS = 5_000;
/** How long closing the store waits for work under way before it closes the connections under it. */
const CLOSE_WAIT_MS = 10_000;
// As the SQLite store: room for the segments of some hundreds of cursors walking at once.
const SEGMENT_CACHE_BYTES = 160 * 1024 * 1024;

export interface PostgresStoreOptions extends TreeOptions {
  /** A `postgres://` connection URL. */
  url: string;
  /**
   * `session` (default): each connection of `url` is a PostgreSQL session of its own (direct, or
   * PgBouncer's pool_mode=session), which is checked at opening. `transaction`: a pooler lends
   * a session per transaction (pool_mode=transaction); statements are sent unnamed, and what
   * needs a session of its own uses `directUrl` or is done without (see pool-mode.ts).
   */
  poolMode?: PoolMode;
  /**
   * A URL reaching PostgreSQL itself, for the work that needs a session of its own: hearing key
   * changes (LISTEN) and rebuilding emptied hot partitions' indexes. Default: `url` in session
   * mode; in transaction mode none, and then key changes are not heard (a process reuses a key
   * lookup for LOGWARDEN_AUTH_CACHE_MS) and those indexes are not rebuilt.
   */
  directUrl?: string | null;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** How long a statement waits for a connection before it fails, 503 to a request (default 10 s). */
  connectTimeoutMs?: number;
  /**
   * How long one statement of a request, or of other short work, may run or wait for a lock
   * before PostgreSQL cancels it, 503 to a request (default 15 s). Background work (migrations,
   * sealing, building trees, purging) is not bounded by it.
   */
  statementTimeoutMs?: number;
  /** Seal hot entries added at least this long ago (default five minutes; 0 seals at once). */
  sealAgeMs?: number;
  /** How often the sealer looks for work when it found none (default 5 s). */
  sealIntervalMs?: number;
  /** Run no sealer in this process (tools that open the store briefly). */
  noSealer?: boolean;
  /** Where the sealer reports a failure, once per distinct failure (default: stderr). */
  onBackgroundError?: BackgroundErrorReporter;
  /** Told when opening upgrades the schema of a database made before (default: a line on stderr). */
  onSchemaUpgrade?: SchemaUpgradeReporter;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const mode = options.poolMode ?? 'session';
  const connectTimeoutMs = options.connectTimeoutMs;
  const unnamed = mode === 'transaction';
  // Every connection is checked against the numbers of tenants and log types kept (same-database.ts).
  const known = new KnownNumbers();
  const bounded = { connectTimeoutMs, statementTimeoutMs: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS, unnamed, check: known.check };
  const unbounded = { connectTimeoutMs, statementTimeoutMs: 0, unnamed, check: known.check };
  await checkPoolMode(options.url, mode, connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
  const background = newPool(options.url, { max: 1, ...unbounded });
  try {
    const client = await background.connect();
    try {
      await migrate(client, options.onSchemaUpgrade ?? reportSchemaUpgrade);
    } finally {
      client.release();
    }
  } catch (err) {
    await background.end();
    throw statementPoolingError(err) ?? err;
  }
  const sealing = newPool(options.url, { max: 1, ...unbounded });
  // The URL of a session of its own: LISTEN and session settings must not go through a pooler lending sessions per transaction.
  const direct = options.directUrl ?? (mode === 'session' ? options.url : null);
  const store = new PostgresStore(
    {
      main: newPool(options.url, { max: options.poolSize ?? 10, ...bounded }),
      side: newPool(options.url, { max: 1, ...bounded }),
      sealing,
      background,
    },
    options,
    direct === null ? undefined : new KeyWatch(direct),
    direct === null
      ? null
      : options.directUrl
        ? newPool(options.directUrl, { max: 1, connectTimeoutMs, statementTimeoutMs: 0, check: known.check })
        : sealing,
    known,
  );
  try {
    await store.openLog(options);
    // Segments sealed before the user index existed are indexed before the store is used.
    await indexPendingSegments(background, (tid, typeId) => store.ownerOf(tid, typeId));
  } catch (err) {
    await store.close();
    throw err;
  }
  if (!options.noSealer) store.sealer.start();
  return store;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly tids: Map<string, number>;
  private readonly typeIds: Map<string, number>;
  /** Tenant ids and type names by their numbers, for the owner a segment records. */
  private readonly tenantNames: Map<number, string>;
  private readonly typeNames: Map<number, string>;
  /** Months known to have their own partition. */
  private readonly months = new Set<number>();
  /** The last failure to drop the months a purge step emptied (reported once, then as a repeat), until a drop succeeds. */
  private monthDropFailure: string | undefined;
  /** When a month whose partition could not be attached may be tried again. */
  private readonly retryAt = new Map<number, number>();
  private readonly cache = new SegmentCache(SEGMENT_CACHE_BYTES);
  private readonly reader: PageReader;
  readonly sealer: Sealer;
  private closed = false;
  private treeOf: PostgresTree | undefined;
  private witness: LogWitness | null = null;

  private readonly pool: pg.Pool;
  private readonly side: pg.Pool;
  private readonly sealing: pg.Pool;
  private readonly background: pg.Pool;
  private readonly report: BackgroundErrorReporter;

  /**
   * `main` serves requests. `side` runs the short autocommit work an append needs while it
   * holds a connection of `main` (registering log types, attaching partitions); a separate pool
   * so that appends filling the main pool can never wait on each other for it. Statements of
   * both are bounded (statementTimeoutMs). `sealing` is the sealer's connection, `background`
   * the one of the rest of the work no request waits for (migrations, building the trees of
   * entries stored before them, purging): their statements may run long, and are not bounded.
   */
  constructor(
    pools: { main: pg.Pool; side: pg.Pool; sealing: pg.Pool; background: pg.Pool },
    options: Omit<PostgresStoreOptions, 'url'> = {},
    private readonly keyWatch?: KeyWatch,
    /** The connection of a session of its own that rebuilds emptied hot partitions' indexes; null: none are rebuilt. */
    private readonly reclaiming: pg.Pool | null = pools.sealing,
    /** The numbers of tenants and log types read, which new connections are checked against (same-database.ts). */
    private readonly known = new KnownNumbers(),
  ) {
    ({ tids: this.tids, typeIds: this.typeIds, tenantIds: this.tenantNames, typeNames: this.typeNames } = known);
    ({ main: this.pool, side: this.side, sealing: this.sealing, background: this.background } = pools);
    this.reader = new PageReader(this.pool, this.cache);
    const log = options.onBackgroundError ?? reportToStderr;
    this.report = log;
    this.sealer = new Sealer(
      this.sealing,
      this.reclaiming,
      (tid, typeId) => this.ownerOf(tid, typeId),
      {
        ageMs: options.sealAgeMs ?? SEAL_AGE_MS,
        idleMs: options.sealIntervalMs ?? SEAL_IDLE_MS,
        replaced: (ids) => this.cache.forget(ids),
      },
      log,
    );
  }

  /**
   * Opens the verifiable log: its keys (from options or the store's secrets), then the trees of
   * entries stored before the upgrade that introduced it, before any append of this process.
   */
  async openLog(
    options: Pick<PostgresStoreOptions, 'log' | 'onTreeProgress' | 'treeBackfillChunk' | 'witnessDir' | 'onBackgroundError'>,
  ): Promise<void> {
    const keys = await LogKeys.open((name, create) => this.getOrCreateSecret(name, create), options.log);
    const report = options.onBackgroundError ?? reportToStderr;
    this.witness = options.witnessDir === undefined ? null : new LogWitness(options.witnessDir);
    this.treeOf = new PostgresTree(
      this.pool,
      keys,
      (typeId) => this.typeName(typeId),
      () => this.loadTypeNames(),
      this.witness,
      (err) => report(new Error(`the witness of the signed checkpoints (${this.witness?.path}) could not be written: ${err.message}`), false),
    );
    await backfillTrees(
      this.background,
      // The sealer's connection holds the lock: it is idle until the store is open.
      this.sealing,
      this.tree,
      (tid, typeId) => this.ownerOf(tid, typeId),
      options.onTreeProgress ?? reportTreeProgress,
      options.treeBackfillChunk,
    );
  }

  private get tree(): PostgresTree {
    if (!this.treeOf) throw new Error('the store is not open');
    return this.treeOf;
  }

  /** The verifiable log's keys (origins, signers, verifier keys). */
  get logKeys(): LogKeys {
    return this.tree.keys;
  }

  /** A log type's name by its number (loadTypeNames first for numbers other processes registered). */
  private typeName(typeId: number): string {
    const name = this.typeNames.get(typeId);
    if (name === undefined) throw new StoreInconsistencyError(`unknown log type number ${typeId}`);
    return name;
  }

  private async loadTypeNames(): Promise<void> {
    const r = await this.side.query<{ type_id: number; name: string }>('SELECT type_id, name FROM log_types');
    for (const row of r.rows) {
      this.typeNames.set(row.type_id, row.name);
      this.typeIds.set(row.name, row.type_id);
    }
  }

  /** The leaf records and leaf hashes of a chunk's entries (registering their types). */
  private async leavesOf(chunk: Chunk): Promise<{ records: LeafRecord[]; hashes: Hash[] }> {
    const typeIds = await this.registerTypes(chunk.types);
    const records: LeafRecord[] = [];
    const hashes: Hash[] = [];
    const typeName = (id: number) => this.typeName(id);
    for (let i = 0; i < chunk.times.length; i++) {
      // A slice at a time: another append of the tenant holding its row lock waits on this
      // thread for each of its steps, so hashing a whole batch in one go would hold the lock idle.
      if (i > 0 && i % SLICE === 0) await nextTurn();
      const record = leafRecordOf(typeIds[i]!, { eventTimeMs: chunk.times[i]!, body: chunk.texts[i]!, digest: chunk.digests[i] });
      records.push(record);
      hashes.push(leafHash(leafText(record, typeName)));
    }
    return { records, hashes };
  }

  async log(tenantId: string): Promise<TenantLog | undefined> {
    const tid = await this.tid(tenantId);
    return tid === undefined ? undefined : this.tree.log(tid, tenantId);
  }

  async checkLogs(): Promise<readonly string[]> {
    // Read first: opening a tenant's log below records its checkpoint with the witness.
    const unaware = this.witness?.unawareOf(this.tree.keys.originPrefix);
    // With a witness: every log it saw signed, against the database (a database put back).
    await this.tree.checkWitnessed(async (tenantId) => (await this.tid(tenantId)) ?? null);
    // The first tenant with a checkpoint: every tenant's key derives from the one signing secret.
    let signed = false;
    for (const t of await this.listTenants()) {
      const tid = await this.tid(t.id);
      if (tid !== undefined && (await this.tree.hasCheckpoint(tid, t.id))) {
        await this.tree.log(tid, t.id);
        signed = true;
        break;
      }
    }
    // And the secret the store records for the prefix, which holds before any tenant has a checkpoint.
    const recorded = (
      await this.pool.query<{ name: string }>('SELECT name FROM secrets WHERE left(name, $2) = $1', [PREFIX_KEY_RECORD, PREFIX_KEY_RECORD.length])
    ).rows.map((r) => r.name.slice(PREFIX_KEY_RECORD.length));
    await this.tree.keys.checkRecorded((name, create) => this.getOrCreateSecret(name, create), signed, recorded);
    return signed && unaware !== undefined ? [unaware] : [];
  }

  async leafIndexes(tenantId: string, seqs: readonly number[]): Promise<number[]> {
    const tid = await this.tid(tenantId);
    return tid === undefined ? seqs.map(() => -1) : this.tree.leafIndexes(tid, seqs);
  }

  async exportAll(): Promise<StoreExport> {
    return exportPostgresStore({
      pool: this.background,
      keys: this.tree.keys,
      ownSessions: () => {
        const pools = [this.pool, this.side, this.sealing, this.background, ...(this.reclaiming ? [this.reclaiming] : [])];
        return [...pools.flatMap(backendPids), ...(this.keyWatch?.backendPid !== undefined ? [this.keyWatch.backendPid] : [])];
      },
      tenants: tenantsIn,
      accessKeys: accessKeysIn,
      retention: retention.retentionSettings,
      holds: (db, tenantId) => retention.listHolds(db, tenantId, true),
      syncCheckpoints: checkpointsIn,
    });
  }

  async importAll(from: StoreExport, progress?: ImportProgress): Promise<void> {
    const client = await this.background.connect();
    try {
      await importIntoPostgres(client, from, progress);
    } finally {
      client.release();
      this.known.clear();
    }
  }

  /** Seals every hot entry old enough now (tests and tools; the sealer does it in the background). */
  async settle(): Promise<void> {
    await this.sealer.settle();
  }

  async health(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** The connection pools' state in one line (connections, idle, waiting), for a report of work taking too long. */
  poolState(): string {
    const state = (name: string, p: pg.Pool) => `${name} ${p.totalCount}/${p.idleCount}/${p.waitingCount}`;
    return `pools (total/idle/waiting): ${state('main', this.pool)}, ${state('side', this.side)}, ${state('sealing', this.sealing)}, ${state('background', this.background)}; sealer ${this.sealer.busy ? 'in a round' : 'idle'}`;
  }

  /**
   * Closes the store. Work under way (a request's statements, a sealing step, a purge step) is
   * waited for, but not past CLOSE_WAIT_MS: then the connections still in use are closed under
   * it (its transaction is rolled back), so that a server not answering (frozen, or the network
   * to it dropped) cannot hold a stop up.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const deadline = performance.now() + CLOSE_WAIT_MS;
    const sealerStopped = this.sealer.stop();
    await settlesBy(sealerStopped, deadline);
    await this.keyWatch?.stop(Math.max(deadline, performance.now() + 1_000));
    const reclaiming = this.reclaiming !== null && this.reclaiming !== this.sealing ? [this.reclaiming] : [];
    await Promise.all([this.pool, this.side, this.sealing, this.background, ...reclaiming].map((p) => endPool(p, deadline)));
    // The round under way fails once its connection is closed.
    await settlesBy(sealerStopped, performance.now() + 1_000);
    this.witness?.close();
  }

  private async tid(tenantId: string): Promise<number | undefined> {
    let tid = this.tids.get(tenantId);
    if (tid === undefined) {
      const r = await this.pool.query<{ tid: number }>('SELECT tid FROM tenants WHERE id = $1', [tenantId]);
      tid = r.rows[0]?.tid;
      if (tid !== undefined) this.tids.set(tenantId, tid);
    }
    return tid;
  }

  private async requireTid(tenantId: string): Promise<number> {
    const tid = await this.tid(tenantId);
    if (tid === undefined) throw new UnknownTenantError(tenantId);
    return tid;
  }

  private async typeId(name: string): Promise<number | undefined> {
    let id = this.typeIds.get(name);
    if (id === undefined) {
      const r = await this.pool.query<{ type_id: number }>('SELECT type_id FROM log_types WHERE name = $1', [name]);
      id = r.rows[0]?.type_id;
      if (id !== undefined) {
        // Both ways at once: appends take a known id's name from typeNames (leavesOf).
        this.typeIds.set(name, id);
        this.typeNames.set(id, name);
      }
    }
    return id;
  }

  /** The tenant and type a segment of (tid, typeId) must say it belongs to. */
  async ownerOf(tid: number, typeId: number): Promise<SegmentOwner> {
    let tenantId = this.tenantNames.get(tid);
    let logType = this.typeNames.get(typeId);
    if (tenantId === undefined || logType === undefined) {
      const r = await this.side.query<{ id: string; name: string }>(
        'SELECT t.id, l.name FROM tenants t, log_types l WHERE t.tid = $1 AND l.type_id = $2',
        [tid, typeId],
      );
      const row = r.rows[0];
      if (!row) throw new StoreInconsistencyError(`no tenant ${tid} or log type ${typeId}`);
      this.tenantNames.set(tid, (tenantId = row.id));
      this.typeNames.set(typeId, (logType = row.name));
    }
    return { tenantId, logType };
  }

  /** Ids of the given type names, registering new ones (committed at once: a type id is never rolled back). */
  private async registerTypes(names: readonly string[]): Promise<number[]> {
    const missing = [...new Set(names.filter((n) => !this.typeIds.has(n)))];
    if (missing.length > 0) {
      await this.side.query('INSERT INTO log_types (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [missing]);
      const r = await this.side.query<{ type_id: number; name: string }>('SELECT type_id, name FROM log_types WHERE name = ANY($1::text[])', [
        missing,
      ]);
      for (const row of r.rows) {
        this.typeIds.set(row.name, row.type_id);
        this.typeNames.set(row.type_id, row.name);
      }
    }
    return names.map((n) => this.typeIds.get(n)!);
  }

  /**
   * Attaches the partitions that the given months lack, where allowed. `mayAttach` is false
   * while the calling transaction holds DEFAULT: attaching needs DEFAULT to itself.
   */
  private async ensurePartitions(months: ReadonlySet<number>, mayAttach: boolean): Promise<void> {
    const now = Date.now();
    const last = monthOf(now) + FUTURE_MONTHS;
    for (const m of months) {
      if (this.months.has(m) || !mayAttach || m < 0 || m > last || (this.retryAt.get(m) ?? 0) > now) continue;
      const client = await this.side.connect();
      let failed = false;
      try {
        await attachMonth(client, m, PARTITION_LOCK_TIMEOUT_MS);
        this.months.add(m);
      } catch {
        // The rows go to DEFAULT meanwhile: a write never fails for want of a partition.
        failed = true;
        this.retryAt.set(m, now + PARTITION_RETRY_MS);
      } finally {
        client.release(failed);
      }
    }
  }

  /**
   * Registers log types and attaches the month's partitions on the side connection before a
   * transaction that would otherwise do it while open. Behind a pooler lending PostgreSQL
   * sessions per transaction, an open transaction holds one of its sessions: were every session
   * held by transactions queued on a tenant's row behind one waiting for the side connection's
   * turn at a session, none would ever move (until the 10 s wait for a connection ran out).
   */
  private async sideWorkFirst(types: readonly string[], timeMs: number): Promise<void> {
    await this.registerTypes(types);
    await this.ensurePartitions(new Set([monthOf(timeMs)]), true);
  }

  async append(tenantId: string, entries: Iterable<NewEntry>): Promise<AppendResult> {
    const tid = await this.requireTid(tenantId);
    const it = entries[Symbol.iterator]();
    const chunk = pull(it);
    if (chunk.times.length === 0) return { accepted: 0, duplicates: 0 };
    // Leaf records and hashes depend on the entries alone: computed before the tenant is locked.
    const leaves = await this.leavesOf(chunk);
    // The first chunk's partitions too, before the transaction (see sideWorkFirst).
    await this.ensurePartitions(new Set(chunk.times.map(monthOf)), true);
    const later = new Set<number>();
    const result = await this.inTransaction((client) => this.appendChunks(client, tid, tenantId, it, chunk, leaves, later));
    // The months of later chunks that had no partition, once the transaction is over: their
    // rows went to DEFAULT, and attaching moves them. The entries are stored whatever happens here.
    await this.ensurePartitions(later, true).catch(() => {});
    return result;
  }

  /**
   * Runs `fn` in a transaction of its own connection, committed durably (whatever the server's
   * default: an append is acknowledged only once durable), rolled back on any failure.
   */
  private async inTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN; SET LOCAL synchronous_commit = on');
      const result = await fn(client);
      await client.query('COMMIT');
      this.tree.committed(client);
      return result;
    } catch (err) {
      // A statement left unanswered blocks any other on its connection, which is closed instead
      // (pool.ts); PostgreSQL rolls the transaction back then.
      if (!isUnanswered(err)) await client.query('ROLLBACK').catch(() => {});
      this.tree.rolledBack(client);
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * An administrative act and its admin-trail entry in one transaction: `act` changes the store
   * through `client` and says the state before and after; the entry `trail` makes of them (if
   * any) joins the tenant's log before the commit. A failure anywhere leaves neither. With a
   * trail, `act` takes the tenant's `entry_seqs` row first (`lockTenant`), as appends and purge
   * steps do, so that no lock order of theirs meets the act's the other way round.
   */
  private async recorded<S, R>(
    tenantOf: (after: S) => string,
    act: (client: pg.PoolClient, lockTenant: (tid: number) => Promise<void>) => Promise<{ before: S | undefined; after: S; result: R } | undefined>,
    trail: TrailOf<S> | undefined,
  ): Promise<R | undefined> {
    const lockTenant = (client: pg.PoolClient) => async (tid: number) => {
      if (trail) await client.query('SELECT FROM entry_seqs WHERE tid = $1 FOR UPDATE', [tid]);
    };
    if (trail) await this.sideWorkFirst([ADMIN_LOG_TYPE], Date.now());
    return this.inTransaction(async (client) => {
      const done = await act(client, lockTenant(client));
      if (!done) return undefined;
      const entry = trail?.(done.before, done.after);
      if (entry) {
        const tenantId = tenantOf(done.after);
        // Through the act's connection: the tenant may be the act's own, not yet committed.
        const t = await client.query<{ tid: number }>('SELECT tid FROM tenants WHERE id = $1', [tenantId]);
        if (!t.rows[0]) throw new UnknownTenantError(tenantId);
        const it = [entry][Symbol.iterator]();
        const chunk = pull(it);
        await this.appendChunks(client, t.rows[0].tid, tenantId, it, chunk, await this.leavesOf(chunk));
      }
      return done.result;
    });
  }

  /** Inside the transaction of `client`: stores the new entries of a batch (`chunk` its first, with its leaves) and their leaves. */
  private async appendChunks(
    client: pg.PoolClient,
    tid: number,
    tenantId: string,
    it: Iterator<NewEntry>,
    first: Chunk,
    firstLeaves: { records: LeafRecord[]; hashes: Hash[] },
    /** Told the months whose rows went to DEFAULT, for their partitions to be attached after the transaction. */
    later: Set<number> = new Set(),
  ): Promise<AppendResult> {
    let chunk = first;
    let leaves = firstLeaves;
    let accepted = 0;
    let seen = 0;
    let holdsDefault = false;
    // Months whose partition this transaction's INSERTs know of; undefined before the first INSERT.
    let visible: Set<number> | undefined;

    while (chunk.times.length > 0) {
      const months = new Set(chunk.times.map(monthOf));
      const typeIds = await this.registerTypes(chunk.types);
      // No partition is attached while the transaction is open (the first chunk's were before
      // it): attaching waits for a connection of the side pool, behind a pooler lending sessions
      // per transaction for a session too, and for DEFAULT, with the tenant's row held all along.
      let toDefault = false;
      for (const m of months) {
        if (!this.months.has(m)) {
          toDefault = true;
          later.add(m);
        } else if (visible && !visible.has(m)) {
          // Attached after this transaction's first INSERT, which fixed the partitions it
          // routes to; taking a new lock makes the backend read the catalogue changes.
          await client.query(`LOCK TABLE ${monthTable('entries', m)}, ${monthTable('entry_keys', m)} IN ROW EXCLUSIVE MODE`);
          visible.add(m);
        }
      }
      // The tenant's row before any lock on the entry tables, in a statement of its own: a
      // statement that names those tables locks them before it waits for the row. An append
      // queued for the row would then hold them against a month drop holding the row
      // (month-drop.ts), which needs the parents to itself; and holding DEFAULT while queued
      // behind this tenant's other appends could stall one of them attaching a partition.
      // Later chunks read the row again: the previous one moved it.
      const head = (await client.query<TreeHeadRow & { at: string }>({ name: 'lw_append_head', text: SQL.head, values: [tid] })).rows[0];
      if (!head) throw new Error(`tenant ${tenantId} has no sequence row`);
      if (toDefault && !holdsDefault) {
        // Keeps anyone from attaching a partition for the rows routed to DEFAULT until this
        // commits: PostgreSQL would refuse them (and reading the catalogue here catches any
        // partition attached just before).
        await client.query('LOCK TABLE entries_default, entry_keys_default IN ROW EXCLUSIVE MODE');
        holdsDefault = true;
      }
      visible ??= new Set(this.months);
      const fresh = await newKeys(client, tid, chunk);
      // Keys new to entry_keys may still be a sealed entry's (sealed-keys.ts); those are
      // duplicates too, and the rows just inserted for them go again.
      const unsealed = { types: [] as number[], times: [] as number[], keys: [] as string[] };
      for (let i = 0; i < chunk.times.length; i++) {
        if (fresh?.has(`${chunk.times[i]}/${chunk.keys[i]}`) === false) continue;
        unsealed.types.push(typeIds[i]!);
        unsealed.times.push(chunk.times[i]!);
        unsealed.keys.push(chunk.keys[i]!);
      }
      const sealed = await sealedDuplicates(client, tid, unsealed);
      if (sealed.size > 0) {
        const times = [...sealed].map((id) => Number(id.slice(0, id.indexOf('/'))));
        const keys = [...sealed].map((id) => id.slice(id.indexOf('/') + 1));
        if ((await deleteKeyRows(client, tid, times, keys)) !== sealed.size)
          throw new Error('append: a sealed duplicate had no key row to take back');
      }
      const pick: { types: number[]; times: number[]; texts: (string | Uint8Array)[]; records: LeafRecord[]; hashes: Hash[] } = {
        types: [],
        times: [],
        texts: [],
        records: [],
        hashes: [],
      };
      for (let i = 0; i < chunk.times.length; i++) {
        const id = `${chunk.times[i]}/${chunk.keys[i]}`;
        if (fresh?.has(id) === false || sealed.has(id)) continue;
        pick.types.push(typeIds[i]!);
        pick.times.push(chunk.times[i]!);
        pick.texts.push(chunk.texts[i]!);
        pick.records.push(leaves.records[i]!);
        pick.hashes.push(leaves.hashes[i]!);
      }
      if (pick.times.length > 0) {
        const tally = new BucketTally();
        for (let i = 0; i < pick.times.length; i++) tally.add(pick.types[i]!, pick.times[i]!);
        const counts = [...tally.entries()];
        const base = Number(head.last_seq);
        const seqs = pick.times.map((_, i) => base + 1 + i);
        const tree = await this.tree.append(client, tid, tenantId, head, pick.records, pick.hashes, seqs);
        const rows = { tid, firstSeq: base + 1, addedAt: Number(head.at), typeIds: pick.types, times: pick.times, texts: pick.texts };
        const stored = await copyEntries(client, rows);
        if (stored !== pick.times.length) throw new Error(`stored ${stored} of ${pick.times.length} entries`);
        await client.query({
          name: 'lw_append_after_entries',
          text: SQL.afterEntries,
          values: [
            tid,
            base,
            pick.times.length,
            counts.map((c) => c.typeId),
            counts.map((c) => c.hour),
            counts.map((c) => c.n),
            ...treeHeadValues(tree),
            ...treeWriteValues(tree),
          ],
        });
      }
      accepted += pick.times.length;
      seen += chunk.times.length + chunk.repeated;
      chunk = pull(it);
      if (chunk.times.length > 0) leaves = await this.leavesOf(chunk);
    }
    return { accepted, duplicates: seen - accepted };
  }

  firstPage(query: EntryQuery, limit: number): Promise<FirstPage> {
    return retryingDeadlocks(() => this.readFirstPage(query, limit));
  }

  nextPage(query: EntryQuery, after: Position, watermark: number, limit: number): Promise<StoredPage> {
    return retryingDeadlocks(() => this.readNextPage(query, after, watermark, limit));
  }

  hourlyTallies(query: EntryQuery): Promise<HourTally[]> {
    return retryingDeadlocks(() => this.readHourlyTallies(query));
  }

  private async readFirstPage(query: EntryQuery, limit: number): Promise<FirstPage> {
    const tid = await this.tid(query.tenantId);
    const typeId = await this.typeId(query.logType);
    if (tid === undefined || typeId === undefined) return { total: 0, watermark: 0, ...EMPTY_PAGE };
    const owner = await this.ownerOf(tid, typeId);
    if (query.user !== undefined)
      return userFirstPage(this.pool, { tid, typeId, owner, fromMs: query.fromMs, toMs: query.toMs, match: query.user }, limit);
    const totals = await readTotals(this.pool, this.cache, { tid, typeId, owner, fromMs: query.fromMs, toMs: query.toMs });
    if (!totals || totals.total === 0) return { total: 0, watermark: 0, ...EMPTY_PAGE };
    // The page is read after the snapshot that fixed the total, bounded by its watermark: the
    // same entries (page-reader.ts). Sequence values start at 1, so (fromMs, 0) precedes them all.
    const page = await this.page(tid, typeId, query, totals.watermark, { timeMs: query.fromMs, seq: 0 }, limit);
    return { ...totals, ...page };
  }

  private async readNextPage(query: EntryQuery, after: Position, watermark: number, limit: number): Promise<StoredPage> {
    const tid = await this.tid(query.tenantId);
    const typeId = await this.typeId(query.logType);
    if (tid === undefined || typeId === undefined) return EMPTY_PAGE;
    const from = after.timeMs < query.fromMs ? { timeMs: query.fromMs, seq: 0 } : { timeMs: after.timeMs, seq: after.seq };
    if (query.user !== undefined) {
      const scope = { tid, typeId, owner: await this.ownerOf(tid, typeId), fromMs: query.fromMs, toMs: query.toMs, match: query.user };
      return userNextPage(this.pool, scope, from, watermark, limit);
    }
    return this.page(tid, typeId, query, watermark, from, limit);
  }

  latestEntryHour(tenantId: string, logType: string, notAfterMs = Number.MAX_SAFE_INTEGER): Promise<number | undefined> {
    return retryingDeadlocks(async () => {
      const tid = await this.tid(tenantId);
      const typeId = await this.typeId(logType);
      if (tid === undefined || typeId === undefined) return undefined;
      const r = await this.pool.query<{ hour: string }>({
        name: 'lw_latest_hour',
        text: 'SELECT hour FROM entry_counts WHERE tid = $1 AND type_id = $2 AND hour <= $3 AND n > 0 ORDER BY hour DESC LIMIT 1',
        values: [tid, typeId, Math.floor(notAfterMs / BUCKET_MS)],
      });
      const row = r.rows[0];
      return row === undefined ? undefined : Number(row.hour) * BUCKET_MS;
    });
  }

  private async readHourlyTallies(query: EntryQuery): Promise<HourTally[]> {
    const tid = await this.tid(query.tenantId);
    const typeId = await this.typeId(query.logType);
    if (tid === undefined || typeId === undefined) return [];
    if (query.user !== undefined) {
      return userTallies(this.pool, {
        tid,
        typeId,
        owner: await this.ownerOf(tid, typeId),
        fromMs: query.fromMs,
        toMs: query.toMs,
        match: query.user,
      });
    }
    const hours = overlappingBuckets(query.fromMs, query.toMs);
    const r = await this.pool.query<{ hour: string; n: string }>({
      name: 'lw_hourly_tallies',
      text: 'SELECT hour, n FROM entry_counts WHERE tid = $1 AND type_id = $2 AND hour >= $3 AND hour < $4 AND n > 0 ORDER BY hour',
      values: [tid, typeId, hours.from, hours.to],
    });
    return r.rows.map((row) => ({ hourMs: Number(row.hour) * BUCKET_MS, count: Number(row.n) }));
  }

  private async page(tid: number, typeId: number, query: EntryQuery, watermark: number, after: Position, limit: number): Promise<StoredPage> {
    const owner = await this.ownerOf(tid, typeId);
    return this.reader.read({ tid, typeId, owner, fromMs: query.fromMs, toMs: query.toMs, watermark }, after, limit);
  }

  async createTenant(input: { id: string; name: string }, trail?: TrailOf<Tenant>): Promise<Tenant> {
    const create = async (db: Pick<pg.Pool, 'query'>): Promise<Tenant> => {
      const r = await db.query<TenantRow>(
        `WITH t AS (INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) RETURNING *),
              s AS (INSERT INTO entry_seqs (tid) SELECT tid FROM t)
         SELECT ${SQL.tenantColumns} FROM t`,
        [input.id, input.name, new Date()],
      );
      return toTenant(r.rows[0]!);
    };
    if (!trail) return create(this.pool);
    return (await this.recorded(
      (t) => t.id,
      async (client) => {
        const after = await create(client);
        return { before: undefined, after, result: after };
      },
      trail,
    ))!;
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const r = await this.pool.query<TenantRow>(`SELECT ${SQL.tenantColumns} FROM tenants WHERE id = $1`, [id]);
    return r.rows[0] && toTenant(r.rows[0]);
  }

  async listTenants(): Promise<Tenant[]> {
    return tenantsIn(this.pool);
  }

  async setTenantLimits(id: string, limits: Partial<TenantLimits>, trail?: TrailOf<Tenant>): Promise<Tenant | undefined> {
    return this.recorded(
      (t) => t.id,
      async (client, lockTenant) => {
        const t = await client.query<TenantRow & { tid: number }>(`SELECT tid, ${SQL.tenantColumns} FROM tenants WHERE id = $1`, [id]);
        if (!t.rows[0]) return undefined;
        await lockTenant(t.rows[0].tid);
        const before = toTenant((await client.query<TenantRow>(`SELECT ${SQL.tenantColumns} FROM tenants WHERE id = $1 FOR UPDATE`, [id])).rows[0]!);
        const after = await this.updateLimits(client, id, limits);
        return after && { before, after, result: after };
      },
      trail,
    );
  }

  private async updateLimits(db: pg.PoolClient, id: string, limits: Partial<TenantLimits>): Promise<Tenant | undefined> {
    // A flag per field distinguishes "leave as is" from "set to null" (the server's default).
    const r = await db.query<TenantRow>(
      `UPDATE tenants SET
         read_per_second = CASE WHEN $2 THEN $3::integer ELSE read_per_second END,
         read_per_day = CASE WHEN $4 THEN $5::integer ELSE read_per_day END,
         ingest_per_second = CASE WHEN $6 THEN $7::integer ELSE ingest_per_second END
       WHERE id = $1 RETURNING ${SQL.tenantColumns}`,
      [
        id,
        limits.readPerSecond !== undefined,
        limits.readPerSecond ?? null,
        limits.readPerDay !== undefined,
        limits.readPerDay ?? null,
        limits.ingestPerSecond !== undefined,
        limits.ingestPerSecond ?? null,
      ],
    );
    return r.rows[0] && toTenant(r.rows[0]);
  }

  async createAccessKey(key: NewAccessKey, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord> {
    return (await this.addKey(key, false, trail))!;
  }

  async createFirstAccessKey(key: NewAccessKey, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord | undefined> {
    return this.addKey(key, true, trail);
  }

  /** Adds a key, under the tenant's row lock (with `first`, only when the tenant has none yet). */
  private async addKey(key: NewAccessKey, first: boolean, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord | undefined> {
    const tid = await this.requireTid(key.tenantId);
    return this.recorded(
      (k) => k.tenantId,
      async (client, lockTenant) => {
        await lockTenant(tid);
        if (first) {
          // The tenant's row, locked whether or not the act is recorded (lockTenant locks it only
          // then): first keys made at once wait on each other, and the later one sees the earlier.
          await client.query('SELECT FROM entry_seqs WHERE tid = $1 FOR UPDATE', [tid]);
          if ((await client.query('SELECT 1 FROM access_keys WHERE tid = $1 LIMIT 1', [tid])).rowCount !== 0) return undefined;
        }
        await client.query('INSERT INTO access_keys (access_key, tid, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5)', [
          key.accessKey,
          tid,
          key.secretHash,
          key.scopes,
          new Date(),
        ]);
        const after = (await this.keyRecord(client, key.accessKey))!;
        // A process that looked the key up before it existed forgets that it did not.
        await notifyKeyChange(client, key.accessKey);
        return { before: undefined, after, result: after };
      },
      trail,
    );
  }

  private async keyRecord(db: Pick<pg.Pool, 'query'>, accessKey: string): Promise<AccessKeyRecord | undefined> {
    const r = await db.query<KeyRow>(`SELECT ${SQL.keyColumns} FROM access_keys k JOIN tenants t ON t.tid = k.tid WHERE k.access_key = $1`, [
      accessKey,
    ]);
    return r.rows[0] && toKey(r.rows[0]);
  }

  async getAccessKey(accessKey: string): Promise<AccessKeyRecord | undefined> {
    const r = await this.pool.query<KeyRow>(`SELECT ${SQL.keyColumns} FROM access_keys k JOIN tenants t ON t.tid = k.tid WHERE k.access_key = $1`, [
      accessKey,
    ]);
    return r.rows[0] && toKey(r.rows[0]);
  }

  watchAccessKeys(watcher: AccessKeyWatcher): void {
    this.keyWatch?.add(watcher);
  }

  async listAccessKeys(tenantId: string): Promise<AccessKeyRecord[]> {
    return accessKeysIn(this.pool, tenantId);
  }

  async revokeAccessKey(accessKey: string, trail?: TrailOf<AccessKeyRecord>): Promise<boolean> {
    const revoked = await this.recorded(
      (k) => k.tenantId,
      async (client, lockTenant) => {
        const k = await client.query<{ tid: number }>('SELECT tid FROM access_keys WHERE access_key = $1', [accessKey]);
        if (!k.rows[0]) return undefined;
        await lockTenant(k.rows[0].tid);
        const before = await this.keyRecord(client, accessKey);
        const r = await client.query('UPDATE access_keys SET revoked_at = $1 WHERE access_key = $2 AND revoked_at IS NULL', [new Date(), accessKey]);
        if (r.rowCount !== 1 || !before) return undefined;
        await notifyKeyChange(client, accessKey);
        return { before, after: (await this.keyRecord(client, accessKey))!, result: true };
      },
      trail,
    );
    return revoked === true;
  }

  async recordKeyUse(uses: readonly KeyUse[]): Promise<void> {
    if (uses.length === 0) return;
    // One statement; a later time already stored stays. The keys' rows are locked first, in name
    // order (`locked`): the update itself meets them in the order of its plan (a table scan for
    // many keys, the list's for few), and two servers writing at once in two orders would
    // deadlock. No notification: no cached lookup is stale for it.
    await this.pool.query(
      `WITH locked AS (SELECT access_key FROM access_keys WHERE access_key = ANY($1::text[]) ORDER BY access_key FOR UPDATE)
       UPDATE access_keys k SET last_used_at = u.at
       FROM unnest($1::text[], $2::timestamptz[]) AS u(access_key, at) JOIN locked USING (access_key)
       WHERE k.access_key = u.access_key AND (k.last_used_at IS NULL OR k.last_used_at < u.at) AND (k.revoked_at IS NULL OR k.revoked_at >= u.at)`,
      [uses.map((u) => u.accessKey), uses.map((u) => new Date(u.atMs))],
    );
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const read = async (): Promise<string | undefined> =>
      (await this.pool.query<{ value: string }>('SELECT value FROM secrets WHERE name = $1', [name])).rows[0]?.value;
    const existing = await read();
    if (existing !== undefined) return existing;
    // Whoever inserts first wins; the others' values are dropped and they read the winner's.
    await this.pool.query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, create()]);
    return (await read())!;
  }

  async getCheckpoint(source: string, tenantId: string, logType: string): Promise<Checkpoint | undefined> {
    const tid = await this.tid(tenantId);
    if (tid === undefined) return undefined;
    const r = await this.pool.query<{ through_ms: string; entries_seen: string; updated_at: Date }>(
      'SELECT through_ms, entries_seen, updated_at FROM checkpoints WHERE tid = $1 AND source = $2 AND log_type = $3',
      [tid, source, logType],
    );
    const row = r.rows[0];
    return (
      row && {
        source,
        tenantId,
        logType,
        throughMs: Number(row.through_ms),
        entriesSeen: Number(row.entries_seen),
        updatedAt: row.updated_at.toISOString(),
      }
    );
  }

  async listCheckpoints(tenantId?: string): Promise<Checkpoint[]> {
    return checkpointsIn(this.pool, tenantId);
  }

  async forgetCheckpoints(tenantId: string, source: string, logType?: string): Promise<number> {
    const tid = await this.tid(tenantId);
    if (tid === undefined) return 0;
    const r = await this.pool.query('DELETE FROM checkpoints WHERE tid = $1 AND source = $2 AND ($3::text IS NULL OR log_type = $3)', [
      tid,
      source,
      logType ?? null,
    ]);
    return r.rowCount ?? 0;
  }

  async setCheckpoint(c: Omit<Checkpoint, 'updatedAt'> & { readonly countFrom?: number }): Promise<void> {
    const tid = await this.requireTid(c.tenantId);
    await this.pool.query(
      `INSERT INTO checkpoints (tid, source, log_type, through_ms, entries_seen, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tid, source, log_type) DO UPDATE SET through_ms = excluded.through_ms,
         entries_seen = CASE WHEN $7::int8 IS NULL THEN excluded.entries_seen
                             ELSE greatest(0, checkpoints.entries_seen + excluded.entries_seen - $7::int8) END,
         updated_at = excluded.updated_at`,
      [tid, c.source, c.logType, c.throughMs, c.entriesSeen, new Date(), c.countFrom ?? null],
    );
  }

  async getRetention(tenantId: string): Promise<RetentionSettings | undefined> {
    const tid = await this.tid(tenantId);
    return tid === undefined ? undefined : retention.retentionSettings(this.pool, tid);
  }

  async setRetention(
    tenantId: string,
    logType: string | null,
    days: RetentionDays | undefined,
    trail?: TrailOf<RetentionSettings>,
  ): Promise<RetentionSettings> {
    const tid = await this.requireTid(tenantId);
    // The tenant's entry_seqs row first, as purge steps and month drops take it before they read
    // the settings: a change is either seen by a purge step or made after it has committed.
    if (!trail) {
      return this.inTransaction(async (client) => {
        await client.query('SELECT FROM entry_seqs WHERE tid = $1 FOR UPDATE', [tid]);
        return retention.setRetention(client, tid, logType, days);
      });
    }
    return (await this.recorded(
      () => tenantId,
      async (client, lockTenant) => {
        await lockTenant(tid);
        const before = await retention.retentionSettings(client, tid);
        const after = await retention.setRetention(client, tid, logType, days);
        return { before, after, result: after };
      },
      trail,
    ))!;
  }

  async logTypes(tenantId: string): Promise<string[]> {
    const tid = await this.tid(tenantId);
    if (tid === undefined) return [];
    return retention.tenantLogTypes(this.pool, tid);
  }

  async createHold(hold: NewLegalHold, trail?: TrailOf<LegalHold>): Promise<LegalHold> {
    const tid = await this.requireTid(hold.tenantId);
    // The tenant's entry_seqs row first, as purge steps and month drops take it before they read
    // the holds: a hold is either seen by a purge or created after it has committed.
    if (!trail) {
      return this.inTransaction(async (client) => {
        await client.query('SELECT FROM entry_seqs WHERE tid = $1 FOR UPDATE', [tid]);
        return retention.createHold(client, tid, hold, new Date());
      });
    }
    return (await this.recorded(
      (h) => h.tenantId,
      async (client, lockTenant) => {
        await lockTenant(tid);
        const after = await retention.createHold(client, tid, hold, new Date());
        return { before: undefined, after, result: after };
      },
      trail,
    ))!;
  }

  async listHolds(filter: { tenantId?: string; includeReleased?: boolean } = {}): Promise<LegalHold[]> {
    return retention.listHolds(this.pool, filter.tenantId, filter.includeReleased === true);
  }

  async releaseHold(id: string, release: { reason: string; releasedBy: string }, trail?: TrailOf<LegalHold>): Promise<LegalHold | undefined> {
    if (!trail) return retention.releaseHold(this.pool, id, release, new Date());
    return this.recorded(
      (h) => h.tenantId,
      async (client, lockTenant) => {
        const h = await client.query<{ tid: number }>('SELECT tid FROM holds WHERE id = $1', [id]);
        if (!h.rows[0]) return undefined;
        await lockTenant(h.rows[0].tid);
        const after = await retention.releaseHold(client, id, release, new Date());
        if (!after) return undefined;
        return { before: { ...after, releasedAt: null, releasedBy: null, releaseReason: null }, after, result: after };
      },
      trail,
    );
  }

  async purge(tenantId: string, logType: string, beforeMs: number, limit: number, cutoffOf?: StepCutoffOf): Promise<PurgeReceipt> {
    const tid = await this.requireTid(tenantId);
    const max = purgeLimit(limit);
    const typeId = await this.typeId(logType);
    if (typeId === undefined) return emptyReceipt(logType, Date.now());
    const owner = await this.ownerOf(tid, typeId);
    const client = await this.background.connect();
    let broken = false;
    try {
      const receipt = await purgeStep(
        client,
        this.tree,
        { tid, typeId, owner },
        beforeMs,
        max,
        Date.now(),
        (ids) => this.cache.forget(ids),
        cutoffOf,
      );
      // The step's last: months wholly before the cutoff that it left empty lose their partitions.
      // The step has committed: its receipt is returned whatever becomes of this (the purge
      // writes a receipt's admin trail entry only when given it, and before any later step of
      // the tenant). A month left here is dropped by a later step.
      if (receipt.count > 0 && receipt.count < max)
        await this.dropEmptyMonths(client, beforeMs).then(
          () => (this.monthDropFailure = undefined),
          (err: unknown) => {
            broken = true;
            // A month that cannot be dropped is met again by every later step: the same failure is a repeat.
            const problem = backgroundProblem(err, 'dropping the months a purge step emptied');
            this.report(problem, problem.message === this.monthDropFailure);
            this.monthDropFailure = problem.message;
          },
        );
      return receipt;
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  async dropExpiredPartitions(
    cutoffOf: CutoffOf,
    onPartition?: (p: { partition: string; outcome: PartitionOutcome }) => void,
    goOn?: () => Promise<boolean>,
  ): Promise<{ tenantId: string; receipt: PurgeReceipt }[]> {
    const out: { tenantId: string; receipt: PurgeReceipt }[] = [];
    const client = await this.background.connect();
    let broken = false;
    try {
      let first = true;
      for (const m of await attachedMonths(client)) {
        // Only months already over: entries may still arrive for the current one.
        if (Date.UTC(1970, m + 1, 1) > Date.now()) break;
        if (!first && goOn && !(await goOn())) break;
        first = false;
        const ctx = {
          tree: this.tree,
          ownerOf: (tid: number, typeId: number) => this.ownerOf(tid, typeId),
          lockTimeoutMs: PARTITION_DROP_LOCK_TIMEOUT_MS,
          nowMs: Date.now(),
        };
        const drop = await dropExpiredMonth(client, ctx, m, cutoffOf);
        if (drop.outcome !== 'kept') onPartition?.({ partition: monthLabel(m), outcome: drop.outcome });
        if (drop.outcome !== 'dropped') continue;
        this.months.delete(m);
        out.push(...drop.receipts);
      }
      return out;
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * Drops the partitions of months ending at or before `beforeMs` that hold no entry of any
   * tenant (migrations.ts, dropEmptyMonth); a month whose locks are not granted quickly is left
   * for a later purge.
   */
  private async dropEmptyMonths(client: pg.PoolClient, beforeMs: number): Promise<void> {
    for (const m of await attachedMonths(client)) {
      if (Date.UTC(1970, m + 1, 1) > beforeMs) break;
      try {
        if (await dropEmptyMonth(client, m, PARTITION_DROP_LOCK_TIMEOUT_MS)) this.months.delete(m);
      } catch (err) {
        // A lock not granted in time: reads and writes go first.
        const code = (err as { code?: string }).code;
        if (code !== '55P03' && code !== '40P01') throw err;
      }
    }
  }

  async recordPurgeTrail(tenantId: string, receiptLeaf: number, entry: NewEntry): Promise<boolean> {
    const tid = await this.requireTid(tenantId);
    const recorded = await this.recorded(
      (t: string) => t,
      async (client, lockTenant) => {
        await lockTenant(tid);
        const r = await client.query('UPDATE tree_receipts SET trailed = true WHERE tid = $1 AND leaf = $2 AND NOT trailed', [tid, receiptLeaf]);
        return r.rowCount === 1 ? { before: undefined, after: tenantId, result: true } : undefined;
      },
      () => entry,
    );
    return recorded === true;
  }

  async untrailedReceipts(): Promise<{ tenantId: string; leafIndex: number; text: string }[]> {
    const r = await this.pool.query<{ id: string; leaf: string; text: string }>(
      'SELECT t.id, r.leaf, r.text FROM tree_receipts r JOIN tenants t ON t.tid = r.tid WHERE NOT r.trailed ORDER BY r.tid, r.leaf',
    );
    return r.rows.map((row) => ({ tenantId: row.id, leafIndex: Number(row.leaf), text: row.text }));
  }

  async takePurgeLease(holder: string, ttlMs: number): Promise<boolean> {
    // Timed by the database's clock: servers sharing it need not agree on the time.
    const r = await this.pool.query(
      `UPDATE purge_lease SET holder = $1, until = now() + make_interval(secs => $2::float8 / 1000)
       WHERE id = 1 AND (holder = $1 OR until < now())`,
      [holder, ttlMs],
    );
    return r.rowCount === 1;
  }

  async releasePurgeLease(holder: string): Promise<void> {
    await this.pool.query("UPDATE purge_lease SET holder = '', until = '-infinity' WHERE id = 1 AND holder = $1", [holder]);
  }
}
