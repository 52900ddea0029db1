/**
 * Ranges of leaves and how their Merkle tree hashes are computed from stored hashes.
 *
 * RFC 6962 §2.1 hashes D[lo:hi] by splitting it at the largest power of two below its length;
 * the left part is then a complete subtree (its hash is stored) and the right part is split
 * again. So the hash of any range that arises in the RFC's recursion is a fold, right to
 * left, of the stored hashes of at most log2(n)+1 complete subtrees — the binary digits of
 * its length, largest first.
 */
import { type Hash, nodeHash } from './hash.ts';
import { storedHashIndex } from './stored-hash-index.ts';

/** Leaves [lo, hi), hi > lo. */
export interface LeafRange {
  lo: number;
  hi: number;
}

/** The largest power of two strictly less than n (n ≥ 2): RFC 6962's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The complete subtrees, as stored hash indexes, whose fold gives the hash of [lo, hi). */
export function rangeStoredIndexes(range: LeafRange): number[] {
  const out: number[] = [];
  let lo = range.lo;
  while (lo < range.hi) {
    const n = range.hi - lo;
    // Largest power of two ≤ n; in the RFC recursion lo is always a multiple of it.
    let size = 1;
    let level = 0;
    while (size * 2 <= n) {
      size *= 2;
      level++;
    }
    if (lo % size !== 0) throw new Error(`leaf range [${range.lo}, ${range.hi}) is not a Merkle subtree range`);
    out.push(storedHashIndex(level, lo / size));
    lo += size;
  }
  return out;
}

/** Folds the stored hashes of a range's complete subtrees (as listed by rangeStoredIndexes). */
export function foldRange(hashes: readonly Hash[]): Hash {
  let h = hashes[hashes.length - 1];
  if (h === undefined) throw new Error('empty leaf range');
  for (let i = hashes.length - 2; i >= 0; i--) h = nodeHash(hashes[i]!, h);
  return h;
}

/**
 * Resolves many ranges with a single read: collects every stored index needed, asks the
 * reader once (indexes sorted, deduplicated) and folds each range.
 */
export async function rangeHashes(ranges: readonly LeafRange[], read: (indexes: readonly number[]) => Promise<readonly Hash[]>): Promise<Hash[]> {
  const perRange = ranges.map(rangeStoredIndexes);
  const unique = [...new Set(perRange.flat())].sort((a, b) => a - b);
  const hashes = await read(unique);
  const byIndex = new Map<number, Hash>();
  unique.forEach((index, i) => byIndex.set(index, hashes[i]!));
  return perRange.map((indexes) => foldRange(indexes.map((i) => byIndex.get(i)!)));
}
