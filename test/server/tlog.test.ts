import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createTenant, issueAccessKey } from '../../src/service/access-keys.ts';
import { decodeBase64 } from '../../src/tlog/base64.ts';
import { type Checkpoint, openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { verifyConsistency } from '../../src/tlog/consistency-proof.ts';
import { decodeEntryBundle } from '../../src/tlog/entry-bundle.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { hashesEqual, leafHash } from '../../src/tlog/hash.ts';
import { verifyInclusion } from '../../src/tlog/inclusion-proof.ts';
import { type NoteVerifier, parseVerifierKey } from '../../src/tlog/note-key.ts';
import { entryBundlePath, TILE_WIDTH, tilePath, tilesForTree } from '../../src/tlog/tile.ts';
import { tileHashReader } from '../../src/tlog/tile-hash-reader.ts';
import { treeHash } from '../../src/tlog/tree-hash.ts';
import { basic, sqliteSealingFactory, startTestApp, type TestApp } from '../support/app.ts';
import { entriesOf } from '../support/page-entries.ts';

const T0 = Date.UTC(2026, 2, 4, 9, 0, 0);

function entries(n: number, from: number, minutes = 1) {
  return Array.from({ length: n }, (_, i) => ({
    userId: String(from + i),
    eventTime: new Date(T0 + ((from + i) % 97) * minutes * 60_000).toISOString(),
    logRecord: { i: from + i },
  }));
}

describe('GET /v2/tlog/{tenantId}/… over HTTP (sqlite, sealing at once)', () => {
  let t: TestApp;
  let base: string;
  let key: NoteVerifier;
  const auth = () => ({ authorization: basic(t.readKey) });
  const get = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/v2/tlog/${t.tenantId}/${path}`, { headers: { ...auth(), ...headers } });
  const checkpoint = async (): Promise<Checkpoint> => {
    const res = await get('checkpoint');
    assert.equal(res.status, 200);
    return openCheckpoint(await res.text(), key).checkpoint;
  };
  const ingest = async (logType: string, list: unknown[]) => {
    const res = await t.ingest(logType, list);
    assert.equal(res.statusCode, 201, res.body);
  };

  before(async () => {
    t = await startTestApp({ factory: sqliteSealingFactory });
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const res = await get('key');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    key = parseVerifierKey((await res.text()).trim());
  });
  after(async () => t.close());

  it('serves the signed empty tree, then a checkpoint covering each acknowledged batch', async () => {
    const empty = await checkpoint();
    assert.equal(empty.size, 0);
    assert.ok(empty.origin.endsWith(`/${t.tenantId}`));
    await ingest('AccessLog', entries(120, 0));
    assert.equal((await checkpoint()).size, 120);
    // Duplicates add no leaf; other types share the tree.
    await ingest('AccessLog', entries(30, 100));
    await ingest('UserActivityLog', entries(200, 0, 2));
    const cp = await checkpoint();
    assert.equal(cp.size, 120 + 10 + 200);
    const res = await get('checkpoint');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
  });

  it('serves tiles and entry bundles from which the checkpoint root and every leaf check out', async () => {
    const cp = await checkpoint();
    const fetched = new Map<string, Uint8Array>();
    for (const tile of tilesForTree(cp.size)) {
      const res = await get(tilePath(tile));
      assert.equal(res.status, 200, tilePath(tile));
      assert.equal(res.headers.get('content-type'), 'application/octet-stream');
      assert.equal(res.headers.get('cache-control'), tile.width === TILE_WIDTH ? 'private, max-age=31536000, immutable' : 'private, max-age=60');
      fetched.set(tilePath(tile), new Uint8Array(await res.arrayBuffer()));
    }
    const reader = tileHashReader(cp.size, (tile) => fetched.get(tilePath(tile))!);
    assert.ok(hashesEqual(await treeHash(cp.size, reader), cp.rootHash), 'tree hash from the tiles');
    // Entry bundles: leaf i of bundle N hashes to hash i of tile/0/N.
    for (let n = 0; n * TILE_WIDTH < cp.size; n++) {
      const width = Math.min(TILE_WIDTH, cp.size - n * TILE_WIDTH);
      const raw = await t.inject({
        method: 'GET',
        url: `/v2/tlog/${t.tenantId}/${entryBundlePath(n, width)}`,
        headers: { ...auth(), 'accept-encoding': 'gzip' },
      });
      assert.equal(raw.statusCode, 200);
      assert.equal(raw.headers['content-encoding'], 'gzip');
      const leaves = decodeEntryBundle(gunzipSync(raw.rawPayload));
      assert.equal(leaves.length, width);
      const tile = fetched.get(tilePath({ level: 0, n, width }))!;
      leaves.forEach((leaf, i) => assert.ok(hashesEqual(leafHash(leaf), tile.subarray(i * 32, i * 32 + 32)), `leaf ${n * 256 + i}`));
      const plain = await t.inject({ method: 'GET', url: `/v2/tlog/${t.tenantId}/${entryBundlePath(n, width)}`, headers: auth() });
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.deepEqual(decodeEntryBundle(plain.rawPayload).length, width);
    }
  });

  it('serves narrower partial tiles of earlier sizes, and 404 beyond the tree; 400 for a non-canonical path', async () => {
    const cp = await checkpoint();
    assert.equal((await get('tile/0/000.p/5')).status, 200);
    assert.equal((await get(`tile/0/${String(Math.floor(cp.size / 256) + 1).padStart(3, '0')}`)).status, 404);
    assert.equal((await get('tile/entries/001.p/255')).status, 404);
    assert.equal((await get('tile/0/0')).status, 400);
    assert.equal((await get('tile/0/000.p/256')).status, 400);
    // Only the canonical spelling: percent-escapes the router would decode are not one.
    assert.equal((await get('tile/0/%30%30%30.p/5')).status, 400);
    assert.equal((await get('tile/entries/00%30.p/5')).status, 400);
  });

  it('serves inclusion proofs that verify against the checkpoint, and consistency between checkpoints', async () => {
    const older = await checkpoint();
    await ingest('UserCallPlay', entries(50, 500));
    const cp = await checkpoint();
    const sample = [0, 1, 129, 255, 256, older.size - 1, cp.size - 1];
    const res = await get(`proof/inclusion?${sample.map((i) => `index=${i}`).join('&')}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store', 'proofs of the latest tree are kept by no cache');
    const body = (await res.json()) as { size: number; rootHash: string; proofs: { index: number; leafHash: string; hashes: string[] }[] };
    assert.equal(body.size, cp.size);
    assert.ok(hashesEqual(decodeBase64(body.rootHash)!, cp.rootHash));
    assert.deepEqual(
      body.proofs.map((p) => p.index),
      sample,
    );
    for (const p of body.proofs) {
      assert.ok(
        verifyInclusion(
          decodeBase64(p.leafHash)!,
          p.index,
          cp.size,
          p.hashes.map((h) => decodeBase64(h)!),
          cp.rootHash,
        ),
        `leaf ${p.index}`,
      );
    }
    const atOlder = (await (await get(`proof/inclusion?index=3&size=${older.size}`)).json()) as { rootHash: string };
    assert.ok(hashesEqual(decodeBase64(atOlder.rootHash)!, older.rootHash));
    const consistency = await get(`proof/consistency?from=${older.size}&to=${cp.size}`);
    assert.equal(consistency.headers.get('cache-control'), 'no-store');
    const cons = (await consistency.json()) as { from: number; to: number; hashes: string[] };
    assert.deepEqual([cons.from, cons.to], [older.size, cp.size]);
    assert.ok(
      verifyConsistency(
        older.size,
        cp.size,
        cons.hashes.map((h) => decodeBase64(h)!),
        older.rootHash,
        cp.rootHash,
      ),
    );
    assert.equal((await get(`proof/inclusion?index=${cp.size}`)).status, 400);
    assert.equal((await get(`proof/inclusion?index=0&size=${cp.size + 1}`)).status, 400);
    assert.equal((await get(`proof/consistency?from=${cp.size}&to=${cp.size + 1}`)).status, 400);
    assert.equal((await get('proof/inclusion?index=-1')).status, 400);
    // One plain message per bad value, not one per shape the parameter may take.
    const errorsOf = async (path: string) => {
      const r = await get(path);
      assert.equal(r.status, 400, path);
      return ((await r.json()) as { errors: string[] }).errors;
    };
    assert.deepEqual(await errorsOf('proof/inclusion?index=abc'), ['index: must be a whole number (digits only, no sign)']);
    assert.deepEqual(await errorsOf('proof/inclusion?index=1&index=x'), ['index.1: must be a whole number (digits only, no sign)']);
    assert.deepEqual(await errorsOf('proof/inclusion?index=1&size=-2'), ['size: must be a whole number (digits only, no sign)']);
    assert.deepEqual(await errorsOf('proof/consistency?from=1.5&to=2'), ['from: must be a whole number (digits only, no sign)']);
  });

  it('X-Logwarden-Leaf-Index: 1 lists each entry’s leaf; without it the answer is unchanged', async () => {
    const cp = await checkpoint();
    const query = new URLSearchParams({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '50' });
    const plain = await fetch(`${base}/v2/logs?${query}`, { headers: auth() });
    const withLeaves = await fetch(`${base}/v2/logs?${query}`, { headers: { ...auth(), 'x-logwarden-leaf-index': '1' } });
    assert.equal(plain.headers.get('x-logwarden-leaf-index'), null);
    const header = withLeaves.headers.get('x-logwarden-leaf-index');
    assert.ok(header);
    const strip = (s: string) => s.replace(/"requestId":"[0-9a-z]+"/, '').replace(/"cursor":"[^"]+"/, '');
    const body = await withLeaves.text();
    assert.equal(strip(body), strip(await plain.text()));
    const indexes = header.split(',').map(Number);
    const served = entriesOf({ text: Buffer.from(body.slice(body.indexOf('"logEntries":[') + 14, -2)), count: indexes.length, next: null });
    const bundles = new Map<number, Uint8Array[]>();
    for (let k = 0; k < indexes.length; k++) {
      const n = Math.floor(indexes[k]! / 256);
      if (!bundles.has(n)) {
        const width = Math.min(256, cp.size - n * 256);
        bundles.set(n, decodeEntryBundle(new Uint8Array(await (await get(entryBundlePath(n, width))).arrayBuffer())));
      }
      const leaf = Buffer.from(bundles.get(n)![indexes[k]! % 256]!).toString();
      assert.equal(leaf, buildEntryLeaf({ logType: 'AccessLog', eventTime: new Date(served[k]!.timeMs).toISOString(), wireText: served[k]!.body }));
    }
  });

  it('needs api:logs:read of that very tenant: other tenants get the 404 of an unknown tenant', async () => {
    assert.equal((await fetch(`${base}/v2/tlog/${t.tenantId}/checkpoint`)).status, 401);
    const writeOnly = await fetch(`${base}/v2/tlog/${t.tenantId}/checkpoint`, { headers: { authorization: basic(t.writeKey) } });
    assert.equal(writeOnly.status, 401);
    const other = await createTenant(t.store, 'other');
    const otherKey = await issueAccessKey(t.store, other.id, ['api:logs:read']);
    const mine = await fetch(`${base}/v2/tlog/${other.id}/checkpoint`, { headers: { authorization: basic(otherKey) } });
    assert.equal(mine.status, 200);
    const theirs = await fetch(`${base}/v2/tlog/${t.tenantId}/tile/0/000`, { headers: { authorization: basic(otherKey) } });
    const unknown = await fetch(`${base}/v2/tlog/99999/tile/0/000`, { headers: { authorization: basic(otherKey) } });
    assert.equal(theirs.status, 404);
    assert.equal(unknown.status, 404);
    const errorsOf = async (r: Response, id: string) => ((await r.json()) as { errors: string[] }).errors.map((e) => e.replace(id, 'ID'));
    assert.deepEqual(await errorsOf(theirs, t.tenantId), await errorsOf(unknown, '99999'));
  });

  it('keeps full tiles and bundles in memory per tenant: a second read is a cache hit, another tenant gets its own', async () => {
    const hits = async () =>
      Number(/logwarden_tlog_tile_cache_total\{result="hit"\} (\d+)/.exec((await t.inject({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0);
    assert.ok((await checkpoint()).size >= TILE_WIDTH, 'the tree has a full tile');
    const bundle = async (key: typeof t.readKey, tenantId: string) => {
      const res = await t.inject({
        method: 'GET',
        url: `/v2/tlog/${tenantId}/tile/entries/000`,
        headers: { authorization: basic(key), 'accept-encoding': 'gzip' },
      });
      assert.equal(res.statusCode, 200);
      return decodeEntryBundle(gunzipSync(res.rawPayload)).map((l) => Buffer.from(l).toString());
    };
    const first = await bundle(t.readKey, t.tenantId);
    const before = await hits();
    const again = await bundle(t.readKey, t.tenantId);
    assert.deepEqual(again, first);
    assert.equal(await hits(), before + 1, 'the second read came from memory');
    const tile = await t.inject({ method: 'GET', url: `/v2/tlog/${t.tenantId}/tile/0/000`, headers: auth() });
    const beforeTile = await hits();
    assert.deepEqual((await t.inject({ method: 'GET', url: `/v2/tlog/${t.tenantId}/tile/0/000`, headers: auth() })).rawPayload, tile.rawPayload);
    assert.equal(await hits(), beforeTile + 1, 'full hash tiles too');
    // Another tenant's bundle 000 is built from its own leaves, never served from the first's.
    const other = await createTenant(t.store, 'cached elsewhere');
    const otherKey = await issueAccessKey(t.store, other.id, ['api:logs:read', 'api:logs:write']);
    const res = await t.ingest('AccessLog', entries(TILE_WIDTH, 5000), otherKey);
    assert.equal(res.statusCode, 201, res.body);
    const theirs = await bundle(otherKey, other.id);
    assert.equal(theirs.length, TILE_WIDTH);
    // Each form is kept as it is served: the plain one is built on its first read (the same
    // leaves as the gzipped one), and comes from memory on the next.
    const plainBundle = () => t.inject({ method: 'GET', url: `/v2/tlog/${other.id}/tile/entries/000`, headers: { authorization: basic(otherKey) } });
    const beforePlain = await hits();
    const plain = await plainBundle();
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(
      decodeEntryBundle(plain.rawPayload).map((l) => Buffer.from(l).toString()),
      theirs,
    );
    assert.equal(await hits(), beforePlain, 'the plain bundle was built on its first read');
    assert.deepEqual((await plainBundle()).rawPayload, plain.rawPayload);
    assert.equal(await hits(), beforePlain + 1, 'the plain bundle came from memory on the next');
    assert.equal(theirs.filter((leaf) => first.includes(leaf)).length, 0);
    const ownTile = (await t.inject({ method: 'GET', url: `/v2/tlog/${other.id}/tile/0/000`, headers: { authorization: basic(otherKey) } }))
      .rawPayload;
    theirs.forEach((leaf, i) =>
      assert.ok(hashesEqual(leafHash(Buffer.from(leaf)), ownTile.subarray(i * 32, i * 32 + 32)), `its leaf ${i} is in its own tree`),
    );
  });

  it('documents every endpoint in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      paths: Record<string, { get: { parameters: { name: string; in: string }[] } }>;
    };
    for (const p of ['checkpoint', 'key', 'tile/{tilePath}', 'proof/inclusion', 'proof/consistency']) {
      assert.ok(`/v2/tlog/{tenantId}/${p}` in doc.paths, p);
    }
    // Every path parameter is named, as OpenAPI requires (the tile route's wildcard included).
    for (const [path, item] of Object.entries(doc.paths)) {
      const named = (item.get?.parameters ?? []).filter((q) => q.in === 'path').map((q) => q.name);
      assert.deepEqual(named.sort(), [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!).sort(), path);
      assert.ok(!named.includes('*'), path);
    }
  });
});

describe('GET /v2/tlog/{tenantId}/proof/inclusion of many leaves', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ factory: sqliteSealingFactory });
    for (let b = 0; b < 4; b++) assert.equal((await t.ingest('AccessLog', entries(1000, b * 1000))).statusCode, 201);
  });
  after(async () => t.close());

  it('lets other requests in while it proves a thousand leaves (these reads are not rate-limited)', async () => {
    const url = `/v2/tlog/${t.tenantId}/proof/inclusion?${Array.from({ length: 1000 }, (_, i) => `index=${i * 4}`).join('&')}`;
    // The app runs in this process: count the turns of the event loop while it proves (a
    // callback that schedules itself again runs once per turn). Work done in one stretch would
    // let a few turns by; a slice at a time lets one by per slice at least, and other requests
    // (of any tenant) with it. Counted, not timed.
    let turns = 0;
    let running = true;
    const turn = () => {
      turns++;
      if (running) setImmediate(turn);
    };
    setImmediate(turn);
    const res = await t.inject({ method: 'GET', url, headers: { authorization: basic(t.readKey) } });
    running = false;
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().proofs.length, 1000);
    assert.ok(turns >= 1000 / 8, `the event loop turned ${turns} times while 1,000 proofs were made`);
  });
});
