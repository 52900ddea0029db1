/**
 * A whole PostgreSQL store read out (exportAll, what `logwarden copy` reads): hot entries in
 * batches of bounded text and sealed ones a segment a batch, every entry once; other processes'
 * writes wait until the export closes, and one that connected or began writing meanwhile fails
 * the export as it closes, so a copy never says "checked" without what such a process
 * acknowledged.
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { BATCH_BYTES } from '../../src/store/sqlite/store-export.ts';
import { copyStore } from '../../src/store/store-copy.ts';
import { StoreInUseError } from '../../src/store/store-transfer.ts';
import { startPostgres } from '../support/postgres.ts';
import { makeEntry } from './contract/store.contract.ts';

const { cluster, skip } = await startPostgres();
after(() => cluster?.stop());

const T0 = Date.UTC(2026, 0, 1);

describe('postgres store read out whole', { skip }, () => {
  let url: string;
  const stores: PostgresStore[] = [];
  const open = async (): Promise<PostgresStore> => {
    const s = await openPostgresStore({ url, poolSize: 2, sealAgeMs: 0, noSealer: true });
    stores.push(s);
    return s;
  };

  beforeEach(async () => {
    url = await cluster!.createDatabase({ migrated: true });
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await cluster!.dropDatabase(url);
  });

  it('reads hot entries in batches of at most BATCH_BYTES of text (one entry at least) and sealed ones a segment a batch, every entry once', async () => {
    const store = await open();
    await store.createTenant({ id: '7', name: 'Big entries' });
    await store.append(
      '7',
      Array.from({ length: 300 }, (_, i) => makeEntry('UserCallPlay', T0 + i * 1000, `{"sealed":${i}}`)),
    );
    await store.settle();
    const entryBytes = Math.ceil(BATCH_BYTES / 3);
    const n = 5;
    await store.append(
      '7',
      Array.from({ length: n }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, JSON.stringify({ i, pad: 'x'.repeat(entryBytes) }))),
    );
    await store.append('7', [makeEntry('UserCallPlay', T0, '{"small":true}')]);

    const from = await store.exportAll();
    const seen: number[] = [];
    const sizes: number[] = [];
    try {
      for await (const batch of from.entries('7')) {
        const bytes = batch.reduce((sum, e) => sum + e.body.length, 0);
        sizes.push(bytes);
        assert.ok(
          batch.length === 1 || bytes - batch[batch.length - 1]!.body.length < BATCH_BYTES,
          `a batch of ${batch.length} entries, ${bytes} bytes`,
        );
        for (const e of batch) seen.push(e.seq);
      }
    } finally {
      await from.close();
    }
    assert.ok(sizes.length >= 3, `batches of ${sizes.join(', ')} bytes`);
    assert.equal(seen.length, 300 + n + 1);
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
  });

  it('holds writes off until it closes; a process that connected meanwhile, its append waiting, fails the export as it closes', async () => {
    const store = await open();
    await store.createTenant({ id: '7', name: 'Acme' });
    await store.append('7', [makeEntry('AccessLog', T0, '{"before":1}')]);

    const from = await store.exportAll();
    const server = await open(); // another process, started while the export runs
    let acknowledged = false;
    const appended = server.append('7', [makeEntry('AccessLog', T0 + 1, '{"meanwhile":1}')]).then((r) => {
      acknowledged = true;
      return r;
    });
    // The append waits on the export's locks: the state read out is the one before it.
    let read = 0;
    for await (const batch of from.entries('7')) read += batch.length;
    assert.equal(read, 1);
    assert.equal(acknowledged, false);
    await assert.rejects(from.close(), (err) => err instanceof StoreInUseError && err.meanwhile);
    assert.deepEqual(await appended, { accepted: 1, duplicates: 0 });
  });

  it('a copy whose source got a writer while it was read fails once its import is done, instead of returning', async () => {
    const store = await open();
    await store.createTenant({ id: '7', name: 'Acme' });
    await store.append('7', [makeEntry('AccessLog', T0, '{"before":1}')]);
    const target = await openPostgresStore({ url: await cluster!.createDatabase({ migrated: true }), poolSize: 2, noSealer: true });
    stores.push(target);
    // A server starts on the source and sends an entry while the target takes the copy in.
    let appended: Promise<unknown> | undefined;
    const into: PostgresStore = Object.assign(Object.create(target) as PostgresStore, {
      importAll: async (...args: Parameters<PostgresStore['importAll']>) => {
        appended = (await open()).append('7', [makeEntry('AccessLog', T0 + 1, '{"meanwhile":1}')]);
        await target.importAll(...args);
      },
    });
    await assert.rejects(copyStore(store, into), (err) => err instanceof StoreInUseError && err.meanwhile);
    assert.deepEqual(await appended, { accepted: 1, duplicates: 0 });
    assert.equal((await target.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 1, 'the copy lacks it');
  });
});
