/**
 * Decoded segments kept in memory, least recently used dropped first, up to a budget of bytes.
 * Safe because a segment never changes: its id is never reused (a rewrite gets a new id), so
 * an id names the same bytes for as long as it exists. SQLite gives the ids a rolled-back
 * transaction took to the next segments inserted: sqlite/segments.ts forgets what was decoded
 * of them (Segments.rolledBack). The owner is checked again on every use all the same: a
 * segment decoded for one tenant and log type is never handed to another.
 */
import type { DecodedSegment } from './segment-codec.ts';

interface Cached {
  readonly owner: string;
  readonly segment: DecodedSegment;
}

/** The default budget: the read benchmark's 400 cursors touch about 600 segments of 256 entries. */
export const DEFAULT_SEGMENT_CACHE_BYTES = 160 * 1024 * 1024;

/**
 * Values kept up to a budget of bytes, least recently used dropped first. A value larger than
 * the whole budget is not kept. Both stores' caches of decoded segments are built on it.
 */
export class ByteBudgetLru<K, V> {
  private readonly map = new Map<K, { readonly value: V; readonly bytes: number }>();
  private used = 0;

  /** `onDrop` hears of every value that leaves (dropped for space or replaced), for indexes kept beside. */
  constructor(
    private readonly budget: number,
    private readonly onDrop?: (key: K, value: V) => void,
  ) {}

  /** The value under `key`, marked as the most recently used. */
  get(key: K): V | undefined {
    const hit = this.map.get(key);
    if (hit === undefined) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  set(key: K, value: V, bytes: number): void {
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.used -= old.bytes;
      this.onDrop?.(key, old.value);
    }
    if (bytes > this.budget) return;
    this.map.set(key, { value, bytes });
    this.used += bytes;
    for (const [oldest, entry] of this.map) {
      if (this.used <= this.budget) break;
      this.map.delete(oldest);
      this.used -= entry.bytes;
      this.onDrop?.(oldest, entry.value);
    }
  }

  /** Drops the value under `key`, if kept (`onDrop` hears of it). */
  delete(key: K): void {
    const entry = this.map.get(key);
    if (entry === undefined) return;
    this.map.delete(key);
    this.used -= entry.bytes;
    this.onDrop?.(key, entry.value);
  }

  /** Drops every value (`onDrop` hears of each). */
  clear(): void {
    const dropped = [...this.map];
    this.map.clear();
    this.used = 0;
    for (const [key, entry] of dropped) this.onDrop?.(key, entry.value);
  }

  /** Every value kept, least recently used first. */
  *values(): IterableIterator<V> {
    for (const entry of this.map.values()) yield entry.value;
  }

  get size(): number {
    return this.map.size;
  }
}

/**
 * `bytes` in a buffer of their own, copied when they are a view of a larger allocation, for
 * keeping: zlib hands back a small output as a slice of its 16 KiB chunk, and Buffer.from a
 * small value as a slice of a shared 8 KiB pool slab, and a cache counting the view's length
 * would hold all of it.
 */
export function ownBytes(bytes: Buffer): Buffer {
  if (bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length) return bytes;
  const own = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(own);
  return own;
}

export class SegmentCache {
  private readonly lru: ByteBudgetLru<number, Cached>;

  constructor(budget = DEFAULT_SEGMENT_CACHE_BYTES) {
    this.lru = new ByteBudgetLru(budget);
  }

  /** The decoded segment `id`, if kept and decoded for `owner`. */
  get(id: number, owner: string): DecodedSegment | undefined {
    const hit = this.lru.get(id);
    return hit !== undefined && hit.owner === owner ? hit.segment : undefined;
  }

  set(id: number, owner: string, segment: DecodedSegment): void {
    this.lru.set(id, { owner, segment }, segment.bytes);
  }

  /** Forgets segment `id`, deleted: its id is never used again, so its decoding would only take room. */
  forget(id: number): void {
    this.lru.delete(id);
  }

  get size(): number {
    return this.lru.size;
  }
}
