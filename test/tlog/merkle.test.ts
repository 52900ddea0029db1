import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encodeBase64 } from '../../src/tlog/base64.ts';
import { consistencyRootsFrom, proveConsistency, verifyConsistency } from '../../src/tlog/consistency-proof.ts';
import { EMPTY_TREE_HASH, type Hash, leafHash, nodeHash } from '../../src/tlog/hash.ts';
import { proveInclusion, verifyInclusion } from '../../src/tlog/inclusion-proof.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { splitStoredHashIndex, storedHashCount, storedHashIndex, subtreesClosedBy } from '../../src/tlog/stored-hash-index.ts';

/** Reference MTH straight from RFC 6962 §2.1, over leaf hashes, to check the stored-hash path. */
function referenceRoot(leaves: readonly Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_TREE_HASH;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

async function treeOf(n: number, label = 'leaf'): Promise<MemoryTree> {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) await t.append(`${label} ${i}`);
  return t;
}

const b64 = (h: Hash): string => encodeBase64(h);

function flipBit(h: Hash, bit: number): Hash {
  const c = new Uint8Array(h);
  c[Math.floor(bit / 8) % c.length]! ^= 1 << (bit % 8);
  return c;
}

// Expected values computed with Go's golang.org/x/mod/sumdb/tlog (StoredHashes, TreeHash,
// ProveRecord, ProveTree) over leaves "leaf 0", "leaf 1", …
const GO_ROOTS: Record<number, string> = {
  1: 'G7l9zCFjXUfiZj79/QoXRobZjdcBNS3SzQbotD/T0wU=',
  2: '/F9riP+FVPdbsvnm85wxsZNtRLaSdu33sSBalVuXYeM=',
  3: '1Pksj7uJcg6ztVZ3x9fvrd/rENEaGoSguo8aIzN/qpU=',
  7: 'WmH8K1T5z6cXdPJDIUPdQMbLKxGUf69lp9PaXLZRmcg=',
  8: 'xcLIIO00L92ozolra5z1uMAKIcxLIHFMxuXTwFw1JAs=',
  255: '1xWSohnUBnZj7t4kf5tUw/ngKQaC1V3gm0lbB/HeQck=',
  256: 'z17/2xHQknou31Ow5zx4N/ZZQU4AU32l2Q61xMSf8nQ=',
  257: 'hVuTaqAMuYtRFEhCSa0514pr6TYj4mwB6OSH3AIYSlo=',
  1000: 'L/M/udjxT4nKMGKJYzM2oWj/P0Uy6PdBoAGdy0wdYKE=',
};
const GO_INCLUSION_517_OF_1000 = [
  'zsueh1JG0iHX9xxKONX6RlSLVLz4oo4IDrlP6LOYcqE=',
  '5rMHUSolkNtSETBZpWOzwemkKIs8A8/OMQH1CmbkJo4=',
  'f3UxI/nQgoS8Wt7K2q+gS0Vawl8+dl+z++Jzyrrgv90=',
  'Q5LFYc5aNzffJE+xca64AvkxDwAd+PtnclMwKY00wqo=',
  'U6YmPt5Cqeq8Yf4oYbjkGWw8XFg9wuVdiGxWuP1WCmc=',
  '6FqO8Zr1f/n7izUnj4xLZAYBoKoXqVDP100aXhaZrNo=',
  'pdkSVC0JTy8MmZHdQi/Vb6fPC3qmaQH9yyQylk4oovI=',
  '2gnlIf4PJ+B5Jo3IZKJjMdAn4UqZZxVNSu71FVNu+iY=',
  's6+KE36e8vbS7sCkXOwnnBX3dqUTi9kKPcKdNjKyJyU=',
  '2VeYcxZqpZvI032oZJI79j2s8P/xnqLKumOyDKuCzTA=',
];
const GO_CONSISTENCY_300_TO_1000 = [
  'spK29YvNS3yBwgIqnAG8AobaPdan7uAq0AtJGdT8u0s=',
  'xrnOVZsu5Q81pqbUr5btGW8Q4fJtY7jfpfXI386RXQg=',
  '++3yguFu49IYvdwh0YTFbIRTY7Fu6Rs/oL47e3pcsZI=',
  'Bb4N45j2W6f+NBiGehIhMPcaZiAAGX2D+yOpAur5D/o=',
  'ygCQtgerKvtV4ZRScM+xktrUIXT4DHk3QgVH9qPSGKA=',
  '93TTw5TzET3kAlSpRcarO3dFr6mGXk5WeEQKj2mDaJw=',
  'X9Jhh5exsHYc0E1OsdLntsnQZPQ6cm7SsUsvPB+bBKU=',
  'z17/2xHQknou31Ow5zx4N/ZZQU4AU32l2Q61xMSf8nQ=',
  'GegvUsbiDiiEWo4Tah2c8+rHuivcCtzMCPOW6pp8rK4=',
];

describe('RFC 6962 hashing', () => {
  it('prefixes leaves with 0x00 and nodes with 0x01', () => {
    assert.equal(b64(leafHash('leaf 0')), 'G7l9zCFjXUfiZj79/QoXRobZjdcBNS3SzQbotD/T0wU=');
    // SHA-256 of the empty string, the RFC's hash of an empty tree.
    assert.equal(Buffer.from(EMPTY_TREE_HASH).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const l = leafHash('a');
    const r = leafHash('b');
    assert.notEqual(b64(nodeHash(l, r)), b64(nodeHash(r, l)));
  });
});

describe('stored hash index (the ordering of Go sumdb/tlog)', () => {
  it('matches Go for known coordinates and counts', () => {
    assert.equal(storedHashIndex(0, 0), 0);
    assert.equal(storedHashIndex(0, 1), 1);
    assert.equal(storedHashIndex(1, 0), 2);
    assert.equal(storedHashIndex(3, 5), 92);
    assert.equal(storedHashIndex(8, 3), 2044);
    assert.equal(storedHashCount(1000), 1994);
    assert.equal(storedHashCount(0), 0);
  });

  it('splitStoredHashIndex inverts storedHashIndex', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 12 }), (level, n) => {
        // Positions of a tree of up to 2^50 leaves: beyond, indexes leave the safe integers.
        fc.pre((n + 1) * 2 ** level <= 2 ** 50);
        assert.deepEqual(splitStoredHashIndex(storedHashIndex(level, n)), { level, n });
      }),
    );
    for (let i = 0; i < 5000; i++) {
      const { level, n } = splitStoredHashIndex(i);
      assert.equal(storedHashIndex(level, n), i);
    }
  });

  it('handles large trees exactly (no 32-bit arithmetic)', () => {
    const n = 2 ** 40 + 12345;
    assert.deepEqual(splitStoredHashIndex(storedHashIndex(0, n)), { level: 0, n });
    assert.deepEqual(splitStoredHashIndex(storedHashIndex(33, 7)), { level: 33, n: 7 });
  });
});

describe('the in-memory tree and its proofs, against Go', () => {
  it('stores the same hashes and roots as Go', async () => {
    const t = await treeOf(1000);
    assert.equal(storedHashCount(t.size), 1994);
    for (const [size, root] of Object.entries(GO_ROOTS)) assert.equal(b64(await t.root(Number(size))), root, `root ${size}`);
  });

  it('writes, per appended leaf, its hash and one hash per subtree it closes, in stored order', async () => {
    const t = new MemoryTree();
    let next = 0;
    for (let i = 0; i < 600; i++) {
      const written = await t.append(`leaf ${i}`);
      assert.equal(written.length, 1 + subtreesClosedBy(i));
      for (const [k, s] of written.entries()) {
        assert.equal(s.index, next++);
        assert.equal(s.index, storedHashIndex(s.level, s.n));
        assert.equal(s.level, k);
      }
      // The last hash written is the root of the subtree the leaf completed.
      const top = written[written.length - 1]!;
      const lo = top.n * 2 ** top.level;
      assert.deepEqual(top.hash, referenceRoot(Array.from({ length: 2 ** top.level }, (_, j) => leafHash(`leaf ${lo + j}`))));
    }
    assert.equal(next, storedHashCount(600));
  });

  it('a batch append writes exactly what appending one by one writes, with one read of earlier hashes', async () => {
    const one = await treeOf(300);
    const oneHashes = await one.reader(Array.from({ length: storedHashCount(300) }, (_, i) => i));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 70 }), { maxLength: 12 }), async (chunks) => {
        const t = new MemoryTree();
        let at = 0;
        for (const len of chunks) {
          const size = Math.min(len, 300 - at);
          if (size === 0) break;
          let reads = 0;
          const counting = (ix: readonly number[]) => {
            reads++;
            return t.reader(ix);
          };
          const leaves = Array.from({ length: size }, (_, j) => leafHash(`leaf ${at + j}`));
          const { storedHashesForLeaves } = await import('../../src/tlog/stored-hashes.ts');
          const written = await storedHashesForLeaves(at, leaves, counting);
          assert.ok(reads <= 1);
          assert.deepEqual(await t.appendHashes(leaves), written);
          at += size;
        }
        const count = storedHashCount(at);
        assert.deepEqual(await t.reader(Array.from({ length: count }, (_, i) => i)), oneHashes.slice(0, count));
      }),
      { numRuns: 60 },
    );
  });

  it('generates the same inclusion and consistency proofs as Go', async () => {
    const t = await treeOf(1000);
    const incl = await proveInclusion(517, 1000, t.reader);
    assert.deepEqual(incl.map(b64), GO_INCLUSION_517_OF_1000);
    const cons = await proveConsistency(300, 1000, t.reader);
    assert.deepEqual(cons.map(b64), GO_CONSISTENCY_300_TO_1000);
    assert.ok(verifyInclusion(leafHash('leaf 517'), 517, 1000, incl, await t.root()));
    assert.ok(verifyConsistency(300, 1000, cons, await t.root(300), await t.root()));
  });
});

describe('proof properties on random trees', () => {
  it('every root equals the RFC definition', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string(), { maxLength: 70 }), async (data) => {
        const t = new MemoryTree();
        for (const d of data) await t.append(d);
        const leaves = data.map((d) => leafHash(d));
        for (let n = 0; n <= data.length; n++) assert.deepEqual(await t.root(n), referenceRoot(leaves.slice(0, n)));
      }),
      { numRuns: 40 },
    );
  });

  it('every inclusion proof verifies; a flipped bit anywhere is rejected', async () => {
    const t = await treeOf(70);
    for (let size = 1; size <= 70; size++) {
      const root = await t.root(size);
      for (let i = 0; i < size; i++) {
        const proof = await proveInclusion(i, size, t.reader);
        assert.ok(verifyInclusion(leafHash(`leaf ${i}`), i, size, proof, root), `${i} in ${size}`);
      }
    }
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }).chain((size) => fc.tuple(fc.constant(size), fc.nat({ max: size - 1 }), fc.nat(10_000))),
        async ([size, i, bitSeed]) => {
          const root = await t.root(size);
          const leaf = leafHash(`leaf ${i}`);
          const proof = await proveInclusion(i, size, t.reader);
          const bit = bitSeed % 256;
          assert.equal(verifyInclusion(flipBit(leaf, bit), i, size, proof, root), false, 'leaf');
          assert.equal(verifyInclusion(leaf, i, size, proof, flipBit(root, bit)), false, 'root');
          if (proof.length > 0) {
            const k = bitSeed % proof.length;
            const bad = proof.map((p, j) => (j === k ? flipBit(p, bit) : p));
            assert.equal(verifyInclusion(leaf, i, size, bad, root), false, 'proof');
            assert.equal(verifyInclusion(leaf, i, size, proof.slice(0, -1), root), false, 'short proof');
          }
          assert.equal(verifyInclusion(leaf, i, size, [...proof, root], root), false, 'long proof');
          if (size > 1) assert.equal(verifyInclusion(leaf, (i + 1) % size, size, proof, root), false, 'other index');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every consistency proof verifies; a flipped bit anywhere is rejected', async () => {
    const t = await treeOf(70, 'x');
    const roots: Hash[] = [];
    for (let n = 0; n <= 70; n++) roots.push(await t.root(n));
    for (let m = 0; m <= 70; m++) {
      for (let n = m; n <= 70; n++) {
        const proof = await proveConsistency(m, n, t.reader);
        assert.ok(verifyConsistency(m, n, proof, roots[m]!, roots[n]!), `${m} → ${n}`);
      }
    }
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 69 }).chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: m + 1, max: 70 }), fc.nat(10_000))),
        async ([m, n, bitSeed]) => {
          const proof = await proveConsistency(m, n, t.reader);
          const bit = bitSeed % 256;
          assert.equal(verifyConsistency(m, n, proof, flipBit(roots[m]!, bit), roots[n]!), false, 'old root');
          assert.equal(verifyConsistency(m, n, proof, roots[m]!, flipBit(roots[n]!, bit)), false, 'new root');
          const k = bitSeed % proof.length;
          const bad = proof.map((p, j) => (j === k ? flipBit(p, bit) : p));
          assert.equal(verifyConsistency(m, n, bad, roots[m]!, roots[n]!), false, 'proof');
          assert.equal(verifyConsistency(m, n, proof.slice(1), roots[m]!, roots[n]!), false, 'short proof');
          assert.equal(verifyConsistency(m, n, [...proof, roots[n]!], roots[m]!, roots[n]!), false, 'long proof');
          assert.equal(verifyConsistency(n, m, proof, roots[n]!, roots[m]!), false, 'reversed sizes');
        },
      ),
      { numRuns: 300 },
    );
  });

  it("the roots a tree's stored hashes give through one consistency proof are its roots at both sizes", async () => {
    const t = await treeOf(70, 'x');
    const rewritten = await treeOf(70, 'y');
    for (let m = 1; m < 70; m++) {
      for (let n = m + 1; n <= 70; n++) {
        const roots = await consistencyRootsFrom(m, n, t.reader);
        assert.deepEqual([b64(roots.first), b64(roots.second)], [b64(await t.root(m)), b64(await t.root(n))], `${m} → ${n}`);
        // Another history's stored hashes give another first root.
        const other = await consistencyRootsFrom(m, n, rewritten.reader);
        assert.notEqual(b64(other.first), b64(await t.root(m)), `${m} → ${n}`);
      }
    }
    await assert.rejects(consistencyRootsFrom(0, 5, t.reader), RangeError);
    await assert.rejects(consistencyRootsFrom(5, 5, t.reader), RangeError);
  });

  it('a rewritten history is not consistent with the original', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((m) => fc.tuple(fc.constant(m), fc.integer({ min: m, max: 60 }), fc.nat({ max: m - 1 }))),
        async ([m, n, changed]) => {
          const honest = await treeOf(m);
          const forked = new MemoryTree();
          for (let i = 0; i < n; i++) await forked.append(i === changed ? 'rewritten' : `leaf ${i}`);
          const proof = await proveConsistency(m, n, forked.reader);
          assert.equal(verifyConsistency(m, n, proof, await honest.root(), await forked.root()), false);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('refuses impossible requests', async () => {
    const t = await treeOf(5);
    await assert.rejects(proveInclusion(5, 5, t.reader), RangeError);
    await assert.rejects(proveConsistency(4, 3, t.reader), RangeError);
    await assert.rejects(proveInclusion(0, 6, t.reader), RangeError);
    assert.equal(verifyConsistency(0, 5, [], EMPTY_TREE_HASH, await t.root()), true);
    assert.equal(verifyConsistency(0, 5, [], await t.root(1), await t.root()), false);
    assert.equal(verifyConsistency(3, 3, [], await t.root(3), await t.root(4)), false);
  });
});
