/**
 * Merkle consistency proofs: generation as RFC 6962 §2.1.2 defines PROOF(m, D[n]) and
 * SUBPROOF, verification as RFC 9162 §2.1.4.2 specifies it.
 *
 * A verified proof shows that the tree of size `second` is the tree of size `first` with
 * leaves appended: nothing of the older tree was changed, removed or reordered.
 */
import { EMPTY_TREE_HASH, type Hash, hashesEqual, isHash, nodeHash } from './hash.ts';
import { type HashReader, readHashes } from './hash-reader.ts';
import { type LeafRange, rangeHashes, splitPoint } from './subtree.ts';
import { checkSize } from './tree-hash.ts';

/** The ranges whose hashes make up PROOF(m, D[0:n]), in the RFC's order. */
export function consistencyRanges(m: number, n: number): LeafRange[] {
  if (m === 0 || m === n) return [];
  const out: LeafRange[] = [];
  let lo = 0;
  let hi = n;
  let mm = m;
  // `whole` is the RFC's flag b: true while the old tree is still the whole of [lo, hi)'s left
  // part, so its own hash need not be sent (the verifier has it).
  let whole = true;
  while (mm !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (mm <= k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
      mm -= k;
      whole = false;
    }
  }
  if (!whole) out.push({ lo, hi });
  return out.reverse();
}

/** The consistency proof from the tree of `first` leaves to the tree of `second` leaves. */
export async function proveConsistency(first: number, second: number, reader: HashReader): Promise<Hash[]> {
  checkSize(first);
  checkSize(second);
  if (first > second) throw new RangeError(`cannot prove tree size ${first} consistent with smaller size ${second}`);
  return rangeHashes(consistencyRanges(first, second), (ix) => readHashes(reader, ix));
}

/**
 * The roots of the first `first` and of all `second` leaves (0 < first < second) that a tree's
 * stored hashes give, both computed from the hashes of one consistency proof (and, when `first`
 * is a power of two, the hash of the first `first` leaves, which a proof leaves out). When the
 * second root is a signed tree's, the first is the root of that tree's first `first` leaves,
 * whatever the reader serves elsewhere (see consistencyRoots).
 */
export async function consistencyRootsFrom(first: number, second: number, reader: HashReader): Promise<{ first: Hash; second: Hash }> {
  checkSize(first);
  checkSize(second);
  if (!(0 < first && first < second)) throw new RangeError(`no consistency proof leads from tree size ${first} to ${second}`);
  const ranges = consistencyRanges(first, second);
  const path = await rangeHashes(isPowerOfTwo(first) ? [{ lo: 0, hi: first }, ...ranges] : ranges, (ix) => readHashes(reader, ix));
  return consistencyRoots(first, second, path)!;
}

/**
 * True when `proof` shows that the tree (second, secondRoot) extends (first, firstRoot).
 * Every tree extends the empty tree (root: SHA-256 of nothing), with an empty proof.
 */
export function verifyConsistency(first: number, second: number, proof: readonly Hash[], firstRoot: Hash, secondRoot: Hash): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !proof.every(isHash)) return false;
  if (first === 0) return proof.length === 0 && hashesEqual(firstRoot, EMPTY_TREE_HASH);
  if (first === second) return proof.length === 0 && hashesEqual(firstRoot, secondRoot);
  if (proof.length === 0) return false;
  // When the old tree is a complete subtree, its root is the proof's implicit first node.
  const roots = consistencyRoots(first, second, isPowerOfTwo(first) ? [firstRoot, ...proof] : proof);
  return roots !== null && hashesEqual(roots.first, firstRoot) && hashesEqual(roots.second, secondRoot);
}

/**
 * The roots of the trees of `first` and `second` leaves (0 < first < second) that a consistency
 * proof leads to, or null when it has the wrong length. `path` is the proof, preceded by the
 * hash of the first `first` leaves when `first` is a power of two (the node the proof leaves
 * out). When the second root is a signed tree's, every hash of the path is that tree's (short of
 * a SHA-256 collision), so the first root is the root of that tree's first `first` leaves.
 */
export function consistencyRoots(first: number, second: number, path: readonly Hash[]): { first: Hash; second: Hash } | null {
  if (path.length === 0) return null;
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? { first: fr, second: sr } : null;
}

function isPowerOfTwo(n: number): boolean {
  let x = n;
  while (x > 1 && x % 2 === 0) x /= 2;
  return x === 1;
}
