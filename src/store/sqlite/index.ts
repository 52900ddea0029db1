/**
 * The embedded store: one SQLite file (better-sqlite3, WAL, synchronous=FULL) under the data
 * directory. Several processes may share the file (a server and CLI commands); SQLite
 * serialises their writes.
 *
 * Entries are appended as hot rows (`entries`) and sealed in the background (sealer.ts) into
 * compressed, checksummed segments of one tenant and log type (`segments`, ../segment-codec.ts),
 * each entry's text kept exactly once. A page merges the segments and hot rows after its
 * position inside one read transaction, so it sees every entry in exactly one of the two
 * places whatever the sealer of any process commits meanwhile.
 */

import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import type { NewEntry } from '../../logs/entry.ts';
import { PackedEntries } from '../../logs/packed-entries.ts';
import { BUCKET_MS, BucketTally, overlappingBuckets, planCount } from '../count-plan.ts';
import { LogWitness, WITNESS_FILE } from '../log-witness.ts';
import { EMPTY_PAGE } from '../page.ts';
import { emptyReceipt, purgeLimit } from '../purge-step.ts';
import { SegmentCache } from '../segment-cache.ts';
import { before, countInSegment, type HotEntry, mergePage } from '../segment-pages.ts';
import type {
  AccessKeyRecord,
  AppendResult,
  Checkpoint,
  EntryQuery,
  FirstPage,
  HourTally,
  KeyUse,
  LegalHold,
  NewAccessKey,
  NewLegalHold,
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
  UserMatch,
} from '../store.ts';
import {
  type BackgroundErrorReporter,
  reportSchemaUpgrade,
  reportToStderr,
  SchemaTooNewError,
  type SchemaUpgradeReporter,
  StoreInconsistencyError,
  UnknownTenantError,
} from '../store.ts';
import type { ImportProgress, StoreExport } from '../store-transfer.ts';
import { LOG_SIGNING_SECRET, LogKeys, newSigningSecret, newStoreId, PREFIX_KEY_RECORD, STORE_ID_SECRET } from '../tree-keys.ts';
import { type LeafRecord, leafRecordOf } from '../tree-leaf-records.ts';
import { reportTreeProgress, type TreeOptions } from '../tree-upgrade.ts';
import { countPosted, userHourlyTallies, userPage, wholeHours } from '../user-filter.ts';
import { AppendThread, type AppendThreadOptions } from './append-thread.ts';
import { prepareDataDir } from './data-dir.ts';
import { type HotRowCheck, hotRowCheck } from './hot-rows.ts';
import { migrate, SCHEMA_VERSION } from './migrations.ts';
import { SqlitePurge } from './purge.ts';
import { SqliteRetention } from './retention.ts';
import { Sealer } from './sealer.ts';
import { type Owner, Segments } from './segments.ts';
import { exportSqliteStore } from './store-export.ts';
import { importIntoSqlite } from './store-import.ts';
import { SqliteTree } from './tree.ts';
import { backfillTrees } from './tree-backfill.ts';

export const DATABASE_FILE = 'logwarden.db';
/** Where stores of schema version 3 kept page blocks; removed once the store is upgraded. */
const OLD_BLOCK_FILE = 'page-blocks.dat';
/** Hot rows are sealed once stored this long ago: late arrivals within it cost no rewrite. */
export const DEFAULT_SEAL_AGE_MS = 5 * 60_000;
/** Idempotency keys are kept to this many bytes of their digest (with tenant and event time). */
const KEY_BYTES = 16;
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

interface TenantRow {
  tid: number;
  id: string;
  name: string;
  created_at: string;
  read_per_second: number | null;
  read_per_day: number | null;
  ingest_per_second: number | null;
}

/** How long `recordKeyUse` waits for another process's write to end before leaving the uses to the next time. */
const KEY_USE_BUSY_MS = 100;

interface KeyRow {
  access_key: string;
  tenant_id: string;
  secret_hash: Buffer;
  scopes: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
  uses_recorded_since: string | null;
}

function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    limits: { readPerSecond: r.read_per_second, readPerDay: r.read_per_day, ingestPerSecond: r.ingest_per_second },
  };
}

function toKey(r: KeyRow): AccessKeyRecord {
  return {
    accessKey: r.access_key,
    tenantId: r.tenant_id,
    secretHash: r.secret_hash,
    scopes: JSON.parse(r.scopes) as Scope[],
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    lastUsedAt: r.last_used_at,
    usesRecordedSince: r.uses_recorded_since,
  };
}

export interface SqliteStoreOptions extends TreeOptions {
  /** Directory holding the database file; created if missing. */
  dataDir: string;
  /** Hot rows stored longer ago than this are sealed into segments (default five minutes; tests use 0). */
  sealAgeMs?: number;
  /** How often the sealer looks for work when it found none (default one second). */
  sealIntervalMs?: number;
  /** Bytes of decoded segments kept in memory. */
  segmentCacheBytes?: number;
  /** The clock (ms), for when rows were stored and are old enough to seal. */
  now?: () => number;
  /** Run no sealer in this process (commands that open the store briefly and write no entries). */
  noSealer?: boolean;
  /** Where the sealer reports a failure, once per distinct failure (default: stderr). */
  onBackgroundError?: BackgroundErrorReporter;
  /** Told when opening upgrades the schema of a store made before (default: a line on stderr). */
  onSchemaUpgrade?: SchemaUpgradeReporter;
  /** Store every batch on the calling thread, none on a thread of its own (append-thread.ts). */
  noAppendThread?: boolean;
}

/** A connection to the database file as every writer of the store uses it. */
function openDatabase(file: string): Database.Database {
  const db = new Database(file);
  try {
    // Takes effect only while the file is new: the sealer hands the pages that sealing frees
    // back to the file system (a file made before keeps its pages and reuses them).
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 10000');
    db.pragma('foreign_keys = ON');
    db.pragma('cache_size = -65536');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

export function openSqliteStore(options: SqliteStoreOptions): SqliteStore {
  prepareDataDir(options.dataDir, DATABASE_FILE, [OLD_BLOCK_FILE, WITNESS_FILE]);
  const db = openDatabase(join(options.dataDir, DATABASE_FILE));
  try {
    migrate(db, options.onSchemaUpgrade ?? reportSchemaUpgrade);
    // Page blocks are gone from the schema once it is upgraded; so goes their file.
    rmSync(join(options.dataDir, OLD_BLOCK_FILE), { force: true });
    return new SqliteStore(db, options);
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * The store of an append thread (append-thread-worker.ts): a second connection to a database
 * that the calling thread's store opened (and upgraded) already, with no background work.
 */
export function openSqliteStoreThread(options: AppendThreadOptions, report: BackgroundErrorReporter): SqliteStore {
  const db = openDatabase(options.file);
  try {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version !== SCHEMA_VERSION) throw new StoreInconsistencyError(`the store's schema is version ${version}, not ${SCHEMA_VERSION}`);
    return new SqliteStore(db, { log: options.log, witnessDir: options.witnessDir, noSealer: true, noAppendThread: true, onBackgroundError: report });
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * Opens the SQLite database `file` as a store that only reads (a backup being checked): nothing
 * is written to it, no file is made beside it, no background work runs, and no witness is held
 * against it. Its schema must be this version's (an earlier one would need an upgrade, which
 * writes); the log keys are its own unless `log` gives them.
 */
export function openSqliteFileReadOnly(file: string, options: Pick<SqliteStoreOptions, 'log'> = {}): SqliteStore {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION) throw new SchemaTooNewError(version, SCHEMA_VERSION);
    if (version < SCHEMA_VERSION)
      throw new StoreInconsistencyError(`the store's schema is version ${version}, earlier than this logwarden's (${SCHEMA_VERSION})`);
    return new SqliteStore(db, options);
  } catch (err) {
    db.close();
    throw err;
  }
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  private readonly tids = new Map<string, number>();
  private readonly typeIds = new Map<string, number>();

  private readonly q;
  /** None when the store is opened read-only (openSqliteFileReadOnly). */
  private readonly witness: LogWitness | null;
  /** Whether the origin prefix is the default `logwarden/<store id>`, random per database. */
  private readonly ownOriginPrefix: boolean;
  /**
   * Access keys as read since the database last changed: every request looks its key up, and
   * `PRAGMA data_version` (which moves whenever another connection commits) costs a fraction
   * of the lookup. Revocation by another process therefore still takes effect at once.
   */
  private readonly keys = new Map<string, AccessKeyRecord | undefined>();
  private keysVersion = -1;

  private readonly segments: Segments;
  private readonly sealer: Sealer;
  /** Holds a hot row against its digest before its text is served (hot-rows.ts). */
  private readonly checkHot: HotRowCheck;
  /** Whether this process seals (not with `noSealer`). */
  private readonly sealing: boolean;
  private readonly owners = new Map<string, Owner>();
  /**
   * A read transaction around any function, made once: better-sqlite3 builds a transaction
   * function's wrappers anew for every `db.transaction`, which cost a page read more than its
   * BEGIN and COMMIT.
   */
  private readonly reading: Database.Transaction<(read: () => unknown) => unknown>;
  private readonly now: () => number;
  private readonly tree: SqliteTree;
  private readonly retention: SqliteRetention;
  private readonly purger: SqlitePurge;
  /** Log type names by number, for leaf texts. */
  private readonly typeNames = new Map<number, string>();
  /** Where large parsed batches are stored (none read-only, in memory, or on that thread itself). */
  private readonly appender: AppendThread | null;
  private storedOnThread = 0;

  constructor(
    private readonly db: Database.Database,
    options: Omit<SqliteStoreOptions, 'dataDir'> = {},
  ) {
    this.now = options.now ?? Date.now;
    this.reading = db.transaction((read: () => unknown) => read());
    this.segments = new Segments(db, new SegmentCache(options.segmentCacheBytes));
    this.checkHot = hotRowCheck(db);
    this.q = {
      // Hot rows after a position: seeking on the time alone, then stepping over the run of
      // that very time up to the position's sequence (a row-value comparison would make SQLite
      // step over the whole run). The text comes as bytes, as the page sends it.
      // A LIMIT bound as a bare `?` makes SQLite (3.53) compile the statement again at every
      // run, as it plans with the bound value (6-12 µs a run here); as an expression it does
      // not. So every bound LIMIT of this store is written `LIMIT CAST(? AS INTEGER)`.
      hot: db
        .prepare<[number, number, number, number, number, number, number, number], [number, number, Buffer]>(
          `SELECT event_time, seq, CAST(body AS BLOB) FROM entries WHERE tid = ? AND type_id = ? AND event_time >= ?
           AND (event_time > ? OR seq > ?) AND event_time < ? AND seq <= ? ORDER BY event_time, seq LIMIT CAST(? AS INTEGER)`,
        )
        .raw(),
      // A user's hot rows (the user filter: ../user-filter.ts), matched by their JSON text.
      hotOfUser: db
        .prepare<[number, number, number, number, number, number, number, string, string, number], [number, number, Buffer]>(
          `SELECT event_time, seq, CAST(body AS BLOB) FROM entries WHERE tid = ? AND type_id = ? AND event_time >= ?
           AND (event_time > ? OR seq > ?) AND event_time < ? AND seq <= ? AND json_extract(body, ?) = ? ORDER BY event_time, seq LIMIT CAST(? AS INTEGER)`,
        )
        .raw(),
      countHotOfUser: db
        .prepare<[number, number, number, number, string, string], number>(
          'SELECT count(*) FROM entries WHERE tid = ? AND type_id = ? AND event_time >= ? AND event_time < ? AND json_extract(body, ?) = ?',
        )
        .pluck(),
      addEntryKey: db.prepare<[number, number, Buffer]>('INSERT OR IGNORE INTO entry_keys (tid, event_time, key) VALUES (?, ?, ?)'),
      tenantOf: db.prepare<[number], string>('SELECT id FROM tenants WHERE tid = ?').pluck(),
      typeOf: db.prepare<[number], string>('SELECT name FROM log_types WHERE type_id = ?').pluck(),
      typesOf: db
        .prepare<[number], string>(
          'SELECT l.name FROM log_types l WHERE l.type_id IN (SELECT DISTINCT type_id FROM entry_counts WHERE tid = ? AND n > 0)',
        )
        .pluck(),
      tidOf: db.prepare<[string], { tid: number }>('SELECT tid FROM tenants WHERE id = ?'),
      typeIdOf: db.prepare<[string], { type_id: number }>('SELECT type_id FROM log_types WHERE name = ?'),
      addType: db.prepare<[string]>('INSERT OR IGNORE INTO log_types (name) VALUES (?)'),
      // The key column predates entry_keys and stays empty (migrations.ts, version 4).
      // The text as a string, or as its UTF-8 bytes (kept as text all the same).
      insert: db.prepare<[number, number, number, string | Uint8Array, number]>(
        "INSERT INTO entries (tid, type_id, event_time, key, body, stored_at) VALUES (?, ?, ?, X'', CAST(? AS TEXT), ?)",
      ),
      addCount: db.prepare<[number, number, number, number]>(
        `INSERT INTO entry_counts (tid, type_id, hour, n) VALUES (?, ?, ?, ?)
         ON CONFLICT (tid, type_id, hour) DO UPDATE SET n = n + excluded.n`,
      ),
      sumCounts: db.prepare<[number, number, number, number], { n: number }>(
        'SELECT coalesce(sum(n), 0) AS n FROM entry_counts WHERE tid = ? AND type_id = ? AND hour >= ? AND hour < ?',
      ),
      latestHour: db.prepare<[number, number, number], { hour: number }>(
        'SELECT hour FROM entry_counts WHERE tid = ? AND type_id = ? AND hour <= ? AND n > 0 ORDER BY hour DESC LIMIT 1',
      ),
      hourly: db.prepare<[number, number, number, number], { hour: number; n: number }>(
        'SELECT hour, n FROM entry_counts WHERE tid = ? AND type_id = ? AND hour >= ? AND hour < ? AND n > 0 ORDER BY hour',
      ),
      watermark: db.prepare<[], { w: number | null }>("SELECT seq AS w FROM sqlite_sequence WHERE name = 'entries'"),
      countHot: db
        .prepare<[number, number, number, number], number>(
          'SELECT count(*) FROM entries WHERE tid = ? AND type_id = ? AND event_time >= ? AND event_time < ?',
        )
        .pluck(),
      tenant: db.prepare<[string], TenantRow>('SELECT * FROM tenants WHERE id = ?'),
      tenants: db.prepare<[], TenantRow>('SELECT * FROM tenants ORDER BY tid'),
      addTenant: db.prepare<[string, string, string]>('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)'),
      setLimits: db.prepare<[number | null, number | null, number | null, string]>(
        'UPDATE tenants SET read_per_second = ?, read_per_day = ?, ingest_per_second = ? WHERE id = ?',
      ),
      addKey: db.prepare<[string, number, Buffer, string, string]>(
        'INSERT INTO access_keys (access_key, tid, secret_hash, scopes, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      anyKeyOf: db.prepare<[number], { one: number }>('SELECT 1 AS one FROM access_keys WHERE tid = ? LIMIT 1'),
      key: db.prepare<[string], KeyRow>(
        `SELECT k.access_key, t.id AS tenant_id, k.secret_hash, k.scopes, k.created_at, k.revoked_at, k.last_used_at, k.uses_recorded_since
         FROM access_keys k JOIN tenants t ON t.tid = k.tid WHERE k.access_key = ?`,
      ),
      keys: db.prepare<[string], KeyRow>(
        `SELECT k.access_key, t.id AS tenant_id, k.secret_hash, k.scopes, k.created_at, k.revoked_at, k.last_used_at, k.uses_recorded_since
         FROM access_keys k JOIN tenants t ON t.tid = k.tid WHERE t.id = ? ORDER BY k.created_at, k.access_key`,
      ),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      // The lease is timed by the wall clock: the processes sharing a file share a machine.
      takeLease: db.prepare<[string, number, string, number]>(
        'UPDATE purge_lease SET holder = ?, until_ms = ? WHERE id = 1 AND (holder = ? OR until_ms < ?)',
      ),
      releaseLease: db.prepare<[string]>("UPDATE purge_lease SET holder = '', until_ms = 0 WHERE id = 1 AND holder = ?"),
      markTrailed: db.prepare<[number, number]>('UPDATE tree_receipts SET trailed = 1 WHERE tid = ? AND leaf = ? AND trailed = 0'),
      untrailed: db.prepare<[], { id: string; leaf: number; text: string }>(
        'SELECT t.id, r.leaf, r.text FROM tree_receipts r JOIN tenants t ON t.tid = r.tid WHERE r.trailed = 0 ORDER BY r.tid, r.leaf',
      ),
      revoke: db.prepare<[string, string]>('UPDATE access_keys SET revoked_at = ? WHERE access_key = ? AND revoked_at IS NULL'),
      // ISO texts of one length compare as their times do.
      keyUsed: db.prepare<{ key: string; at: string }>(
        `UPDATE access_keys SET last_used_at = @at
         WHERE access_key = @key AND (last_used_at IS NULL OR last_used_at < @at) AND (revoked_at IS NULL OR revoked_at >= @at)`,
      ),
      addSecret: db.prepare<[string, string]>('INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)'),
      secret: db.prepare<[string], { value: string }>('SELECT value FROM secrets WHERE name = ?'),
      prefixKeyRecords: db.prepare<[string], { name: string }>(`SELECT name FROM secrets WHERE substr(name, 1, ${PREFIX_KEY_RECORD.length}) = ?`),
      checkpoint: db.prepare<[string, number, string], { through_ms: number; entries_seen: number; updated_at: string }>(
        'SELECT through_ms, entries_seen, updated_at FROM checkpoints WHERE source = ? AND tid = ? AND log_type = ?',
      ),
      checkpoints: db.prepare<
        [string | null, string | null],
        { source: string; id: string; log_type: string; through_ms: number; entries_seen: number; updated_at: string }
      >(
        `SELECT c.source, t.id, c.log_type, c.through_ms, c.entries_seen, c.updated_at FROM checkpoints c JOIN tenants t ON t.tid = c.tid
         WHERE ? IS NULL OR t.id = ? ORDER BY t.id, c.source, c.log_type`,
      ),
      forgetCheckpoints: db.prepare<[number, string, string | null, string | null]>(
        'DELETE FROM checkpoints WHERE tid = ? AND source = ? AND (? IS NULL OR log_type = ?)',
      ),
      setCheckpoint: db.prepare<[string, number, string, number, number, string, number | null, number | null]>(
        `INSERT INTO checkpoints (source, tid, log_type, through_ms, entries_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (source, tid, log_type) DO UPDATE SET through_ms = excluded.through_ms,
           entries_seen = CASE WHEN ? IS NULL THEN excluded.entries_seen ELSE max(0, checkpoints.entries_seen + excluded.entries_seen - ?) END,
           updated_at = excluded.updated_at`,
      ),
    };
    const secret = (name: string, create: () => string): string => {
      if (!db.readonly) this.q.addSecret.run(name, create());
      const value = this.q.secret.get(name)?.value;
      // Read-only, a store whose servers were given their log settings keeps none of its own.
      if (value === undefined) {
        throw new StoreInconsistencyError(
          `the store keeps no ${name}: its servers were given LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX, give them here too`,
        );
      }
      return value;
    };
    this.ownOriginPrefix = options.log?.originPrefix == null;
    const keys = new LogKeys(
      options.log?.signingSecret ?? secret(LOG_SIGNING_SECRET, newSigningSecret),
      options.log?.originPrefix ?? `logwarden/${secret(STORE_ID_SECRET, newStoreId)}`,
      this.ownOriginPrefix,
    );
    // Beside the database file unless configured elsewhere: a backup put back in its place leaves the witness as it was.
    this.witness = db.readonly ? null : new LogWitness(options.witnessDir ?? dirname(db.name));
    const report = options.onBackgroundError ?? reportToStderr;
    this.tree = new SqliteTree(
      db,
      keys,
      (typeId) => this.typeName(typeId),
      this.witness,
      (err) => report(new Error(`the witness of the signed checkpoints (log-witness.db) could not be written: ${err.message}`), false),
    );
    this.appender =
      db.readonly || db.memory || options.noAppendThread
        ? null
        : new AppendThread({ file: db.name, log: options.log, witnessDir: options.witnessDir ?? dirname(db.name) }, report);
    this.retention = new SqliteRetention(db);
    this.purger = new SqlitePurge(db, this.segments, this.tree, this.retention);
    this.sealing = options.noSealer !== true;
    this.sealer = new Sealer(db, this.segments, (tid, typeId) => this.ownerOf(tid, typeId), {
      sealAgeMs: options.sealAgeMs ?? DEFAULT_SEAL_AGE_MS,
      intervalMs: options.sealIntervalMs ?? 1000,
      now: this.now,
      report: options.onBackgroundError ?? reportToStderr,
      check: this.checkHot,
    });
    // Read-only: a store of this version as written (a backup being checked), no work of its own.
    if (db.readonly) return;
    backfillTrees(
      db,
      this.tree,
      this.segments,
      (tid, typeId) => this.ownerOf(tid, typeId),
      options.onTreeProgress ?? reportTreeProgress,
      options.treeBackfillChunk,
    );
    // Segments sealed before the user index existed are indexed before the store is used.
    while (db.transaction(() => this.segments.indexPending(64, (tid, typeId) => this.ownerOf(tid, typeId))).immediate() > 0);
    this.startSealer();
  }

  private startSealer(): void {
    if (this.sealing) this.sealer.start();
  }

  /**
   * Seals and compacts every hot row now, whatever its age, as the background would in time:
   * for tests and the benchmark's data set (not part of the Store interface). Returns the
   * entries sealed.
   */
  settle(): number {
    return this.sealer.settle();
  }

  /** Batches stored on the append thread so far (for tests). */
  get threadAppends(): number {
    return this.storedOnThread;
  }

  /** The last failure of the background sealing, if its latest attempt failed. */
  get backgroundError(): unknown {
    return this.sealer.lastError;
  }

  /** A log type's name by its number. */
  private typeName(typeId: number): string {
    let name = this.typeNames.get(typeId);
    if (name === undefined) {
      name = this.q.typeOf.get(typeId);
      if (name === undefined) throw new StoreInconsistencyError(`unknown log type number ${typeId}`);
      this.typeNames.set(typeId, name);
    }
    return name;
  }

  /** A tenant and log type by their numbers, with their names (which segments are bound to). */
  private ownerOf(tid: number, typeId: number): Owner {
    const key = `${tid}/${typeId}`;
    let owner = this.owners.get(key);
    if (owner === undefined) {
      const tenantId = this.q.tenantOf.get(tid);
      const logType = this.q.typeOf.get(typeId);
      if (tenantId === undefined || logType === undefined)
        throw new StoreInconsistencyError(`entries of unknown tenant ${tid} or log type ${typeId}`);
      owner = { tid, typeId, names: { tenantId, logType } };
      this.owners.set(key, owner);
    }
    return owner;
  }

  async health(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    await this.appender?.close();
    this.sealer.stop();
    if (this.db.open) this.db.close();
    this.witness?.close();
  }

  private tid(tenantId: string): number | undefined {
    let tid = this.tids.get(tenantId);
    if (tid === undefined) {
      tid = this.q.tidOf.get(tenantId)?.tid;
      if (tid !== undefined) this.tids.set(tenantId, tid);
    }
    return tid;
  }

  private requireTid(tenantId: string): number {
    const tid = this.tid(tenantId);
    if (tid === undefined) throw new UnknownTenantError(tenantId);
    return tid;
  }

  /** The id of a log type, registering it when `create` (inside a write transaction). */
  private typeId(name: string, create: boolean): number | undefined {
    let id = this.typeIds.get(name);
    if (id === undefined) {
      if (create) this.q.addType.run(name);
      id = this.q.typeIdOf.get(name)?.type_id;
      if (id !== undefined) this.typeIds.set(name, id);
    }
    return id;
  }

  async append(tenantId: string, entries: Iterable<NewEntry>): Promise<AppendResult> {
    const tid = this.requireTid(tenantId);
    const storedAt = this.now();
    if (entries instanceof PackedEntries && this.appender?.usable) {
      // Stored on the append thread while this one serves other requests; here if it cannot answer.
      const done = await this.appender.append(tenantId, entries, storedAt);
      if (done) {
        this.storedOnThread++;
        return done;
      }
    }
    return this.writing(() => this.appendRows(tid, tenantId, entries, storedAt));
  }

  /** On the append thread (append-thread-worker.ts): stores a batch on this connection, now. */
  appendHere(tenantId: string, entries: Iterable<NewEntry>, storedAt: number): AppendResult {
    const tid = this.requireTid(tenantId);
    return this.writing(() => this.appendRows(tid, tenantId, entries, storedAt));
  }

  /** Runs `fn` in an immediate write transaction; on a rollback, forgets what it cached of it. */
  private writing<T>(fn: () => T): T {
    const knownTypes = new Set(this.typeIds.keys());
    const knownTenants = new Set(this.tids.keys());
    try {
      const done = this.db.transaction(fn).immediate();
      this.tree.committed();
      return done;
    } catch (err) {
      // Types registered by the rolled-back transaction do not exist; their ids will be reused.
      for (const name of this.typeIds.keys()) if (!knownTypes.has(name)) this.typeIds.delete(name);
      for (const id of this.tids.keys()) if (!knownTenants.has(id)) this.tids.delete(id);
      this.typeNames.clear();
      this.keys.clear();
      this.tree.rolledBack();
      throw err;
    }
  }

  /** Inside a write transaction: stores the new entries of a batch with their leaves. */
  private appendRows(tid: number, tenantId: string, entries: Iterable<NewEntry>, storedAt = this.now()): AppendResult {
    let accepted = 0;
    let duplicates = 0;
    const tally = new BucketTally();
    const leaves: LeafRecord[] = [];
    const seqs: number[] = [];
    for (const e of entries) {
      const typeId = this.typeId(e.logType, true)!;
      if (this.q.addEntryKey.run(tid, e.eventTimeMs, e.key.subarray(0, KEY_BYTES)).changes === 1) {
        seqs.push(Number(this.q.insert.run(tid, typeId, e.eventTimeMs, e.bodyBytes ?? e.body, storedAt).lastInsertRowid));
        leaves.push(leafRecordOf(typeId, e));
        accepted++;
        tally.add(typeId, e.eventTimeMs);
      } else {
        duplicates++;
      }
    }
    for (const c of tally.entries()) this.q.addCount.run(tid, c.typeId, c.hour, c.n);
    // The tenant's tree and its next signed checkpoint, in this transaction.
    this.tree.append(tid, tenantId, leaves, seqs);
    return { accepted, duplicates };
  }

  /**
   * An administrative act and its admin-trail entry in one write transaction: `act` changes
   * the store and says the state before and after; the entry `trail` makes of them (if any)
   * joins the tenant's log before the commit. A failure anywhere leaves neither.
   */
  private recorded<S, R>(
    tenantOf: (after: S) => string,
    act: () => { before: S | undefined; after: S; result: R } | undefined,
    trail: TrailOf<S> | undefined,
  ): R | undefined {
    return this.writing(() => {
      const done = act();
      if (!done) return undefined;
      const entry = trail?.(done.before, done.after);
      if (entry) {
        const tenantId = tenantOf(done.after);
        this.appendRows(this.requireTid(tenantId), tenantId, [entry]);
      }
      return done.result;
    });
  }

  async firstPage(query: EntryQuery, limit: number): Promise<FirstPage> {
    const tid = this.tid(query.tenantId);
    const typeId = this.typeId(query.logType, false);
    if (tid === undefined || typeId === undefined) return { total: 0, watermark: 0, ...EMPTY_PAGE };
    const to = query.toMs ?? NO_UPPER_BOUND;
    return this.read(() => {
      const total = this.count(tid, typeId, query);
      if (total === 0) return { total, watermark: 0, ...EMPTY_PAGE };
      const watermark = this.q.watermark.get()?.w ?? 0;
      return { total, watermark, ...this.page(tid, typeId, before(query.fromMs), to, watermark, limit, query.user) };
    });
  }

  async nextPage(query: EntryQuery, after: Position, watermark: number, limit: number): Promise<StoredPage> {
    const tid = this.tid(query.tenantId);
    const typeId = this.typeId(query.logType, false);
    if (tid === undefined || typeId === undefined) return EMPTY_PAGE;
    const to = query.toMs ?? NO_UPPER_BOUND;
    // Positions before the query's start resume at its start.
    const from = after.timeMs < query.fromMs ? before(query.fromMs) : after;
    // One read transaction: the segments and hot rows of a single commit.
    return this.read(() => this.page(tid, typeId, from, to, watermark, limit, query.user));
  }

  async latestEntryHour(tenantId: string, logType: string, notAfterMs = Number.MAX_SAFE_INTEGER): Promise<number | undefined> {
    const tid = this.tid(tenantId);
    const typeId = this.typeId(logType, false);
    if (tid === undefined || typeId === undefined) return undefined;
    const row = this.q.latestHour.get(tid, typeId, Math.floor(notAfterMs / BUCKET_MS));
    return row === undefined ? undefined : row.hour * BUCKET_MS;
  }

  async hourlyTallies(query: EntryQuery): Promise<HourTally[]> {
    const tid = this.tid(query.tenantId);
    const typeId = this.typeId(query.logType, false);
    if (tid === undefined || typeId === undefined) return [];
    const user = query.user;
    if (user !== undefined) {
      // One user's hours: their segments' postings and hot rows, in one read transaction.
      const { from, to } = wholeHours(query.fromMs, query.toMs);
      return this.read(() => {
        const hot = this.q.hotOfUser
          .all(tid, typeId, from, from, -1, to, NO_UPPER_BOUND, `$.${user.field}`, user.value, NO_UPPER_BOUND)
          .map(([timeMs]) => timeMs);
        return userHourlyTallies(this.segments.posted(this.ownerOf(tid, typeId), user, before(from)), hot, user, query.fromMs, query.toMs);
      });
    }
    const hours = overlappingBuckets(query.fromMs, query.toMs);
    return this.q.hourly.all(tid, typeId, hours.from, hours.to).map((r) => ({ hourMs: r.hour * BUCKET_MS, count: r.n }));
  }

  /** `read()` in one read transaction (a deferred one: it takes no lock until its first statement). */
  private read<T>(read: () => T): T {
    return this.reading.deferred(read) as T;
  }

  /** Up to `limit` entries after `after`, before `toMs`, at or below `watermark` (inside a read transaction). */
  private page(tid: number, typeId: number, after: Position, toMs: number, watermark: number, limit: number, user?: UserMatch): StoredPage {
    const owner = this.ownerOf(tid, typeId);
    if (user !== undefined) {
      const hot: HotEntry[] = this.q.hotOfUser
        .all(tid, typeId, after.timeMs, after.timeMs, after.seq, toMs, watermark, `$.${user.field}`, user.value, limit + 1)
        .map(([timeMs, seq, body]) => this.checkedHot(owner, timeMs, seq, body));
      return userPage(this.segments.posted(owner, user, after), hot, user, { after, toMs, watermark, limit });
    }
    const hot: HotEntry[] = this.q.hot
      .all(tid, typeId, after.timeMs, after.timeMs, after.seq, toMs, watermark, limit + 1)
      .map(([timeMs, seq, body]) => this.checkedHot(owner, timeMs, seq, body));
    return mergePage(this.segments.after(owner, after, toMs), hot, { after, toMs, watermark, limit });
  }

  /** A hot row read for a page, once held against its digest (hot-rows.ts). */
  private checkedHot(owner: Owner, timeMs: number, seq: number, body: Buffer): HotEntry {
    this.checkHot(owner.tid, owner.names.logType, timeMs, seq, body);
    return { timeMs, seq, body };
  }

  /** Entries with `fromMs <= eventTime < toMs`, hot and sealed (inside a read transaction). */
  private countRange(tid: number, typeId: number, fromMs: number, toMs: number): number {
    const owner = this.ownerOf(tid, typeId);
    let n = this.q.countHot.get(tid, typeId, fromMs, toMs)!;
    for (const row of this.segments.overlapping(owner, fromMs, toMs)) {
      n += row.firstTime >= fromMs && row.lastTime < toMs ? row.n : countInSegment(this.segments.decoded(owner, row), fromMs, toMs);
    }
    return n;
  }

  /** Entries of the query, by the rollups and at most two short ranges counted (count-plan.ts). */
  private count(tid: number, typeId: number, query: EntryQuery): number {
    const user = query.user;
    if (user !== undefined) {
      const to = query.toMs ?? NO_UPPER_BOUND;
      const sealed = countPosted(this.segments.posted(this.ownerOf(tid, typeId), user, before(query.fromMs)), user, query.fromMs, to);
      return sealed + this.q.countHotOfUser.get(tid, typeId, query.fromMs, to, `$.${user.field}`, user.value)!;
    }
    const plan = planCount(query.fromMs, query.toMs);
    let total = 0;
    if (plan.fromBucket < plan.toBucket) {
      total += this.q.sumCounts.get(tid, typeId, plan.fromBucket, plan.toBucket)!.n;
    }
    for (const r of plan.ranges) total += r.sign * this.countRange(tid, typeId, r.fromMs, r.toMs);
    return total;
  }

  async createTenant(input: { id: string; name: string }, trail?: TrailOf<Tenant>): Promise<Tenant> {
    return this.recorded(
      (t) => t.id,
      () => {
        this.q.addTenant.run(input.id, input.name, new Date().toISOString());
        const after = toTenant(this.q.tenant.get(input.id)!);
        return { before: undefined, after, result: after };
      },
      trail,
    )!;
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const r = this.q.tenant.get(id);
    return r && toTenant(r);
  }

  async listTenants(): Promise<Tenant[]> {
    return this.q.tenants.all().map(toTenant);
  }

  async setTenantLimits(id: string, limits: Partial<TenantLimits>, trail?: TrailOf<Tenant>): Promise<Tenant | undefined> {
    return this.recorded(
      (t) => t.id,
      () => {
        const r = this.q.tenant.get(id);
        if (!r) return undefined;
        const before = toTenant(r);
        const next = { ...before.limits, ...limits };
        this.q.setLimits.run(next.readPerSecond, next.readPerDay, next.ingestPerSecond, id);
        const after = toTenant(this.q.tenant.get(id)!);
        return { before, after, result: after };
      },
      trail,
    );
  }

  async createAccessKey(key: NewAccessKey, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord> {
    return this.addKey(key, false, trail)!;
  }

  async createFirstAccessKey(key: NewAccessKey, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord | undefined> {
    return this.addKey(key, true, trail);
  }

  /** Adds a key in a write transaction (with `first`, only when the tenant has none yet). */
  private addKey(key: NewAccessKey, first: boolean, trail?: TrailOf<AccessKeyRecord>): AccessKeyRecord | undefined {
    const tid = this.requireTid(key.tenantId);
    this.keys.clear();
    return this.recorded(
      (k) => k.tenantId,
      () => {
        if (first && this.q.anyKeyOf.get(tid) !== undefined) return undefined;
        this.q.addKey.run(key.accessKey, tid, key.secretHash, JSON.stringify(key.scopes), new Date().toISOString());
        const after = toKey(this.q.key.get(key.accessKey)!);
        return { before: undefined, after, result: after };
      },
      trail,
    );
  }

  async getAccessKey(accessKey: string): Promise<AccessKeyRecord | undefined> {
    const version = this.q.dataVersion.get()!;
    if (version !== this.keysVersion) {
      this.keys.clear();
      this.keysVersion = version;
    }
    if (this.keys.has(accessKey)) return this.keys.get(accessKey);
    const r = this.q.key.get(accessKey);
    const record = r && toKey(r);
    // Unknown keys are kept too (a client retrying a bad key costs no lookups); the bound keeps
    // made-up ones from growing the map.
    if (this.keys.size >= 10_000) this.keys.clear();
    this.keys.set(accessKey, record);
    return record;
  }

  async listAccessKeys(tenantId: string): Promise<AccessKeyRecord[]> {
    return this.q.keys.all(tenantId).map(toKey);
  }

  async revokeAccessKey(accessKey: string, trail?: TrailOf<AccessKeyRecord>): Promise<boolean> {
    this.keys.clear();
    const revoked = this.recorded(
      (k) => k.tenantId,
      () => {
        const r = this.q.key.get(accessKey);
        if (!r || this.q.revoke.run(new Date().toISOString(), accessKey).changes !== 1) return undefined;
        return { before: toKey(r), after: toKey(this.q.key.get(accessKey)!), result: true };
      },
      trail,
    );
    this.keys.clear();
    return revoked === true;
  }

  async recordKeyUse(uses: readonly KeyUse[]): Promise<void> {
    if (uses.length === 0) return;
    // A write waits for the database's lock on this thread: briefly, since uses not written now
    // are written with the next ones (the caller keeps them).
    const wait = this.db.pragma('busy_timeout', { simple: true }) as number;
    this.db.pragma(`busy_timeout = ${KEY_USE_BUSY_MS}`);
    try {
      this.db
        .transaction(() => {
          for (const u of uses) this.q.keyUsed.run({ key: u.accessKey, at: new Date(u.atMs).toISOString() });
        })
        .immediate();
      // This connection's own writes do not change its data_version: what it kept of them goes.
      for (const u of uses) this.keys.delete(u.accessKey);
    } finally {
      this.db.pragma(`busy_timeout = ${Math.trunc(wait)}`);
    }
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const existing = this.q.secret.get(name);
    if (existing) return existing.value;
    this.q.addSecret.run(name, create());
    return this.q.secret.get(name)!.value;
  }

  async log(tenantId: string): Promise<TenantLog | undefined> {
    const tid = this.tid(tenantId);
    return tid === undefined ? undefined : this.tree.log(tid, tenantId);
  }

  async checkLogs(): Promise<readonly string[]> {
    const tenants = (await this.listTenants()).flatMap((t) => {
      const tid = this.tid(t.id);
      return tid === undefined ? [] : [{ tid, tenantId: t.id }];
    });
    const signed = this.db.transaction(() => this.tree.checkAll(tenants)).deferred();
    this.tree.checkUnheldOrigins((tenantId) => this.q.tidOf.get(tenantId) !== undefined, this.ownOriginPrefix);
    const recorded = this.q.prefixKeyRecords.all(PREFIX_KEY_RECORD).map((r) => r.name.slice(PREFIX_KEY_RECORD.length));
    await this.tree.keys.checkRecorded((name, create) => this.getOrCreateSecret(name, create), signed, recorded);
    const unaware = signed ? this.witness?.unawareOf(this.tree.keys.originPrefix) : undefined;
    return unaware === undefined ? [] : [unaware];
  }

  async leafIndexes(tenantId: string, seqs: readonly number[]): Promise<number[]> {
    const tid = this.tid(tenantId);
    return tid === undefined ? seqs.map(() => -1) : this.read(() => this.tree.leafIndexes(tid, seqs));
  }

  async exportAll(): Promise<StoreExport> {
    return exportSqliteStore({
      db: this.db,
      segments: this.segments,
      keys: this.tree.keys,
      ownerOf: (tid, typeId) => this.ownerOf(tid, typeId),
      checkHot: this.checkHot,
      tenants: () => this.q.tenants.all().map(toTenant),
      accessKeys: (tenantId) => this.q.keys.all(tenantId).map(toKey),
      retention: (tid) => this.retention.settings(tid),
      holds: (tenantId) => this.retention.list(tenantId, true),
      pause: () => this.sealer.stop(),
      resume: () => this.startSealer(),
    });
  }

  async importAll(from: StoreExport, progress?: ImportProgress): Promise<void> {
    // The sealer would write into the import's transaction: it waits until the import is over.
    this.sealer.stop();
    try {
      await importIntoSqlite(this.db, from, progress);
    } finally {
      this.tids.clear();
      this.typeIds.clear();
      this.typeNames.clear();
      this.owners.clear();
      this.keys.clear();
      this.startSealer();
    }
  }

  /** The verifiable log's keys (origins, signers, verifier keys). */
  get logKeys(): LogKeys {
    return this.tree.keys;
  }

  async getCheckpoint(source: string, tenantId: string, logType: string): Promise<Checkpoint | undefined> {
    const tid = this.tid(tenantId);
    if (tid === undefined) return undefined;
    const r = this.q.checkpoint.get(source, tid, logType);
    return r && { source, tenantId, logType, throughMs: r.through_ms, entriesSeen: r.entries_seen, updatedAt: r.updated_at };
  }

  async setCheckpoint(c: Omit<Checkpoint, 'updatedAt'> & { readonly countFrom?: number }): Promise<void> {
    this.q.setCheckpoint.run(
      c.source,
      this.requireTid(c.tenantId),
      c.logType,
      c.throughMs,
      c.entriesSeen,
      new Date().toISOString(),
      c.countFrom ?? null,
      c.countFrom ?? null,
    );
  }

  async listCheckpoints(tenantId?: string): Promise<Checkpoint[]> {
    const id = tenantId ?? null;
    return this.q.checkpoints.all(id, id).map((r) => ({
      source: r.source,
      tenantId: r.id,
      logType: r.log_type,
      throughMs: r.through_ms,
      entriesSeen: r.entries_seen,
      updatedAt: r.updated_at,
    }));
  }

  async forgetCheckpoints(tenantId: string, source: string, logType?: string): Promise<number> {
    const tid = this.tid(tenantId);
    return tid === undefined ? 0 : this.q.forgetCheckpoints.run(tid, source, logType ?? null, logType ?? null).changes;
  }

  async getRetention(tenantId: string): Promise<RetentionSettings | undefined> {
    const tid = this.tid(tenantId);
    return tid === undefined ? undefined : this.retention.settings(tid);
  }

  async setRetention(
    tenantId: string,
    logType: string | null,
    days: RetentionDays | undefined,
    trail?: TrailOf<RetentionSettings>,
  ): Promise<RetentionSettings> {
    const tid = this.requireTid(tenantId);
    return this.recorded(
      () => tenantId,
      () => {
        const before = this.retention.settings(tid);
        const after = this.retention.set(tid, logType, days);
        return { before, after, result: after };
      },
      trail,
    )!;
  }

  async logTypes(tenantId: string): Promise<string[]> {
    const tid = this.tid(tenantId);
    return tid === undefined ? [] : this.logTypesOf(tid);
  }

  private logTypesOf(tid: number): string[] {
    const names = new Set(this.q.typesOf.all(tid));
    for (const name of Object.keys(this.retention.settings(tid).perType)) names.add(name);
    return [...names].sort();
  }

  async createHold(hold: NewLegalHold, trail?: TrailOf<LegalHold>): Promise<LegalHold> {
    const tid = this.requireTid(hold.tenantId);
    return this.recorded(
      (h) => h.tenantId,
      () => {
        const after = this.retention.createHold(tid, hold, new Date(this.now()));
        return { before: undefined, after, result: after };
      },
      trail,
    )!;
  }

  async listHolds(filter: { tenantId?: string; includeReleased?: boolean } = {}): Promise<LegalHold[]> {
    return this.retention.list(filter.tenantId, filter.includeReleased === true);
  }

  async releaseHold(id: string, release: { reason: string; releasedBy: string }, trail?: TrailOf<LegalHold>): Promise<LegalHold | undefined> {
    return this.recorded(
      (h) => h.tenantId,
      () => {
        const after = this.retention.release(id, release, new Date(this.now()));
        if (!after) return undefined;
        const before = { ...after, releasedAt: null, releasedBy: null, releaseReason: null };
        return { before, after, result: after };
      },
      trail,
    );
  }

  async purge(tenantId: string, logType: string, beforeMs: number, limit: number, cutoffOf?: StepCutoffOf): Promise<PurgeReceipt> {
    const tid = this.requireTid(tenantId);
    const max = purgeLimit(limit);
    const typeId = this.typeId(logType, false);
    const nowMs = this.now();
    if (typeId === undefined) return emptyReceipt(logType, nowMs);
    let receipt: PurgeReceipt;
    try {
      receipt = this.db
        .transaction(() => {
          // The settings as the step's write transaction sees them: no change commits meanwhile.
          const cutoff = cutoffOf ? cutoffOf(this.retention.settings(tid), this.logTypesOf(tid)) : beforeMs;
          if (cutoff === null) return emptyReceipt(logType, nowMs);
          return this.purger.step(this.ownerOf(tid, typeId), Math.min(beforeMs, cutoff), max, nowMs);
        })
        .immediate();
      this.tree.committed();
      this.segments.committed();
    } catch (err) {
      this.tree.rolledBack();
      this.segments.rolledBack();
      throw err;
    }
    // What the step freed goes back to the file system (with incremental auto-vacuum).
    if (receipt.count > 0) this.sealer.giveBackPurgedSpace();
    return receipt;
  }

  async recordPurgeTrail(tenantId: string, receiptLeaf: number, entry: NewEntry): Promise<boolean> {
    const tid = this.requireTid(tenantId);
    const recorded = this.recorded(
      (t: string) => t,
      () => (this.q.markTrailed.run(tid, receiptLeaf).changes === 1 ? { before: undefined, after: tenantId, result: true } : undefined),
      () => entry,
    );
    return recorded === true;
  }

  async untrailedReceipts(): Promise<{ tenantId: string; leafIndex: number; text: string }[]> {
    return this.q.untrailed.all().map((r) => ({ tenantId: r.id, leafIndex: r.leaf, text: r.text }));
  }

  async takePurgeLease(holder: string, ttlMs: number): Promise<boolean> {
    const now = Date.now();
    return this.q.takeLease.run(holder, now + ttlMs, holder, now).changes === 1;
  }

  async releasePurgeLease(holder: string): Promise<void> {
    this.q.releaseLease.run(holder);
  }
}
