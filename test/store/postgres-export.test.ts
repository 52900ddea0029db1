/**
 * A whole PostgreSQL store read out (exportAll, what `logwarden copy` reads): hot entries in
 * batches of bounded text and sealed ones a segment a batch, every entry once; other processes'
 * writes wait until the export closes, and one that connected or began writing meanwhile fails
 * the export as it closes, so a copy never says "checked" without what such a process
 * acknowledged. Into SQLite (one series of sequences for the whole store) it goes when no two
 * tenants' entries have the same sequence, kept as they are, and is refused otherwise, leaving
 * the target empty.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { checkCopy, copyStore } from '../../src/store/store-copy.ts';
import { BATCH_BYTES, SequenceClashError, StoreInUseError } from '../../src/store/store-transfer.ts';
import { readBatches } from '../support/export-batches.ts';
import { entriesOf } from '../support/page-entries.ts';
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

    const { seen, sizes } = await readBatches(await store.exportAll(), '7', BATCH_BYTES);
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

  it('copies into SQLite when no two tenants have entries of one sequence: the same pages, sequences and leaves; refused otherwise, nothing written', async () => {
    const store = await open();
    await store.createTenant({ id: '7', name: 'Acme' });
    await store.createTenant({ id: '8', name: 'No entries yet' });
    await store.createHold({ tenantId: '7', logType: null, fromMs: T0, toMs: null, reason: 'Case 7', createdBy: 'a@b' });
    await store.append(
      '7',
      Array.from({ length: 200 }, (_, i) => makeEntry(i % 2 ? 'AccessLog' : 'UserCallPlay', T0 + i * 60_000, `{"i":${i}}`)),
    );
    await store.settle();
    await store.append(
      '7',
      Array.from({ length: 50 }, (_, i) => makeEntry('AccessLog', T0 + i * 90_000, `{"hot":${i}}`)),
    );
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-pg-to-sqlite-'));
    try {
      const into = openSqliteStore({ dataDir: join(dir, 'one') });
      const expected = await copyStore(store, into).finally(() => into.close());
      const target = openSqliteStore({ dataDir: join(dir, 'one') }); // afresh: its log keys from the copied secrets
      try {
        assert.deepEqual(
          (await checkCopy(target, expected)).tenants.map((t) => [t.tenantId, t.entries, t.holds]),
          [
            ['7', 250, 1],
            ['8', 0, 0],
          ],
        );
        for (const logType of ['AccessLog', 'UserCallPlay']) {
          const query = { tenantId: '7', logType, fromMs: 0, toMs: null };
          const [a, b] = [await store.firstPage(query, 1000), await target.firstPage(query, 1000)];
          assert.ok(a.total > 0);
          assert.deepEqual(
            [b.total, b.watermark, entriesOf(b), b.seqs, await target.leafIndexes('7', [...(b.seqs ?? [])])],
            [a.total, a.watermark, entriesOf(a), a.seqs, await store.leafIndexes('7', [...(a.seqs ?? [])])],
          );
        }
      } finally {
        await target.close();
      }

      // Tenant 8's first entry has tenant 7's first sequence: refused, and the target left empty.
      await store.append('8', [makeEntry('AccessLog', T0, '{"other":1}')]);
      const refused = openSqliteStore({ dataDir: join(dir, 'two') });
      try {
        await assert.rejects(
          copyStore(store, refused),
          (err) => err instanceof SequenceClashError && /tenants 7 and 8 .* sequence number 1\b/.test(err.message),
        );
        assert.deepEqual(await refused.listTenants(), []);
      } finally {
        await refused.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
