/**
 * Appending leaves to a tenant's tree as a store keeps it (see tree-hashes.ts): what to write,
 * computed synchronously so that a store writes it in the transaction that stores the entries.
 *
 * The tree's tip is its size and the records of its partial level 0 tile (size mod 256
 * leaves). Appending records fills that tile; each tile that becomes full is written as one
 * blob and its root becomes the level 8 hash of its number, which completes one subtree at
 * each higher level per trailing one bit of that number (as in Go's sumdb/tlog stored hash
 * order, one level up). Nothing written is ever rewritten, except the partial tile's records.
 */
import { nodeHash, type Hash } from '../tlog/hash.ts';
import { foldCompleteSubtree } from '../tlog/tile-subtree.ts';
import { TILE_WIDTH } from '../tlog/tile.ts';
import { TREE_HIGH_LEVEL, type HighHash } from './tree-hashes.ts';
import { LEAF_RECORD_BYTES, leafRecordCount, writeLeafRecord, type LeafRecord } from './tree-leaf-records.ts';

export interface TreeTip {
  readonly size: number;
  /** Records of leaves [size − size mod 256, size). */
  readonly partial: Buffer;
}

export interface TreeWrites {
  /** The tree's new size. */
  readonly size: number;
  /** Level 0 tiles that became full: their number and 256 records. */
  readonly fullTiles: { readonly tile: number; readonly records: Buffer }[];
  /** The new partial tile's records (possibly empty). */
  readonly partial: Buffer;
  /** New hashes at level 8 and above, lowest level first for each completed tile. */
  readonly high: HighHash[];
}

/**
 * What appending `records` to the tree at `tip` writes. `tileRoot` computes a full tile's root
 * from its records (a store passes one that goes through its leaf hash cache); `high` reads
 * stored high hashes written before this append.
 */
export function appendToTree(
  tip: TreeTip,
  records: readonly LeafRecord[],
  tileRoot: (tile: number, records: Buffer) => Hash,
  high: (level: number, n: number) => Hash,
): TreeWrites {
  if (leafRecordCount(tip.partial) !== tip.size % TILE_WIDTH) {
    throw new Error(`the partial tile holds ${leafRecordCount(tip.partial)} records; a tree of ${tip.size} leaves needs ${tip.size % TILE_WIDTH}`);
  }
  const fullTiles: { tile: number; records: Buffer }[] = [];
  const written: HighHash[] = [];
  const pending = new Map<string, Hash>();
  const lookup = (level: number, n: number): Hash => pending.get(`${level}/${n}`) ?? high(level, n);

  let tile = Math.floor(tip.size / TILE_WIDTH);
  let buf = Buffer.allocUnsafe(TILE_WIDTH * LEAF_RECORD_BYTES);
  tip.partial.copy(buf);
  let fill = tip.partial.length / LEAF_RECORD_BYTES;
  for (const r of records) {
    writeLeafRecord(buf, fill * LEAF_RECORD_BYTES, r);
    fill++;
    if (fill < TILE_WIDTH) continue;
    fullTiles.push({ tile, records: buf });
    let h = tileRoot(tile, buf);
    const add = (level: number, n: number, hash: Hash) => {
      pending.set(`${level}/${n}`, hash);
      written.push({ level, n, hash });
    };
    add(TREE_HIGH_LEVEL, tile, h);
    for (let k = 0, t = tile; t % 2 === 1; k++, t = Math.floor(t / 2)) {
      h = nodeHash(lookup(TREE_HIGH_LEVEL + k, t - 1), h);
      add(TREE_HIGH_LEVEL + k + 1, Math.floor(t / 2), h);
    }
    tile++;
    buf = Buffer.allocUnsafe(TILE_WIDTH * LEAF_RECORD_BYTES);
    fill = 0;
  }
  return {
    size: tip.size + records.length,
    fullTiles,
    partial: Buffer.from(buf.subarray(0, fill * LEAF_RECORD_BYTES)),
    high: written,
  };
}

/** A full tile's root from its leaf hashes. */
export function tileRootOf(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length !== TILE_WIDTH) throw new Error(`a full tile has ${TILE_WIDTH} leaves, not ${leafHashes.length}`);
  const run = new Uint8Array(TILE_WIDTH * 32);
  leafHashes.forEach((h, i) => run.set(h, i * 32));
  return foldCompleteSubtree(run);
}

/**
 * The stored high hashes appendToTree will read when `count` leaves are appended to a tree of
 * `size` leaves: the left siblings, written by earlier appends, of the subtrees that tiles
 * completed by this append close. A store with an asynchronous driver fetches them first and
 * answers `high` from what it fetched.
 */
export function highHashesReadByAppend(size: number, count: number): { level: number; n: number }[] {
  const out: { level: number; n: number }[] = [];
  const firstTile = Math.floor(size / TILE_WIDTH);
  const endTile = Math.floor((size + count) / TILE_WIDTH); // tiles [firstTile, endTile) complete
  for (let tile = firstTile; tile < endTile; tile++) {
    for (let k = 0, t = tile; t % 2 === 1; k++, t = Math.floor(t / 2)) {
      // Sibling (8 + k, t − 1) covers tiles [(t − 1)·2^k, t·2^k): written before this append
      // when its last tile precedes the first one this append completes.
      if (t * 2 ** k - 1 < firstTile) out.push({ level: TREE_HIGH_LEVEL + k, n: t - 1 });
    }
  }
  return out;
}
