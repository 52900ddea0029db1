/**
 * The leaf hashes of some of a tree's leaves (those of one log type, say), added in ascending
 * leaf order and kept in two flat arrays: 40 bytes a leaf, found by binary search.
 */
import type { Hash } from '../tlog/index.ts';
import { writeLeafHash } from './fast-hash.ts';

const SIZE = 32;

export class LeafHashes {
  private indexes = new Float64Array(1024);
  private hashes = Buffer.alloc(1024 * SIZE);
  private count = 0;

  /** Adds leaf `index` (above every index added before) by its bytes. */
  add(index: number, leaf: Uint8Array): void {
    if (this.count > 0 && index <= this.indexes[this.count - 1]!) throw new RangeError(`leaf ${index} added out of order`);
    if (this.count === this.indexes.length) {
      const indexes = new Float64Array(this.count * 2);
      indexes.set(this.indexes);
      this.indexes = indexes;
      const hashes = Buffer.alloc(this.count * 2 * SIZE);
      this.hashes.copy(hashes);
      this.hashes = hashes;
    }
    this.indexes[this.count] = index;
    writeLeafHash(leaf, this.hashes, this.count * SIZE);
    this.count++;
  }

  /** The hash of leaf `index`, or undefined when it was not added. */
  get(index: number): Hash | undefined {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.indexes[mid]! < index) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.count || this.indexes[lo] !== index) return undefined;
    return Buffer.from(this.hashes.subarray(lo * SIZE, (lo + 1) * SIZE));
  }
}
