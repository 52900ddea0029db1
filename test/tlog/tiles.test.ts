import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import fc from 'fast-check';
import { proveConsistency, verifyConsistency } from '../../src/tlog/consistency-proof.ts';
import { decodeEntryBundle, encodeEntryBundle } from '../../src/tlog/entry-bundle.ts';
import { HASH_SIZE, leafHash } from '../../src/tlog/hash.ts';
import { proveInclusion, verifyInclusion } from '../../src/tlog/inclusion-proof.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { storedHashIndex } from '../../src/tlog/stored-hash-index.ts';
import {
  encodeTileIndex,
  entryBundlePath,
  newTiles,
  parseTilePath,
  readTile,
  type Tile,
  tileInTree,
  tilePath,
  tilesForTree,
} from '../../src/tlog/tile.ts';
import { tileHashReader } from '../../src/tlog/tile-hash-reader.ts';
import { treeHash } from '../../src/tlog/tree-hash.ts';

const BIG = 256 * 256 + 300; // reaches a level 2 tile

describe('tile paths', () => {
  it('encodes N in 3-digit groups', () => {
    assert.equal(encodeTileIndex(0), '000');
    assert.equal(encodeTileIndex(7), '007');
    assert.equal(encodeTileIndex(999), '999');
    assert.equal(encodeTileIndex(1000), 'x001/000');
    assert.equal(encodeTileIndex(1234067), 'x001/x234/067');
    assert.equal(tilePath({ level: 0, n: 1234067, width: 256 }), 'tile/0/x001/x234/067');
    assert.equal(tilePath({ level: 2, n: 5, width: 17 }), 'tile/2/005.p/17');
    assert.equal(entryBundlePath(1234067, 3), 'tile/entries/x001/x234/067.p/3');
    assert.equal(entryBundlePath(0, 256), 'tile/entries/000');
  });

  it('parses exactly what it formats', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 63 }), fc.nat({ max: 2 ** 40 }), fc.integer({ min: 1, max: 256 }), (level, n, width) => {
        const t: Tile = { level, n, width };
        assert.deepEqual(parseTilePath(tilePath(t)), { kind: 'hashes', tile: t });
        assert.deepEqual(parseTilePath(entryBundlePath(n, width)), { kind: 'entries', n, width });
      }),
    );
  });

  it('refuses non-canonical or malformed paths', () => {
    for (const bad of [
      'tile/00/000',
      'tile/64/000',
      'tile/0/000.p/256',
      'tile/0/000.p/0',
      'tile/0/000.p/07',
      'tile/0/x000/001',
      'tile/0/001/x002',
      'tile/0/1',
      'tile/0/0001',
      'tile/0/x1/000',
      'tile/-1/000',
      'tile/data/000',
      'tile/entries',
      'tiles/0/000',
      'tile/0/000/',
      'tile/0/000.p/',
      'tile/0/000.p/12/3',
    ]) {
      assert.equal(parseTilePath(bad), null, bad);
    }
  });
});

describe('which tiles a tree has', () => {
  it('follows the C2SP examples', () => {
    const paths = (size: number): string[] => tilesForTree(size).map(tilePath);
    const t70000 = tilesForTree(70000);
    assert.equal(t70000.filter((t) => t.level === 0 && t.width === 256).length, 273);
    assert.deepEqual(t70000.filter((t) => t.width !== 256 || t.level > 0).map(tilePath), [
      'tile/0/273.p/112',
      'tile/1/000',
      'tile/1/001.p/17',
      'tile/2/000.p/1',
    ]);
    assert.deepEqual(paths(256), ['tile/0/000', 'tile/1/000.p/1']);
    assert.deepEqual(paths(0), []);
    assert.deepEqual(paths(3), ['tile/0/000.p/3']);
  });

  it('newTiles lists what appeared between two sizes, all of which are in the new tree', () => {
    assert.deepEqual(newTiles(3, 3), []);
    assert.deepEqual(newTiles(3, 5).map(tilePath), ['tile/0/000.p/5']);
    assert.deepEqual(newTiles(250, 260).map(tilePath), ['tile/0/000', 'tile/0/001.p/4', 'tile/1/000.p/1']);
    fc.assert(
      fc.property(fc.nat({ max: 140_000 }), fc.nat({ max: 140_000 }), (a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        const added = newTiles(lo, hi);
        for (const t of added) assert.ok(tileInTree(t, hi), tilePath(t));
        const all = new Set(tilesForTree(hi).map(tilePath));
        const before = new Set(tilesForTree(lo).map(tilePath));
        const addedPaths = new Set(added.map(tilePath));
        for (const p of all) assert.ok(before.has(p) || addedPaths.has(p), p);
      }),
      { numRuns: 40 },
    );
  });
});

describe('tile contents', () => {
  let tree: MemoryTree;
  before(async () => {
    tree = new MemoryTree();
    for (let i = 0; i < BIG; i++) await tree.append(`entry ${i}`);
  });

  it('level 0 tiles hold leaf hashes, higher tiles the roots of full tiles below', async () => {
    const t0 = await readTile({ level: 0, n: 1, width: 256 }, tree.reader);
    assert.equal(t0.length, 256 * HASH_SIZE);
    assert.deepEqual(t0.subarray(0, HASH_SIZE), leafHash('entry 256'));
    const t1 = await readTile({ level: 1, n: 0, width: 256 }, tree.reader);
    // Hash 3 of tile 1/000 is the Merkle hash of leaves [768, 1024).
    const sub = new MemoryTree();
    for (let i = 768; i < 1024; i++) await sub.append(`entry ${i}`);
    assert.deepEqual(t1.subarray(3 * HASH_SIZE, 4 * HASH_SIZE), await sub.root());
    const t2 = await readTile({ level: 2, n: 0, width: 1 }, tree.reader);
    assert.deepEqual(t2, await tree.root(65536));
  });

  it('a reader over the tiles of a tree gives its root and proofs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: BIG }), fc.nat(), fc.nat(), async (size, a, b) => {
        const expected = new Set(tilesForTree(size).map(tilePath));
        const reader = tileHashReader(size, (t) => {
          // The reader asks only for tiles the tree of this size has.
          assert.ok(expected.has(tilePath(t)), `${tilePath(t)} is not a tile of size ${size}`);
          return readTile(t, tree.reader);
        });
        const root = await tree.root(size);
        assert.deepEqual(await treeHash(size, reader), root);
        const i = a % size;
        const proof = await proveInclusion(i, size, reader);
        assert.ok(verifyInclusion(leafHash(`entry ${i}`), i, size, proof, root));
        const m = (b % size) + 1;
        assert.ok(verifyConsistency(m, size, await proveConsistency(m, size, reader), await tree.root(m), root));
      }),
      { numRuns: 60 },
    );
  });

  it('a flipped bit in any tile fails a full audit of the tree against its root', async () => {
    // A monitor's audit: the tree hash from the tiles, and every leaf hash the tiles hold
    // proven included with proofs built from the same tiles.
    const size = 700; // tiles 0/000, 0/001, 0/002.p/188, 1/000.p/2
    const tiles = tilesForTree(size);
    const root = await tree.root(size);
    const audit = async (reader: ReturnType<typeof tileHashReader>): Promise<boolean> => {
      if (Buffer.compare(await treeHash(size, reader), root) !== 0) return false;
      for (let x = 0; x < size; x++) {
        const [h] = await reader([storedHashIndex(0, x)]);
        if (!verifyInclusion(h!, x, size, await proveInclusion(x, size, reader), root)) return false;
      }
      return true;
    };
    assert.equal(await audit(tileHashReader(size, (t) => readTile(t, tree.reader))), true);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: tiles.length - 1 }), fc.nat(), async (which, bitSeed) => {
        const bad = tiles[which]!;
        const reader = tileHashReader(size, async (t) => {
          const data = new Uint8Array(await readTile(t, tree.reader));
          if (tilePath(t) === tilePath(bad)) data[bitSeed % data.length]! ^= 1 << (bitSeed % 8);
          return data;
        });
        assert.equal(await audit(reader), false);
      }),
      { numRuns: 12 },
    );
  });
});

describe('entry bundles', () => {
  it('round-trip entries with big-endian uint16 lengths', () => {
    const bundle = encodeEntryBundle([new Uint8Array([1, 2, 3]), new Uint8Array(0), new Uint8Array(300).fill(7)]);
    assert.deepEqual([...bundle.subarray(0, 5)], [0, 3, 1, 2, 3]);
    assert.deepEqual([...bundle.subarray(5, 9)], [0, 0, 1, 44]);
    const back = decodeEntryBundle(bundle);
    assert.equal(back.length, 3);
    assert.equal(back[2]!.length, 300);
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 600 }), { minLength: 1, maxLength: 256 }), (entries) => {
        assert.deepEqual(
          decodeEntryBundle(encodeEntryBundle(entries)).map((e) => [...e]),
          entries.map((e) => [...e]),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('refuses truncated bundles and oversize input', () => {
    const bundle = encodeEntryBundle([new Uint8Array([1, 2, 3])]);
    assert.throws(() => decodeEntryBundle(bundle.subarray(0, 4)), /truncated/);
    assert.throws(() => decodeEntryBundle(bundle.subarray(0, 1)), /truncated/);
    assert.throws(() => encodeEntryBundle([new Uint8Array(65536)]), RangeError);
    assert.throws(() => encodeEntryBundle([]), RangeError);
    assert.throws(() => decodeEntryBundle(new Uint8Array(257 * 2)), /more than 256/);
  });
});
