/**
 * Decoded segments, most recently used kept, bounded by their decoded bytes. Safe because a
 * segment id is never reused (a sequence hands them out; a rewrite makes new ids) and a
 * segment's bytes never change: whatever id a query names, the cached decoding is its content.
 * A database put back under a running process (a backup restored, a replica promoted that had
 * not received the last commits) hands out ids again that this process may have cached: a
 * cached decoding is used only when the row's first and last positions are its own (sameAs),
 * and the cache is emptied when one is not. Each entry remembers its tenant and type,
 * re-checked on use.
 */
import { ByteBudgetLru } from '../segment-cache.ts';
import type { DecodedSegment } from '../segment-codec.ts';
import { compare } from '../segment-pages.ts';
import type { Position } from '../store.ts';

export interface CachedSegment {
  readonly id: string;
  readonly tid: number;
  readonly typeId: number;
  readonly last: Position;
  readonly decoded: DecodedSegment;
  readonly bytes: number;
}

/**
 * The cached segments of one tenant and type, ordered by their last position: a page's lookup
 * is a binary search, not a scan of the whole cache.
 */
type Ordered = CachedSegment[];

/** The first index of `list` whose segment ends after `pos` (list.length if none). */
function firstEndingAfter(list: Ordered, pos: Position): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid]!.last, pos) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export class SegmentCache {
  private readonly lru: ByteBudgetLru<string, CachedSegment>;
  /** By tenant and type (`tid/typeId`): the segments the LRU holds, in order of their last position. */
  private readonly byOwner = new Map<string, Ordered>();

  constructor(maxBytes: number) {
    this.lru = new ByteBudgetLru(maxBytes, (_id, s) => this.unindex(s));
  }

  /** The segment `id` if cached for (tid, typeId), marked as recently used. */
  get(id: string, tid: number, typeId: number): CachedSegment | undefined {
    const hit = this.lru.get(id);
    return hit !== undefined && hit.tid === tid && hit.typeId === typeId ? hit : undefined;
  }

  put(segment: CachedSegment): void {
    this.lru.set(segment.id, segment, segment.bytes);
    if (this.lru.get(segment.id) !== segment) return; // larger than the whole budget: not kept
    const key = ownerKey(segment.tid, segment.typeId);
    let list = this.byOwner.get(key);
    if (list === undefined) this.byOwner.set(key, (list = []));
    // Before any segment ending at the same position (a rewritten range's stale copy): the
    // newest is found first.
    const at = firstEndingAfter(list, { timeMs: segment.last.timeMs, seq: segment.last.seq - 0.5 });
    list.splice(at, 0, segment);
  }

  /**
   * Forgets segments deleted by this process (its sealer's rewrites, its purge): their ids are
   * never used again, so their decodings would only take room. Those another process deletes
   * are forgotten by the next read that finds them gone (forgetGone).
   */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.lru.delete(id);
  }

  private unindex(segment: CachedSegment): void {
    const key = ownerKey(segment.tid, segment.typeId);
    const list = this.byOwner.get(key);
    if (list === undefined) return;
    for (let i = firstEndingAfter(list, { timeMs: segment.last.timeMs, seq: segment.last.seq - 0.5 }); i < list.length; i++) {
      if (list[i] === segment) {
        list.splice(i, 1);
        break;
      }
      if (compare(list[i]!.last, segment.last) > 0) break;
    }
    if (list.length === 0) this.byOwner.delete(key);
  }

  /**
   * Up to `max` cached segments of (tid, typeId) ending after `after`, nearest first: those a
   * page starting there will probably need, whose bytes the query then need not send.
   */
  after(tid: number, typeId: number, after: Position, max: number): CachedSegment[] {
    const list = this.byOwner.get(ownerKey(tid, typeId));
    if (list === undefined) return [];
    const at = firstEndingAfter(list, after);
    return list.slice(at, at + max);
  }

  /**
   * Forgets the cached segments of (tid, typeId) ending after `after` and at or before `upTo`
   * that are not in `present`: a statement that read every segment of that stretch did not find
   * them, so they no longer exist (another process's sealer replaced them, its purge rewrote
   * them, or their month was dropped). One forgotten wrongly is only read again.
   */
  forgetGone(tid: number, typeId: number, after: Position, upTo: Position, present: ReadonlySet<string>): void {
    const list = this.byOwner.get(ownerKey(tid, typeId));
    if (list === undefined) return;
    const gone: string[] = [];
    for (let i = firstEndingAfter(list, after); i < list.length && compare(list[i]!.last, upTo) <= 0; i++) {
      if (!present.has(list[i]!.id)) gone.push(list[i]!.id);
    }
    this.forget(gone);
  }

  /** Empties the cache: its ids may now name other segments. */
  clear(): void {
    this.lru.clear();
  }

  get size(): number {
    return this.lru.size;
  }
}

/** Raised when a segment's row is not what the cache holds under its id (see the top); the read is made again. */
export class StaleSegmentError extends Error {}

/**
 * The cached decoding of a segment whose row reads `firstTime` and (`lastTime`, `lastSeq`):
 * StaleSegmentError when its own first and last entries are elsewhere, the id now naming
 * another segment.
 */
export function sameAs(cached: CachedSegment, firstTime: number, lastTime: number, lastSeq: number): DecodedSegment {
  const d = cached.decoded;
  const n = d.count;
  if (n === 0 || d.timeMs(0) !== firstTime || d.timeMs(n - 1) !== lastTime || d.seq(n - 1) !== lastSeq) {
    throw new StaleSegmentError(`segment ${cached.id} is not the one cached under its id`);
  }
  return d;
}

function ownerKey(tid: number, typeId: number): string {
  return `${tid}/${typeId}`;
}

// Page order lives with the page merge; the sealer imports it from here.
export { compare };
