/**
 * A tree kept in memory: an array of stored hashes in stored hash order. It is the reference
 * implementation of the append path a store follows (compute the stored hashes of a new leaf,
 * then write them), and serves tests and offline tools.
 */
import { type Hash, leafHash } from './hash.ts';
import type { HashReader } from './hash-reader.ts';
import { type StoredHash, storedHashesForLeaf, storedHashesForLeaves } from './stored-hashes.ts';
import { treeHash } from './tree-hash.ts';

export class MemoryTree {
  private readonly hashes: Hash[] = [];
  private leaves = 0;

  get size(): number {
    return this.leaves;
  }

  /** Reads stored hashes; refuses indexes not yet written. */
  readonly reader: HashReader = (indexes) =>
    indexes.map((i) => {
      const h = this.hashes[i];
      if (h === undefined) throw new RangeError(`stored hash ${i} does not exist`);
      return h;
    });

  /** Appends a leaf by its data; returns what a store would write for it. */
  async append(leaf: Uint8Array | string): Promise<StoredHash[]> {
    return this.appendHash(leafHash(leaf));
  }

  /** Appends a leaf by its leaf hash; returns the stored hashes written. */
  async appendHash(leaf: Hash): Promise<StoredHash[]> {
    const written = await storedHashesForLeaf(this.leaves, leaf, this.reader);
    this.record(written);
    this.leaves++;
    return written;
  }

  /** Appends leaves by their leaf hashes in one step; returns the stored hashes written. */
  async appendHashes(leaves: readonly Hash[]): Promise<StoredHash[]> {
    const written = await storedHashesForLeaves(this.leaves, leaves, this.reader);
    this.record(written);
    this.leaves += leaves.length;
    return written;
  }

  private record(written: readonly StoredHash[]): void {
    for (const s of written) {
      if (s.index !== this.hashes.length) throw new Error('stored hash order broken');
      this.hashes.push(s.hash);
    }
  }

  /** The root of the tree's first `size` leaves (default: all). */
  root(size = this.leaves): Promise<Hash> {
    if (size > this.leaves) throw new RangeError(`tree has only ${this.leaves} leaves`);
    return treeHash(size, this.reader);
  }
}
