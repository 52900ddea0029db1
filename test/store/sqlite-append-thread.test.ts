/**
 * Large batches stored on the SQLite store's append thread (store/sqlite/append-thread.ts):
 * the same entries, counts and duplicates as stored on the calling thread, one tree with every
 * leaf in it while batches on the thread and writes on the calling thread interleave, errors
 * of the class the callers look for, and batches left to the calling thread when the thread
 * cannot start.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { generateDemoEntries } from '../../src/demo/demo-data.ts';
import { LogTypes } from '../../src/logs/log-types.ts';
import { PackedEntries } from '../../src/logs/packed-entries.ts';
import { parseBatchOffThread } from '../../src/service/batch-parse-pool.ts';
import { AppendThread, AppendThreadStoppedError, raised, threadError } from '../../src/store/sqlite/append-thread.ts';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import { StoreRolledBackError, UnknownTenantError } from '../../src/store/store.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { type Hash, leafHash, nodeHash } from '../../src/tlog/hash.ts';
import { entriesOf } from '../support/page-entries.ts';
import { makeEntry } from './contract/store.contract.ts';

const DAY = Date.UTC(2026, 2, 4);
const types = new LogTypes([]);

/** A JSON batch of `count` demo AccessLog entries. */
function body(count: number, seed: number): Buffer {
  const texts: string[] = [];
  for (const e of generateDemoEntries({ seed, count: count * 2, fromMs: DAY, toMs: DAY + 86_400_000, types: ['AccessLog'] })) {
    texts.push(e.body);
    if (texts.length === count) break;
  }
  return Buffer.from(`{"logType":"AccessLog","logEntries":[${texts.join(',')}]}`);
}

async function packed(b: Buffer): Promise<PackedEntries> {
  const p = await parseBatchOffThread(b, types);
  assert.ok(p instanceof PackedEntries, 'parsed on a worker');
  return p;
}

/** RFC 6962's tree hash of the leaves. */
function rootOf(hashes: readonly Hash[]): Hash {
  if (hashes.length === 1) return hashes[0]!;
  let k = 1;
  while (k * 2 < hashes.length) k *= 2;
  return nodeHash(rootOf(hashes.slice(0, k)), rootOf(hashes.slice(k)));
}

/** Every entry served, each a leaf of the signed tree at its index, and the tree's root that of its leaves. */
async function checkTree(store: SqliteStore, tenantId: string, logTypes: readonly string[]): Promise<string[]> {
  const log = (await store.log(tenantId))!;
  const bodies: string[] = [];
  for (const logType of logTypes) {
    const page = await store.firstPage({ tenantId, logType, fromMs: 0, toMs: null }, 100_000);
    const indexes = await store.leafIndexes!(tenantId, page.seqs ?? []);
    const served = entriesOf(page);
    for (let i = 0; i < served.length; i++) {
      const want = buildEntryLeaf({ logType, eventTime: new Date(served[i]!.timeMs).toISOString(), wireText: served[i]!.body });
      assert.deepEqual(await log.leaves(indexes[i]!, 1), [want]);
      bodies.push(served[i]!.body);
    }
  }
  const leaves = await log.leaves(0, log.checkpoint.size);
  assert.deepEqual(rootOf(leaves.map((l) => leafHash(l))), new Uint8Array(log.checkpoint.rootHash));
  return bodies.sort();
}

describe('SQLite append thread', () => {
  let dir: string;
  const open: SqliteStore[] = [];
  const openStore = (sub: string, noAppendThread = false) => {
    const s = openSqliteStore({ dataDir: join(dir, sub), noSealer: true, noAppendThread, onSchemaUpgrade: () => {} });
    open.push(s);
    return s;
  };
  /**
   * A store that stores here, with tenant A, and an append thread on its database that has
   * stored a first 500-entry batch (so it is ready: the next batch is sent at once).
   */
  const threadBeside = async (sub: string, report: (err: Error) => void = () => {}) => {
    const here = openStore(sub, true);
    await here.createTenant({ id: 'A', name: 'A' });
    const file = join(dir, sub, DATABASE_FILE);
    const thread = new AppendThread({ file, witnessDir: join(dir, sub) }, report);
    assert.deepEqual(await thread.append('A', await packed(body(500, 6)), Date.now()), { accepted: 500, duplicates: 0 });
    return { here, thread, file };
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-append-thread-'));
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores batches there as the calling thread would, while other writes go on here, in one tree', async () => {
    const threaded = openStore('threaded');
    const here = openStore('here', true);
    const bodies = [body(1200, 1), body(900, 2), body(1500, 3)];
    const batches = await Promise.all(bodies.map(packed));
    for (const s of [threaded, here]) {
      await s.createTenant({ id: 'A', name: 'A' });
      await s.createTenant({ id: 'B', name: 'B' });
    }
    // On the thread: the three batches at once (two tenants); here meanwhile: small appends and a key.
    const small = (i: number) => [
      makeEntry('UserActivityLog', DAY + i * 1000, `{"i":${i}}`),
      makeEntry('UserActivityLog', DAY + i * 1000 + 1, `{"j":${i}}`),
    ];
    const got = await Promise.all([
      threaded.append('A', batches[0]!),
      threaded.append('B', batches[1]!),
      threaded.append('A', small(1)),
      threaded.append('A', batches[2]!),
      threaded.createAccessKey({ accessKey: 'k1', tenantId: 'A', secretHash: Buffer.alloc(32), scopes: ['api:logs:read'] }),
      threaded.append('A', small(2)),
    ]);
    assert.deepEqual(got[0], { accepted: 1200, duplicates: 0 });
    assert.deepEqual(got[1], { accepted: 900, duplicates: 0 });
    assert.deepEqual(got[3], { accepted: 1500, duplicates: 0 });
    assert.equal(threaded.threadAppends, 3, 'the three batches were stored on the thread');
    // Entries sent to the thread are gone from here.
    assert.throws(() => [...batches[0]!], /moved to another thread/);
    await assert.rejects(threaded.append('A', batches[0]!), /moved to another thread/);
    // A batch again: every entry a known duplicate, nothing added to the tree.
    assert.deepEqual(await threaded.append('A', await packed(bodies[0]!)), { accepted: 0, duplicates: 1200 });
    assert.equal(threaded.threadAppends, 4);

    for (const [t, b] of [
      ['A', bodies[0]!],
      ['B', bodies[1]!],
      ['A', small(1)],
      ['A', bodies[2]!],
      ['A', small(2)],
      ['A', bodies[0]!],
    ] as const)
      await here.append(t, Buffer.isBuffer(b) ? await packed(b) : b);
    assert.equal(here.threadAppends, 0);

    for (const tenant of ['A', 'B']) {
      const a = await checkTree(threaded, tenant, ['AccessLog', 'UserActivityLog']);
      const b = await checkTree(here, tenant, ['AccessLog', 'UserActivityLog']);
      assert.deepEqual(a, b, `tenant ${tenant}: the same entries`);
      assert.equal((await threaded.log(tenant))!.checkpoint.size, (await here.log(tenant))!.checkpoint.size);
    }
    assert.equal((await threaded.log('A'))!.checkpoint.size, 1200 + 1500 + 4);
  });

  it('stores a batch sent as the store closes, before its thread was ready', async () => {
    const sub = join(dir, 'closing');
    const store = openSqliteStore({ dataDir: sub, noSealer: true, onSchemaUpgrade: () => {} });
    await store.createTenant({ id: 'A', name: 'A' });
    const stored = store.append('A', await packed(body(700, 5)));
    await store.close();
    assert.deepEqual(await stored, { accepted: 700, duplicates: 0 });
    assert.equal(store.threadAppends, 1);
    const again = openStore('closing', true);
    assert.equal((await again.log('A'))!.checkpoint.size, 700);
  });

  it('fails the batch a thread held when it stops, stores it once when sent again, and starts a new thread', async () => {
    const reports: string[] = [];
    const { here, thread } = await threadBeside('crash', (err) => reports.push(err.message));
    try {
      const held = thread.append('A', await packed(body(2000, 7)), Date.now());
      await thread.terminate();
      await assert.rejects(held, AppendThreadStoppedError);
      assert.equal(reports.length, 1);
      assert.match(reports[0]!, /append thread stopped/);
      // Stored or not, never twice: sent again, its entries are accepted or known duplicates.
      const again = await here.append('A', await packed(body(2000, 7)));
      assert.equal(again.accepted + again.duplicates, 2000);
      assert.equal((await here.log('A'))!.checkpoint.size, 2500);
      // The next batch starts a new thread and is stored there.
      assert.ok(thread.usable);
      assert.deepEqual(await thread.append('A', await packed(body(500, 8)), Date.now()), { accepted: 500, duplicates: 0 });
      assert.equal((await checkTree(here, 'A', ['AccessLog'])).length, 3000);
    } finally {
      await thread.close();
    }
  });

  it('stores a batch once when its thread ends after storing it, whether its answer was read or not', async () => {
    const { here, thread, file } = await threadBeside('late');
    const peek = new Database(file, { readonly: true });
    try {
      const size = () => (peek.prepare('SELECT max(size) AS size FROM tree_checkpoints').get() as { size: number }).size;
      const held = thread.append('A', await packed(body(2000, 7)), Date.now());
      // This thread waits, reading nothing, until the batch is committed: its answer is then
      // on its way, and ending the thread races it (both outcomes happen).
      const deadline = performance.now() + 30_000;
      while (size() === 500) assert.ok(performance.now() < deadline, 'the batch was stored');
      const ended = thread.terminate();
      const outcome = await held.then(
        (result) => result,
        (err: unknown) => err,
      );
      await ended;
      if (outcome instanceof Error) assert.ok(outcome instanceof AppendThreadStoppedError, String(outcome));
      else assert.deepEqual(outcome, { accepted: 2000, duplicates: 0 });
      // Sent again, as a client that saw no answer would: every entry a known duplicate.
      assert.deepEqual(await here.append('A', await packed(body(2000, 7))), { accepted: 0, duplicates: 2000 });
      assert.equal((await here.log('A'))!.checkpoint.size, 2500);
      assert.equal((await checkTree(here, 'A', ['AccessLog'])).length, 2500);
    } finally {
      peek.close();
      await thread.close();
    }
  });

  it("gives the thread's errors with their classes and codes", () => {
    const sqlite = raised(threadError(new Database.SqliteError('database or disk is full', 'SQLITE_FULL')));
    assert.ok(sqlite instanceof Database.SqliteError);
    assert.equal(sqlite.code, 'SQLITE_FULL');
    assert.equal(sqlite.message, 'database or disk is full');
    const unknown = raised(threadError(new UnknownTenantError('T9')));
    assert.ok(unknown instanceof UnknownTenantError);
    assert.equal(unknown.tenantId, 'T9');
    assert.ok(raised(threadError(new StoreRolledBackError('rolled back'))) instanceof StoreRolledBackError);
    const other = raised(threadError(Object.assign(new Error('no space'), { code: 'ENOSPC' })));
    assert.equal((other as { code?: string }).code, 'ENOSPC');
    assert.match(other.stack ?? '', /no space/);
  });

  it('leaves batches to the calling thread when the thread cannot start, and gives up on it after three tries', async () => {
    const reports: string[] = [];
    const thread = new AppendThread({ file: join(dir, 'none', DATABASE_FILE) }, (err) => reports.push(err.message));
    const batch = await packed(body(600, 4));
    for (let i = 0; i < 3; i++) {
      assert.ok(thread.usable);
      assert.equal(await thread.append('A', batch, Date.now()), undefined);
    }
    assert.equal([...batch].length, 600, 'the entries are still here to store');
    assert.equal(thread.usable, false);
    assert.equal(reports.length, 3);
    assert.match(reports[0]!, /append thread stopped/);
    await thread.close();
  });
});
