import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { formatEventTime } from '../../src/logs/time.ts';
import { appendToTree, highHashesReadByAppend, type TreeTip, tileRootOf } from '../../src/store/tree-append.ts';
import { checkpointOfNote, signNextCheckpointNow } from '../../src/store/tree-checkpoint.ts';
import { type HighHash, LeafHashCache, subtreeHash, type TreeHashSource, treeHashReader, treeRoot } from '../../src/store/tree-hashes.ts';
import { LogKeys } from '../../src/store/tree-keys.ts';
import { decodeLeafRecords, encodeLeafRecords, type LeafRecord, leafText } from '../../src/store/tree-leaf-records.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { type Hash, hashesEqual } from '../../src/tlog/hash.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { InconsistentTreeError, signNextCheckpoint } from '../../src/tlog/next-checkpoint.ts';
import { storedHashCount } from '../../src/tlog/stored-hash-index.ts';

const TYPES = ['AccessLog', 'UserActivityLog', 'CallAccessLog'];
const typeName = (id: number): string => TYPES[id]!;

function record(i: number): LeafRecord {
  const body = `{"eventTime":"${formatEventTime(1_700_000_000_000 + i * 997)}","logRecord":{"i":${i}}}`;
  return { typeId: i % 3, eventTimeMs: 1_700_000_000_000 + i * 997, digest: new Uint8Array(createHash('sha256').update(body).digest()) };
}

/** A store kept in memory the way a real one keeps the tree: tiles of records and high hashes. */
class RecordTree {
  tiles = new Map<number, Buffer>();
  high = new Map<string, Hash>();
  tip: TreeTip = { size: 0, partial: Buffer.alloc(0) };
  cache = new LeafHashCache();
  readonly source: TreeHashSource = {
    leafHashes: (tile) => this.cache.hashes('t', tile, this.tiles.get(tile) ?? this.tip.partial, typeName),
    high: (level, n) => {
      const h = this.high.get(`${level}/${n}`);
      if (!h) throw new Error(`no high hash ${level}/${n}`);
      return h;
    },
  };
  append(records: LeafRecord[]): HighHash[] {
    const w = appendToTree(this.tip, records, (tile, recs) => tileRootOf(this.cache.hashes('t', tile, recs, typeName)), this.source.high);
    for (const t of w.fullTiles) this.tiles.set(t.tile, t.records);
    for (const h of w.high) {
      assert.ok(!this.high.has(`${h.level}/${h.n}`), 'a high hash is written once');
      this.high.set(`${h.level}/${h.n}`, h.hash);
    }
    this.tip = { size: w.size, partial: w.partial };
    return w.high;
  }
}

describe('store tree modules', () => {
  it('leaf records round-trip and give the entry leaf v1 text', () => {
    const r = record(5);
    const [back] = decodeLeafRecords(encodeLeafRecords([r]));
    assert.deepEqual({ ...back!, digest: [...back!.digest] }, { ...r, digest: [...r.digest] });
    const body = `{"eventTime":"${formatEventTime(r.eventTimeMs)}","logRecord":{"i":5}}`;
    assert.equal(leafText(r, typeName), buildEntryLeaf({ logType: TYPES[2]!, eventTime: formatEventTime(r.eventTimeMs), wireText: body }));
  });

  it('appending in batches of any size gives the stored hashes and roots of the reference tree', async () => {
    const n = 256 * 9 + 77;
    const records = Array.from({ length: n }, (_, i) => record(i));
    const mem = new MemoryTree();
    for (const r of records) await mem.append(leafText(r, typeName));
    for (const batch of [1, 7, 255, 256, 1000, n]) {
      const t = new RecordTree();
      for (let at = 0; at < n; at += batch) t.append(records.slice(at, at + batch));
      assert.equal(t.tip.size, n);
      for (const size of [0, 1, 255, 256, 257, 512, 2048, 2303, n]) {
        assert.ok(hashesEqual(treeRoot(size, t.source), await mem.root(size)), `root at ${size}, batches of ${batch}`);
      }
      const reader = treeHashReader(() => t.source);
      const all = Array.from({ length: storedHashCount(n) }, (_, i) => i);
      const got = await reader(all);
      const want = await mem.reader(all);
      got.forEach((h, i) => assert.ok(hashesEqual(h, want[i]!), `stored hash ${i}`));
    }
  });

  it('lists exactly the earlier high hashes an append reads (for stores that fetch them first)', () => {
    for (const batch of [1, 100, 256, 777, 3000]) {
      const t = new RecordTree();
      for (let at = 0; at < 256 * 40; at += batch) {
        const records = Array.from({ length: batch }, (_, i) => record(at + i));
        const read: string[] = [];
        const w = appendToTree(
          t.tip,
          records,
          (tile, recs) => tileRootOf(t.cache.hashes('t', tile, recs, typeName)),
          (level, n) => {
            read.push(`${level}/${n}`);
            return t.source.high(level, n);
          },
        );
        const listed = highHashesReadByAppend(t.tip.size, batch).map((h) => `${h.level}/${h.n}`);
        assert.deepEqual([...new Set(read)].sort(), [...new Set(listed)].sort(), `batch of ${batch} at ${at}`);
        for (const t2 of w.fullTiles) t.tiles.set(t2.tile, t2.records);
        for (const h of w.high) t.high.set(`${h.level}/${h.n}`, h.hash);
        t.tip = { size: w.size, partial: w.partial };
      }
    }
  });

  it('an edited leaf record changes the hashes computed from it (the cache does not hide it)', () => {
    const t = new RecordTree();
    t.append(Array.from({ length: 600 }, (_, i) => record(i)));
    const before = subtreeHash(0, 256, t.source);
    const beforeRoot = treeRoot(600, t.source);
    const tile = Buffer.from(t.tiles.get(1)!);
    tile[20]! ^= 1;
    t.tiles.set(1, tile);
    // Leaf 256's hash (served in tile/0/001) changes, and no longer folds to the kept level 8 hash.
    assert.ok(!hashesEqual(before, subtreeHash(0, 256, t.source)));
    assert.ok(!hashesEqual(tileRootOf(t.source.leafHashes(1)), t.source.high(8, 1)));
    // The root over complete tiles comes from the kept high hashes: unchanged.
    assert.ok(hashesEqual(beforeRoot, treeRoot(600, t.source)));
  });

  it('holds no more memory for its cached leaf hashes than its budget, many partial tiles growing a few leaves at a time', () => {
    // The server's pattern with many tenants: each append adds a few leaves to one tenant's
    // partial tile, between other small allocations. Held: every distinct buffer the cached
    // hashes keep alive.
    const budget = 4 * 1024 * 1024;
    const cache = new LeafHashCache(budget);
    const tenants = 200;
    const partial: Buffer[] = Array.from({ length: tenants }, () => Buffer.alloc(0));
    let next = 0;
    for (let round = 0; round < 20; round++) {
      for (let t = 0; t < tenants; t++) {
        partial[t] = Buffer.concat([partial[t]!, encodeLeafRecords([record(next++), record(next++), record(next++)])]);
        cache.hashes(t, 0, partial[t]!, typeName);
      }
    }
    const buffers = new Set<ArrayBufferLike>();
    for (let t = 0; t < tenants; t++) {
      const hashes = cache.hashes(t, 0, partial[t]!, typeName);
      assert.equal(hashes.length, 60);
      for (const h of hashes) buffers.add(h.buffer);
    }
    const held = [...buffers].reduce((sum, b) => sum + b.byteLength, 0);
    assert.ok(held <= budget, `the cached hashes hold ${held} bytes, over the budget of ${budget}`);
  });

  it('keeps a signed root in bytes of its own (stores keep one checkpoint per tenant)', () => {
    const keys = new LogKeys('s'.repeat(32), 'logwarden/test');
    const t = new RecordTree();
    t.append(Array.from({ length: 5 }, (_, i) => record(i)));
    const { checkpoint } = signNextCheckpointNow({
      origin: keys.origin('acme'),
      size: 5,
      root: (s) => treeRoot(s, t.source),
      signer: keys.signer('acme'),
      previous: null,
    });
    assert.equal(checkpoint.rootHash.buffer.byteLength, 32);
  });

  it('signs the next checkpoint only over a tree that extends the last one, as the library does', async () => {
    const keys = new LogKeys('s'.repeat(32), 'logwarden/test');
    const signer = keys.signer('acme');
    const origin = keys.origin('acme');
    const t = new RecordTree();
    t.append(Array.from({ length: 300 }, (_, i) => record(i)));
    const first = signNextCheckpointNow({ origin, size: 300, root: (s) => treeRoot(s, t.source), signer, previous: null });
    assert.equal(checkpointOfNote(first.note, signer.verifier).size, 300);
    const viaLibrary = await signNextCheckpoint({ origin, size: 300, reader: treeHashReader(() => t.source), signer, previous: null });
    assert.equal(viaLibrary.note, first.note);
    t.append([record(300)]);
    const next = signNextCheckpointNow({ origin, size: 301, root: (s) => treeRoot(s, t.source), signer, previous: first.checkpoint });
    assert.equal(next.checkpoint.size, 301);
    assert.throws(
      () => signNextCheckpointNow({ origin, size: 299, root: (s) => treeRoot(s, t.source), signer, previous: first.checkpoint }),
      InconsistentTreeError,
    );
    // A record of the partial tile (leaves 256…300) edited: the size-301 root no longer extends.
    const partial = Buffer.from(t.tip.partial);
    partial[100]! ^= 1;
    t.tip = { size: t.tip.size, partial };
    assert.throws(
      () => signNextCheckpointNow({ origin, size: 301, root: (s) => treeRoot(s, t.source), signer, previous: next.checkpoint }),
      InconsistentTreeError,
    );
    assert.match(keys.verifierKey('acme'), /^logwarden\/test\/acme\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/);
  });
});
