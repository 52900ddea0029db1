/**
 * Where proof generation gets its hashes: a function that returns the stored hashes of
 * complete subtrees, addressed by their stored hash index (see stored-hash-index.ts). A store
 * answers it from a table; the in-memory tree from an array. One call per operation, with the
 * indexes in increasing order, so a store can answer with one range query.
 */
import { HASH_SIZE, type Hash } from './hash.ts';

export type HashReader = (indexes: readonly number[]) => Promise<readonly Hash[]> | readonly Hash[];

/** Calls the reader and checks that it answered with one 32-byte hash per index. */
export async function readHashes(reader: HashReader, indexes: readonly number[]): Promise<readonly Hash[]> {
  if (indexes.length === 0) return [];
  const hashes = await reader(indexes);
  if (hashes.length !== indexes.length) {
    throw new Error(`hash reader returned ${hashes.length} hashes for ${indexes.length} indexes`);
  }
  for (const h of hashes) {
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) throw new Error('hash reader returned a malformed hash');
  }
  return hashes;
}
