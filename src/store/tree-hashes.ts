/**
 * A tenant's tree hashes computed from what a store keeps (tree-leaf-records.ts, tree-append.ts):
 *
 * - the leaf records, packed per level 0 tile (256 leaves);
 * - the hashes at tree level 8 and above (`TREE_HIGH_LEVEL`): one per 256 leaves, about
 *   n/128 in all, each written once when the subtree it covers is complete.
 *
 * Everything below level 8 — leaf hashes and the subtrees within one level 0 tile — is
 * recomputed from the tile's records when needed (at most 256 leaf hashes and 255 node hashes)
 * and cached (`LeafHashCache`). So the store keeps no 32-byte hash per entry, and an edited
 * record changes the hashes computed from it, which a checkpoint then exposes.
 *
 * The computation is synchronous over a `TreeHashSource`: a store with a synchronous driver
 * (SQLite) reads inside its append transaction; one with an asynchronous driver first fetches
 * what `treeHashNeeds` lists, then computes from what it fetched.
 */
import { EMPTY_TREE_HASH, HASH_SIZE, type Hash } from '../tlog/hash.ts';
import { splitStoredHashIndex } from '../tlog/stored-hash-index.ts';
import { foldRange, rangeStoredIndexes } from '../tlog/subtree.ts';
import { TILE_HEIGHT, TILE_WIDTH } from '../tlog/tile.ts';
import { foldCompleteSubtree } from '../tlog/tile-subtree.ts';
import { ByteBudgetLru } from './segment-cache.ts';
import { leafHashesOf, leafRecordCount, type TypeNames } from './tree-leaf-records.ts';

/** The lowest tree level whose hashes a store keeps: the roots of level 0 tiles. */
export const TREE_HIGH_LEVEL = TILE_HEIGHT;

export interface HighHash {
  readonly level: number;
  readonly n: number;
  readonly hash: Hash;
}

/** Where hashes come from, synchronously. */
export interface TreeHashSource {
  /** The leaf hashes of level 0 tile `tile`, at least as many as the tree has there. */
  leafHashes(tile: number): readonly Hash[];
  /** The stored hash (level ≥ TREE_HIGH_LEVEL, n); throws when it is missing. */
  high(level: number, n: number): Hash;
}

/** What computing some stored hashes reads: level 0 tiles and high hashes. */
export interface TreeHashNeeds {
  readonly tiles: number[];
  readonly high: { level: number; n: number }[];
}

function leafSpan(level: number, n: number): { tile: number; offset: number; count: number } {
  const first = n * 2 ** level;
  const tile = Math.floor(first / TILE_WIDTH);
  return { tile, offset: first - tile * TILE_WIDTH, count: 2 ** level };
}

/** The tiles and high hashes that the stored hashes at `indexes` are computed from. */
export function treeHashNeeds(indexes: readonly number[]): TreeHashNeeds {
  const tiles = new Set<number>();
  const high: { level: number; n: number }[] = [];
  for (const index of indexes) {
    const { level, n } = splitStoredHashIndex(index);
    if (level >= TREE_HIGH_LEVEL) high.push({ level, n });
    else tiles.add(leafSpan(level, n).tile);
  }
  return { tiles: [...tiles].sort((a, b) => a - b), high };
}

/** The hash of complete subtree (level, n). */
export function subtreeHash(level: number, n: number, source: TreeHashSource): Hash {
  if (level >= TREE_HIGH_LEVEL) return source.high(level, n);
  const { tile, offset, count } = leafSpan(level, n);
  const leaves = source.leafHashes(tile);
  if (leaves.length < offset + count) throw new Error(`level 0 tile ${tile} has ${leaves.length} leaves, not ${offset + count}`);
  if (count === 1) return leaves[offset]!;
  const run = new Uint8Array(count * HASH_SIZE);
  for (let i = 0; i < count; i++) run.set(leaves[offset + i]!, i * HASH_SIZE);
  return foldCompleteSubtree(run);
}

/** The stored hashes at `indexes` (stored hash order, as a HashReader is asked). */
export function treeHashesAt(indexes: readonly number[], source: TreeHashSource): Hash[] {
  return indexes.map((index) => {
    const { level, n } = splitStoredHashIndex(index);
    return subtreeHash(level, n, source);
  });
}

/** The root of the first `size` leaves. */
export function treeRoot(size: number, source: TreeHashSource): Hash {
  if (size === 0) return EMPTY_TREE_HASH;
  return foldRange(treeHashesAt(rangeStoredIndexes({ lo: 0, hi: size }), source));
}

interface CachedTile {
  readonly records: Buffer;
  readonly hashes: Hash[];
}

/**
 * Heap bytes per cached hash beside its 32 bytes: the Uint8Array viewing them (about 96 bytes,
 * measured in heap snapshots) and its slot in the array.
 */
const HASH_VIEW_BYTES = 104;
/** The cached tile's objects, its key and its slot in the LRU. */
const TILE_OVERHEAD_BYTES = 256;

/**
 * Leaf hashes of level 0 tiles, kept per (tenant, tile) while the records they came from are
 * unchanged: a lookup passes the records as stored now, and a cached entry counts only if they
 * equal (or, for the growing partial tile, extend) the records it was computed from. So an
 * edited record, or records of a rolled-back append, never yield stale hashes.
 *
 * What a tile keeps lives in one buffer of its own, its hashes then its records, so that the
 * budget counts what the cache holds. A hash as computed is a 32-byte view of a slab of Node's
 * shared 8 KiB allocation pool, and so is a small copy made with Buffer.from: kept as they are,
 * the few hashes a partial tile gains per append would each hold a slab alive, and the cache
 * many times its budget. The records are copied since the caller's buffer may be reused by its
 * driver.
 */
export class LeafHashCache {
  private readonly lru: ByteBudgetLru<string, CachedTile>;

  constructor(budgetBytes = 32 * 1024 * 1024) {
    this.lru = new ByteBudgetLru(budgetBytes);
  }

  /** Forgets every tile: the type numbers its records hold may now name other types. */
  clear(): void {
    this.lru.clear();
  }

  hashes(tenant: string | number, tile: number, records: Buffer, typeName: TypeNames): Hash[] {
    const key = `${tenant}/${tile}`;
    const count = leafRecordCount(records);
    const hit = this.lru.get(key);
    let computed: Hash[];
    if (hit && hit.records.length <= records.length && hit.records.equals(records.subarray(0, hit.records.length))) {
      if (hit.records.length === records.length) return hit.hashes;
      computed = [...hit.hashes, ...leafHashesOf(records.subarray(hit.records.length), typeName)];
    } else {
      computed = leafHashesOf(records, typeName);
    }
    if (computed.length !== count) throw new Error('leaf hash count mismatch');
    const own = Buffer.allocUnsafeSlow(count * HASH_SIZE + records.length);
    const hashes = computed.map((h, i) => {
      own.set(h, i * HASH_SIZE);
      return new Uint8Array(own.buffer, i * HASH_SIZE, HASH_SIZE);
    });
    records.copy(own, count * HASH_SIZE);
    const kept = { records: own.subarray(count * HASH_SIZE), hashes };
    this.lru.set(key, kept, own.length + count * HASH_VIEW_BYTES + key.length + TILE_OVERHEAD_BYTES);
    return hashes;
  }
}

/**
 * A HashReader over a store's tree: lists what the asked hashes need, lets the store fetch
 * that (`fetch`, one round trip for a store with an asynchronous driver), computes from it.
 */
export function treeHashReader(fetch: (needs: TreeHashNeeds) => Promise<TreeHashSource> | TreeHashSource) {
  return async (indexes: readonly number[]): Promise<Hash[]> => treeHashesAt(indexes, await fetch(treeHashNeeds(indexes)));
}
