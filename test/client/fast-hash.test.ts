import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CompactRange } from '../../src/client/compact-range.ts';
import { fastLeafHash, fastSubtreeRoot } from '../../src/client/fast-hash.ts';
import { type Hash, leafHash, nodeHash } from '../../src/tlog/index.ts';

/** RFC 6962 §2.1 MTH, straight from its definition: the reference the fast paths are held to. */
function mth(leaves: readonly Uint8Array[]): Hash {
  if (leaves.length === 1) return leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

const leavesOf = (count: number, maxLength: number) => fc.array(fc.uint8Array({ maxLength }), { minLength: count, maxLength: count });

describe("the audit's fast hashes", () => {
  it('a subtree root is RFC 6962’s tree hash of its leaves, for every power of two up to a full tile', () => {
    for (let n = 1; n <= 256; n *= 2) {
      fc.assert(
        fc.property(leavesOf(n, 200), (leaves) => assert.deepEqual([...fastSubtreeRoot(leaves)], [...mth(leaves)])),
        { numRuns: n === 256 ? 10 : 30 },
      );
    }
  });

  it('a subtree root is right for leaves longer than any before (the scratch buffer grows) and for empty ones', () => {
    const leaves = [new Uint8Array(0), new Uint8Array(5000).fill(7), new Uint8Array(1), new Uint8Array(1023).fill(255)];
    assert.deepEqual([...fastSubtreeRoot(leaves)], [...mth(leaves)]);
    assert.deepEqual([...fastLeafHash(leaves[1]!)], [...leafHash(leaves[1]!)]);
  });

  it('refuses a count that is not a power of two', () => {
    for (const n of [0, 3, 5, 6, 255]) assert.throws(() => fastSubtreeRoot(Array.from({ length: n }, () => new Uint8Array(1))), RangeError);
  });

  it('a subtree appended to a compact range equals its leaves appended one by one', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 3 }), (height, before, after) => {
        const width = 2 ** height;
        const total = (before + 1 + after) * width;
        const leaves = Array.from({ length: total }, (_, i) => new Uint8Array([i & 0xff, i >> 8, height]));
        const oneByOne = new CompactRange();
        const bySubtree = new CompactRange();
        for (let i = 0; i < total; i++) oneByOne.append(leafHash(leaves[i]!));
        for (let i = 0; i < before * width; i++) bySubtree.append(leafHash(leaves[i]!));
        bySubtree.appendSubtree(fastSubtreeRoot(leaves.slice(before * width, (before + 1) * width)), width);
        for (let i = (before + 1) * width; i < total; i++) bySubtree.append(leafHash(leaves[i]!));
        assert.equal(bySubtree.size, total);
        assert.deepEqual(
          bySubtree.hashes.map((h) => [...h]),
          oneByOne.hashes.map((h) => [...h]),
        );
        assert.deepEqual([...bySubtree.root()], [...mth(leaves)]);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a subtree that does not start at a multiple of its width, or whose width is not a power of two', () => {
    const range = new CompactRange();
    range.append(leafHash(new Uint8Array(1)));
    assert.throws(() => range.appendSubtree(leafHash(new Uint8Array(2)), 2), RangeError);
    assert.throws(() => new CompactRange().appendSubtree(leafHash(new Uint8Array(2)), 3), RangeError);
    assert.equal(range.size, 1, 'a refused subtree changes nothing');
  });
});
