/**
 * The Store: everything logwarden keeps, in domain words. No SQL or driver type crosses this
 * interface; `sqlite/` and `postgres/` implement it side by side and pass one conformance
 * suite (test/store/contract/store.contract.ts).
 */
import { CodedError } from '../errors.ts';
import type { NewEntry, UserMatch } from '../logs/entry.ts';
import type { HashReader } from '../tlog/hash-reader.ts';
import type { ImportProgress, StoreExport } from './store-transfer.ts';

export type { UserMatch } from '../logs/entry.ts';

export type Scope = 'api:logs:read' | 'api:logs:write';
export const SCOPES: readonly Scope[] = ['api:logs:read', 'api:logs:write'];

/** Per-tenant rate limits; `null` means "the server's default". */
export interface TenantLimits {
  readPerSecond: number | null;
  readPerDay: number | null;
  ingestPerSecond: number | null;
}

export interface Tenant {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly limits: TenantLimits;
}

export interface AccessKeyRecord {
  readonly accessKey: string;
  readonly tenantId: string;
  /** Digest of the secret (never the secret itself). */
  readonly secretHash: Buffer;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly revokedAt: string | null;
  /**
   * When a request last authenticated with the key (or a token issued to it), as far as the
   * store has been told (`recordKeyUse`); null when it never has since the store recorded uses.
   */
  readonly lastUsedAt: string | null;
  /**
   * For a key that existed before the store recorded uses (schema version 10, 11): the time
   * from which its uses are recorded, so a null `lastUsedAt` means "unknown", not "never".
   * Null for a key whose uses are recorded since its creation.
   */
  readonly usesRecordedSince: string | null;
}

/** A key's latest use a process saw (`Store.recordKeyUse`). */
export interface KeyUse {
  readonly accessKey: string;
  readonly atMs: number;
}

/** What `Store.watchAccessKeys` tells. */
export interface AccessKeyWatcher {
  /** A key was created or revoked (committed). */
  changed(accessKey: string): void;
  /** Whether changes are heard: while false, some may be missed, and nothing may be kept. */
  live(heard: boolean): void;
}

export interface NewAccessKey {
  readonly accessKey: string;
  readonly tenantId: string;
  readonly secretHash: Buffer;
  readonly scopes: readonly Scope[];
}

/** A query over one tenant's entries of one type: `fromMs <= eventTime < toMs` (whole ms). */
export interface EntryQuery {
  readonly tenantId: string;
  readonly logType: string;
  readonly fromMs: number;
  /** Exclusive; `null` for "up to the latest entry". */
  readonly toMs: number | null;
  /** Only the entries whose user field is exactly this (user-filter.ts); absent for all entries. */
  readonly user?: UserMatch | undefined;
}

/** Where a page ends: the sort key of its last entry (event time, then insertion sequence). */
export interface Position {
  readonly timeMs: number;
  readonly seq: number;
}

export interface StoredEntry {
  readonly timeMs: number;
  readonly seq: number;
  /** The entry's wire text. */
  readonly body: string;
}

/**
 * A page of entries. Their wire texts come as one UTF-8 buffer, comma-separated: exactly what
 * the API puts between the brackets of `logEntries`, so a page goes from the store to the
 * socket without being decoded, split or re-encoded (page.ts has helpers). The buffers are the
 * reader's to keep: a store never writes into them again (a page may be handed to the socket
 * as it is, and sent after the store has read others).
 */
export interface StoredPage {
  /** The entries' wire texts, comma-separated, as the page's `logEntries` array holds them. */
  readonly text: Buffer;
  /**
   * When given, `text` in stretches: joined with a comma between each two, they are `text`. A
   * reader that copies the page anyway copies these and never makes `text` (a new buffer).
   */
  readonly stretches?: readonly Buffer[];
  /** The number of entries in `text`. */
  readonly count: number;
  /**
   * Where the next page starts — the position of this page's last entry — when entries follow
   * it (within its snapshot); null when this page ends the query.
   */
  readonly next: Position | null;
  /**
   * The sequence of each entry in `text`, in page order, when the store reports them (both
   * stores do): what `leafIndexes` maps to the entries' leaves.
   */
  readonly seqs?: readonly number[];
}

export interface FirstPage extends StoredPage {
  /** Entries matching the query as of the snapshot. */
  readonly total: number;
  /** The snapshot: entries with a higher sequence were not visible and never will be to this query. */
  readonly watermark: number;
}

/** The number of entries stored with an event time in one UTC hour. */
export interface HourTally {
  /** The hour's start, ms since the epoch. */
  readonly hourMs: number;
  readonly count: number;
}

export interface AppendResult {
  readonly accepted: number;
  readonly duplicates: number;
}

/** A sync checkpoint: how far a mirror of (source, tenant, type) has got. */
export interface Checkpoint {
  readonly source: string;
  readonly tenantId: string;
  readonly logType: string;
  /** Event time (ms) up to which the source has been read completely. */
  readonly throughMs: number;
  /** Entries stored for this (source, tenant, type) so far; lets sync warn when a source goes silent. */
  readonly entriesSeen: number;
  readonly updatedAt: string;
}

/** A signed checkpoint of a tenant's log as the store keeps it. */
export interface SignedTreeHead {
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The C2SP signed note, verbatim. */
  readonly note: string;
}

/**
 * A tenant's verifiable log (SPEC §11) as of its latest signed checkpoint: one leaf per stored
 * entry in append order, across log types (duplicates add none), extended in the transaction
 * that stores the entries, with a checkpoint signed for every committed size.
 */
export interface TenantLog {
  readonly origin: string;
  /** The tenant's verifier key, note form `<name>+<hex id>+<base64>`. */
  readonly verifierKey: string;
  readonly checkpoint: SignedTreeHead;
  /** The tree's stored hashes (Go's stored hash order), for indexes of trees up to the checkpoint's size. */
  readonly reader: HashReader;
  /** The entry leaf texts of leaves [start, start + count), within the checkpoint's size. */
  leaves(start: number, count: number): Promise<string[]>;
}

/** Days an entry is kept after its event time; null = forever. */
export type RetentionDays = number | null;

/** A purge step's cutoff (ms; null: kept forever) by its tenant's retention settings and log types. */
export type StepCutoffOf = (settings: RetentionSettings, tenantTypes: readonly string[]) => number | null;

/** A tenant's retention settings as stored (effective retention: retention-policy.ts). */
export interface RetentionSettings {
  /** The tenant's own default for all its types; undefined = the server default applies. */
  readonly tenantDays?: RetentionDays;
  /** Per log type, overriding the tenant default. */
  readonly perType: Readonly<Record<string, RetentionDays>>;
}

/**
 * A legal hold: while active (not released), no entry of its tenant (and log type, when it names
 * one) with an event time in `[fromMs, toMs)` is deleted, whatever the retention.
 */
export interface LegalHold {
  /** `hold_` and random characters; never reused. */
  readonly id: string;
  readonly tenantId: string;
  /** null = every log type of the tenant. */
  readonly logType: string | null;
  /** Event time range `[fromMs, toMs)`; null = unbounded on that side. */
  readonly fromMs: number | null;
  readonly toMs: number | null;
  readonly reason: string;
  /** ISO time. */
  readonly createdAt: string;
  /** Who created it, e.g. `user@host` for the CLI. */
  readonly createdBy: string;
  readonly releasedAt: string | null;
  readonly releasedBy: string | null;
  readonly releaseReason: string | null;
}

export type NewLegalHold = Omit<LegalHold, 'id' | 'createdAt' | 'releasedAt' | 'releasedBy' | 'releaseReason'>;

/**
 * What became of a time partition at a purge: dropped whole; kept (it holds entries still
 * retained or held, or is gone); changed while it was read (written to, or a hold created);
 * busy (its locks were not granted in time, reads and writes going first).
 */
export type PartitionOutcome = 'dropped' | 'kept' | 'changed' | 'busy';

/**
 * What one purge step deleted, as its deletion receipt (SPEC §11 `logwarden/deletion/v1`,
 * docs/verifiable-log.md) says. `count` 0: nothing was left to delete (no receipt appended).
 */
export interface PurgeReceipt {
  readonly count: number;
  readonly logType: string;
  /** Event times of the first and last entry deleted (ms; both deleted); 0 when count is 0. */
  readonly fromMs: number;
  readonly toMs: number;
  /** The receipt's leaf in the tenant's tree; null when nothing was deleted. */
  readonly leafIndex: number | null;
  /** Base64 SHA-256 over the deleted entries' leaf hashes, concatenated in leaf order. */
  readonly digest: string;
  /** When the purge ran (ISO, as the receipt states it). */
  readonly purgedAt: string;
}

/**
 * The admin-trail entry of an administrative act, built from the state before the act
 * (undefined when the act created the thing) and after it; undefined: nothing to record. The
 * store appends it to the act's tenant's log in the act's own transaction: both or neither.
 */
export type TrailOf<T> = (before: T | undefined, after: T) => NewEntry | undefined;

/**
 * What logwarden keeps. A store starts any background work of its own (sealing entries into
 * compressed segments) when it is opened and stops it in `close`.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';

  /** Fails unless the store is reachable and usable. */
  health(): Promise<void>;
  close(): Promise<void>;

  /**
   * Durably appends entries of one tenant, all or nothing (UnknownTenantError for an unknown tenant). An entry whose `key` is already
   * stored for the tenant (or repeated in the batch) is a duplicate and is not stored again.
   * Resolves only after the commit is durable.
   */
  append(tenantId: string, entries: Iterable<NewEntry>): Promise<AppendResult>;

  /**
   * The first page (up to `limit` entries) of a query together with its total and snapshot
   * watermark, read consistently. Stored data that fails its checks rejects with
   * CorruptSegmentError (CorruptEntryError for a row not yet sealed; for this and `nextPage`):
   * no entry of it is returned.
   */
  firstPage(query: EntryQuery, limit: number): Promise<FirstPage>;

  /** The next page (up to `limit` entries) after `after`, seeing only entries at or below `watermark`. */
  nextPage(query: EntryQuery, after: Position, watermark: number, limit: number): Promise<StoredPage>;

  /**
   * Entries per hour for the hours that overlap the query's range and hold entries, ascending:
   * the hourly tallies the store keeps for totals (whole hours, read from their index; no entry
   * is read). An unknown tenant or type has none. With the query's `user`, that user's entries
   * per hour over the whole hours overlapping the range, from the user index (user-filter.ts).
   */
  hourlyTallies(query: EntryQuery): Promise<HourTally[]>;

  /**
   * The start (ms) of the latest hour holding an entry of the tenant's log type, from the
   * hourly tallies (one index read), of those starting at or before `notAfterMs` when given;
   * undefined when there is none (or the tenant or type is unknown).
   */
  latestEntryHour(tenantId: string, logType: string, notAfterMs?: number): Promise<number | undefined>;

  /** `trail` (here and below): the act's admin-trail entry, appended in the act's transaction. */
  createTenant(input: { id: string; name: string }, trail?: TrailOf<Tenant>): Promise<Tenant>;
  getTenant(id: string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  /** Changes the given limits (omitted fields stay); returns the updated tenant, undefined if unknown. */
  setTenantLimits(id: string, limits: Partial<TenantLimits>, trail?: TrailOf<Tenant>): Promise<Tenant | undefined>;

  createAccessKey(key: NewAccessKey, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord>;
  /**
   * A tenant's first key: created as createAccessKey does, but only while the tenant has no key
   * (none ever made, revoked ones included), checked in the same transaction; otherwise nothing
   * is written and the answer is undefined. First keys made at once (two servers starting on one
   * store) make one between them.
   */
  createFirstAccessKey(key: NewAccessKey, trail?: TrailOf<AccessKeyRecord>): Promise<AccessKeyRecord | undefined>;
  getAccessKey(accessKey: string): Promise<AccessKeyRecord | undefined>;
  listAccessKeys(tenantId: string): Promise<AccessKeyRecord[]>;
  /** Revokes a key; false when no such key exists or it was already revoked. */
  revokeAccessKey(accessKey: string, trail?: TrailOf<AccessKeyRecord>): Promise<boolean>;
  /**
   * Sets each key's last use to the given time unless the store holds a later one (processes
   * writing their uses in any order never move it back), nor for a key revoked before that
   * time. Unknown keys are ignored. Not an act of the admin trail, and no change
   * `watchAccessKeys` tells of.
   */
  recordKeyUse(uses: readonly KeyUse[]): Promise<void>;
  /**
   * For a process that keeps access keys in memory: hears keys created or revoked by any process
   * of the store (until the store closes). Offered by stores shared by several processes whose
   * reads cost a round trip (PostgreSQL).
   */
  watchAccessKeys?(watcher: AccessKeyWatcher): void;

  /** The value stored under `name`, creating it with `create()` on first use (atomically). */
  getOrCreateSecret(name: string, create: () => string): Promise<string>;

  /**
   * The tenant's verifiable log as of its latest signed checkpoint (signing the empty tree's
   * first one if there is none yet); undefined for an unknown tenant. Optional while a store
   * lacks it (the contract's tree cases run only for stores whose fixture says they have it).
   */
  log?(tenantId: string): Promise<TenantLog | undefined>;

  /**
   * Checks, before a server signs anything, that the logs can be extended, and throws what
   * extending one would throw: a signing secret other than the one the checkpoints were signed
   * with (one tenant's last checkpoint is opened: every tenant's key derives from that secret,
   * and the store records a key the secret derives per origin prefix, compared even before any
   * tenant of the prefix has a checkpoint), and, where the store keeps a witness (SQLite), a log
   * put back to an earlier state than was signed (every tenant's, read without deriving its
   * key). Cheap with any number of tenants. Resolves with what the operator should be told that
   * does not stop the store (a witness that knows nothing of logs the store has signed).
   */
  checkLogs?(): Promise<readonly string[]>;

  /**
   * The leaf index of each stored entry of the tenant given by its sequence (`StoredPage.seqs`),
   * in the same order; -1 for a sequence with no leaf of this tenant.
   */
  leafIndexes?(tenantId: string, seqs: readonly number[]): Promise<number[]>;

  getCheckpoint(source: string, tenantId: string, logType: string): Promise<Checkpoint | undefined>;
  /**
   * Saves a sync checkpoint. With `countFrom` (the `entriesSeen` the caller's count was built
   * on), what the caller added (`entriesSeen - countFrom`) is added to the count as it is stored
   * now, so runs of one mirror that overlap each count what they stored; without it, the count
   * is set.
   */
  setCheckpoint(checkpoint: Omit<Checkpoint, 'updatedAt'> & { readonly countFrom?: number }): Promise<void>;
  /** Every checkpoint (of one tenant, when given), by tenant id, source and type; none for an unknown tenant. */
  listCheckpoints(tenantId?: string): Promise<Checkpoint[]>;
  /** Deletes the tenant's checkpoints of `source` (of one type, when given); returns how many there were. */
  forgetCheckpoints(tenantId: string, source: string, logType?: string): Promise<number>;

  /** The tenant's retention settings; undefined for an unknown tenant. */
  getRetention(tenantId: string): Promise<RetentionSettings | undefined>;
  /**
   * Sets (days: a number or null = forever) or removes (days undefined) the tenant's default
   * (logType null) or one type's retention; returns the settings after. UnknownTenantError
   * for an unknown tenant.
   */
  setRetention(
    tenantId: string,
    logType: string | null,
    days: RetentionDays | undefined,
    trail?: TrailOf<RetentionSettings>,
  ): Promise<RetentionSettings>;
  /** The log types the tenant holds entries of (or has a retention setting for), sorted. */
  logTypes(tenantId: string): Promise<string[]>;

  /** Stores a new active hold (UnknownTenantError for an unknown tenant). */
  createHold(hold: NewLegalHold, trail?: TrailOf<LegalHold>): Promise<LegalHold>;
  /** Holds by creation, active only unless `includeReleased`; all tenants unless `tenantId`. */
  listHolds(filter?: { tenantId?: string; includeReleased?: boolean }): Promise<LegalHold[]>;
  /** Releases an active hold; undefined when it is unknown or already released. */
  releaseHold(id: string, release: { reason: string; releasedBy: string }, trail?: TrailOf<LegalHold>): Promise<LegalHold | undefined>;

  /**
   * One bounded purge step: deletes, in one transaction, up to `limit` entries of one tenant and
   * log type with an event time before `beforeMs` that no active hold covers (oldest first),
   * keeps the hourly tallies exact, drops their idempotency keys (the same entry ingested again
   * is stored again), and appends ONE deletion receipt leaf for them to the tenant's tree with
   * its signed checkpoint. Count 0: nothing left to delete (nothing appended). With `cutoffOf`,
   * the step also goes by the cutoff it gives for the tenant's retention settings and log types
   * as the step's transaction reads them (the earlier of the two; null: nothing goes), so that a
   * retention changed while the step waited for the tenant is honoured.
   */
  purge(tenantId: string, logType: string, beforeMs: number, limit: number, cutoffOf?: StepCutoffOf): Promise<PurgeReceipt>;

  /**
   * Appends a purge step's admin-trail entry to its tenant's log, once: in one transaction with
   * marking its receipt (leaf `receiptLeaf`) as recorded. False when it already was (nothing appended).
   */
  recordPurgeTrail(tenantId: string, receiptLeaf: number, entry: NewEntry): Promise<boolean>;
  /** Receipts whose admin-trail entry is not recorded (a process ended between the two), by tenant and leaf. */
  untrailedReceipts(): Promise<{ tenantId: string; leafIndex: number; text: string }[]>;

  /**
   * Stores that keep entries in time partitions (PostgreSQL's months) drop whole partitions in
   * which every entry is expired for its tenant and type (before `cutoffOf`'s time, given the
   * tenant's retention settings and log types as read when the partition is listed and again,
   * locked against changes, before it is dropped; null: kept forever) and under no active hold, each in one transaction with the deletion receipts of
   * everything it held (one per at most 2,500 entries of a tenant and type). Returns those
   * receipts. `onPartition` hears of each partition wholly expired but left to the steps, and
   * why, and of each one dropped. `goOn`, asked before each partition after the first, ends the
   * drops when it says no (the purge lease lost, say). Optional: a store without partitions
   * purges by steps only.
   */
  dropExpiredPartitions?(
    cutoffOf: (tenantId: string, logType: string, settings: RetentionSettings, tenantTypes: readonly string[]) => number | null,
    onPartition?: (p: { partition: string; outcome: PartitionOutcome }) => void,
    goOn?: () => Promise<boolean>,
  ): Promise<{ tenantId: string; receipt: PurgeReceipt }[]>;

  /**
   * Reads the whole store out (store-transfer.ts), as of one moment, for copying it into another:
   * refused while another process has the store open (a server would go on acknowledging
   * entries the copy has not got), and until the export is closed no other process can open it.
   * Optional: a store without it cannot be a copy's source.
   */
  exportAll?(): Promise<StoreExport>;

  /**
   * Takes a whole store in (store-transfer.ts) in one transaction: all of it, or nothing when
   * it fails or is interrupted. TargetNotEmptyError when this store holds anything (tenants,
   * log types, entries, checkpoints). The source's secrets replace this store's; a store
   * object that imported is closed and opened again before it serves (its log keys were made
   * from the secrets it had).
   */
  importAll?(from: StoreExport, progress?: ImportProgress): Promise<void>;

  /**
   * Takes or renews the store-wide purge lease for `holder` for `ttlMs`: true when `holder` now
   * holds it, false while another holder's lease runs. One process purges at a time, whatever
   * the number of processes or servers sharing the store.
   */
  takePurgeLease(holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if `holder` holds it. */
  releasePurgeLease(holder: string): Promise<void>;
}

/** Told when opening a store upgraded its schema (a new store, from version 0, is not told of). */
export type SchemaUpgradeReporter = (upgrade: { from: number; to: number }) => void;

/** The default: one line on stderr, since an upgraded store is one an older logwarden refuses. */
export const reportSchemaUpgrade: SchemaUpgradeReporter = ({ from, to }) => {
  process.stderr.write(`logwarden store: upgraded the store's schema from version ${from} to ${to}; an older logwarden can no longer open it\n`);
};

/** Raised when the store holds an earlier state of a tenant's log than it signed (a backup put back): nothing is signed over it. */
export class StoreRolledBackError extends CodedError {
  override readonly code = 'store_rolled_back';
  constructor(message: string) {
    super(message);
    this.name = 'StoreRolledBackError';
  }
}

/** Raised when the store's schema is newer than this code understands. */
export class SchemaTooNewError extends CodedError {
  override readonly code = 'schema_too_new';
  constructor(found: number, known: number) {
    super(`the store's schema is version ${found}, newer than this logwarden understands (${known}); upgrade logwarden`);
    this.name = 'SchemaTooNewError';
  }
}

/**
 * Raised when the database URL goes through a connection pooler in a mode the configured
 * LOGWARDEN_DATABASE_POOL_MODE does not allow for; the message says what to configure.
 */
export class DatabasePoolModeError extends CodedError {
  override readonly code = 'database_pool_mode';
  constructor(message: string) {
    super(message);
    this.name = 'DatabasePoolModeError';
  }
}

/** Raised when an operation names a tenant the store does not hold. */
export class UnknownTenantError extends CodedError {
  override readonly code = 'unknown_tenant';
  constructor(readonly tenantId: string) {
    super(`unknown tenant ${tenantId}`);
    this.name = 'UnknownTenantError';
  }
}

/**
 * Raised when the store's own records contradict each other (entries of a tenant or log type
 * number the store has no name for): a fault of the store, never of the caller.
 */
export class StoreInconsistencyError extends CodedError {
  override readonly code = 'internal';
  constructor(message: string) {
    super(message);
    this.name = 'StoreInconsistencyError';
  }
}

/**
 * Raised when stored entry data fails its checks (checksum, owner, shape): the bytes are never
 * served. The message names the segment and what failed, never any of its content.
 */
export class CorruptSegmentError extends CodedError {
  override readonly code = 'corrupt_segment';
  constructor(
    readonly problem: string,
    readonly segmentId?: number,
  ) {
    super(`stored segment${segmentId === undefined ? '' : ` ${segmentId}`} is corrupt: ${problem}`);
    this.name = 'CorruptSegmentError';
  }
}

/**
 * Raised when a stored entry not yet sealed (a hot row) fails its check: its text and event
 * time no longer give the digest stored with it when it was ingested. Its bytes are never served
 * nor sealed. The message names the row, never its content.
 */
export class CorruptEntryError extends CodedError {
  override readonly code = 'corrupt_segment';
  constructor(message: string) {
    super(message);
    this.name = 'CorruptEntryError';
  }
}

/**
 * Where a store reports a failure of its background work (sealing, compaction); the work is
 * retried. `repeat` is true when the failure is the same as the previous attempt's: a reporter
 * says each distinct failure once and may trace the repeats. The error's message names what
 * failed (a segment, a tenant or log type number), never entry text.
 */
export type BackgroundErrorReporter = (problem: Error, repeat: boolean) => void;

/** The reporter used when the opener gives none: one line on stderr per distinct failure. */
export const reportToStderr: BackgroundErrorReporter = (problem, repeat) => {
  if (!repeat) process.stderr.write(`logwarden store: background work failed: ${problem.message}\n`);
};

/** An unknown thrown value as an Error carrying only its message (no attached data). */
export function backgroundProblem(err: unknown, context?: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const problem = new Error(context === undefined ? message : `${context}: ${message}`);
  problem.name = err instanceof Error ? err.name : 'Error';
  return problem;
}

/**
 * Raised for a hold or retention setting the store refuses (an empty time range, days that are
 * not a positive whole number): the caller's input, so a usage error at the command line.
 */
export class InvalidRetentionError extends CodedError {
  override readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidRetentionError';
  }
}
