/**
 * The leaf logwarden appends to a tenant's tree when retention deletes entries (SPEC §11
 * deletion receipt, version 1; docs/verifiable-log.md): UTF-8 text, eight lines, each ending in
 * a newline:
 *   logwarden/deletion/v1
 *   <logType of the deleted entries>
 *   <eventTime of the earliest deleted entry, as it was served>
 *   <eventTime of the latest deleted entry, as it was served>
 *   <number of entries deleted, decimal>
 *   <when they were deleted: UTC, the eventTime format>
 *   <the deleted entries' leaf indexes, ascending: comma-separated `N` or `N-M` (inclusive) runs>
 *   <base64 of SHA-256 over the deleted entries' 32-byte leaf hashes, concatenated in leaf order>
 * The deleted entries' leaves stay in the tree: the receipt names them, and a verifier that
 * holds their leaf hashes checks the count and the digest against them.
 */
import { LOG_TYPE_NAME } from '../logs/log-types.ts';
import { parseDateTime } from '../logs/time.ts';
import { decodeBase64, encodeBase64 } from './base64.ts';
import { HASH_SIZE, type Hash, sha256 } from './hash.ts';

export const DELETION_LEAF_V1 = 'logwarden/deletion/v1';
/**
 * The most entries one receipt names: its leaf stays well under the 65,535 bytes an entry
 * bundle can carry per leaf (17 bytes per index at worst).
 */
export const MAX_RECEIPT_ENTRIES = 2500;

export interface DeletionReceipt {
  logType: string;
  /** Served eventTimes of the earliest and latest deleted entry. */
  firstEventTime: string;
  lastEventTime: string;
  count: number;
  deletedAt: string;
  /** The deleted leaves' indexes, ascending. */
  leaves: number[];
  /** SHA-256 over the deleted leaves' hashes in leaf order. */
  digest: Uint8Array;
}

export class DeletionReceiptError extends Error {
  override readonly name = 'DeletionReceiptError';
}

/** SHA-256 over leaf hashes concatenated in the given order. */
export function deletedLeavesDigest(hashes: readonly Hash[]): Uint8Array {
  const all = new Uint8Array(hashes.length * HASH_SIZE);
  hashes.forEach((h, i) => all.set(h, i * HASH_SIZE));
  return sha256(all);
}

/** `0-3,7,9-10` from ascending distinct indexes. */
export function formatLeafRuns(leaves: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < leaves.length; ) {
    let j = i;
    while (j + 1 < leaves.length && leaves[j + 1] === leaves[j]! + 1) j++;
    parts.push(j === i ? String(leaves[i]) : `${leaves[i]}-${leaves[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

function parseLeafRuns(text: string, limit: number): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(0|[1-9][0-9]{0,15})(?:-(0|[1-9][0-9]{0,15}))?$/.exec(part);
    if (!m) throw new DeletionReceiptError('leaf runs are not comma-separated N or N-M');
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    // One text per set of leaves: runs ascending, apart, each `N-M` with M > N.
    if (!Number.isSafeInteger(b) || (m[2] !== undefined && b <= a) || (out.length > 0 && a <= out[out.length - 1]! + 1)) {
      throw new DeletionReceiptError('leaf runs are not ascending, apart runs');
    }
    if (out.length + (b - a + 1) > limit) throw new DeletionReceiptError('leaf runs name more leaves than the count');
    for (let x = a; x <= b; x++) out.push(x);
  }
  return out;
}

function checkTime(t: string, what: string): void {
  if (t.length > 64 || !parseDateTime(t).ok) throw new DeletionReceiptError(`${what} is not an ISO-8601 date-time`);
}

/** The receipt's leaf text. */
export function formatDeletionReceipt(r: DeletionReceipt): string {
  if (r.leaves.length !== r.count || r.count < 1) throw new DeletionReceiptError('a receipt names as many leaves as its count (at least one)');
  if (r.digest.length !== HASH_SIZE) throw new DeletionReceiptError('the digest has 32 bytes');
  return [
    DELETION_LEAF_V1,
    r.logType,
    r.firstEventTime,
    r.lastEventTime,
    String(r.count),
    r.deletedAt,
    formatLeafRuns(r.leaves),
    encodeBase64(r.digest),
    '',
  ].join('\n');
}

/** Whether a leaf text is a deletion receipt (by its first line). */
export function isDeletionReceipt(leaf: string): boolean {
  return leaf.startsWith(`${DELETION_LEAF_V1}\n`);
}

/** Parses a version 1 deletion receipt strictly; throws DeletionReceiptError. */
export function parseDeletionReceipt(text: string): DeletionReceipt {
  if (!text.endsWith('\n')) throw new DeletionReceiptError('a receipt ends with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines[0] !== DELETION_LEAF_V1) throw new DeletionReceiptError(`leaf is not a ${DELETION_LEAF_V1} leaf`);
  if (lines.length !== 8) throw new DeletionReceiptError('a deletion receipt has exactly eight lines');
  const [, logType, firstEventTime, lastEventTime, countText, deletedAt, runs, digestText] = lines as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (!LOG_TYPE_NAME.test(logType)) throw new DeletionReceiptError('logType is not a log type name');
  checkTime(firstEventTime, 'the first eventTime');
  checkTime(lastEventTime, 'the last eventTime');
  checkTime(deletedAt, 'the deletion time');
  if (!/^[1-9][0-9]{0,15}$/.test(countText)) throw new DeletionReceiptError('the count is not a positive decimal number');
  const count = Number(countText);
  const leaves = parseLeafRuns(runs, count);
  if (leaves.length !== count) throw new DeletionReceiptError('the leaf runs do not name as many leaves as the count');
  const digest = decodeBase64(digestText);
  if (!digest || digest.length !== HASH_SIZE) throw new DeletionReceiptError('the digest is not base64 of 32 bytes');
  return { logType, firstEventTime, lastEventTime, count, deletedAt, leaves, digest };
}
