/**
 * The verifiable log's endpoints over HTTP on the PostgreSQL store: a checkpoint for each
 * acknowledged batch, tiles and entry bundles from which the checkpoint's root and every leaf
 * check out, and the leaf index header mapping served entries to their leaves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Checkpoint, openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { decodeEntryBundle } from '../../src/tlog/entry-bundle.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { hashesEqual, leafHash } from '../../src/tlog/hash.ts';
import { type NoteVerifier, parseVerifierKey } from '../../src/tlog/note-key.ts';
import { entryBundlePath, tilePath, tilesForTree } from '../../src/tlog/tile.ts';
import { tileHashReader } from '../../src/tlog/tile-hash-reader.ts';
import { treeHash } from '../../src/tlog/tree-hash.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { entriesOf } from '../support/page-entries.ts';
import { storeKinds } from '../support/stores.ts';

const T0 = Date.UTC(2026, 2, 4, 9, 0, 0);

function entries(n: number, from: number) {
  return Array.from({ length: n }, (_, i) => ({
    userId: String(from + i),
    eventTime: new Date(T0 + ((from + i) % 97) * 60_000).toISOString(),
    logRecord: { i: from + i },
  }));
}

const postgres = (await storeKinds()).find((k) => k.name === 'postgres')!;

describe('GET /v2/tlog/{tenantId}/… over HTTP (postgres)', { skip: postgres.skip }, () => {
  let t: TestApp;
  let base: string;
  let key: NoteVerifier;
  const auth = () => ({ authorization: basic(t.readKey) });
  const get = (path: string) => fetch(`${base}/v2/tlog/${t.tenantId}/${path}`, { headers: auth() });
  const checkpoint = async (): Promise<Checkpoint> => {
    const res = await get('checkpoint');
    assert.equal(res.status, 200);
    return openCheckpoint(await res.text(), key).checkpoint;
  };

  before(async () => {
    t = await startTestApp({ factory: postgres.factory });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    key = parseVerifierKey((await (await get('key')).text()).trim());
  });
  after(async () => t.close());

  it('signs a checkpoint for each acknowledged batch; tiles and bundles check out against it', async () => {
    assert.equal((await checkpoint()).size, 0);
    const first = await t.ingest('AccessLog', entries(300, 0));
    assert.equal(first.statusCode, 201, first.body);
    const older = await checkpoint();
    assert.equal(older.size, 300);
    // Duplicates add no leaf; other types share the tree.
    assert.equal((await t.ingest('AccessLog', entries(40, 280))).statusCode, 201);
    assert.equal((await t.ingest('UserActivityLog', entries(10, 0))).statusCode, 201);
    const cp = await checkpoint();
    assert.equal(cp.size, 300 + 20 + 10);

    const fetched = new Map<string, Uint8Array>();
    for (const tile of tilesForTree(cp.size)) {
      const res = await get(tilePath(tile));
      assert.equal(res.status, 200, tilePath(tile));
      fetched.set(tilePath(tile), new Uint8Array(await res.arrayBuffer()));
    }
    const reader = tileHashReader(cp.size, (tile) => fetched.get(tilePath(tile))!);
    assert.ok(hashesEqual(await treeHash(cp.size, reader), cp.rootHash), 'tree hash from the tiles');
    assert.ok(hashesEqual(await treeHash(older.size, reader), older.rootHash), 'the earlier checkpoint is a prefix');

    // The leaf index header maps each served entry to its leaf in the bundles.
    const query = new URLSearchParams({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '100' });
    const res = await fetch(`${base}/v2/logs?${query}`, { headers: { ...auth(), 'x-logwarden-leaf-index': '1' } });
    assert.equal(res.status, 200);
    const indexes = res.headers.get('x-logwarden-leaf-index')!.split(',').map(Number);
    const body = await res.text();
    const served = entriesOf({ text: Buffer.from(body.slice(body.indexOf('"logEntries":[') + 14, -2)), count: indexes.length, next: null });
    assert.equal(served.length, 100);
    const bundles = new Map<number, Uint8Array[]>();
    for (let k = 0; k < indexes.length; k++) {
      const n = Math.floor(indexes[k]! / 256);
      if (!bundles.has(n)) {
        const width = Math.min(256, cp.size - n * 256);
        bundles.set(n, decodeEntryBundle(new Uint8Array(await (await get(entryBundlePath(n, width))).arrayBuffer())));
      }
      const leaf = bundles.get(n)![indexes[k]! % 256]!;
      assert.equal(
        Buffer.from(leaf).toString(),
        buildEntryLeaf({ logType: 'AccessLog', eventTime: new Date(served[k]!.timeMs).toISOString(), wireText: served[k]!.body }),
      );
      const tile = fetched.get(tilePath({ level: 0, n, width: Math.min(256, cp.size - n * 256) }))!;
      const i = indexes[k]! % 256;
      assert.ok(hashesEqual(leafHash(leaf), tile.subarray(i * 32, i * 32 + 32)));
    }
  });
});
