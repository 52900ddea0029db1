/**
 * Decoded segments kept in memory, least recently used dropped first, up to a budget of bytes.
 * Safe because a segment never changes: its id is never reused (a rewrite gets a new id), so
 * an id names the same bytes for as long as it exists. The owner is checked again on every
 * use all the same: a segment decoded for one tenant and log type is never handed to another.
 */
import type { DecodedSegment } from './segment-codec.ts';

interface Cached {
  readonly owner: string;
  readonly segment: DecodedSegment;
}

/** The default budget: the read benchmark's 400 cursors touch about 600 segments of 256 entries. */
export const DEFAULT_SEGMENT_CACHE_BYTES = 160 * 1024 * 1024;

export class SegmentCache {
  private readonly byId = new Map<number, Cached>();
  private bytes = 0;

  constructor(private readonly budget = DEFAULT_SEGMENT_CACHE_BYTES) {}

  /**
   * The segment `id` as decoded for `owner` (any string naming tenant and log type), or
   * undefined when it is not cached for that owner.
   */
  get(id: number, owner: string): DecodedSegment | undefined {
    const hit = this.byId.get(id);
    if (hit === undefined || hit.owner !== owner) return undefined;
    // Most recently used last.
    this.byId.delete(id);
    this.byId.set(id, hit);
    return hit.segment;
  }

  set(id: number, owner: string, segment: DecodedSegment): void {
    const old = this.byId.get(id);
    if (old) {
      this.byId.delete(id);
      this.bytes -= old.segment.bytes;
    }
    if (segment.bytes > this.budget) return;
    this.byId.set(id, { owner, segment });
    this.bytes += segment.bytes;
    for (const [oldest, entry] of this.byId) {
      if (this.bytes <= this.budget) break;
      this.byId.delete(oldest);
      this.bytes -= entry.segment.bytes;
    }
  }

  get size(): number {
    return this.byId.size;
  }
}
