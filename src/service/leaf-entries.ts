/**
 * A tenant's stored entries in the order they were stored: by leaf index in the tenant's
 * verifiable log (0, 1, 2, … with no gaps, across log types), for `logwarden tail`.
 *
 * Read through what the Store offers, hot and sealed entries alike: a leaf's text names the
 * entry's log type, event time and the SHA-256 of its wire text; the entries of that type over
 * the time a batch's leaves of it span are read as `GET /v2/logs` reads them (firstPage /
 * nextPage, a few statements for a batch of entries stored in time order, not some per entry;
 * split where that time holds many more entries than the batch's), and the one whose sequence
 * maps to the leaf (leafIndexes) is the leaf's entry. Its text must hash to the leaf's
 * digest, so what is streamed is what the log commits to.
 *
 * Only leaves below the latest signed checkpoint's size are read. Both stores commit that
 * checkpoint in the transaction that stores its entries, and assign a tenant's leaves one
 * appending transaction at a time (SQLite: one writer; PostgreSQL: the tenant's `entry_seqs`
 * row locked first), so when a checkpoint of size n is seen every entry of the leaves below n
 * is committed and seen too: a leaf below it is never "not yet visible". A leaf whose entry is
 * not found there was purged (retention deletes entries and keeps their leaves).
 */
import { arrayElements } from '../logs/json-text.ts';
import { parseDateTime } from '../logs/time.ts';
import { type EntryQuery, type Position, type Store, type StoredPage, StoreInconsistencyError, type TenantLog } from '../store/store.ts';
import { isDeletionReceipt } from '../tlog/deletion-receipt.ts';
import { parseEntryLeaf, wireTextDigest } from '../tlog/entry-leaf.ts';
import { hashesEqual } from '../tlog/hash.ts';

/** One stored entry at its leaf. */
export interface LeafEntry {
  readonly leafIndex: number;
  readonly logType: string;
  /** The entry's wire text, byte for byte as stored and served. */
  readonly text: Buffer;
}

export interface LeafBatch {
  /** The entries of the leaves read, in leaf order (of the wanted types). */
  readonly entries: LeafEntry[];
  /** The leaf after the last one read: every leaf before it was read (entry, deletion receipt or purged). */
  readonly next: number;
  /** Leaves of wanted types whose entry was purged. */
  readonly purged: number;
}

/** Entries read per page while looking for leaves of one type. */
const PAGE = 256;
/** Lookups running at once: round trips overlap on PostgreSQL. */
const CONCURRENT = 8;
/**
 * A lookup reads every entry of its type in the time its leaves span: when that time holds more
 * than this many times as many entries (and more than a page besides), it is split in two.
 */
const SPARSE = 2;

interface Wanted {
  readonly leaf: number;
  readonly logType: string;
  readonly ms: number;
  readonly digest: Uint8Array;
}

/** Where a lookup of one type and millisecond ended: its last entry found, at its position. */
interface Reached {
  readonly leaf: number;
  readonly at: Position;
}

/** Types and milliseconds whose place is kept between batches (the oldest is forgotten first). */
const REMEMBERED = 4096;

/**
 * Reads one tenant's entries by leaf index, batch after batch. Within one type and millisecond,
 * entries are read in sequence order, which is their leaf order (a tenant's leaves are given in
 * the order its entries were appended); so where a batch's lookup of a millisecond ended, the
 * next batch's goes on, and a millisecond holding many entries is read once, not once a batch.
 */
export class LeafEntryReader {
  private readonly reached = new Map<string, Reached>();

  constructor(
    private readonly store: Store,
    private readonly tenantId: string,
  ) {}

  /**
   * The entries of leaves [from, from + max) of the tenant's log, within `log`'s checkpoint
   * (fewer when it ends first), of the types in `types` (all when absent). Memory is bounded by `max`.
   */
  async read(log: TenantLog, from: number, max: number, types?: ReadonlySet<string>): Promise<LeafBatch> {
    const count = Math.max(0, Math.min(max, log.checkpoint.size - from));
    const texts = count === 0 ? [] : await log.leaves(from, count);
    const byType = new Map<string, Wanted[]>();
    texts.forEach((text, i) => {
      if (isDeletionReceipt(text)) return;
      const leaf = parseEntryLeaf(text);
      if (types && !types.has(leaf.logType)) return;
      const parsed = parseDateTime(leaf.eventTime);
      if (!parsed.ok) throw new StoreInconsistencyError(`leaf ${from + i} of tenant ${this.tenantId} has an unreadable event time`);
      const wanted = { leaf: from + i, logType: leaf.logType, ms: parsed.instant.ms, digest: leaf.wireTextSha256 };
      const list = byType.get(wanted.logType);
      if (list) list.push(wanted);
      else byType.set(wanted.logType, [wanted]);
    });
    // One lookup per type over the time its leaves span, split where that time holds many other entries.
    const queue = [...byType.values()].map((list) => list.sort((a, b) => a.ms - b.ms || a.leaf - b.leaf));
    const wantedCount = queue.reduce((n, list) => n + list.length, 0);
    const found = new Map<number, LeafEntry>();
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const halves = await this.find(next, found);
        if (halves) queue.push(...halves);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENT, queue.length) }, worker));
    const entries = [...found.values()].sort((a, b) => a.leafIndex - b.leafIndex);
    return { entries, next: from + count, purged: wantedCount - entries.length };
  }

  /**
   * Finds the entries of `group` (leaves of one type, by event time then leaf), adding them to
   * `found`; or, when the time the group spans holds many more entries than it wants (entries
   * stored much later or earlier than their neighbours in time), returns it in two halves to be
   * looked up each on its own instead.
   */
  private async find(group: readonly Wanted[], found: Map<number, LeafEntry>): Promise<Wanted[][] | undefined> {
    const { store, tenantId } = this;
    if (!store.leafIndexes) throw new Error('this store cannot map its entries to leaves');
    const first = group[0]!;
    const lastMs = group[group.length - 1]!.ms;
    const logType = first.logType;
    const byLeaf = new Map(group.map((w) => [w.leaf, w]));
    const query: EntryQuery = { tenantId, logType, fromMs: first.ms, toMs: lastMs + 1 };
    // Entries of the first millisecond up to where an earlier batch's lookup ended have leaves before this group's.
    const reached = this.reached.get(`${logType}\n${first.ms}`);
    const resume = reached !== undefined && reached.leaf < first.leaf ? reached.at : undefined;
    // The first page gives the snapshot (every leaf of the group is below it) and the count; read only for them when resuming.
    const head = await store.firstPage(query, resume ? 1 : PAGE);
    if (first.ms < lastMs && head.total > Math.max(SPARSE * group.length, group.length + PAGE)) return halves(group);
    let page: StoredPage = resume ? await store.nextPage(query, resume, head.watermark, PAGE) : head;
    for (let left = group.length; ; ) {
      if (page.count === 0) return;
      const seqs = page.seqs;
      if (seqs === undefined) throw new Error('this store does not report the sequences of the entries it reads');
      const leaves = await store.leafIndexes(tenantId, seqs);
      const bodies = splitPage(page);
      let last: (Reached & { ms: number }) | undefined;
      leaves.forEach((leaf, i) => {
        const wanted = byLeaf.get(leaf);
        if (!wanted) return;
        const text = bodies[i]!;
        if (!hashesEqual(wireTextDigest(text), wanted.digest)) {
          throw new StoreInconsistencyError(`the entry of leaf ${leaf} of tenant ${tenantId} does not hash to its leaf's digest`);
        }
        found.set(leaf, { leafIndex: leaf, logType, text });
        last = { leaf, at: { timeMs: wanted.ms, seq: seqs[i]! }, ms: wanted.ms };
        left--;
      });
      if (page.next === null) return;
      if (left === 0) {
        // More entries follow: the next batch may want those of the same millisecond.
        if (last) this.remember(`${logType}\n${last.ms}`, { leaf: last.leaf, at: last.at });
        return;
      }
      page = await store.nextPage(query, page.next, head.watermark, PAGE);
    }
  }

  private remember(key: string, reached: Reached): void {
    this.reached.delete(key);
    this.reached.set(key, reached);
    if (this.reached.size > REMEMBERED) this.reached.delete(this.reached.keys().next().value!);
  }
}

/** `group` (sorted by event time) in two, at the change of millisecond nearest its middle: no millisecond is looked up twice. */
function halves(group: readonly Wanted[]): Wanted[][] {
  const mid = group.length >> 1;
  for (let d = 0; d < group.length; d++) {
    for (const i of [mid - d, mid + d]) {
      if (i > 0 && i < group.length && group[i - 1]!.ms < group[i]!.ms) return [group.slice(0, i), group.slice(i)];
    }
  }
  throw new Error('a group of one millisecond is not split');
}

/** A page's entry texts, split out of its comma-joined text. */
function splitPage(page: StoredPage): Buffer[] {
  if (page.count === 0) return [];
  if (page.stretches && page.stretches.length === page.count) return [...page.stretches];
  const text = `[${page.text.toString('utf8')}]`;
  return arrayElements(text, 0).map(([start, end]) => Buffer.from(text.slice(start, end)));
}
