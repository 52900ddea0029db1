/**
 * The right edge of a Merkle tree being rebuilt leaf by leaf: the hashes of the complete
 * subtrees that make up leaves [0, size), largest first (one per one bit of `size`). It is
 * what a monitor keeps between runs: appending further leaf hashes and folding gives the root
 * of any larger tree, to compare with a signed checkpoint, without keeping the leaves.
 */
import { EMPTY_TREE_HASH, type Hash, nodeHash } from '../tlog/index.ts';
import { fastNodeHash } from './fast-hash.ts';

export class CompactRange {
  private readonly stack: Hash[];
  private count: number;

  constructor(size = 0, hashes: readonly Hash[] = []) {
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
    if (!Number.isSafeInteger(size) || size < 0 || bits !== hashes.length) throw new RangeError(`a compact range of size ${size} has ${bits} hashes`);
    this.stack = [...hashes];
    this.count = size;
  }

  get size(): number {
    return this.count;
  }

  /** A copy of the subtree hashes, largest first (what to save). */
  get hashes(): Hash[] {
    return [...this.stack];
  }

  append(leafHash: Hash): void {
    let h = leafHash;
    // Each trailing one bit of the old size is a subtree that the new leaf completes.
    for (let n = this.count; n % 2 === 1; n = (n - 1) / 2) h = fastNodeHash(this.stack.pop()!, h);
    this.stack.push(h);
    this.count++;
  }

  /**
   * Appends the root of a complete subtree of `leaves` leaves (a power of two), as appending its
   * leaf hashes one by one would; the range's size must be a multiple of `leaves`.
   */
  appendSubtree(root: Hash, leaves: number): void {
    if (!Number.isSafeInteger(leaves) || leaves < 1 || (leaves & (leaves - 1)) !== 0 || this.count % leaves !== 0) {
      throw new RangeError(`a subtree of ${leaves} leaves cannot follow ${this.count} leaves`);
    }
    let h = root;
    for (let n = this.count / leaves; n % 2 === 1; n = (n - 1) / 2) h = fastNodeHash(this.stack.pop()!, h);
    this.stack.push(h);
    this.count += leaves;
  }

  /** RFC 6962's tree hash of leaves [0, size). */
  root(): Hash {
    if (this.stack.length === 0) return EMPTY_TREE_HASH;
    let r = this.stack[this.stack.length - 1]!;
    for (let i = this.stack.length - 2; i >= 0; i--) r = nodeHash(this.stack[i]!, r);
    return r;
  }
}
