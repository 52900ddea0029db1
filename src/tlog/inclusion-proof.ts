/**
 * Merkle inclusion (audit) proofs: generation as RFC 6962 §2.1.1 defines PATH(m, D[n]),
 * verification as RFC 9162 §2.1.3.2 specifies it.
 *
 * A verified proof shows that the leaf with this hash sits at this index in the tree whose
 * root is this hash — so, given a signed checkpoint, that the entry was logged, unchanged.
 */
import { type Hash, hashesEqual, isHash, nodeHash } from './hash.ts';
import { type HashReader, readHashes } from './hash-reader.ts';
import { type LeafRange, rangeHashes, splitPoint } from './subtree.ts';
import { checkSize } from './tree-hash.ts';

/** The sibling ranges on the path from leaf `index` to the root of [lo, hi), leaf first. */
export function inclusionRanges(index: number, lo: number, hi: number): LeafRange[] {
  const out: LeafRange[] = [];
  // Walk down from the root, then reverse: the RFC lists the path bottom-up.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index - lo < k) {
      out.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      out.push({ lo, hi: lo + k });
      lo += k;
    }
  }
  return out.reverse();
}

/** The inclusion proof of leaf `index` in the tree of `size` leaves. */
export async function proveInclusion(index: number, size: number, reader: HashReader): Promise<Hash[]> {
  checkSize(size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new RangeError(`leaf index ${index} is not in a tree of size ${size}`);
  }
  return rangeHashes(inclusionRanges(index, 0, size), (ix) => readHashes(reader, ix));
}

/** The root a proof leads to, or null when the proof has the wrong shape for (index, size). */
export function rootFromInclusionProof(leaf: Hash, index: number, size: number, proof: readonly Hash[]): Hash | null {
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(index) || index < 0 || index >= size) return null;
  if (!isHash(leaf) || !proof.every(isHash)) return null;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      // Skip the levels where this node has no right sibling (the tree's right edge).
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

/** True when `proof` shows leaf hash `leaf` at `index` in the tree of `size` with `root`. */
export function verifyInclusion(leaf: Hash, index: number, size: number, proof: readonly Hash[], root: Hash): boolean {
  const r = rootFromInclusionProof(leaf, index, size, proof);
  return r !== null && isHash(root) && hashesEqual(r, root);
}
