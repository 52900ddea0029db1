/** The Merkle tree hash (root) of the first n leaves, from stored hashes. */
import { EMPTY_TREE_HASH, type Hash } from './hash.ts';
import { type HashReader, readHashes } from './hash-reader.ts';
import { rangeHashes } from './subtree.ts';

export async function treeHash(size: number, reader: HashReader): Promise<Hash> {
  checkSize(size);
  if (size === 0) return EMPTY_TREE_HASH;
  const [root] = await rangeHashes([{ lo: 0, hi: size }], (ix) => readHashes(reader, ix));
  return root!;
}

export function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad tree size ${size}`);
}
