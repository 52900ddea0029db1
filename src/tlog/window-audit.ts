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

/** An entry served: its eventTime as received, with its exact wire text or that text's SHA-256. */
export type ServedEntry = { eventTime: string; wireText: string } | { eventTime: string; wireTextSha256: Uint8Array };

export interface WindowAudit {
  /** Leaves of the window's type and time range. */
  inWindow: number;
  /** Pairs of (position in `served`, leaf index). */
  matched: { served: number; leaf: number }[];
  /** Leaf indexes in the window that were not served. */
  missing: number[];
  /** Positions in `served` of entries that are no leaf of the window. */
  unexpected: number[];
  /**
   * Those of `unexpected` that are the same entry (eventTime and text) as a leaf of the window
   * matched to an earlier position: an entry served more often than it was logged.
   */
  servedTwice: number[];
  /** Leaves of other kinds than entry leaves (not part of any window). */
  otherKinds: number;
}

function instant(text: string, what: string): Instant {
  const r = parseDateTime(text);
  if (!r.ok) throw new RangeError(`${what} ${r.problem}`);
  return r.instant;
}

/**
 * What matches a served entry to a leaf: its eventTime and the SHA-256 of its wire text (as a
 * latin1 string, 32 characters), in one string.
 */
export function contentKey(eventTime: string, wireTextSha256: Uint8Array): string {
  return `${eventTime}\n${Buffer.from(wireTextSha256.buffer, wireTextSha256.byteOffset, wireTextSha256.byteLength).toString('latin1')}`;
}

/** The parts of a contentKey. */
export function keyParts(key: string): { eventTime: string; wireTextSha256: Uint8Array } {
  const cut = key.length - 33;
  return { eventTime: key.slice(0, cut), wireTextSha256: Buffer.from(key.slice(cut + 1), 'latin1') };
}

const servedKey = (s: ServedEntry): string => contentKey(s.eventTime, 'wireTextSha256' in s ? s.wireTextSha256 : wireTextDigest(s.wireText));

const ENTRY_KIND = new TextEncoder().encode(`${ENTRY_LEAF_V1}\n`);

/**
 * Completeness of one window, fed leaf by leaf (in any order) and then matched with what was
 * served, keeping only the content key of each leaf of the window (and of leaves asked for),
 * never the leaves themselves: a window of millions of entries fits in memory.
 */
export class WindowMatcher {
  private readonly from: Instant;
  private readonly to: Instant | null;
  /**
   * Leaf indexes of the window by content key (one number, or a list for identical entries);
   * -1 once every leaf of a key is matched.
   */
  private readonly expected = new Map<string, number | number[]>();
  private readonly keys = new Map<number, string>();
  private inWindow = 0;
  private otherKinds = 0;

  constructor(private readonly window: AuditWindow) {
    this.from = instant(window.from, 'from');
    this.to = window.to === null ? null : instant(window.to, 'to');
  }

  /**
   * Takes leaf `index`. A leaf of the window's type is remembered (its content key) when it
   * lies in the window, or when `keep` says so (a leaf an entry was claimed to be).
   * Returns whether it is an entry leaf of the window.
   */
  add(index: number, leaf: Uint8Array | string, keep = false): boolean {
    const isEntry =
      typeof leaf === 'string'
        ? leaf.startsWith(`${ENTRY_LEAF_V1}\n`)
        : leaf.length >= ENTRY_KIND.length && ENTRY_KIND.every((b, i) => leaf[i] === b);
    if (!isEntry) {
      this.otherKinds++;
      return false;
    }
    // Strict: a malformed entry leaf in a proven tree is the log's fault and must be reported.
    const e = parseEntryLeaf(leaf);
    if (e.logType !== this.window.logType) return false;
    const t = instant(e.eventTime, `leaf ${index} eventTime`);
    const inside = compareInstants(t, this.from) >= 0 && (this.to === null || compareInstants(t, this.to) < 0);
    if (!inside && !keep) return false;
    const key = contentKey(e.eventTime, e.wireTextSha256);
    this.keys.set(index, key);
    if (!inside) return false;
    this.inWindow++;
    const at = this.expected.get(key);
    if (at === undefined) this.expected.set(key, index);
    else if (typeof at === 'number') this.expected.set(key, [at, index]);
    else at.push(index);
    return true;
  }

  /** The content key of leaf `index` if it was remembered (see `add`). */
  keyOf(index: number): string | undefined {
    return this.keys.get(index);
  }

  /**
   * Matches the served entries (each with the leaf index it was claimed to be, if any) with
   * the window's leaves, as a multiset: two identical entries must be served twice. An entry
   * takes its claimed leaf when that leaf has its content, else the first one that has.
   */
  match(served: Iterable<ServedEntry & { claim?: number | null }>): WindowAudit {
    const matched: { served: number; leaf: number }[] = [];
    const unexpected: number[] = [];
    const servedTwice: number[] = [];
    let i = 0;
    for (const s of served) {
      const key = servedKey(s);
      const at = this.expected.get(key);
      let leaf: number | undefined;
      if (typeof at === 'number') {
        if (at >= 0) {
          leaf = at;
          this.expected.set(key, -1);
        }
      } else if (at !== undefined) {
        const claimed = s.claim == null ? -1 : at.indexOf(s.claim);
        leaf = at.splice(Math.max(claimed, 0), 1)[0];
        if (at.length === 0) this.expected.set(key, -1);
      }
      if (leaf !== undefined) matched.push({ served: i, leaf });
      else {
        unexpected.push(i);
        if (at === -1) servedTwice.push(i);
      }
      i++;
    }
    const missing: number[] = [];
    for (const at of this.expected.values()) {
      if (typeof at !== 'number') missing.push(...at);
      else if (at >= 0) missing.push(at);
    }
    missing.sort((a, b) => a - b);
    return { inWindow: this.inWindow, matched, missing, unexpected, servedTwice, otherKinds: this.otherKinds };
  }
}

/**
 * Completeness of a window from every leaf (see WindowMatcher): the leaves of the window's type
 * and range not served, and the served entries that are no such leaf.
 */
export function auditWindow(
  window: AuditWindow,
  leaves: Iterable<{ index: number; leaf: Uint8Array | string }>,
  served: Iterable<ServedEntry>,
): WindowAudit {
  const matcher = new WindowMatcher(window);
  for (const { index, leaf } of leaves) matcher.add(index, leaf);
  return matcher.match(served);
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
 * gives the leaf hash of entry leaf `i` of that type (undefined when leaf `i` is anything else;
 * `unknown` says why its hash cannot be known). A receipt proves its
 * leaves deleted when each is an earlier entry leaf of its type, none is named by another
 * receipt, and its count and its digest over their leaf hashes (in leaf order) are right;
 * otherwise it is bad, and it explains nothing.
 */
export function checkDeletionReceipts(
  receipts: ReadonlyMap<number, string>,
  entryLeafHash: (index: number) => Hash | { unknown: string } | undefined,
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
      if ('unknown' in hash) {
        problem = `it names leaf ${i}, ${hash.unknown}`;
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
