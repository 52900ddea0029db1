/**
 * A whole store in domain words, as `logwarden copy` moves it into another (store-copy.ts): what
 * one store reads out (`Store.exportAll`) and another takes in (`Store.importAll`). Nothing is
 * re-derived on the way that clients, auditors or cursors depend on: tenants keep their ids and
 * creation times, keys their hashed secrets, entries their texts and sequences, and each
 * tenant's verifiable log its leaves (those of purged entries too), hashes and every signed
 * checkpoint, so the target serves the same pages and extends the same logs.
 */
import type { AccessKeyRecord, Checkpoint, LegalHold, RetentionSettings, Tenant } from './store.ts';
import { LEAF_RECORD_BYTES, leafRecordCount, RECEIPT_TYPE_ID } from './tree-leaf-records.ts';

/** One stored entry: its log type, event time, sequence (append order) and wire text (UTF-8). */
export interface EntryRow {
  readonly logType: string;
  readonly timeMs: number;
  readonly seq: number;
  readonly body: Buffer;
}

/** A signed checkpoint as kept: its origin, size and whole note text. */
export interface CheckpointText {
  readonly origin: string;
  readonly size: number;
  readonly note: string;
}

/** A deletion receipt leaf's text, and whether its purge's admin-trail entry is recorded. */
export interface ReceiptText {
  readonly leaf: number;
  readonly text: string;
  readonly trailed: boolean;
}

/** A hash of the tree at level 8 or above (tree-hashes.ts). */
export interface HighHashRow {
  readonly level: number;
  readonly n: number;
  readonly hash: Buffer;
}

/** Consecutive sequences appended as consecutive leaves (the sequence → leaf map). */
export interface SeqRunRow {
  readonly firstSeq: number;
  readonly firstLeaf: number;
  readonly n: number;
}

/**
 * A tenant's verifiable log as kept (tree-leaf-records.ts, tree-hashes.ts): leaf records tile by
 * tile, their log types named by `StoreExport.typeName`; the last tile holds `size mod 256`
 * records when the size is not a whole number of tiles.
 */
export interface TreeExport {
  readonly size: number;
  tiles(): AsyncIterable<{ tile: number; records: Buffer }[]>;
  high(): AsyncIterable<HighHashRow[]>;
  runs(): AsyncIterable<SeqRunRow[]>;
  receipts(): AsyncIterable<ReceiptText[]>;
  /** Every signed checkpoint, by origin and size. */
  checkpoints(): AsyncIterable<CheckpointText[]>;
}

/** What a tenant holds besides its entries and log. */
export interface TenantExport {
  readonly tenant: Tenant;
  readonly accessKeys: readonly AccessKeyRecord[];
  readonly retention: RetentionSettings;
  /** Every hold, released ones too. */
  readonly holds: readonly LegalHold[];
  /** `sync`'s checkpoints of the sources mirrored into the tenant. */
  readonly syncCheckpoints: readonly Checkpoint[];
  /** Entries stored, per log type. */
  readonly entryCounts: Readonly<Record<string, number>>;
  /**
   * The highest sequence given out to the tenant's entries (a watermark cursors may carry): the
   * target's next entry of the tenant gets a higher one.
   */
  readonly lastSeq: number;
  /** The latest checkpoint signed under the tenant's current origin, if any. */
  readonly latest: CheckpointText | undefined;
  /** The tenant's verifier key under the current signing secret and origin. */
  readonly verifierKey: string;
}

/**
 * A store read out whole, as of one moment: the store's writers are held off until `close`.
 * Sequences are unique across tenants when `sharedSequences` (SQLite numbers every entry of the
 * store in one series; PostgreSQL numbers each tenant's apart).
 */
export interface StoreExport {
  readonly kind: 'sqlite' | 'postgres';
  readonly sharedSequences: boolean;
  /** Every row of the store's secrets: generated secrets (cursor and token key, log signing secret, store id) and per-prefix key records. */
  readonly secrets: readonly { name: string; value: string }[];
  /** Log type names by the store's numbers, in number order (leaf records hold numbers). */
  readonly typeNames: ReadonlyMap<number, string>;
  readonly tenants: readonly TenantExport[];
  /** The tenant's entries, in batches, in no particular order. */
  entries(tenantId: string): AsyncIterable<EntryRow[]>;
  tree(tenantId: string): TreeExport;
  /** Lets the store's writers in again. */
  close(): Promise<void>;
}

/**
 * Text past which an export's batch of hot entries ends (at least one entry a batch). Entries may
 * be megabytes each (an NDJSON line up to 1 MiB, a JSON body more): a thousand of them would make
 * one batch of gigabytes, more than a PostgreSQL import can send as one statement's parameter.
 */
export const BATCH_BYTES = 16 * 1024 * 1024;

/** Told as an import goes: entries and leaves taken in so far. */
export type ImportProgress = (done: { entries: number; leaves: number }) => void;

/**
 * Raised when another process (a server, a command) has the store to export open: it would write
 * on after the export read the store. `meanwhile`: it came while the export was open (a
 * PostgreSQL store, told as the export closes), so what was taken in from the export may lack
 * what it writes next.
 */
export class StoreInUseError extends Error {
  constructor(readonly meanwhile = false) {
    super(
      meanwhile
        ? 'another process (a server, a command) connected to the store, or began writing to it, while it was being read: stop every server and command using it, then run this again'
        : 'another process (a server, a command) has the store open: stop every server and command using it, then run this again',
    );
    this.name = 'StoreInUseError';
  }
}

/**
 * Raised when entries of two tenants of a source that numbers each tenant's entries apart (a
 * PostgreSQL store) have the same sequence, taken into a store that numbers all of them in one
 * series (SQLite): a sequence is kept as it is (clients' paging cursors carry it), so they cannot both be.
 */
export class SequenceClashError extends Error {
  constructor(seq: number, tenants: readonly string[]) {
    super(
      `entries of tenants ${tenants.join(' and ')} have the same sequence number ${seq}: the source numbers each tenant's entries apart (PostgreSQL), ` +
        "an SQLite store all of them in one series, and sequences are kept as they are (clients' paging cursors carry them). " +
        'Only a PostgreSQL store whose tenants share no sequence (one tenant holding entries, or a store copied from SQLite) can be copied into SQLite; copy it into PostgreSQL instead',
    );
    this.name = 'SequenceClashError';
  }
}

/** The tables an import's target must have empty, each with what a row of it is, as a refusal names it. */
export const TABLES_AN_IMPORT_NEEDS_EMPTY = [
  ['tenants', 'tenants'],
  ['log_types', 'log types'],
  ['entries', 'entries'],
  ['segments', 'segments'],
  ['tree_checkpoints', 'signed checkpoints'],
] as const;

/** Raised when the store to import into holds anything already. */
export class TargetNotEmptyError extends Error {
  constructor(what: string) {
    super(`the target store is not empty (${what}): copy into a new database or data directory, never over one in use`);
    this.name = 'TargetNotEmptyError';
  }
}

/**
 * Leaf records (tree-leaf-records.ts) with the source's log type numbers replaced by the
 * target's (`targetOf`, by the source's number); deletion receipts' records are kept as they are.
 */
export function renumberLeafRecords(records: Buffer, targetOf: (sourceTypeId: number) => number): Buffer {
  const count = leafRecordCount(records);
  const out = Buffer.from(records);
  for (let i = 0; i < count; i++) {
    const at = i * LEAF_RECORD_BYTES;
    const typeId = out.readUInt32BE(at);
    if (typeId !== RECEIPT_TYPE_ID) out.writeUInt32BE(targetOf(typeId), at);
  }
  return out;
}

/** A target's numbers for the source's log types, by the source's number. */
export function typeNumbering(from: StoreExport, targetIdOf: (name: string) => number): (sourceTypeId: number) => number {
  const ids = new Map<number, number>();
  for (const [id, name] of from.typeNames) ids.set(id, targetIdOf(name));
  return (sourceTypeId) => {
    const id = ids.get(sourceTypeId);
    if (id === undefined) throw new Error(`a leaf of the source names log type number ${sourceTypeId}, which the source does not hold`);
    return id;
  };
}
