/**
 * The dense ordering of a tree's stored hashes, the one Go's `sumdb/tlog` uses
 * (`StoredHashIndex`): when leaf n is appended, its leaf hash is stored, followed by the hash of
 * every complete subtree that leaf closes, lowest level first. A store can keep the hashes in a
 * table keyed by this index (or by (level, n)), write them in the same transaction as the
 * entry, and never rewrite one.
 *
 * The hash at (level, n) is the Merkle tree hash of leaves [n·2^level, (n+1)·2^level).
 * Arithmetic uses plain numbers (exact below 2^53) and never the 32-bit bitwise operators.
 */

/** Position of the hash of complete subtree (level, n) in the stored order. */
export function storedHashIndex(level: number, n: number): number {
  checkCoordinate(level, n);
  // The subtree's hash is stored right after the leaf that completes it: its last leaf.
  const lastLeaf = (n + 1) * 2 ** level - 1;
  if (lastLeaf >= 2 ** 50) throw new RangeError(`stored hash (${level}, ${n}) is beyond a tree of 2^50 leaves`);
  return hashesStoredBefore(lastLeaf) + level;
}

/** The (level, n) coordinates stored at a given position: the inverse of storedHashIndex. */
export function splitStoredHashIndex(index: number): { level: number; n: number } {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`bad stored hash index ${index}`);
  // hashesStoredBefore(leaf) lies in [2·leaf − log2(leaf) − 1, 2·leaf], so the leaf whose
  // group holds `index` is found by a short walk up from index/2 − 64.
  let leaf = Math.max(0, Math.floor(index / 2) - 64);
  while (hashesStoredBefore(leaf + 1) <= index) leaf++;
  const level = index - hashesStoredBefore(leaf);
  return { level, n: Math.floor(leaf / 2 ** level) };
}

/** How many hashes a tree of `size` leaves has stored. */
export function storedHashCount(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad tree size ${size}`);
  return hashesStoredBefore(size);
}

/** How many subtrees are completed by appending leaf `leaf`: its count of trailing one bits. */
export function subtreesClosedBy(leaf: number): number {
  let closed = 0;
  for (let x = leaf; x % 2 === 1; x = Math.floor(x / 2)) closed++;
  return closed;
}

/**
 * Hashes stored for leaves 0 … leaf−1: each leaf stores itself plus one hash per subtree it
 * closes, so the total is the number of complete subtrees (at any level) within `leaf`
 * leaves: leaf + ⌊leaf/2⌋ + ⌊leaf/4⌋ + …
 */
function hashesStoredBefore(leaf: number): number {
  let total = 0;
  for (let x = leaf; x > 0; x = Math.floor(x / 2)) total += x;
  return total;
}

function checkCoordinate(level: number, n: number): void {
  if (!Number.isInteger(level) || level < 0 || level > 62) throw new RangeError(`bad tree level ${level}`);
  if (!Number.isSafeInteger(n) || n < 0 || !Number.isSafeInteger((n + 1) * 2 ** level)) {
    throw new RangeError(`bad subtree index ${n} at level ${level}`);
  }
}
