/**
 * A hash reader backed by tiles, for clients that hold a checkpoint and fetch tiles (from a
 * server, a directory or an evidence bundle). A stored hash at tree level 8·L + k is the
 * Merkle hash of 2^k consecutive hashes of a level-L tile, so any complete subtree's hash can
 * be computed from one tile.
 *
 * Tiles are not trusted by this reader: whatever it returns is only as good as the check that
 * follows (a tree hash compared with a signed checkpoint, or a proof verified against it), and
 * that check fails if any tile used was altered.
 */
import { HASH_SIZE, type Hash } from './hash.ts';
import type { HashReader } from './hash-reader.ts';
import { splitStoredHashIndex } from './stored-hash-index.ts';
import { TILE_HEIGHT, TILE_WIDTH, type Tile, tilePath } from './tile.ts';
import { foldCompleteSubtree } from './tile-subtree.ts';

export type TileFetcher = (tile: Tile) => Promise<Uint8Array> | Uint8Array;

export function tileHashReader(treeSize: number, fetch: TileFetcher): HashReader {
  const cache = new Map<string, Promise<Uint8Array>>();
  const load = (t: Tile): Promise<Uint8Array> => {
    const key = tilePath(t);
    let p = cache.get(key);
    if (!p) {
      p = Promise.resolve(fetch(t)).then((data) => {
        if (data.length !== t.width * HASH_SIZE) throw new Error(`${key} has ${data.length} bytes, expected ${t.width * HASH_SIZE}`);
        return data;
      });
      cache.set(key, p);
    }
    return p;
  };
  return async (indexes) =>
    Promise.all(
      indexes.map(async (index) => {
        const { level, n } = splitStoredHashIndex(index);
        const tileLevel = Math.floor(level / TILE_HEIGHT);
        const k = level - tileLevel * TILE_HEIGHT;
        const span = 2 ** k;
        const first = n * span; // position of the subtree's first hash within tile level
        const hashesAtLevel = Math.floor(treeSize / TILE_WIDTH ** tileLevel);
        if (first + span > hashesAtLevel) throw new RangeError(`stored hash ${index} is not in a tree of size ${treeSize}`);
        const tileN = Math.floor(first / TILE_WIDTH);
        const full = Math.floor(hashesAtLevel / TILE_WIDTH);
        const width = tileN < full ? TILE_WIDTH : hashesAtLevel % TILE_WIDTH;
        const data = await load({ level: tileLevel, n: tileN, width });
        const start = first - tileN * TILE_WIDTH;
        return foldCompleteSubtree(data.subarray(start * HASH_SIZE, (start + span) * HASH_SIZE));
      }),
    ) as Promise<Hash[]>;
}
