/**
 * Decoded segments, most recently used kept, bounded by their decoded bytes. Safe because a
 * segment id is never reused (a sequence hands them out; a rewrite makes new ids) and a
 * segment's bytes never change: whatever id a query names, the cached decoding is its content.
 * Each entry remembers its tenant and type, re-checked on use.
 */
import { ByteBudgetLru } from '../segment-cache.ts';
import type { DecodedSegment } from '../segment-codec.ts';
import type { Position } from '../store.ts';

export interface CachedSegment {
  readonly id: string;
  readonly tid: number;
  readonly typeId: number;
  readonly last: Position;
  readonly decoded: DecodedSegment;
  readonly bytes: number;
}

export class SegmentCache {
  private readonly lru: ByteBudgetLru<string, CachedSegment>;

  constructor(maxBytes: number) {
    this.lru = new ByteBudgetLru(maxBytes);
  }

  get(id: string, tid: number, typeId: number): CachedSegment | undefined {
    const hit = this.lru.get(id);
    return hit !== undefined && hit.tid === tid && hit.typeId === typeId ? hit : undefined;
  }

  put(segment: CachedSegment): void {
    this.lru.set(segment.id, segment, segment.bytes);
  }

  /**
   * Up to `max` cached segments of (tid, typeId) ending after `after`, nearest first: those a
   * page starting there will probably need, whose bytes the query then need not send.
   */
  after(tid: number, typeId: number, after: Position, max: number): CachedSegment[] {
    const found: CachedSegment[] = [];
    for (const s of this.lru.values()) {
      if (s.tid === tid && s.typeId === typeId && compare(s.last, after) > 0) found.push(s);
    }
    return found.sort((a, b) => compare(a.last, b.last)).slice(0, max);
  }
}

/** Page order: event time, then sequence. */
export function compare(a: Position, b: Position): number {
  return a.timeMs - b.timeMs || a.seq - b.seq;
}
