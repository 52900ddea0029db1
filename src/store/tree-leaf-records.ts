/**
 * The verifiable log's leaves as a store keeps them (SPEC §11, entry leaf v1). A leaf is
 * stored as a fixed 44-byte record — the log type's number in the store, the event time (ms)
 * and the SHA-256 of the entry's wire text — rather than as leaf text or leaf hash: the leaf
 * text (and so its hash) follows from the record and the type's name, and 44 bytes is what
 * the leaf needs at the least. Records of 256 consecutive leaves (one level 0 tile) are
 * packed into one blob, so a tenant's leaves cost one row per 256 entries.
 *
 * The event time is served as `formatEventTime(ms)` for every stored entry (entry.ts renders
 * the wire text's eventTime from the kept milliseconds), so the ms are the served text.
 */
import type { NewEntry } from '../logs/entry.ts';
import { formatEventTime } from '../logs/time.ts';
import { formatCheckedEntryLeaf, wireTextDigest } from '../tlog/entry-leaf.ts';
import { type Hash, leafHash } from '../tlog/hash.ts';

export const LEAF_RECORD_BYTES = 44;
/**
 * The type number of a deletion receipt's record (no log type has it: type numbers are small
 * row ids). Its time is when the purge ran and its digest is the receipt's leaf hash itself, so
 * tree hashes never need the receipt's text; the text is kept beside the tree by leaf index.
 */
export const RECEIPT_TYPE_ID = 0xffffffff;

export interface LeafRecord {
  /** The store's number for the log type. */
  readonly typeId: number;
  readonly eventTimeMs: number;
  /** SHA-256 of the entry's wire text. */
  readonly digest: Uint8Array;
}

/** The record of an entry about to be stored. */
export function leafRecordOf(typeId: number, entry: Pick<NewEntry, 'eventTimeMs' | 'digest'> & { readonly body: string | Uint8Array }): LeafRecord {
  return { typeId, eventTimeMs: entry.eventTimeMs, digest: entry.digest ?? wireTextDigest(entry.body) };
}

/** The record of a deletion receipt with this leaf text, deleted at `deletedAtMs`. */
export function receiptRecordOf(text: string, deletedAtMs: number): LeafRecord {
  return { typeId: RECEIPT_TYPE_ID, eventTimeMs: deletedAtMs, digest: leafHash(text) };
}

export function isReceiptRecord(r: LeafRecord): boolean {
  return r.typeId === RECEIPT_TYPE_ID;
}

/** Records packed back to back (uint32 BE type id, float64 BE ms, 32-byte digest). */
export function encodeLeafRecords(records: readonly LeafRecord[]): Buffer {
  const out = Buffer.allocUnsafe(records.length * LEAF_RECORD_BYTES);
  records.forEach((r, i) => writeLeafRecord(out, i * LEAF_RECORD_BYTES, r));
  return out;
}

export function writeLeafRecord(out: Buffer, at: number, r: LeafRecord): void {
  if (r.digest.length !== 32) throw new RangeError('a leaf digest has 32 bytes');
  out.writeUInt32BE(r.typeId, at);
  out.writeDoubleBE(r.eventTimeMs, at + 4);
  out.set(r.digest, at + 12);
}

/** The number of records in a blob; throws when its length is not a whole number of them. */
export function leafRecordCount(blob: Uint8Array): number {
  if (blob.length % LEAF_RECORD_BYTES !== 0) throw new Error(`leaf record blob of ${blob.length} bytes is not whole records`);
  return blob.length / LEAF_RECORD_BYTES;
}

export function readLeafRecord(blob: Uint8Array, i: number): LeafRecord {
  const buf = Buffer.isBuffer(blob) ? blob : Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const at = i * LEAF_RECORD_BYTES;
  if (at + LEAF_RECORD_BYTES > buf.length) throw new RangeError(`leaf record ${i} is beyond the blob`);
  return { typeId: buf.readUInt32BE(at), eventTimeMs: buf.readDoubleBE(at + 4), digest: buf.subarray(at + 12, at + LEAF_RECORD_BYTES) };
}

export function decodeLeafRecords(blob: Uint8Array): LeafRecord[] {
  const n = leafRecordCount(blob);
  const out: LeafRecord[] = [];
  for (let i = 0; i < n; i++) out.push(readLeafRecord(blob, i));
  return out;
}

/** Names log types by the store's numbers; throws for an unknown number. */
export type TypeNames = (typeId: number) => string;

/**
 * The entry leaf v1 text of a record. Unchecked: the type name is one the store registered
 * (validated at ingest) and the time is rendered here (the contract suite checks the texts
 * against buildEntryLeaf).
 */
export function leafText(r: LeafRecord, typeName: TypeNames): string {
  if (isReceiptRecord(r)) throw new Error("a deletion receipt's text is kept beside the tree, not in its record");
  return formatCheckedEntryLeaf({ logType: typeName(r.typeId), eventTime: formatEventTime(r.eventTimeMs), wireTextSha256: r.digest });
}

/** The RFC 6962 leaf hashes of a blob's records. */
export function leafHashesOf(blob: Uint8Array, typeName: TypeNames): Hash[] {
  const n = leafRecordCount(blob);
  const out: Hash[] = [];
  for (let i = 0; i < n; i++) {
    const r = readLeafRecord(blob, i);
    out.push(isReceiptRecord(r) ? new Uint8Array(r.digest) : leafHash(leafText(r, typeName)));
  }
  return out;
}
