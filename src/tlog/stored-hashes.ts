/**
 * What must be written when a leaf is appended: its leaf hash, then the hash of every complete
 * subtree it closes (one per trailing one bit of its index), in stored hash order. The new
 * subtree hashes need the stored hashes of their left siblings, read from the store.
 */
import { type Hash, nodeHash } from './hash.ts';
import { type HashReader, readHashes } from './hash-reader.ts';
import { storedHashIndex, subtreesClosedBy } from './stored-hash-index.ts';

export interface StoredHash {
  /** Stored hash index (see stored-hash-index.ts). */
  index: number;
  level: number;
  /** Subtree number within its level. */
  n: number;
  hash: Hash;
}

/**
 * The hashes to store for leaf number `leafIndex` (0-based) whose leaf hash is `leaf`, given a
 * reader over the hashes stored for leaves 0 … leafIndex−1.
 */
export async function storedHashesForLeaf(leafIndex: number, leaf: Hash, reader: HashReader): Promise<StoredHash[]> {
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0) throw new RangeError(`bad leaf index ${leafIndex}`);
  const closed = subtreesClosedBy(leafIndex);
  // The left sibling at level i is subtree (i, ⌊leafIndex/2^i⌋ − 1); read them in increasing
  // stored order, which is from the highest level down.
  const siblings: { level: number; n: number }[] = [];
  for (let level = closed - 1; level >= 0; level--) {
    siblings.push({ level, n: Math.floor(leafIndex / 2 ** level) - 1 });
  }
  const hashes = await readHashes(
    reader,
    siblings.map((s) => storedHashIndex(s.level, s.n)),
  );
  const out: StoredHash[] = [{ index: storedHashIndex(0, leafIndex), level: 0, n: leafIndex, hash: leaf }];
  let h = leaf;
  for (let level = 0; level < closed; level++) {
    h = nodeHash(hashes[closed - 1 - level]!, h);
    const n = Math.floor(leafIndex / 2 ** (level + 1));
    out.push({ index: storedHashIndex(level + 1, n), level: level + 1, n, hash: h });
  }
  return out;
}

/**
 * The hashes to store for a batch of leaves appended at `start`, `start+1`, …: the same as
 * calling storedHashesForLeaf for each in turn, but with one read of the earlier hashes the
 * batch needs (at most one per level), so a store appends a batch with one query.
 */
export async function storedHashesForLeaves(start: number, leaves: readonly Hash[], reader: HashReader): Promise<StoredHash[]> {
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`bad leaf index ${start}`);
  const base = storedHashIndex(0, start);
  // Left siblings completed before the batch (their last leaf precedes it) must be read; the
  // batch computes the others itself.
  const external = new Set<number>();
  for (let j = 0; j < leaves.length; j++) {
    const leafIndex = start + j;
    const closed = subtreesClosedBy(leafIndex);
    for (let level = 0; level < closed; level++) {
      const n = Math.floor(leafIndex / 2 ** level) - 1;
      if ((n + 1) * 2 ** level - 1 < start) external.add(storedHashIndex(level, n));
    }
  }
  const wanted = [...external].sort((a, b) => a - b);
  const read = await readHashes(reader, wanted);
  const earlier = new Map<number, Hash>();
  wanted.forEach((index, i) => earlier.set(index, read[i]!));

  const out: StoredHash[] = [];
  const lookup = (index: number): Hash => (index >= base ? out[index - base]!.hash : earlier.get(index)!);
  for (let j = 0; j < leaves.length; j++) {
    const leafIndex = start + j;
    let h = leaves[j]!;
    out.push({ index: storedHashIndex(0, leafIndex), level: 0, n: leafIndex, hash: h });
    const closed = subtreesClosedBy(leafIndex);
    for (let level = 0; level < closed; level++) {
      h = nodeHash(lookup(storedHashIndex(level, Math.floor(leafIndex / 2 ** level) - 1)), h);
      const n = Math.floor(leafIndex / 2 ** (level + 1));
      out.push({ index: storedHashIndex(level + 1, n), level: level + 1, n, hash: h });
    }
  }
  return out;
}
