/**
 * What both stores share of a purge step (Store.purge): which of the candidate entries one step
 * deletes, and the deletion receipt that records them in the tenant's tree.
 */
import { formatEventTime } from '../logs/time.ts';
import { encodeBase64 } from '../tlog/base64.ts';
import { deletedLeavesDigest, formatDeletionReceipt, MAX_RECEIPT_ENTRIES } from '../tlog/deletion-receipt.ts';
import type { Hash } from '../tlog/hash.ts';
import type { PurgeReceipt } from './store.ts';

/** An entry a purge may delete, in page order. */
export interface PurgeCandidate {
  readonly timeMs: number;
  readonly seq: number;
}

/**
 * Paces a purge: after a piece of its work that started at `started` (performance.now()), the
 * rest of the process and the database (the server's reads and appends) get as long as it
 * took, up to a second.
 */
export async function giveWay(started: number): Promise<void> {
  await new Promise((r) => setTimeout(r, Math.min(1000, performance.now() - started)));
}

/** The number of entries one step may delete: at least one, at most what one receipt names. */
export function purgeLimit(limit: number): number {
  if (!Number.isFinite(limit) || limit < 1) throw new RangeError('a purge step deletes at least one entry');
  return Math.min(Math.floor(limit), MAX_RECEIPT_ENTRIES);
}

/** Merges two page-ordered lists and keeps the first `limit`. */
export function firstInPageOrder<T extends PurgeCandidate>(a: readonly T[], b: readonly T[], limit: number): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (out.length < limit && (i < a.length || j < b.length)) {
    const x = a[i];
    const y = b[j];
    if (y === undefined || (x !== undefined && (x.timeMs < y.timeMs || (x.timeMs === y.timeMs && x.seq < y.seq)))) {
      out.push(x!);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  return out;
}

/** A step that deleted nothing. */
export function emptyReceipt(logType: string, nowMs: number): PurgeReceipt {
  return { count: 0, logType, fromMs: 0, toMs: 0, leafIndex: null, digest: '', purgedAt: new Date(nowMs).toISOString() };
}

/**
 * The receipt of deleting `deleted` (their leaves given by `leafOf`, in the same order), with
 * their leaf hashes read by `hashesOf` (in the order of the leaves asked).
 */
export function buildReceipt(
  logType: string,
  deleted: readonly PurgeCandidate[],
  leafOf: readonly number[],
  hashesOf: (leaves: readonly number[]) => Hash[],
  nowMs: number,
): { text: string; receipt: Omit<PurgeReceipt, 'leafIndex'> } {
  if (leafOf.some((leaf) => leaf < 0)) throw new Error('an entry to delete has no leaf in the tree');
  const leaves = [...leafOf].sort((a, b) => a - b);
  const digest = deletedLeavesDigest(hashesOf(leaves));
  let fromMs = Number.POSITIVE_INFINITY;
  let toMs = Number.NEGATIVE_INFINITY;
  for (const e of deleted) {
    fromMs = Math.min(fromMs, e.timeMs);
    toMs = Math.max(toMs, e.timeMs);
  }
  const purgedAt = formatEventTime(nowMs);
  const text = formatDeletionReceipt({
    logType,
    firstEventTime: formatEventTime(fromMs),
    lastEventTime: formatEventTime(toMs),
    count: deleted.length,
    deletedAt: purgedAt,
    leaves,
    digest,
  });
  return { text, receipt: { count: deleted.length, logType, fromMs, toMs, digest: encodeBase64(digest), purgedAt } };
}
