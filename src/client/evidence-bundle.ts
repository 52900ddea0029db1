/**
 * Offline evidence bundles (`logwarden fetch --format bundle`, `logwarden verify --bundle`): one
 * JSON file holding a window's entries exactly as served, the signed checkpoint, the verifier
 * key, every leaf of the range of leaf indexes the served entries span, and the hashes of the
 * rest of the tree (the subtrees left and right of that range, as RFC 6962's recursion meets
 * them: at most about 2·log2(size) hashes, always fewer bytes than the tiles they summarise).
 *
 * With the log's key alone, the bundle proves: the checkpoint was signed by the log; the
 * bundled leaves are leaves `[from, to)` of that tree (the root recomputes); each entry is the
 * leaf at its index, byte for byte; and no leaf of the window's type and time range inside
 * `[from, to)` is missing from the entries. It says nothing about leaves outside that range.
 * Format: docs/verifiable-log.md, "Evidence bundles".
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseDateTime } from '../logs/time.ts';
import {
  auditWindow,
  type BadReceipt,
  buildEntryLeaf,
  type Checkpoint,
  checkDeletionReceipts,
  DELETION_LEAF_V1,
  type DeletedLeaf,
  decodeBase64,
  decodeEntryBundle,
  ENTRY_LEAF_V1,
  encodeBase64,
  formatTlogProof,
  type Hash,
  type HashReader,
  hashesEqual,
  inclusionRanges,
  leafHash,
  type NoteVerifier,
  nodeHash,
  openCheckpoint,
  parseDeletionReceipt,
  parseEntryLeaf,
  parseVerifierKey,
  storedHashIndex,
  TILE_WIDTH,
  tileHashReader,
  verifyInclusion,
} from '../tlog/index.ts';
import { rangeHashes, splitPoint } from '../tlog/subtree.ts';
import { isWellFormedText } from '../tlog/well-formed.ts';
import { leafPrefix, notSignedBy, startsWith, type WindowSpec } from './log-verifier.ts';
import type { TlogClient } from './tlog-client.ts';

export const EVIDENCE_FORMAT = 'logwarden-evidence/v1';

export interface EvidenceBundle {
  format: typeof EVIDENCE_FORMAT;
  createdAt: string;
  /** Where it was fetched from (informational). */
  source: { url: string; tenantId: string };
  /** The verifier key the server announced (informational: pin the key from a trusted source). */
  verifierKey: string;
  /** The signed checkpoint note, verbatim. */
  checkpoint: string;
  window: WindowSpec;
  /** The leaf index range `[from, to)` the bundle holds every leaf of. */
  leafRange: { from: number; to: number };
  /** Leaves `from` … `to - 1`, base64. */
  leaves: string[];
  /** Hashes of the subtrees outside the range, base64, in the order `outsideRanges` lists them. */
  subtreeHashes: string[];
  /** The window's entries in served order: the exact wire text and its leaf index. */
  entries: { leafIndex: number; wireText: string }[];
  /**
   * Deletion receipts beyond `leafRange` that name leaves of the window inside it which
   * retention deleted (receipts inside the range are among `leaves`); absent when none is needed.
   */
  deletions?: BundleDeletion[];
  /**
   * Leaf hashes, base64 by leaf index, of the leaves outside `leafRange` that those receipts
   * name: each receipt's digest over all its leaves' hashes binds them.
   */
  namedLeafHashes?: Record<string, string>;
}

/** A deletion receipt leaf and its inclusion proof in the checkpoint's tree. */
export interface BundleDeletion {
  leafIndex: number;
  /** The receipt leaf, base64. */
  leaf: string;
  /** RFC 9162's inclusion proof of the leaf in the checkpoint's tree, base64 hashes. */
  proof: string[];
}

interface Range {
  lo: number;
  hi: number;
}

/**
 * The subtrees of the tree of `size` leaves that lie wholly outside `[from, to)` and whose
 * parent does not: walking RFC 6962's recursion from the root, left to right.
 */
export function outsideRanges(from: number, to: number, size: number): Range[] {
  const out: Range[] = [];
  const walk = (lo: number, hi: number) => {
    if (hi <= from || lo >= to) out.push({ lo, hi });
    else if (from <= lo && hi <= to) return;
    else {
      const k = splitPoint(hi - lo);
      walk(lo, lo + k);
      walk(lo + k, hi);
    }
  };
  if (size > 0 && from < to) walk(0, size);
  return out;
}

/** The hashes `outsideRanges` names, read from a hash reader (the server's tiles). */
export async function outsideHashes(from: number, to: number, size: number, reader: HashReader): Promise<Hash[]> {
  return rangeHashes(outsideRanges(from, to, size), async (ix) => reader(ix));
}

/** The tree a bundle describes: its leaves in range and the hashes outside it. */
class PartialTree {
  private readonly outside = new Map<string, Hash>();
  private readonly leafHashes: Hash[];

  constructor(
    readonly from: number,
    readonly to: number,
    readonly size: number,
    leaves: readonly Uint8Array[],
    subtrees: readonly Hash[],
  ) {
    const ranges = outsideRanges(from, to, size);
    if (subtrees.length !== ranges.length)
      throw new EvidenceError(
        `the bundle has ${subtrees.length} subtree hashes, a range [${from}, ${to}) of a tree of ${size} needs ${ranges.length}`,
      );
    ranges.forEach((r, i) => this.outside.set(`${r.lo}-${r.hi}`, subtrees[i]!));
    this.leafHashes = leaves.map((l) => leafHash(l));
  }

  /** The Merkle hash of any range of RFC 6962's recursion. */
  hash(lo: number, hi: number): Hash {
    const given = this.outside.get(`${lo}-${hi}`);
    if (given) return given;
    if (hi - lo === 1) {
      const h = this.leafHashes[lo - this.from];
      if (!h) throw new EvidenceError(`leaf ${lo} is neither in the bundle nor covered by its subtree hashes`);
      return h;
    }
    const k = splitPoint(hi - lo);
    return nodeHash(this.hash(lo, lo + k), this.hash(lo + k, hi));
  }

  root(): Hash {
    return this.hash(0, this.size);
  }

  inclusionProof(index: number): Hash[] {
    return inclusionRanges(index, 0, this.size).map((r) => this.hash(r.lo, r.hi));
  }
}

export class EvidenceError extends Error {
  override readonly name = 'EvidenceError';
}

export interface BundleCheck {
  checkpoint: Checkpoint;
  window: WindowSpec;
  leafRange: { from: number; to: number };
  /** Entries proven to be their leaf. */
  entries: number;
  /** Leaves of the window inside the range. */
  inWindow: number;
  /** Leaves of the window inside the range that are neither among the entries nor deleted by retention. */
  missing: number[];
  /** Leaves of the window inside the range that a deletion receipt proves deleted by retention. */
  deleted: (DeletedLeaf & { eventTime: string })[];
  /** Deletion receipts naming leaves of the window that do not prove what they say. */
  badReceipts: BadReceipt[];
  /** Positions of entries that are not the leaf at their index. */
  mismatched: { position: number; leafIndex: number; reason: string }[];
  /**
   * Entries that come after one with a later eventTime, or after one of the same instant with a
   * later leaf: a window is served in ascending eventTime, entries of one instant in the order
   * they were stored, so the bundle's entries were reordered after they were served.
   */
  misordered: { position: number; leafIndex: number; eventTime: string; after: string }[];
  /** Whether the bundle's own key is the pinned one. */
  bundleKeyMatches: boolean;
  complete: boolean;
}

/** `where` names the field in messages (default `leaves[i]`). */
function decodeLeaf(text: unknown, i: number, where = `leaves[${i}]`): Uint8Array {
  const b = typeof text === 'string' ? decodeBase64(text) : null;
  if (!b) throw new EvidenceError(`${where} is not base64`);
  return b;
}

/** Parses a bundle file's text strictly enough that every later check can rely on its shape. */
export function parseEvidenceBundle(text: string): EvidenceBundle {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new EvidenceError(`not a JSON document: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || doc.format !== EVIDENCE_FORMAT) throw new EvidenceError(`not a ${EVIDENCE_FORMAT} bundle`);
  const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const r = doc.leafRange;
  if (!isObject(r)) throw new EvidenceError('leafRange is not an object {"from": …, "to": …} of leaf indexes');
  for (const k of ['from', 'to'] as const) if (!isCount(r[k])) throw new EvidenceError(`leafRange.${k} is not a leaf index (a whole number from 0)`);
  if ((r.to as number) < (r.from as number)) throw new EvidenceError(`leafRange.to (${r.to}) is before leafRange.from (${r.from})`);
  const w = doc.window;
  if (!isObject(w)) throw new EvidenceError('window is not an object {"logType": …, "from": …, "to": …}');
  if (typeof w.logType !== 'string' || w.logType === '') throw new EvidenceError('window.logType is not the name of a log type');
  for (const k of ['from', 'to'] as const) {
    const v = w[k];
    if (k === 'to' && v === null) continue;
    const parsed = typeof v === 'string' ? parseDateTime(v) : null;
    if (!parsed?.ok)
      throw new EvidenceError(
        `window.${k} is not an ISO-8601 date-time with an offset${k === 'to' ? ' (or null)' : ''}: ${JSON.stringify(v)?.slice(0, 80) ?? 'missing'}`,
      );
  }
  for (const k of ['checkpoint', 'verifierKey'] as const) if (typeof doc[k] !== 'string') throw new EvidenceError(`${k} is not a string`);
  for (const k of ['leaves', 'subtreeHashes', 'entries'] as const) if (!Array.isArray(doc[k])) throw new EvidenceError(`${k} is not a list`);
  for (const [i, e] of (doc.entries as unknown[]).entries()) {
    const o = e as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || !isCount(o.leafIndex) || typeof o.wireText !== 'string')
      throw new EvidenceError(`entries[${i}] is malformed`);
    // A lone surrogate hashes as U+FFFD: the text would prove another text's leaf.
    if (!isWellFormedText(o.wireText)) throw new EvidenceError(`entries[${i}].wireText holds a lone surrogate: no text served does`);
  }
  if (doc.deletions !== undefined) {
    if (!Array.isArray(doc.deletions)) throw new EvidenceError('deletions is not a list');
    for (const [i, d] of (doc.deletions as unknown[]).entries()) {
      const o = d as Record<string, unknown>;
      if (typeof o !== 'object' || o === null || !isCount(o.leafIndex) || typeof o.leaf !== 'string' || !Array.isArray(o.proof))
        throw new EvidenceError(`deletions[${i}] is malformed`);
    }
  }
  const named = doc.namedLeafHashes;
  if (named !== undefined && (typeof named !== 'object' || named === null || Array.isArray(named)))
    throw new EvidenceError('namedLeafHashes is not an object of leaf hashes by leaf index');
  return doc as unknown as EvidenceBundle;
}

function eventTimeOf(wireText: string): string {
  const doc = JSON.parse(wireText) as unknown;
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new EvidenceError('its text is not a JSON object');
  const v = (doc as Record<string, unknown>).eventTime;
  if (typeof v !== 'string') throw new EvidenceError('an entry has no eventTime');
  return v;
}

/**
 * Checks a bundle with no network against the pinned key: the checkpoint's signature, the
 * tree root recomputed from the bundled leaves and subtree hashes, each entry against the leaf
 * at its index, and completeness of the window within the bundled range. Throws EvidenceError
 * when the bundle does not prove its tree (bad signature, wrong root); entry-level failures
 * are listed in the result with `complete` false.
 */
/** Who is to blame when a bundle's proofs do not add up: a file was altered, or (while fetching) the server's answers. */
const ALTERED = 'the bundle was altered';
const SERVER_INCONSISTENT = "the server's entry bundles and tiles do not match its signed checkpoint";

export function checkEvidenceBundle(bundle: EvidenceBundle, logKey: NoteVerifier | string, blame = ALTERED): BundleCheck {
  const key = typeof logKey === 'string' ? parseVerifierKey(logKey) : logKey;
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(bundle.checkpoint, key).checkpoint;
  } catch (err) {
    const why = typeof bundle.checkpoint === 'string' ? notSignedBy(bundle.checkpoint, key) : null;
    throw new EvidenceError(`the bundle's checkpoint is not validly signed by the pinned key ${key.text}: ${why ?? (err as Error).message}`);
  }
  const { from, to } = bundle.leafRange;
  if (to > checkpoint.size) throw new EvidenceError(`leafRange [${from}, ${to}) goes beyond the checkpoint's ${checkpoint.size} leaves`);
  if (bundle.leaves.length !== to - from) throw new EvidenceError(`the bundle holds ${bundle.leaves.length} leaves for the range [${from}, ${to})`);
  const leaves = bundle.leaves.map((t, i) => decodeLeaf(t, i));
  const subtrees = bundle.subtreeHashes.map((h, i) => {
    const b = typeof h === 'string' ? decodeBase64(h) : null;
    if (!b || b.length !== 32) throw new EvidenceError(`subtreeHashes[${i}] is not base64 of a 32-byte hash`);
    return b;
  });
  if (from < to) {
    const tree = new PartialTree(from, to, checkpoint.size, leaves, subtrees);
    const root = tree.root();
    if (!hashesEqual(root, checkpoint.rootHash)) {
      throw new EvidenceError(
        `the bundled leaves and subtree hashes give root ${encodeBase64(root)}, not the signed root ${encodeBase64(checkpoint.rootHash)}: ${blame}`,
      );
    }
  }
  const mismatched: BundleCheck['mismatched'] = [];
  const decoder = new TextDecoder();
  bundle.entries.forEach((e, position) => {
    if (e.leafIndex < from || e.leafIndex >= to) {
      mismatched.push({ position, leafIndex: e.leafIndex, reason: `leaf ${e.leafIndex} is outside the bundled range` });
      return;
    }
    let own: string;
    try {
      own = buildEntryLeaf({ logType: bundle.window.logType, eventTime: eventTimeOf(e.wireText), wireText: e.wireText });
    } catch (err) {
      mismatched.push({ position, leafIndex: e.leafIndex, reason: `not a valid entry: ${(err as Error).message}` });
      return;
    }
    const atIndex = decoder.decode(leaves[e.leafIndex - from]);
    if (atIndex !== own) {
      const leafType = atIndex.startsWith(`${ENTRY_LEAF_V1}\n`) ? atIndex.split('\n', 2)[1] : undefined;
      const reason =
        leafType !== undefined && leafType !== bundle.window.logType
          ? `leaf ${e.leafIndex} is an entry of type ${leafType}, but the bundle's window names ${bundle.window.logType} (the window was altered, or the entry is of another type)`
          : `the entry is not what leaf ${e.leafIndex} logged (altered, or another entry)`;
      mismatched.push({ position, leafIndex: e.leafIndex, reason });
    }
  });
  // Served in ascending eventTime, entries of one instant in the order they were stored, which is
  // their leaves' order: any other order was made after.
  const misordered: BundleCheck['misordered'] = [];
  let latest = '';
  let latestLeaf = -1;
  bundle.entries.forEach((e, position) => {
    let eventTime: string;
    try {
      eventTime = eventTimeOf(e.wireText);
    } catch {
      return; // reported among the mismatched
    }
    const at = Date.parse(eventTime);
    const before = Date.parse(latest);
    if (latest !== '' && (at < before || (at === before && e.leafIndex <= latestLeaf))) {
      misordered.push({ position, leafIndex: e.leafIndex, eventTime, after: latest });
    } else {
      latest = eventTime;
      latestLeaf = e.leafIndex;
    }
  });
  const result = auditWindow(
    bundle.window,
    leaves.map((leaf, i) => ({ index: from + i, leaf })),
    bundle.entries.map((e) => {
      try {
        return { wireText: e.wireText, eventTime: eventTimeOf(e.wireText) };
      } catch {
        return { wireText: e.wireText, eventTime: '' };
      }
    }),
  );
  const flagged = new Set(mismatched.map((m) => m.position));
  const twice = new Set(result.servedTwice);
  for (const position of result.unexpected) {
    if (flagged.has(position)) continue;
    const e = bundle.entries[position]!;
    // An entry that is its leaf but lies outside the window: the window claimed is not what was fetched.
    const reason = twice.has(position)
      ? 'it is in the bundle more often than it was logged: a duplicate (same eventTime and text) of an earlier entry'
      : "its eventTime lies outside the bundle's window (the window was altered)";
    mismatched.push({ position, leafIndex: e.leafIndex, reason });
  }
  mismatched.sort((a, b) => a.position - b.position);
  // The leaf an altered entry names was there, altered, not hidden: the entry is reported, once.
  const altered = new Set(mismatched.filter((m) => !twice.has(m.position)).map((m) => m.leafIndex));
  const deletions = result.missing.length > 0 ? bundleDeletions(bundle, checkpoint, leaves, new Set(result.missing), blame) : NO_DELETIONS;
  const missing = result.missing.filter((i) => !deletions.deleted.has(i) && !altered.has(i));
  return {
    checkpoint,
    window: bundle.window,
    leafRange: { from, to },
    entries: bundle.entries.length - mismatched.length,
    inWindow: result.inWindow,
    missing,
    deleted: result.missing
      .filter((i) => deletions.deleted.has(i))
      .map((i) => ({ ...deletions.deleted.get(i)!, eventTime: parseEntryLeaf(leaves[i - from]!).eventTime })),
    badReceipts: deletions.bad,
    mismatched,
    misordered,
    bundleKeyMatches: bundle.verifierKey.trim() === key.text,
    complete: mismatched.length === 0 && misordered.length === 0 && missing.length === 0 && deletions.bad.length === 0,
  };
}

const NO_DELETIONS: ReturnType<typeof checkDeletionReceipts> = { deleted: new Map(), bad: [] };

/** The leaf indexes a deletion receipt names, or none when it is not one (a bad one is reported by the check). */
function namedBy(text: string): readonly number[] {
  try {
    return parseDeletionReceipt(text).leaves;
  } catch {
    return [];
  }
}

/**
 * Which `missing` leaves deletion receipts prove deleted: the receipts of the window's type
 * among the bundled leaves, and those of `deletions` (each first proven a leaf of the signed
 * tree), that name at least one of them. A named leaf inside the range must be an entry leaf of
 * the type; one outside it counts by the hash `namedLeafHashes` gives, which the receipt's
 * digest binds.
 */
function bundleDeletions(
  bundle: EvidenceBundle,
  checkpoint: Checkpoint,
  leaves: readonly Uint8Array[],
  missing: ReadonlySet<number>,
  blame: string,
): ReturnType<typeof checkDeletionReceipts> {
  const { from, to } = bundle.leafRange;
  const { logType } = bundle.window;
  const receiptPrefix = leafPrefix(DELETION_LEAF_V1, logType);
  const entryPrefix = leafPrefix(ENTRY_LEAF_V1, logType);
  const decoder = new TextDecoder();
  const receipts = new Map<number, string>();
  const consider = (index: number, leaf: Uint8Array) => {
    if (!startsWith(leaf, receiptPrefix)) return;
    const text = decoder.decode(leaf);
    if (namedBy(text).some((i) => missing.has(i))) receipts.set(index, text);
  };
  leaves.forEach((leaf, i) => consider(from + i, leaf));
  (bundle.deletions ?? []).forEach((d, i) => {
    const leaf = decodeLeaf(d.leaf, i, `deletions[${i}].leaf`);
    const proof = d.proof.map((h, j) => {
      const b = typeof h === 'string' ? decodeBase64(h) : null;
      if (!b || b.length !== 32) throw new EvidenceError(`deletions[${i}].proof[${j}] is not base64 of a 32-byte hash`);
      return b;
    });
    const inRange = d.leafIndex >= from && d.leafIndex < to;
    if (
      inRange
        ? decoder.decode(leaves[d.leafIndex - from]) !== decoder.decode(leaf)
        : !verifyInclusion(leafHash(leaf), d.leafIndex, checkpoint.size, proof, checkpoint.rootHash)
    )
      throw new EvidenceError(`deletions[${i}] is not leaf ${d.leafIndex} of the signed tree: ${blame}`);
    consider(d.leafIndex, leaf);
  });
  const named = bundle.namedLeafHashes ?? {};
  return checkDeletionReceipts(receipts, (index) => {
    if (index >= from && index < to) {
      const leaf = leaves[index - from]!;
      return startsWith(leaf, entryPrefix) ? leafHash(leaf) : undefined;
    }
    const h = named[String(index)];
    if (h === undefined) return { unknown: `whose hash the bundle does not carry (namedLeafHashes): ${blame}` };
    const b = typeof h === 'string' ? decodeBase64(h) : null;
    return b && b.length === 32 ? b : { unknown: `whose hash in namedLeafHashes is not base64 of 32 bytes: ${blame}` };
  });
}

/** The C2SP tlog-proof@v1 text for the bundled leaf at `leafIndex` (checked first). */
export function tlogProofFromBundle(bundle: EvidenceBundle, leafIndex: number, logKey: NoteVerifier | string): string {
  const check = checkEvidenceBundle(bundle, logKey);
  const { from, to } = check.leafRange;
  if (leafIndex < from || leafIndex >= to) {
    throw new EvidenceError(
      from < to
        ? `leaf ${leafIndex} is not in the bundle: it holds leaves ${from} to ${to - 1} (each entry's leaf index is its "leafIndex" in the bundle's "entries")`
        : `leaf ${leafIndex} is not in the bundle: it holds no leaves (the server served no entries for its window)`,
    );
  }
  if (!bundle.entries.some((e) => e.leafIndex === leafIndex)) {
    throw new EvidenceError(
      `leaf ${leafIndex} is in the bundle's range but is none of its entries (another log type, a deletion receipt, or an entry deleted by retention): give an entry's "leafIndex" from the bundle's "entries"`,
    );
  }
  const tree = new PartialTree(
    from,
    to,
    check.checkpoint.size,
    bundle.leaves.map((t, i) => decodeLeaf(t, i)),
    bundle.subtreeHashes.map((h) => decodeBase64(h)!),
  );
  return formatTlogProof({ index: leafIndex, proof: tree.inclusionProof(leafIndex), checkpoint: bundle.checkpoint });
}

/**
 * Fetches a window and what proves it into a bundle: the entries with their leaf indexes (the
 * server must report them), a checkpoint covering them, the leaves of the range they span (from
 * entry bundles) and the subtree hashes outside it (from tiles). The result is checked with
 * `checkEvidenceBundle` against `logKey` (default: the server's key) before it is returned, so
 * a server that serves inconsistent data yields an EvidenceError here, not a bad file.
 */
export async function fetchEvidenceBundle(
  client: TlogClient,
  window: WindowSpec,
  options: {
    logKey?: string | undefined;
    pageSize?: number | undefined;
    waitMs?: number | undefined;
    signal?: AbortSignal | undefined;
    /** Called as leaves after the range are read in search of deletion receipts (only when the window has purged leaves). */
    onReceiptSearch?: ((read: number, total: number) => void) | undefined;
  } = {},
): Promise<{ bundle: EvidenceBundle; check: BundleCheck }> {
  const { signal } = options;
  const verifierKey = options.logKey?.trim() ?? (await client.verifierKey(signal));
  const key = parseVerifierKey(verifierKey);
  const entries: EvidenceBundle['entries'] = [];
  const pages = client.indexedTextPages({
    logType: window.logType,
    fromDateTime: window.from,
    toDateTime: window.to ?? undefined,
    limit: options.pageSize ?? 1000,
    signal,
  });
  const opened = (text: string): Checkpoint => {
    const why = notSignedBy(text, key);
    if (why !== null)
      throw new EvidenceError(
        `the server's checkpoint is not signed by ${options.logKey ? 'the pinned key' : 'the key it announced'} ${key.text}: ${why}`,
      );
    return openCheckpoint(text, key).checkpoint;
  };
  // Each entry is a distinct leaf: more entries than the log holds leaves is a server repeating
  // itself (cursors in a circle), which would otherwise be read forever. A page without entries
  // adds none to bound (an empty window's only page): the checkpoint the bundle holds, taken
  // after the read, is all that window needs.
  let known = 0;
  for await (const { page, leafIndexes } of pages) {
    if (entries.length + page.texts.length > known) {
      const deadline = Date.now() + (options.waitMs ?? 3000);
      for (;;) {
        known = opened(await client.checkpointNote(signal)).size;
        if (entries.length + page.texts.length <= known || Date.now() >= deadline) break;
        await sleep(200, undefined, { signal });
      }
      if (entries.length + page.texts.length > known)
        throw new EvidenceError(
          `the server served ${entries.length + page.texts.length} entries for the window, more than the ${known} leaves its log holds: it serves entries more than once (pages that repeat, cursors that lead in a circle)`,
        );
    }
    if (leafIndexes === null) {
      throw new EvidenceError(
        'the server did not report the leaf index of every entry of a page (X-Logwarden-Leaf-Index), which a bundle needs: either it does not report them, or an entry it served has no leaf in its verifiable log (`logwarden verify` on the window names it)',
      );
    }
    page.texts.forEach((wireText, i) => entries.push({ leafIndex: leafIndexes[i]!, wireText }));
  }
  const indexes = entries.map((e) => e.leafIndex);
  // Loops, not Math.min(...indexes): spreading a large window's indexes overflows the stack.
  const from = indexes.length > 0 ? indexes.reduce((least, i) => Math.min(least, i)) : 0;
  const to = indexes.reduce((most, i) => Math.max(most, i + 1), 0);
  let note = await client.checkpointNote(signal);
  let checkpoint = opened(note);
  const deadline = Date.now() + (options.waitMs ?? 3000);
  while (checkpoint.size < to && Date.now() < deadline) {
    await sleep(200, undefined, { signal });
    note = await client.checkpointNote(signal);
    checkpoint = opened(note);
  }
  if (checkpoint.size < to) throw new EvidenceError(`no checkpoint covers leaf ${to - 1} yet (the latest has ${checkpoint.size} leaves)`);
  const size = checkpoint.size;
  const leaves: string[] = [];
  const fullBundles = Math.floor(size / TILE_WIDTH);
  for (let n = Math.floor(from / TILE_WIDTH); n * TILE_WIDTH < to; n++) {
    const width = n < fullBundles ? TILE_WIDTH : size % TILE_WIDTH;
    const got = decodeEntryBundle(await client.entryBundle(n, width, signal));
    got.forEach((leaf, i) => {
      const index = n * TILE_WIDTH + i;
      if (index >= from && index < to) leaves.push(encodeBase64(leaf));
    });
  }
  const subtrees =
    from < to
      ? await outsideHashes(
          from,
          to,
          size,
          tileHashReader(size, (t) => client.tile(t, signal)),
        )
      : [];
  const bundle: EvidenceBundle = {
    format: EVIDENCE_FORMAT,
    createdAt: new Date().toISOString(),
    source: { url: client.baseUrl, tenantId: client.tenantId },
    verifierKey,
    checkpoint: note,
    window,
    leafRange: { from, to },
    leaves,
    subtreeHashes: subtrees.map(encodeBase64),
    entries,
  };
  const check = checkEvidenceBundle(bundle, key, SERVER_INCONSISTENT);
  if (check.missing.length === 0) return { bundle, check };
  // Leaves of the window not served: retention's receipts for them lie beyond the range.
  const withReceipts = await addDeletions(client, bundle, size, check.missing, signal, options.onReceiptSearch);
  return { bundle: withReceipts, check: checkEvidenceBundle(withReceipts, key, SERVER_INCONSISTENT) };
}

/**
 * The bundle with the deletion receipts, beyond its range, that name its `missing` leaves (read
 * from the entry bundles after the range until each is named or the tree ends), their
 * inclusion proofs, and the hashes of the leaves outside the range they also name.
 */
async function addDeletions(
  client: TlogClient,
  bundle: EvidenceBundle,
  size: number,
  missing: readonly number[],
  signal: AbortSignal | undefined,
  onProgress: ((read: number, total: number) => void) | undefined,
): Promise<EvidenceBundle> {
  const { from, to } = bundle.leafRange;
  const unnamed = new Set(missing);
  const prefix = leafPrefix(DELETION_LEAF_V1, bundle.window.logType);
  const decoder = new TextDecoder();
  const found: { index: number; leaf: Uint8Array; names: readonly number[] }[] = [];
  const fullBundles = Math.floor(size / TILE_WIDTH);
  const first = Math.floor(to / TILE_WIDTH) * TILE_WIDTH;
  for (let n = first / TILE_WIDTH; n * TILE_WIDTH < size && unnamed.size > 0; n++) {
    const width = n < fullBundles ? TILE_WIDTH : size % TILE_WIDTH;
    onProgress?.(n * TILE_WIDTH - first, size - first);
    decodeEntryBundle(await client.entryBundle(n, width, signal)).forEach((leaf, i) => {
      const index = n * TILE_WIDTH + i;
      if (index < to || !startsWith(leaf, prefix)) return;
      const names = namedBy(decoder.decode(leaf));
      if (!names.some((x) => unnamed.has(x))) return;
      found.push({ index, leaf: leaf.slice(), names });
      for (const x of names) unnamed.delete(x);
    });
  }
  if (found.length === 0) return bundle;
  const proofs = new Map<number, Hash[]>();
  for (let at = 0; at < found.length; at += 1000) {
    const answer = await client.inclusionProofs(
      found.slice(at, at + 1000).map((f) => f.index),
      size,
      signal,
    );
    for (const p of answer.proofs) proofs.set(p.index, p.hashes);
  }
  const outside = [...new Set(found.flatMap((f) => f.names))].filter((i) => i < from || i >= to).sort((a, b) => a - b);
  const reader = tileHashReader(size, (t) => client.tile(t, signal));
  const hashes = outside.length > 0 ? await reader(outside.map((i) => storedHashIndex(0, i))) : [];
  return {
    ...bundle,
    deletions: found.map((f) => {
      const proof = proofs.get(f.index);
      if (!proof) throw new EvidenceError(`the server sent no inclusion proof for deletion receipt leaf ${f.index}`);
      return { leafIndex: f.index, leaf: encodeBase64(f.leaf), proof: proof.map(encodeBase64) };
    }),
    namedLeafHashes: Object.fromEntries(outside.map((i, k) => [String(i), encodeBase64(hashes[k]!)])),
  };
}
