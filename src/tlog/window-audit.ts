/**
 * Completeness of a window: given every leaf of a tree up to a checkpoint (already proven to
 * be the tree's leaves, e.g. entry bundles checked against authenticated tiles) and the entries
 * a reader was served for one log type and time range `[from, to)`, find the leaves of that
 * type and range that were not served, and the served entries that are not such a leaf.
 * Both lists empty means the window was served completely and nothing else was served.
 *
 * Matching is by the leaf's content (type, event time, wire text digest), as a multiset, so
 * two identical entries must be served twice.
 */
import { compareInstants, type Instant, parseDateTime } from '../logs/time.ts';
import { encodeBase64 } from './base64.ts';
import { deletedLeavesDigest, parseDeletionReceipt } from './deletion-receipt.ts';
import { ENTRY_LEAF_V1, parseEntryLeaf, wireTextDigest } from './entry-leaf.ts';
import { type Hash, hashesEqual } from './hash.ts';

export interface AuditWindow {
  logType: string;
  /** Inclusive. */
  from: string;
  /** Exclusive; null for no upper bound. */
  to: string | null;
}

export interface ServedEntry {
  /** The entry's JSON object exactly as received. */
  wireText: string;
  /** Its eventTime as received. */
  eventTime: string;
}

export interface WindowAudit {
  /** Leaves of the window's type and time range. */
  inWindow: number;
  /** Pairs of (position in `served`, leaf index). */
  matched: { served: number; leaf: number }[];
  /** Leaf indexes in the window that were not served. */
  missing: number[];
  /** Positions in `served` of entries that are no leaf of the window. */
  unexpected: number[];
  /** Leaves of other kinds than entry leaves (not part of any window). */
  otherKinds: number;
}

function instant(text: string, what: string): Instant {
  const r = parseDateTime(text);
  if (!r.ok) throw new RangeError(`${what} ${r.problem}`);
  return r.instant;
}

export function auditWindow(
  window: AuditWindow,
  leaves: Iterable<{ index: number; leaf: Uint8Array | string }>,
  served: readonly ServedEntry[],
): WindowAudit {
  const from = instant(window.from, 'from');
  const to = window.to === null ? null : instant(window.to, 'to');
  const expected = new Map<string, number[]>();
  let inWindow = 0;
  let otherKinds = 0;
  const kind = new TextEncoder().encode(`${ENTRY_LEAF_V1}\n`);
  for (const { index, leaf } of leaves) {
    const isEntry =
      typeof leaf === 'string' ? leaf.startsWith(`${ENTRY_LEAF_V1}\n`) : leaf.length >= kind.length && kind.every((b, i) => leaf[i] === b);
    if (!isEntry) {
      otherKinds++;
      continue;
    }
    // Strict: a malformed entry leaf in a proven tree is the log's fault and must be reported.
    const e = parseEntryLeaf(leaf);
    if (e.logType !== window.logType) continue;
    const t = instant(e.eventTime, `leaf ${index} eventTime`);
    if (compareInstants(t, from) < 0 || (to !== null && compareInstants(t, to) >= 0)) continue;
    inWindow++;
    const key = `${e.eventTime}\n${encodeBase64(e.wireTextSha256)}`;
    const list = expected.get(key);
    if (list) list.push(index);
    else expected.set(key, [index]);
  }
  const matched: { served: number; leaf: number }[] = [];
  const unexpected: number[] = [];
  served.forEach((s, i) => {
    const list = expected.get(`${s.eventTime}\n${encodeBase64(wireTextDigest(s.wireText))}`);
    const leaf = list?.shift();
    if (leaf === undefined) unexpected.push(i);
    else matched.push({ served: i, leaf });
  });
  const missing = [...expected.values()].flat().sort((a, b) => a - b);
  return { inWindow, matched, missing, unexpected, otherKinds };
}

/** A leaf of the window not served because retention deleted it, as a receipt proves. */
export interface DeletedLeaf {
  leafIndex: number;
  /** The receipt's leaf index. */
  receiptLeaf: number;
  /** When it was deleted (the receipt's deletion time). */
  deletedAt: string;
}

/** A deletion receipt that does not prove what it says. */
export interface BadReceipt {
  receiptLeaf: number;
  reason: string;
}

/**
 * Which leaves deletion receipts (SPEC §11 `logwarden/deletion/v1`) prove deleted by retention.
 * `receipts` are the receipt leaves of the window's log type by leaf index; `entryLeafHash(i)`
 * gives the leaf hash of entry leaf `i` of that type (undefined when leaf `i` is anything else,
 * or unknown). A receipt proves its
 * leaves deleted when each is an earlier entry leaf of its type, none is named by another
 * receipt, and its count and its digest over their leaf hashes (in leaf order) are right;
 * otherwise it is bad, and it explains nothing.
 */
export function checkDeletionReceipts(
  receipts: ReadonlyMap<number, string>,
  entryLeafHash: (index: number) => Hash | undefined,
): { deleted: Map<number, DeletedLeaf>; bad: BadReceipt[] } {
  const deleted = new Map<number, DeletedLeaf>();
  const bad: BadReceipt[] = [];
  for (const [receiptLeaf, text] of [...receipts].sort((a, b) => a[0] - b[0])) {
    let r: ReturnType<typeof parseDeletionReceipt>;
    try {
      r = parseDeletionReceipt(text);
    } catch (err) {
      bad.push({ receiptLeaf, reason: `malformed: ${(err as Error).message}` });
      continue;
    }
    const hashes: Hash[] = [];
    let problem: string | undefined;
    for (const i of r.leaves) {
      const hash = i < receiptLeaf ? entryLeafHash(i) : undefined;
      if (hash === undefined) {
        problem = `it names leaf ${i}, which is not an earlier ${r.logType} entry leaf`;
        break;
      }
      if (deleted.has(i)) {
        problem = `it names leaf ${i}, which receipt leaf ${deleted.get(i)!.receiptLeaf} already names`;
        break;
      }
      hashes.push(hash);
    }
    if (problem === undefined && !hashesEqual(deletedLeavesDigest(hashes), r.digest)) {
      problem = 'its digest is not the SHA-256 of the leaf hashes it names: the receipt does not match the deleted leaves';
    }
    if (problem !== undefined) {
      bad.push({ receiptLeaf, reason: problem });
      continue;
    }
    for (const i of r.leaves) deleted.set(i, { leafIndex: i, receiptLeaf, deletedAt: r.deletedAt });
  }
  return { deleted, bad };
}
