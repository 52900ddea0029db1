/**
 * Reading a tenant's entries by leaf index (service/leaf-entries.ts) on both stores: sealed and
 * hot entries byte for byte as GET /v2/logs serves them, in leaf order across batch boundaries,
 * another tenant's interleaved entries never among them, purged ones and receipts skipped; entries
 * stored in time order read with a few store calls a batch.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { LeafEntryReader } from '../../src/service/leaf-entries.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store, StoredPage } from '../../src/store/store.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { tempDir } from '../support/live-source.ts';
import { startPostgres } from '../support/postgres.ts';

const T0 = Date.UTC(2026, 2, 1);
const OTHER = '910000000000000001';

const entry = (owner: string, type: string, ms: number, n: number) => makeEntry(type, ms, `{"owner":"${owner}","n":${n},"x":"ẞ\\u0000"}`);

/** Every entry the tenant has, read `max` leaves at a time. */
async function readAll(store: Store, tenantId: string, max: number) {
  const log = (await store.log!(tenantId))!;
  const entries: { leafIndex: number; logType: string; text: string }[] = [];
  let purged = 0;
  const reader = new LeafEntryReader(store, tenantId);
  for (let next = 0; next < log.checkpoint.size; ) {
    const batch = await reader.read(log, next, max);
    assert.ok(batch.next > next && batch.next <= next + max);
    for (const e of batch.entries) entries.push({ leafIndex: e.leafIndex, logType: e.logType, text: e.text.toString('utf8') });
    purged += batch.purged;
    next = batch.next;
  }
  return { entries, purged, size: log.checkpoint.size };
}

interface Kind {
  readonly name: string;
  readonly skip?: string | undefined;
  /** A new store that seals what it holds when told to (`seal`, which resolves to the entries left hot), and its removal. */
  create(): Promise<{ store: Store; seal(): Promise<number>; dispose(): Promise<void> }>;
}

const pg = await startPostgres();
if (pg.cluster) after(() => pg.cluster.stop());

const KINDS: Kind[] = [
  {
    name: 'sqlite',
    async create() {
      const dir = tempDir('logwarden-leaves-');
      const store = openSqliteStore({ dataDir: dir.path });
      return {
        store,
        seal: async () => (store.settle() > 0 ? 0 : -1),
        async dispose() {
          await store.close();
          dir.remove();
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: pg.skip,
    async create() {
      const url = await pg.cluster!.createDatabase();
      // Sealing any age, in the background only once a minute: what the test leaves hot stays hot.
      const store = await openPostgresStore({ url, poolSize: 4, sealAgeMs: 0, sealIntervalMs: 60_000 });
      return {
        store,
        async seal() {
          await store.settle();
          return Number((await pg.cluster!.query<{ n: string }>(url, 'SELECT count(*) AS n FROM entries')).rows[0]!.n);
        },
        async dispose() {
          await store.close();
          await pg.cluster!.dropDatabase(url);
        },
      };
    },
  },
];

for (const kind of KINDS) {
  describe(`entries by leaf index (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    let dispose = async () => {};
    after(async () => {
      await t?.close();
      await dispose();
    });

    it('gives sealed and hot entries in leaf order, as served, none of another tenant; skips purged entries and receipts', async () => {
      const created = await kind.create();
      dispose = created.dispose;
      t = await startTestApp({ store: created.store });
      const store = t.store;
      await store.createTenant({ id: OTHER, name: 'Other' });
      // Same millisecond, several types, another tenant in between, a late entry; then sealed.
      await store.append(t.tenantId, [entry('me', 'AccessLog', T0, 0), entry('me', 'AccessLog', T0, 1), entry('me', 'UserCallPlay', T0, 2)]);
      await store.append(OTHER, [entry(OTHER, 'AccessLog', T0, 3)]);
      await store.append(t.tenantId, [entry('me', 'AccessLog', T0 - 86_400_000, 4), entry('me', 'AccessLog', T0 + 1, 5)]);
      assert.equal(await created.seal(), 0, 'every entry sealed');
      await store.append(t.tenantId, [entry('me', 'AccessLog', T0, 6), entry('me', 'UserCallPlay', T0 + 2, 7)]);

      const { entries, purged, size } = await readAll(store, t.tenantId, 2);
      assert.equal(purged, 0);
      assert.deepEqual(
        entries.map((e) => e.leafIndex),
        Array.from({ length: size }, (_, i) => i),
      );
      assert.deepEqual(
        entries.map((e) => [e.logType, JSON.parse(e.text).logRecord.n]),
        [
          ['AccessLog', 0],
          ['AccessLog', 1],
          ['UserCallPlay', 2],
          ['AccessLog', 4],
          ['AccessLog', 5],
          ['AccessLog', 6],
          ['UserCallPlay', 7],
        ],
      );
      for (const type of ['AccessLog', 'UserCallPlay']) {
        const res = await t.list({ logType: type, fromDateTime: '2026-01-01T00:00:00Z' });
        const served = res.body;
        const mine = entries.filter((e) => e.logType === type);
        for (const e of mine) assert.ok(served.includes(e.text), `served as read: ${e.text}`);
        assert.equal(JSON.parse(served).logEntries.length, mine.length);
      }

      const receipt = await store.purge(t.tenantId, 'AccessLog', T0, 100);
      assert.equal(receipt.count, 1);
      const after = await readAll(store, t.tenantId, 3);
      assert.equal(after.size, size + 1, 'the receipt is a leaf');
      assert.equal(after.purged, 1);
      assert.deepEqual(
        after.entries,
        entries.filter((e) => !e.text.includes('"n":4')),
      );
      const typed = await new LeafEntryReader(store, t.tenantId).read((await store.log!(t.tenantId))!, 0, 100, new Set(['UserCallPlay']));
      assert.deepEqual(
        typed.entries.map((e) => e.leafIndex),
        [2, 6],
      );
      assert.equal(typed.next, size + 1);
    });

    it('reads a millisecond holding more entries than a batch once, not once a batch', async () => {
      const tenant = '920000000000000001';
      await t.store.createTenant({ id: tenant, name: 'Same instant' });
      // 2,000 entries of one type and millisecond, with another type's between the appends.
      for (let b = 0; b < 10; b++) {
        await t.store.append(
          tenant,
          Array.from({ length: 200 }, (_, i) => entry('same', 'AccessLog', T0, b * 200 + i)),
        );
        await t.store.append(tenant, [entry('same', 'UserCallPlay', T0, -b)]);
      }
      let read = 0;
      const counting = new Proxy(t.store, {
        get(target, prop) {
          const value: unknown = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          if (prop !== 'firstPage' && prop !== 'nextPage') return value.bind(target);
          return async (...args: unknown[]) => {
            const page = (await value.apply(target, args)) as StoredPage;
            read += page.count;
            return page;
          };
        },
      });
      const { entries, size } = await readAll(counting, tenant, 200);
      assert.equal(entries.length, 2010);
      assert.deepEqual(
        entries.map((e) => e.leafIndex),
        Array.from({ length: size }, (_, i) => i),
      );
      assert.deepEqual(
        entries.filter((e) => e.logType === 'AccessLog').map((e) => JSON.parse(e.text).logRecord.n),
        Array.from({ length: 2000 }, (_, i) => i),
      );
      // Read from where the batch before ended: about a page a batch, not all the millisecond's entries before the batch's.
      assert.ok(read < 2 * 2010, `${read} entries read for 2,010`);
    });

    it('reads entries stored in time order with a few statements a batch, not some for each entry; late ones among them too', async () => {
      const tenant = '930000000000000001';
      await t.store.createTenant({ id: tenant, name: 'In time order' });
      // 3,000 entries a second apart, two types; every 100th stored late (a month before).
      const DAY = 86_400_000;
      for (let b = 0; b < 3; b++) {
        await t.store.append(
          tenant,
          Array.from({ length: 1000 }, (_, i) => {
            const n = b * 1000 + i;
            return entry('ordered', n % 2 ? 'AccessLog' : 'UserCallPlay', n % 100 === 99 ? T0 - 30 * DAY + n : T0 + n * 1000, n);
          }),
        );
      }
      let calls = 0;
      const counting = new Proxy(t.store, {
        get(target, prop) {
          const value: unknown = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          if (prop !== 'firstPage' && prop !== 'nextPage' && prop !== 'leafIndexes') return value.bind(target);
          return (...args: unknown[]) => {
            calls++;
            return value.apply(target, args);
          };
        },
      });
      const { entries, size } = await readAll(counting, tenant, 1000);
      assert.deepEqual(
        entries.map((e) => e.leafIndex),
        Array.from({ length: size }, (_, i) => i),
      );
      assert.deepEqual(
        entries.filter((e) => e.logType !== 'LogwardenAdminLog').map((e) => JSON.parse(e.text).logRecord.n),
        Array.from({ length: 3000 }, (_, i) => i),
      );
      assert.ok(calls < 3000 / 5, `${calls} store calls for 3,000 entries`);
    });
  });
}
