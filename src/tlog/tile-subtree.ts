/** The Merkle hash of a power-of-two run of consecutive hashes (a complete subtree within a tile). */
import { HASH_SIZE, type Hash, nodeHash } from './hash.ts';

export function foldCompleteSubtree(hashes: Uint8Array): Hash {
  let level: Hash[] = [];
  for (let i = 0; i < hashes.length; i += HASH_SIZE) level.push(hashes.slice(i, i + HASH_SIZE));
  while (level.length > 1) {
    if (level.length % 2 !== 0) throw new Error('not a complete subtree');
    const next: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  const root = level[0];
  if (!root) throw new Error('empty subtree');
  return root;
}
