/**
 * The store conformance suite: every behaviour a Store must show, run unchanged against each
 * implementation (test/store/*.test.ts). A backend supplies a factory of empty databases; the
 * suite opens stores on them, as many as a case needs, the way several processes would.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { actTrail } from '../../../src/admin/trail.ts';
import { generateDemoEntries } from '../../../src/demo/demo-data.ts';
import { entryKey, type NewEntry } from '../../../src/logs/entry.ts';
import { ADMIN_LOG_TYPE } from '../../../src/logs/log-types.ts';
import { formatEventTime } from '../../../src/logs/time.ts';
import {
  type AccessKeyRecord,
  type Checkpoint,
  CorruptEntryError,
  CorruptSegmentError,
  type EntryQuery,
  SchemaTooNewError,
  type Store,
  type StoredPage,
  UnknownTenantError,
} from '../../../src/store/store.ts';
import { packedOf } from '../../support/packed.ts';
import { entriesOf, type PageText } from '../../support/page-entries.ts';
import { keyUseContractCases } from './store-key-use.contract.ts';
import { retentionContractCases } from './store-retention.contract.ts';
import { type TransferSource, transferContractCases } from './store-transfer.contract.ts';
import { treeContractCases } from './store-tree.contract.ts';

/** One empty database of the backend under test. */
export interface StoreFixture {
  /** Opens a Store on this database, migrating it if needed. Several may be open at once. */
  open(): Promise<Store>;
  /** The schema version recorded in the database. */
  schemaVersion(): Promise<number>;
  /** Records another schema version, to pose as a database written by a newer logwarden. */
  setSchemaVersion(version: number): Promise<void>;
  /** Takes the database back to what the previous schema version wrote (before its latest step); no store is open on it. */
  toPreviousSchema(): Promise<void>;
  /** Takes the database back to what schema version 9 wrote, before access keys' uses were recorded; no store is open on it. */
  beforeKeyUses(): Promise<void>;
  /** Deletes the database; every store opened on it is closed by then. */
  teardown(): Promise<void>;
  /**
   * How the suite drives and inspects sealed entries (compressed segments): for the cases of
   * "sealed entries", which are skipped without it. Stores opened by `open` may seal in the
   * background at any moment (the suite's other cases then run against sealing too).
   */
  readonly segments?: SegmentFixture;
}

/** Test-only access to a store's sealing, outside the Store interface. */
export interface SegmentFixture {
  /**
   * Seals and compacts on `store`, as its background work would, every stored entry it can
   * (whatever its age), and resolves when nothing is left to do.
   */
  settle(store: Store): Promise<void>;
  /** Entries now held in sealed segments, all tenants and types. */
  sealedEntries(): Promise<number>;
  /**
   * Changes one byte inside the stored data of one segment of the tenant and log type, as a
   * disk fault would; resolves false when there is no such segment.
   */
  corrupt(tenantId: string, logType: string): Promise<boolean>;
  /** Opens a store on this database that seals only when settled, never in the background. */
  openUnsealing(): Promise<Store>;
  /**
   * Alters the tenant's one hot row (not yet sealed) whose text holds `holding`, as a damaged
   * disk or a write behind the store's back would: `holding` replaced by `replacement` (as
   * long) in its text, or without one its event time moved by a millisecond. Resolves to its
   * sequence.
   */
  alterHot(tenantId: string, holding: string, replacement?: string): Promise<number>;
  /**
   * The bytes of the live segments' data (`live`), and the bytes the database spends on
   * holding segments (`used`: for SQLite, the pages of the segment table and its index; for
   * PostgreSQL, the segment relation with its index and TOAST after vacuum).
   */
  space(): Promise<{ live: number; used: number }>;
}

export interface StoreContractOptions {
  name: string;
  /**
   * A store of its own for one case. `fresh`: one that no logwarden has opened yet (the
   * migration cases); otherwise it may start out migrated, never opened, which is faster.
   */
  create(options?: { fresh?: boolean }): Promise<StoreFixture>;
  /** When set, the whole suite is skipped, showing this reason. */
  skip?: string | undefined;
  /** Whether the store keeps the verifiable log (Store.log, Store.leafIndexes): its cases run only then. */
  verifiableLog?: boolean;
  /** Sources the transfer cases copy out of besides an SQLite store (stores of this backend). */
  transferSources?: readonly TransferSource[];
}

const T0 = Date.UTC(2025, 5, 12, 19, 55, 14, 638);
const HOUR = 3_600_000;
const TENANT = '1234567890123456789';
const OTHER = '98765432109876543210'; // 20 digits: beyond int64

/** A stored entry as ingest would produce it: Gong field order, key derived from type and text. */
export function makeEntry(logType: string, timeMs: number, logRecordText = '{}', user?: string): NewEntry {
  const userPart = user === undefined ? '' : `"userId":${JSON.stringify(user)},`;
  const body = `{${userPart}"eventTime":"${formatEventTime(timeMs)}","logRecord":${logRecordText}}`;
  return { logType, eventTimeMs: timeMs, body, key: entryKey(logType, body) };
}

function q(logType: string, fromMs: number, toMs: number | null, tenantId = TENANT): EntryQuery {
  return { tenantId, logType, fromMs, toMs };
}

/** Pages through a query as the API does: first page, then keyset pages under its watermark. */
export async function readAll(
  store: Store,
  query: EntryQuery,
  pageSize = 100,
  between?: () => Promise<void>,
): Promise<{ total: number; watermark: number; entries: PageText[] }> {
  const first = await store.firstPage(query, pageSize);
  const entries = checkedEntries(first, pageSize);
  let page: StoredPage = first;
  while (page.next !== null) {
    await between?.();
    page = await store.nextPage(query, page.next, first.watermark, pageSize);
    assert.ok(page.count > 0, 'a page said more entries follow, and none did');
    entries.push(...checkedEntries(page, pageSize));
  }
  return { total: first.total, watermark: first.watermark, entries };
}

/**
 * A page's entries, checked against its shape: within the limit, its count matching its text,
 * full when more follow, and resuming at its last entry's time.
 */
function checkedEntries(page: StoredPage, limit: number): PageText[] {
  assert.ok(page.count <= limit, `${page.count} entries on a page of ${limit}`);
  const entries = entriesOf(page);
  if (page.next !== null) {
    assert.equal(page.count, limit, 'a page short of its limit said more entries follow');
    assert.equal(page.next.timeMs, entries[entries.length - 1]!.timeMs, 'the next page resumes elsewhere than after the last entry');
  }
  return entries;
}

/** In event time order (the order within one time is checked by the cases that set it up). */
function assertSorted(entries: readonly PageText[]): void {
  for (let i = 1; i < entries.length; i++) {
    assert.ok(entries[i - 1]!.timeMs <= entries[i]!.timeMs, `entries ${i - 1} and ${i} out of order`);
  }
}

/** A deterministic generator (Lehmer, minimal standard), so a failing case replays identically. */
function prng(seed: number): () => number {
  let s = ((seed * 2654435761) % 2147483646) + 1; // spread small seeds over the range
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

/**
 * Runs `read` in rounds while `writers` append batches (mostly small, some up to `maxBatch`) of
 * AccessLog entries to TENANT at `timeOf` times: at least `minRounds` rounds, and on until the
 * writers have written `maxEntries`, within five seconds. Returns the number of batches committed.
 */
async function whileWriting(
  writers: readonly Store[],
  o: { seedBase: number; maxEntries: number; maxBatch: number; timeOf: (rnd: () => number) => number; minRounds: number; minBatches: number },
  read: (round: number) => Promise<void>,
): Promise<number> {
  let stop = false;
  let n = 0;
  let committed = 0;
  let active = 0;
  const write = async (w: Store, seed: number): Promise<void> => {
    const rnd = prng(seed);
    active++;
    while (!stop && n < o.maxEntries) {
      const size = 1 + Math.floor(rnd() ** 3 * o.maxBatch);
      const batch = Array.from({ length: size }, () => makeEntry('AccessLog', o.timeOf(rnd), `{"n":${n++}}`));
      await w.append(TENANT, batch);
      committed++;
    }
    active--;
  };
  const running = writers.map((w, i) => write(w, o.seedBase + i));
  try {
    // Reading goes on for at least minRounds, and while the writers still write for up to five
    // seconds, or longer until they have committed minBatches: however slow the machine, reads
    // interleave with that many commits. The writers stop once the reader is done.
    const until = Date.now() + 5000;
    for (let round = 0; round < o.minRounds || (active > 0 && (committed < o.minBatches || Date.now() < until)); round++) await read(round);
  } finally {
    stop = true;
    await Promise.all(running);
  }
  return committed;
}

export function runStoreContract({ name, create, skip, verifiableLog, transferSources }: StoreContractOptions): void {
  describe(`Store contract: ${name}`, { skip }, () => {
    let fixture: StoreFixture;
    let opened: Store[];
    let store: Store;

    const open = async (f: StoreFixture = fixture): Promise<Store> => {
      const s = await f.open();
      opened.push(s);
      return s;
    };

    beforeEach(async () => {
      opened = [];
      fixture = await create();
      store = await open();
      await store.createTenant({ id: TENANT, name: 'Acme' });
    });

    afterEach(async () => {
      for (const s of opened) await s.close();
      await fixture.teardown();
    });

    describe('append and idempotency', () => {
      it('stores a batch and reports what it accepted', async () => {
        const batch = [0, 1, 2].map((i) => makeEntry('AccessLog', T0 + i, `{"i":${i}}`));
        assert.deepEqual(await store.append(TENANT, batch), { accepted: 3, duplicates: 0 });
        const page = await store.firstPage(q('AccessLog', T0, null), 10);
        assert.equal(page.total, 3);
        assert.deepEqual(
          entriesOf(page).map((e) => [e.timeMs, e.body]),
          batch.map((e) => [e.eventTimeMs, e.body]),
        );
      });

      it('accepts an empty batch', async () => {
        assert.deepEqual(await store.append(TENANT, []), { accepted: 0, duplicates: 0 });
      });

      it('stores an entry repeated within one batch once', async () => {
        const a = makeEntry('AccessLog', T0, '{"a":1}');
        const b = makeEntry('AccessLog', T0, '{"b":1}');
        assert.deepEqual(await store.append(TENANT, [a, b, a, a, b]), { accepted: 2, duplicates: 3 });
        assert.equal((await store.firstPage(q('AccessLog', T0, null), 10)).total, 2);
      });

      it('stores an entry repeated across batches once', async () => {
        const batch = [0, 1, 2, 3].map((i) => makeEntry('AccessLog', T0 + i * 1000));
        assert.deepEqual(await store.append(TENANT, batch.slice(0, 3)), { accepted: 3, duplicates: 0 });
        assert.deepEqual(await store.append(TENANT, batch), { accepted: 1, duplicates: 3 });
        assert.deepEqual(await store.append(TENANT, batch), { accepted: 0, duplicates: 4 });
        const all = await readAll(store, q('AccessLog', T0, null));
        assert.equal(all.total, 4);
        assert.equal(new Set(all.entries.map((e) => e.body)).size, 4);
      });

      it('keeps identical text under different log types apart', async () => {
        const body = makeEntry('AccessLog', T0).body;
        const as = (logType: string): NewEntry => ({ logType, eventTimeMs: T0, body, key: entryKey(logType, body) });
        assert.deepEqual(await store.append(TENANT, [as('AccessLog'), as('UserCallPlay')]), { accepted: 2, duplicates: 0 });
        assert.equal((await store.firstPage(q('AccessLog', T0, null), 10)).total, 1);
        assert.equal((await store.firstPage(q('UserCallPlay', T0, null), 10)).total, 1);
      });

      it('refuses a batch for an unknown tenant', async () => {
        await assert.rejects(store.append('555', [makeEntry('AccessLog', T0)]), UnknownTenantError);
      });
    });

    describe('all or nothing', () => {
      function* failingAfter(n: number, logType = 'AccessLog'): Generator<NewEntry> {
        for (let i = 0; i < n; i++) yield makeEntry(logType, T0 + i, `{"n":${i}}`);
        throw new Error('source failed');
      }

      it('stores nothing of a batch whose entries fail midway', async () => {
        await assert.rejects(store.append(TENANT, failingAfter(5)), /source failed/);
        assert.equal((await store.firstPage(q('AccessLog', 0, null), 10)).total, 0);
        // The same entries are new afterwards: nothing was recorded as seen.
        const again = [0, 1, 2, 3, 4].map((i) => makeEntry('AccessLog', T0 + i, `{"n":${i}}`));
        assert.deepEqual(await store.append(TENANT, again), { accepted: 5, duplicates: 0 });
      });

      it('stores nothing of a large batch failing after many entries', async () => {
        await assert.rejects(store.append(TENANT, failingAfter(12_000)), /source failed/);
        assert.equal((await store.firstPage(q('AccessLog', 0, null), 10)).total, 0);
      });

      it('keeps log types apart after a failed batch introduced a new one', async () => {
        await assert.rejects(store.append(TENANT, failingAfter(3, 'NewTypeA')), /source failed/);
        await store.append(TENANT, [makeEntry('NewTypeB', T0, '{"b":true}')]);
        await store.append(TENANT, [makeEntry('NewTypeA', T0 + 1, '{"a":true}')]);
        const a = await store.firstPage(q('NewTypeA', 0, null), 10);
        const b = await store.firstPage(q('NewTypeB', 0, null), 10);
        assert.deepEqual(
          entriesOf(a).map((e) => e.body),
          [makeEntry('NewTypeA', T0 + 1, '{"a":true}').body],
        );
        assert.deepEqual(
          entriesOf(b).map((e) => e.body),
          [makeEntry('NewTypeB', T0, '{"b":true}').body],
        );
        // A second store on the same database sees the same separation.
        const other = await open();
        assert.equal((await other.firstPage(q('NewTypeA', 0, null), 10)).total, 1);
        assert.equal((await other.firstPage(q('NewTypeB', 0, null), 10)).total, 1);
      });
    });

    describe('ranges, order and counts', () => {
      it('tallies entries per hour for the hours a range overlaps, sealed or not, duplicates and other types and tenants aside', async () => {
        const h0 = Math.floor(T0 / HOUR) * HOUR;
        const batch = [
          makeEntry('AccessLog', h0, '{"a":1}'),
          makeEntry('AccessLog', h0 + HOUR - 1, '{"a":2}'),
          makeEntry('AccessLog', h0 + 3 * HOUR + 5, '{"a":3}'),
          makeEntry('AccessLog', h0 + 3 * HOUR + 6, '{"a":4}'),
          makeEntry('AccessLog', h0 + 3 * HOUR + 7, '{"a":5}'),
          makeEntry('AccessLog', h0 - 30 * 86_400_000, '{"a":6}'),
          makeEntry('UserCallPlay', h0 + 10, '{"p":1}'),
        ];
        await store.append(TENANT, batch);
        await store.append(TENANT, batch.slice(0, 2)); // duplicates are not counted again
        await store.createTenant({ id: OTHER, name: 'Other' });
        await store.append(OTHER, [makeEntry('AccessLog', h0 + 1, '{"o":1}')]);
        if (fixture.segments) await fixture.segments.settle(store);
        const tallies = (fromMs: number, toMs: number | null, tenantId = TENANT, type = 'AccessLog') =>
          store.hourlyTallies(q(type, fromMs, toMs, tenantId));
        assert.deepEqual(await tallies(h0, h0 + 4 * HOUR), [
          { hourMs: h0, count: 2 },
          { hourMs: h0 + 3 * HOUR, count: 3 },
        ]);
        // The hours at the ends count whole, however little of them the range covers.
        assert.deepEqual(await tallies(h0 + HOUR - 1, h0 + 3 * HOUR + 1), [
          { hourMs: h0, count: 2 },
          { hourMs: h0 + 3 * HOUR, count: 3 },
        ]);
        assert.deepEqual(await tallies(h0 + HOUR, h0 + 3 * HOUR), []);
        assert.deepEqual(await tallies(h0 + 1, null), [
          { hourMs: h0, count: 2 },
          { hourMs: h0 + 3 * HOUR, count: 3 },
        ]);
        assert.deepEqual(
          (await tallies(0, null)).map((t) => t.count),
          [1, 2, 3],
        );
        assert.deepEqual(await tallies(h0, null, TENANT, 'UserCallPlay'), [{ hourMs: h0, count: 1 }]);
        assert.deepEqual(await tallies(h0, null, OTHER), [{ hourMs: h0, count: 1 }]);
        assert.deepEqual(await tallies(h0, null, TENANT, 'NeverStored'), []);
        assert.deepEqual(await tallies(h0, null, '555'), []);
        // Over whole hours the tallies add up to the range's total.
        const total = (await store.firstPage(q('AccessLog', h0, h0 + 4 * HOUR), 1)).total;
        assert.equal(total, 5);
        // The latest hour holding an entry (what the purge measures its clock by).
        assert.equal(await store.latestEntryHour(TENANT, 'AccessLog'), h0 + 3 * HOUR);
        // Of the hours starting at or before a moment: the one it falls in counts, later ones do not.
        assert.equal(await store.latestEntryHour(TENANT, 'AccessLog', h0 + 3 * HOUR), h0 + 3 * HOUR);
        assert.equal(await store.latestEntryHour(TENANT, 'AccessLog', h0 + 3 * HOUR - 1), h0);
        assert.equal(await store.latestEntryHour(TENANT, 'AccessLog', h0 - 1), h0 - 30 * 86_400_000);
        assert.equal(await store.latestEntryHour(TENANT, 'AccessLog', h0 - 30 * 86_400_000 - 1), undefined);
        assert.equal(await store.latestEntryHour(TENANT, 'UserCallPlay'), h0);
        assert.equal(await store.latestEntryHour(OTHER, 'AccessLog'), h0);
        assert.equal(await store.latestEntryHour(TENANT, 'NeverStored'), undefined);
        assert.equal(await store.latestEntryHour('555', 'AccessLog'), undefined);
      });

      it('treats ranges as half-open: from inclusive, to exclusive', async () => {
        const from = T0;
        const to = T0 + HOUR;
        const times = [from - 1, from, from + 1, to - 1, to, to + 1];
        await store.append(
          TENANT,
          times.map((t) => makeEntry('AccessLog', t)),
        );
        const page = await store.firstPage(q('AccessLog', from, to), 100);
        assert.deepEqual(
          entriesOf(page).map((e) => e.timeMs),
          [from, from + 1, to - 1],
        );
        assert.equal(page.total, 3);
        assert.equal((await store.firstPage(q('AccessLog', to - 1, to), 10)).total, 1);
        assert.equal((await store.firstPage(q('AccessLog', to, to + 1), 10)).total, 1);
      });

      it('reads up to the latest entry when the range has no end', async () => {
        const far = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
        await store.append(TENANT, [makeEntry('AccessLog', T0), makeEntry('AccessLog', far)]);
        const page = await store.firstPage(q('AccessLog', T0, null), 10);
        assert.deepEqual(
          entriesOf(page).map((e) => e.timeMs),
          [T0, far],
        );
      });

      it('stores event times across the whole renderable range', async () => {
        const times = [Date.parse('0000-01-01T00:00:00.000Z'), Date.parse('1969-12-31T23:59:59.999Z'), 0, T0];
        await store.append(
          TENANT,
          times.map((t) => makeEntry('AccessLog', t)),
        );
        const all = await readAll(store, q('AccessLog', times[0]!, null), 2);
        assert.deepEqual(
          all.entries.map((e) => e.timeMs),
          [...times].sort((a, b) => a - b),
        );
      });

      it('orders by event time, then by arrival, paging through many identical times', async () => {
        // Three batches, out of time order, with runs of identical timestamps.
        const batches = [0, 1, 2].map((b) =>
          Array.from({ length: 150 }, (_, i) => makeEntry('AccessLog', T0 + ((i * 7 + b) % 3) * 1000, `{"b":${b},"i":${i}}`)),
        );
        for (const batch of batches) await store.append(TENANT, batch);
        const all = await readAll(store, q('AccessLog', T0, null), 7);
        assert.equal(all.total, 450);
        assert.equal(all.entries.length, 450);
        assert.equal(new Set(all.entries.map((e) => e.body)).size, 450);
        assertSorted(all.entries);
        // Within one timestamp, arrival order: batch by batch, entry by entry.
        const arrival = batches.flat().map((e) => e.body);
        for (const t of [T0, T0 + 1000, T0 + 2000]) {
          const got = all.entries.filter((e) => e.timeMs === t).map((e) => e.body);
          const want = arrival.filter((b) => b.includes(formatEventTime(t)));
          assert.deepEqual(got, want);
        }
      });

      it('counts exactly the entries of the query, whatever the page size', async () => {
        const rnd = prng(42);
        const types = ['AccessLog', 'UserActivityLog', 'UserCallPlay'];
        const model: Array<{ tenant: string; type: string; t: number }> = [];
        await store.createTenant({ id: OTHER, name: 'Other' });
        for (const tenant of [TENANT, OTHER]) {
          const batch: NewEntry[] = [];
          for (let i = 0; i < 400; i++) {
            const type = types[Math.floor(rnd() * types.length)]!;
            const t = T0 + Math.floor(rnd() * 50) * 60_000; // many shared timestamps
            model.push({ tenant, type, t });
            batch.push(makeEntry(type, t, `{"i":${i}}`));
          }
          await store.append(tenant, batch);
        }
        for (let k = 0; k < 25; k++) {
          const tenant = k % 2 ? TENANT : OTHER;
          const type = types[k % 3]!;
          const a = T0 + Math.floor(rnd() * 55 - 2) * 60_000;
          const b = k % 5 === 0 ? null : a + Math.floor(rnd() * 30) * 60_000 + 1;
          const want = model.filter((m) => m.tenant === tenant && m.type === type && m.t >= a && (b === null || m.t < b));
          const all = await readAll(store, q(type, a, b, tenant), 1 + Math.floor(rnd() * 40));
          assert.equal(all.total, want.length, `total of query ${k}`);
          assert.equal(all.entries.length, want.length, `entries of query ${k}`);
          assertSorted(all.entries);
        }
      });

      it('says whether more entries follow exactly at the page boundary, runs of equal times included', async () => {
        const times = [0, 1, 1, 1, 2, 3, 3, 4, 5, 5].map((d) => T0 + d);
        await store.append(
          TENANT,
          times.map((t, i) => makeEntry('AccessLog', t, `{"i":${i}}`)),
        );
        const query = q('AccessLog', T0, T0 + 6);
        for (const limit of [1, 2, 3, 4, 5, 9, 10, 11, 1000]) {
          const first = await store.firstPage(query, limit);
          assert.deepEqual([first.count, first.next !== null], [Math.min(limit, 10), limit < 10], `first page of ${limit}`);
          const all = await readAll(store, query, limit);
          assert.deepEqual(
            all.entries.map((e) => e.timeMs),
            times,
            `pages of ${limit}`,
          );
          assert.deepEqual(
            all.entries.map((e) => e.body),
            times.map((t, i) => makeEntry('AccessLog', t, `{"i":${i}}`).body),
            `pages of ${limit}: entries of one time in arrival order`,
          );
        }
      });

      it('counts exactly across hour boundaries, half hours and the epoch, duplicates and failures left out', async () => {
        // Totals over long ranges come from per-hour tallies corrected at the ragged ends: every
        // end position relative to an hour, on either side of 1970, must give the exact count.
        const H0 = Date.UTC(2025, 5, 12, 19); // an hour boundary
        const bases = [H0, H0 + 3 * HOUR, Date.UTC(1969, 11, 31, 23)];
        const offsets = [0, 1, HOUR / 2 - 1, HOUR / 2, HOUR / 2 + 1, HOUR - 1];
        const times = bases.flatMap((b) => offsets.flatMap((o) => [b + o, b + HOUR + o]));
        const rnd = prng(11);
        for (let i = 0; i < 200; i++) times.push(H0 - 2 * HOUR + Math.floor(rnd() * 8 * HOUR));
        const batch = times.map((t, i) => makeEntry('AccessLog', t, `{"i":${i}}`));
        assert.equal((await store.append(TENANT, [...batch, batch[0]!, batch[7]!])).accepted, times.length);
        assert.equal((await store.append(TENANT, batch.slice(0, 50))).accepted, 0);
        await store.append(TENANT, [makeEntry('UserCallPlay', H0 + 5, '{}')]);
        await assert.rejects(
          store.append(
            TENANT,
            (function* () {
              yield makeEntry('AccessLog', H0 + 17, '{"rolled":"back"}');
              throw new Error('source failed');
            })(),
          ),
          /source failed/,
        );
        const points = [...new Set([...bases.flatMap((b) => offsets.flatMap((o) => [b + o, b + HOUR + o, b + 2 * HOUR + o])), H0 - 3 * HOUR])];
        const expected = (from: number, to: number | null): number => times.filter((t) => t >= from && (to === null || t < to)).length;
        for (const from of points) {
          for (const to of [null, ...points.filter((p) => p > from && rnd() < 0.3)]) {
            const page = await store.firstPage(q('AccessLog', from, to), 1);
            assert.equal(page.total, expected(from, to), `total of [${from}, ${to})`);
          }
        }
      });

      it('resumes pages inside a run of thousands of identical times', async () => {
        const t = T0 + 5000;
        await store.append(TENANT, [
          makeEntry('AccessLog', t - 1, '{"before":true}'),
          ...Array.from({ length: 2500 }, (_, i) => makeEntry('AccessLog', t, `{"i":${i}}`)),
          makeEntry('AccessLog', t + 1, '{"after":true}'),
        ]);
        const all = await readAll(store, q('AccessLog', t - 1, t + 2), 100);
        assert.equal(all.total, 2502);
        assert.equal(all.entries.length, 2502);
        assert.deepEqual(
          all.entries.map((e) => e.body),
          [
            makeEntry('AccessLog', t - 1, '{"before":true}').body,
            ...Array.from({ length: 2500 }, (_, i) => makeEntry('AccessLog', t, `{"i":${i}}`).body),
            makeEntry('AccessLog', t + 1, '{"after":true}').body,
          ],
        );
        // A query starting inside the run, and one ending right after it.
        assert.equal((await readAll(store, q('AccessLog', t, t + 1), 64)).entries.length, 2500);
        assert.equal((await readAll(store, q('AccessLog', t, null), 999)).entries.length, 2501);
      });

      it('finds nothing for an unknown tenant, log type or an empty range', async () => {
        await store.append(TENANT, [makeEntry('AccessLog', T0)]);
        const empty = { total: 0, count: 0, next: null };
        const pick = (p: { total: number; count: number; next: unknown }) => ({ total: p.total, count: p.count, next: p.next });
        assert.deepEqual(pick(await store.firstPage(q('AccessLog', T0, null, '404'), 10)), empty);
        assert.deepEqual(pick(await store.firstPage(q('NoSuchType', T0, null), 10)), empty);
        assert.deepEqual(pick(await store.firstPage(q('UserCallPlay', T0, null), 10)), empty);
        assert.deepEqual(pick(await store.firstPage(q('AccessLog', T0 + 1, null), 10)), empty);
        assert.deepEqual(pick(await store.firstPage(q('AccessLog', 0, T0), 10)), empty);
        for (const none of [
          await store.nextPage(q('AccessLog', T0, null, '404'), { timeMs: 0, seq: 0 }, 1e9, 10),
          await store.nextPage(q('NoSuchType', T0, null), { timeMs: 0, seq: 0 }, 1e9, 10),
          await store.nextPage(q('AccessLog', T0, null), { timeMs: T0, seq: 1e9 }, 1e9, 10),
        ]) {
          assert.deepEqual([none.count, none.text.length, none.next], [0, 0, null]);
        }
      });
    });

    describe('snapshot paging', () => {
      it('never shows entries appended after the first page, and keeps the total', async () => {
        const base = Array.from({ length: 30 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"i":${i}}`));
        await store.append(TENANT, base);
        const query = q('AccessLog', T0, T0 + HOUR);
        let round = 0;
        const writer = await open();
        const all = await readAll(store, query, 4, async () => {
          round++;
          // Before, among and after the entries still to come, with times equal to theirs too.
          await writer.append(TENANT, [
            makeEntry('AccessLog', T0 + round * 1000, `{"late":${round}}`),
            makeEntry('AccessLog', T0 + 29_000, `{"late":${round}}`),
            makeEntry('AccessLog', T0 + 40_000 + round, `{"late":${round}}`),
            makeEntry('AccessLog', T0 - 1, `{"late":${round}}`),
          ]);
        });
        assert.equal(all.total, 30);
        assert.deepEqual(
          all.entries.map((e) => e.body),
          base.map((e) => e.body),
        );
        // A new query sees them.
        const later = await store.firstPage(query, 4);
        assert.equal(later.total, 30 + 3 * round);
        assert.ok(later.watermark > all.watermark);
      });

      it('stays exact while several writers append concurrently', async () => {
        const writers = await Promise.all([open(), open(), open()]);
        // The query sees a tenth of what is written, so reading keeps pace with writing.
        const query = q('AccessLog', T0, T0 + 60_000);
        const committed = await whileWriting(
          writers,
          { seedBase: 1, maxEntries: 30_000, maxBatch: 2000, timeOf: (rnd) => T0 + Math.floor(rnd() * 600) * 1000, minRounds: 10, minBatches: 10 },
          async (round) => {
            const all = await readAll(store, query, 50);
            assert.equal(all.entries.length, all.total, `round ${round}: pages hold exactly the counted entries`);
            assert.equal(new Set(all.entries.map((e) => e.body)).size, all.total, `round ${round}: no entry twice`);
            assertSorted(all.entries);
          },
        );
        assert.ok(committed >= 10, `only ${committed} batches were written while reading`);
      });
      it('keeps totals over many hours exact while writers append across them', async () => {
        const writers = await Promise.all([open(), open()]);
        const span = 6 * HOUR;
        // Ragged ends on both sides: the totals mix hourly tallies with counted edges.
        const queries = [q('AccessLog', T0 + HOUR / 3, T0 + span - HOUR / 4), q('AccessLog', T0 + (2 * HOUR) / 3, null)];
        const committed = await whileWriting(
          writers,
          { seedBase: 21, maxEntries: 20_000, maxBatch: 1500, timeOf: (rnd) => T0 + Math.floor(rnd() * span), minRounds: 6, minBatches: 5 },
          async (round) => {
            const all = await readAll(store, queries[round % 2]!, 500);
            assert.equal(all.entries.length, all.total, `round ${round}: pages hold exactly the counted entries`);
            assert.equal(new Set(all.entries.map((e) => e.body)).size, all.total, `round ${round}: no entry twice`);
          },
        );
        assert.ok(committed >= 5, `only ${committed} batches were written while reading`);
        const settled = await readAll(store, queries[0]!, 1000);
        assert.equal(settled.entries.length, settled.total);
      });
    });

    describe('tenant isolation', () => {
      it('keeps the same entries of two tenants apart, idempotency included', async () => {
        await store.createTenant({ id: OTHER, name: 'Other' });
        const batch = [0, 1, 2].map((i) => makeEntry('AccessLog', T0 + i, `{"i":${i}}`));
        assert.deepEqual(await store.append(TENANT, batch), { accepted: 3, duplicates: 0 });
        assert.deepEqual(await store.append(OTHER, batch), { accepted: 3, duplicates: 0 });
        await store.append(OTHER, [makeEntry('AccessLog', T0 + 5, '{"only":"other"}')]);
        const mine = await readAll(store, q('AccessLog', T0, null, TENANT));
        const theirs = await readAll(store, q('AccessLog', T0, null, OTHER));
        assert.equal(mine.total, 3);
        assert.equal(theirs.total, 4);
        assert.ok(!mine.entries.some((e) => e.body.includes('other')));
        // Another tenant's position and watermark reveal nothing.
        const next = await store.nextPage(q('AccessLog', T0, null, TENANT), { timeMs: T0, seq: 0 }, theirs.watermark, 100);
        assert.ok(!entriesOf(next).some((e) => e.body.includes('other')));
      });
    });

    describe('sealed entries', () => {
      const segments = (): SegmentFixture => fixture.segments!;
      const sealedSkip = async (): Promise<boolean> => fixture.segments === undefined;

      /** Entries in page order: by time, then in the order they were appended (stable sort). */
      const inPageOrder = (entries: readonly NewEntry[]): NewEntry[] => [...entries].sort((a, b) => a.eventTimeMs - b.eventTimeMs);

      /** Reads the whole of `query` in pages of several sizes; each must give `expected`, exactly. */
      async function assertReads(s: Store, query: EntryQuery, expected: readonly NewEntry[], what: string): Promise<void> {
        for (const size of [1, 7, 100, 1000]) {
          const all = await readAll(s, query, size);
          assert.equal(all.total, expected.length, `${what}: total, pages of ${size}`);
          assert.deepEqual(
            all.entries.map((e) => e.body),
            expected.map((e) => e.body),
            `${what}: entries, pages of ${size}`,
          );
        }
      }

      const within = (entries: readonly NewEntry[], from: number, to: number | null) =>
        entries.filter((e) => e.eventTimeMs >= from && (to === null || e.eventTimeMs < to));

      it('counts and pages windows whose bounds cut a sealed segment of the years 0000-0099', async (t) => {
        if (await sealedSkip()) return t.skip('this store keeps no segments');
        const day = 86_400_000;
        const start = Date.parse('0050-01-01T00:00:00.000Z');
        const entries = Array.from({ length: 60 }, (_, i) => makeEntry('AccessLog', start + i * 1.5 * day + 1000, `{"c":${i}}`));
        await store.append(TENANT, entries);
        await segments().settle(store);
        for (const [from, to] of [
          ['0050-02-14T12:30:00.000Z', null],
          ['0050-01-10T00:30:00.000Z', '0050-03-20T23:30:00.000Z'],
          ['0000-01-01T00:00:00.000Z', '0050-02-01T00:00:00.000Z'],
        ] as const) {
          const fromMs = Date.parse(from);
          const toMs = to === null ? null : Date.parse(to);
          await assertReads(store, q('AccessLog', fromMs, toMs), within(entries, fromMs, toMs), `${from} to ${to ?? 'the end'}`);
        }
      });

      it('pages, totals and idempotency stay the same through sealing, late entries and compaction', async (t) => {
        if (await sealedSkip()) return t.skip('this store has no segment fixture');
        const base = Array.from({ length: 700 }, (_, i) => makeEntry('AccessLog', T0 + Math.floor(i / 3) * 1000, `{"i":${i}}`));
        const others = Array.from({ length: 60 }, (_, i) => makeEntry('UserCallPlay', T0 + i * 5000, `{"o":${i}}`));
        await store.append(TENANT, base.slice(0, 400));
        await store.append(TENANT, others);
        await store.append(TENANT, base.slice(400));
        const query = q('AccessLog', T0, null);
        await assertReads(store, query, base, 'hot');
        await segments().settle(store);
        assert.ok((await segments().sealedEntries()) >= 700, 'the entries were sealed');
        await assertReads(store, query, base, 'sealed');
        await assertReads(store, q('UserCallPlay', T0, null), others, 'other type, sealed');

        // Late entries into the sealed range (equal times too), with repeats of sealed entries.
        const late = Array.from({ length: 90 }, (_, i) => makeEntry('AccessLog', T0 + ((i * 7919) % 233_000) + (i % 2 ? 0 : 1), `{"late":${i}}`));
        assert.deepEqual(await store.append(TENANT, [...late.slice(0, 45), base[5]!, base[699]!]), { accepted: 45, duplicates: 2 });
        const expected1 = inPageOrder([...base, ...late.slice(0, 45)]);
        await assertReads(store, query, expected1, 'late, hot');
        await segments().settle(store);
        await assertReads(store, query, expected1, 'late, compacted');
        assert.deepEqual(await store.append(TENANT, [...late.slice(0, 45), ...base.slice(100, 200)]), { accepted: 0, duplicates: 145 });
        assert.deepEqual(await store.append(TENANT, late.slice(45)), { accepted: 45, duplicates: 0 });
        await segments().settle(store);
        const expected2 = inPageOrder([...base, ...late]);
        await assertReads(store, query, expected2, 'late again, compacted');
        // Totals over ragged ranges, by another store.
        const other = await open();
        for (const [from, to] of [
          [T0 + 1, T0 + 100_001],
          [T0 + 33_333, null],
          [T0 - HOUR, T0 + 1000],
          [T0 + 232_999, T0 + 233_001],
        ] as const) {
          assert.equal((await other.firstPage(q('AccessLog', from, to), 5)).total, within(expected2, from, to).length, `total [${from}, ${to})`);
          const all = await readAll(other, q('AccessLog', from, to), 13);
          assert.deepEqual(
            all.entries.map((e) => e.body),
            within(expected2, from, to).map((e) => e.body),
            `entries [${from}, ${to})`,
          );
        }
      });

      it('keeps snapshot paging exact while another store seals and compacts between pages', async (t) => {
        if (await sealedSkip()) return t.skip('this store has no segment fixture');
        const base = Array.from({ length: 500 }, (_, i) => makeEntry('AccessLog', T0 + i * 100, `{"i":${i}}`));
        await store.append(TENANT, base.slice(0, 250));
        await segments().settle(store);
        await store.append(TENANT, base.slice(250));
        const sealer = await open();
        const query = q('AccessLog', T0, T0 + HOUR);
        let round = 0;
        const late: NewEntry[] = [];
        const all = await readAll(store, query, 9, async () => {
          round++;
          const batch = [
            makeEntry('AccessLog', T0 + ((round * 37) % 500) * 100, `{"late":${round}}`),
            makeEntry('AccessLog', T0 + ((round * 53) % 500) * 100 + 50, `{"late":${round},"b":1}`),
          ];
          late.push(...batch);
          await sealer.append(TENANT, batch);
          if (round % 3 !== 0) await segments().settle(sealer);
        });
        assert.equal(all.total, 500);
        assert.deepEqual(
          all.entries.map((e) => e.body),
          base.map((e) => e.body),
        );
        await segments().settle(sealer);
        await assertReads(store, query, inPageOrder([...base, ...late]), 'afterwards');
      });

      it("never shows one tenant's or log type's sealed entries to another", async (t) => {
        if (await sealedSkip()) return t.skip('this store has no segment fixture');
        await store.createTenant({ id: OTHER, name: 'Other' });
        const owners = [
          [TENANT, 'AccessLog'],
          [TENANT, 'UserCallPlay'],
          [OTHER, 'AccessLog'],
          [OTHER, 'UserCallPlay'],
        ] as const;
        const mark = (tenant: string, type: string) => `"${tenant === TENANT ? 'mine' : 'theirs'}-${type}"`;
        const expected = new Map<string, NewEntry[]>(owners.map(([tn, ty]) => [`${tn}/${ty}`, []]));
        // Small interleaved batches at the same times, sealed in between, then late entries.
        for (let round = 0; round < 6; round++) {
          for (const [tenant, type] of owners) {
            const batch = Array.from({ length: 40 }, (_, i) =>
              makeEntry(type, T0 + (round % 2 ? i * 900 + round : (round * 40 + i) * 1000), `{"who":${mark(tenant, type)},"r":${round},"i":${i}}`),
            );
            await store.append(tenant, batch);
            expected.get(`${tenant}/${type}`)!.push(...batch);
          }
          if (round % 2 === 0) await segments().settle(store);
        }
        await segments().settle(store);
        const reader = await open();
        for (const [tenant, type] of owners) {
          const want = inPageOrder(expected.get(`${tenant}/${type}`)!);
          const all = await readAll(reader, q(type, T0 - HOUR, null, tenant), 17);
          assert.equal(all.total, want.length);
          assert.ok(
            all.entries.every((e) => e.body.includes(mark(tenant, type))),
            `only ${tenant}/${type} entries`,
          );
          assert.deepEqual(
            all.entries.map((e) => e.body),
            want.map((e) => e.body),
          );
        }
        // Positions and watermarks of another tenant's pages show nothing of theirs.
        const theirs = await reader.firstPage(q('AccessLog', T0 - HOUR, null, OTHER), 3);
        const next = await reader.nextPage(q('AccessLog', T0 - HOUR, null, TENANT), theirs.next!, theirs.watermark, 500);
        assert.ok(entriesOf(next).every((e) => e.body.includes(mark(TENANT, 'AccessLog'))));
      });

      it('answers a corrupt segment with a clear error, never with wrong data', async (t) => {
        if (await sealedSkip()) return t.skip('this store has no segment fixture');
        await store.createTenant({ id: OTHER, name: 'Other' });
        const mine = Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"i":${i}}`));
        const theirs = Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"theirs":${i}}`));
        await store.append(TENANT, mine);
        await store.append(OTHER, theirs);
        await segments().settle(store);
        assert.equal(await segments().corrupt(TENANT, 'AccessLog'), true, 'a segment to corrupt');
        // A store that has not read the segment before, as another process would.
        const reader = await open();
        const query = q('AccessLog', T0, null);
        const failed = await reader.firstPage(query, 1000).then(
          (page) => ({ page }),
          (err: unknown) => ({ err }),
        );
        assert.ok('err' in failed, 'the corrupt segment was served');
        assert.ok(failed.err instanceof CorruptSegmentError, `a CorruptSegmentError, not ${String(failed.err)}`);
        assert.doesNotMatch(failed.err.message, /"i":|theirs/, 'the error shows no entry');
        // The other tenant's entries are untouched.
        await assertReads(reader, q('AccessLog', T0, null, OTHER), theirs, 'the other tenant');
      });

      it('refuses a hot row whose text or time was altered where it is stored, naming it and not its text, and never seals it', async (t) => {
        if (await sealedSkip()) return t.skip('this store has no segment fixture');
        // Only the store of this case, which seals when told: the others would seal the rows first.
        await store.close();
        opened.splice(opened.indexOf(store), 1);
        const s = await segments().openUnsealing();
        opened.push(s);
        await s.append(
          TENANT,
          Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"secret":"payload-${i}"}`, 'u1')),
        );
        // Still valid JSON, same length: only the digest stored at ingest tells.
        const altered = await segments().alterHot(TENANT, '"payload-7"', '"payload-X"');
        const moved = await segments().alterHot(TENANT, '"payload-15"');
        const corrupt = (seq: number) => (err: unknown) =>
          err instanceof CorruptEntryError &&
          err.code === 'corrupt_segment' &&
          err.message.includes(`stored entry ${seq} `) &&
          !err.message.includes('payload');
        const query = q('AccessLog', T0, null);
        const check = async (what: string): Promise<void> => {
          await assert.rejects(s.firstPage(query, 100), corrupt(altered), `${what}: a page holding the altered text`);
          await assert.rejects(s.firstPage({ ...query, user: { field: 'userId', value: 'u1' } }, 100), corrupt(altered), `${what}: a user's page`);
          const first = await s.firstPage({ ...query, toMs: T0 + 6000 }, 3);
          await assert.rejects(s.nextPage(query, first.next!, first.watermark, 100), corrupt(altered), `${what}: a next page`);
          await assert.rejects(s.firstPage(q('AccessLog', T0 + 8000, null), 100), corrupt(moved), `${what}: a page holding the moved row`);
          // Pages that do not reach them are served.
          assert.equal(entriesOf(await s.firstPage(q('AccessLog', T0, T0 + 7000), 100)).length, 7, `${what}: the rows before`);
        };
        await check('not yet sealed');
        // Sealing refuses them (the store says so, by failing or in its background report):
        // sealed, the altered text would be vouched for by its segment's checksum from then on.
        await segments()
          .settle(s)
          .catch((err: unknown) => assert.ok(corrupt(altered)(err) || corrupt(moved)(err), String(err)));
        assert.equal(await segments().sealedEntries(), 0, 'nothing sealed');
        await check('after sealing');
        // Nor copied as if it were sound (`logwarden copy` reads the store's export).
        const exported = await s.exportAll!();
        try {
          await assert.rejects(async () => {
            for await (const batch of exported.entries(TENANT)) assert.ok(batch.length > 0);
          }, corrupt(altered));
        } finally {
          await exported.close();
        }
      });

      it('reclaims the space of what late entries replace: at most 1.5 times the live data', async (t) => {
        if (await sealedSkip()) return t.skip('this store has no segment fixture');
        // Realistic entries (about 800 bytes of JSON each), as in the benchmark.
        const window = { fromMs: T0, toMs: T0 + 6 * HOUR, types: ['AccessLog'] };
        const entries = [...generateDemoEntries({ ...window, seed: 1, count: 4000 })];
        await store.append(TENANT, entries);
        await segments().settle(store);
        const all = [...entries];
        for (let round = 0; round < 6; round++) {
          // Late entries all over the sealed range.
          const late = [...generateDemoEntries({ ...window, seed: 100 + round, count: 150 })];
          await store.append(TENANT, late);
          all.push(...late);
          await segments().settle(store);
          const { live, used } = await segments().space();
          assert.ok(live > 0, 'segments hold the entries');
          assert.ok(used <= 1.5 * live, `round ${round}: ${used} bytes used for ${live} bytes of live segments`);
        }
        const deduped = [...new Map(all.map((e) => [e.key.toString('hex'), e])).values()];
        await assertReads(store, q('AccessLog', T0, null), inPageOrder(deduped), 'after the rounds');
      });
    });

    describe('user filter', () => {
      /** An entry of a user (id and email), as ingest renders it. */
      const userEntry = (logType: string, timeMs: number, user: number, i: number): NewEntry => {
        const body = `{"userId":"${user}","userEmailAddress":"user${user}@example.com","userFullName":"U ${user}","eventTime":"${formatEventTime(timeMs)}","logRecord":{"i":${i}}}`;
        return { logType, eventTimeMs: timeMs, body, key: entryKey(logType, body) };
      };
      const ofUser = (entries: readonly NewEntry[], user: number) => entries.filter((e) => e.body.startsWith(`{"userId":"${user}",`));
      const inOrder = (entries: readonly NewEntry[]) => [...entries].sort((a, b) => a.eventTimeMs - b.eventTimeMs);

      /** Every page size gives exactly `expected` (in page order) and its total. */
      async function assertUserReads(s: Store, query: EntryQuery, expected: readonly NewEntry[], what: string): Promise<void> {
        for (const size of [1, 7, 100]) {
          const all = await readAll(s, query, size);
          assert.equal(all.total, expected.length, `${what}: total, pages of ${size}`);
          assert.deepEqual(
            all.entries.map((e) => e.body),
            expected.map((e) => e.body),
            `${what}: entries, pages of ${size}`,
          );
        }
      }

      it('pages and counts exactly the entries of one userId or userEmailAddress, hot, sealed and late', async () => {
        // Seven users, user 3 rare; times repeat so runs of equal times cross page edges.
        const base = Array.from({ length: 900 }, (_, i) =>
          userEntry('AccessLog', T0 + Math.floor(i / 2) * 1000, i % 7 === 3 && i % 21 !== 3 ? 4 : i % 7, i),
        );
        const other = Array.from({ length: 50 }, (_, i) => userEntry('UserCallPlay', T0 + i * 1000, 1, i));
        await store.append(TENANT, base.slice(0, 600));
        await store.append(TENANT, other);
        await store.createTenant({ id: OTHER, name: 'Other' });
        await store.append(
          OTHER,
          Array.from({ length: 40 }, (_, i) => userEntry('AccessLog', T0 + i * 1000, 1, i)),
        );
        const check = async (entries: readonly NewEntry[], what: string) => {
          for (const user of [1, 3, 6]) {
            const mine = ofUser(entries, user);
            assert.ok(mine.length > 0);
            await assertUserReads(
              store,
              { ...q('AccessLog', T0, null), user: { field: 'userId', value: String(user) } },
              mine,
              `${what}, userId ${user}`,
            );
            await assertUserReads(
              store,
              { ...q('AccessLog', T0, null), user: { field: 'userEmailAddress', value: `user${user}@example.com` } },
              mine,
              `${what}, email ${user}`,
            );
          }
          // Ragged ranges: segments counted whole and at their edges.
          for (const [from, to] of [
            [T0 + 1, T0 + 100_001],
            [T0 + 33_333, null],
            [T0 - HOUR, T0 + 1000],
            [T0 + 222_500, T0 + 300_500],
          ] as const) {
            const want = ofUser(entries, 1).filter((e) => e.eventTimeMs >= from && (to === null || e.eventTimeMs < to));
            const query = { ...q('AccessLog', from, to), user: { field: 'userId', value: '1' } } as const;
            assert.equal((await store.firstPage(query, 5)).total, want.length, `${what}: total [${from}, ${to})`);
            assert.deepEqual(
              (await readAll(store, query, 13)).entries.map((e) => e.body),
              want.map((e) => e.body),
              `${what}: [${from}, ${to})`,
            );
          }
          // Exact: no other case, no prefix, no other tenant or type, nothing for a stranger.
          for (const user of [
            { field: 'userEmailAddress', value: 'USER1@example.com' },
            { field: 'userId', value: '1 ' },
            { field: 'userId', value: '99' },
          ] as const) {
            assert.equal((await store.firstPage({ ...q('AccessLog', T0, null), user }, 10)).total, 0, `${what}: ${JSON.stringify(user)}`);
          }
          const otherType = await readAll(store, { ...q('UserCallPlay', T0, null), user: { field: 'userId', value: '1' } }, 100);
          assert.equal(otherType.total, 50);
          assert.equal((await store.firstPage({ ...q('AccessLog', T0, null, OTHER), user: { field: 'userId', value: '1' } }, 100)).total, 40);
        };
        await check(base.slice(0, 600), 'hot');
        if (fixture.segments) {
          await fixture.segments.settle(store);
          await check(base.slice(0, 600), 'sealed');
        }
        // More at the end and late ones inside the sealed range, then sealed again.
        await store.append(TENANT, base.slice(600));
        const late = Array.from({ length: 60 }, (_, i) => userEntry('AccessLog', T0 + ((i * 7919) % 450) * 1000 + (i % 2), i % 7, 1000 + i));
        await store.append(TENANT, late);
        const all = inOrder([...base, ...late]);
        await check(all, 'hot over sealed');
        if (fixture.segments) {
          await fixture.segments.settle(store);
          await check(all, 'compacted');
          const fresh = await open();
          await check(all, 'another store');
          await fresh.close();
        }
      });

      it('tallies one user’s entries per hour (the histogram of a user), hot, sealed and late, over whole hours', async () => {
        // 20 s apart: segments inside one hour and segments across hours; four users, user 3 rare.
        const base = Array.from({ length: 1200 }, (_, i) => userEntry('AccessLog', T0 + i * 20_000, i % 17 === 3 ? 3 : i % 4 === 3 ? 2 : i % 4, i));
        await store.append(TENANT, base.slice(0, 800));
        const plays = Array.from({ length: 30 }, (_, i) => userEntry('UserCallPlay', T0 + i * 1000, 1, i));
        await store.append(TENANT, plays);
        const hourly = (entries: readonly NewEntry[], from: number, to: number | null) => {
          const m = new Map<number, number>();
          const lo = Math.floor(from / HOUR) * HOUR;
          const hi = to === null ? Number.MAX_SAFE_INTEGER : Math.ceil(to / HOUR) * HOUR;
          for (const e of entries) {
            const h = Math.floor(e.eventTimeMs / HOUR) * HOUR;
            if (e.eventTimeMs >= lo && e.eventTimeMs < hi) m.set(h, (m.get(h) ?? 0) + 1);
          }
          return [...m].sort((a, b) => a[0] - b[0]).map(([hourMs, count]) => ({ hourMs, count }));
        };
        const check = async (entries: readonly NewEntry[], what: string) => {
          for (const [from, to] of [
            [T0, null],
            [T0 + HOUR / 2 + 7, T0 + 3 * HOUR + 1],
            [T0 + 5 * HOUR, T0 + 5 * HOUR + 60_000],
          ] as const) {
            for (const user of [0, 3]) {
              const want = hourly(ofUser(entries, user), from, to);
              const byId = await store.hourlyTallies({ ...q('AccessLog', from, to), user: { field: 'userId', value: String(user) } });
              assert.deepEqual(byId, want, `${what}: user ${user}, [${from}, ${to})`);
              const byEmail = await store.hourlyTallies({
                ...q('AccessLog', from, to),
                user: { field: 'userEmailAddress', value: `user${user}@example.com` },
              });
              assert.deepEqual(byEmail, want, `${what}: email ${user}`);
            }
          }
          // Users' hours add up to everyone's; a stranger has none; another type keeps its own.
          const everyone = await store.hourlyTallies(q('AccessLog', T0, null));
          const perUser = await Promise.all(
            [0, 1, 2, 3].map((u) => store.hourlyTallies({ ...q('AccessLog', T0, null), user: { field: 'userId', value: String(u) } })),
          );
          for (const h of everyone)
            assert.equal(
              perUser.reduce((n, t) => n + (t.find((x) => x.hourMs === h.hourMs)?.count ?? 0), 0),
              h.count,
              `${what}: hour ${h.hourMs}`,
            );
          assert.deepEqual(await store.hourlyTallies({ ...q('AccessLog', T0, null), user: { field: 'userId', value: '99' } }), []);
          assert.deepEqual(
            await store.hourlyTallies({ ...q('UserCallPlay', T0, null), user: { field: 'userId', value: '1' } }),
            hourly(plays, T0, null),
          );
        };
        await check(base.slice(0, 800), 'hot');
        if (fixture.segments) {
          await fixture.segments.settle(store);
          await check(base.slice(0, 800), 'sealed');
        }
        await store.append(TENANT, base.slice(800));
        const late = Array.from({ length: 40 }, (_, i) => userEntry('AccessLog', T0 + ((i * 7919) % 20_000) * 1000 + 3, i % 4, 5000 + i));
        await store.append(TENANT, late);
        const all = inOrder([...base, ...late]);
        await check(all, 'hot over sealed');
        if (fixture.segments) {
          await fixture.segments.settle(store);
          await check(all, 'compacted');
        }
      });

      it('matches entries whose text holds \\u0000 or a lone surrogate escape (valid JSON some databases refuse), hot and sealed', async () => {
        const odd = (timeMs: number, userId: string, record: string, i: number): NewEntry => {
          const body = `{"userId":"${userId}","eventTime":"${formatEventTime(timeMs)}","logRecord":{${record},"i":${i}}}`;
          return { logType: 'AccessLog', eventTimeMs: timeMs, body, key: entryKey('AccessLog', body) };
        };
        const entries = [
          odd(T0, '1', '"s":"a\\u0000b"', 0),
          odd(T0 + 1000, '\\ud800', '"s":"x"', 1),
          odd(T0 + 2000, '2', '"s":"\\udc00"', 2),
          odd(T0 + 3000, '1', '"s":"\\\\u0000"', 3),
          odd(T0 + 3500, 'a\\u0000b', '"s":"nul in the user"', 50),
          ...Array.from({ length: 20 }, (_, i) => odd(T0 + 4000 + i * 1000, String(i % 3), '"s":"plain"', 4 + i)),
        ];
        await store.append(TENANT, entries);
        const mine = (userId: string) => entries.filter((e) => JSON.parse(e.body).userId === userId);
        const check = async (what: string) => {
          // A filter holding NUL (which PostgreSQL's text cannot) finds the entry whose user holds it, and no other.
          for (const userId of ['1', '2', '\ud800', 'a\u0000b', '\u0000']) {
            const query = { ...q('AccessLog', T0, null), user: { field: 'userId', value: userId } } as const;
            await assertUserReads(store, query, mine(userId), `${what}: userId ${JSON.stringify(userId)}`);
            const hours = await store.hourlyTallies(query);
            assert.equal(
              hours.reduce((n, h) => n + h.count, 0),
              mine(userId).length,
              `${what}: tallies of ${JSON.stringify(userId)}`,
            );
          }
        };
        await check('hot');
        if (fixture.segments) {
          await fixture.segments.settle(store);
          await check('sealed');
        }
      });

      it('keeps a user query on its snapshot while entries of the user arrive between pages', async () => {
        const base = Array.from({ length: 300 }, (_, i) => userEntry('AccessLog', T0 + i * 100, i % 3, i));
        await store.append(TENANT, base);
        await fixture.segments?.settle(store);
        const query = { ...q('AccessLog', T0, T0 + HOUR), user: { field: 'userId', value: '2' } } as const;
        let round = 0;
        const all = await readAll(store, query, 9, async () => {
          round++;
          await store.append(TENANT, [userEntry('AccessLog', T0 + ((round * 37) % 300) * 100, 2, 5000 + round)]);
        });
        assert.equal(all.total, 100);
        assert.deepEqual(
          all.entries.map((e) => e.body),
          ofUser(base, 2).map((e) => e.body),
        );
      });
    });

    describe('tenants', () => {
      it('creates, finds and lists tenants, with ids beyond 64 bits', async () => {
        const big = await store.createTenant({ id: OTHER, name: 'Big id' });
        assert.equal(big.id, OTHER);
        assert.equal(big.name, 'Big id');
        assert.ok(!Number.isNaN(Date.parse(big.createdAt)));
        assert.deepEqual(big.limits, { readPerSecond: null, readPerDay: null, ingestPerSecond: null });
        assert.deepEqual(await store.getTenant(OTHER), big);
        assert.equal(await store.getTenant('18446744073709551616'), undefined);
        assert.deepEqual(
          (await store.listTenants()).map((t) => t.id),
          [TENANT, OTHER],
        );
        await assert.rejects(store.createTenant({ id: OTHER, name: 'again' }));
      });

      it('changes only the limits given, null meaning the default', async () => {
        const a = await store.setTenantLimits(TENANT, { readPerSecond: 5, readPerDay: 100 });
        assert.deepEqual(a?.limits, { readPerSecond: 5, readPerDay: 100, ingestPerSecond: null });
        const b = await store.setTenantLimits(TENANT, { ingestPerSecond: 7, readPerDay: null });
        assert.deepEqual(b?.limits, { readPerSecond: 5, readPerDay: null, ingestPerSecond: 7 });
        assert.deepEqual((await (await open()).getTenant(TENANT))?.limits, b?.limits);
        assert.equal(await store.setTenantLimits('404', { readPerSecond: 1 }), undefined);
      });
    });

    describe('access keys', () => {
      const hash = (n: number): Buffer => Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 31 + n) & 255));

      it('creates, finds, lists and revokes keys', async () => {
        await store.createTenant({ id: OTHER, name: 'Other' });
        const k1 = await store.createAccessKey({ accessKey: 'LWAAAA', tenantId: TENANT, secretHash: hash(1), scopes: ['api:logs:read'] });
        assert.equal(k1.accessKey, 'LWAAAA');
        assert.equal(k1.tenantId, TENANT);
        assert.ok(k1.secretHash.equals(hash(1)));
        assert.deepEqual(k1.scopes, ['api:logs:read']);
        assert.equal(k1.revokedAt, null);
        const k2 = await store.createAccessKey({
          accessKey: 'LWBBBB',
          tenantId: TENANT,
          secretHash: hash(2),
          scopes: ['api:logs:read', 'api:logs:write'],
        });
        await store.createAccessKey({ accessKey: 'LWCCCC', tenantId: OTHER, secretHash: hash(3), scopes: ['api:logs:write'] });
        assert.deepEqual(await store.getAccessKey('LWAAAA'), k1);
        assert.equal(await store.getAccessKey('LWZZZZ'), undefined);
        const listed = await store.listAccessKeys(TENANT);
        assert.deepEqual(
          listed.map((k) => k.accessKey),
          ['LWAAAA', 'LWBBBB'],
        );
        assert.deepEqual(listed[1], k2);
        assert.deepEqual(
          (await store.listAccessKeys(OTHER)).map((k) => k.tenantId),
          [OTHER],
        );
        assert.deepEqual(await store.listAccessKeys('404'), []);

        assert.equal(await store.revokeAccessKey('LWAAAA'), true);
        assert.equal(await store.revokeAccessKey('LWAAAA'), false);
        assert.equal(await store.revokeAccessKey('LWZZZZ'), false);
        const revoked = await (await open()).getAccessKey('LWAAAA');
        assert.ok(revoked?.revokedAt && !Number.isNaN(Date.parse(revoked.revokedAt)));
        assert.equal((await store.getAccessKey('LWBBBB'))?.revokedAt, null);
      });

      it('sees a key revoked or created by another store at once', async () => {
        await store.createAccessKey({ accessKey: 'LWAAAA', tenantId: TENANT, secretHash: hash(1), scopes: ['api:logs:read'] });
        const other = await open();
        for (let i = 0; i < 3; i++) assert.equal((await store.getAccessKey('LWAAAA'))?.revokedAt, null);
        assert.equal(await store.getAccessKey('LWDDDD'), undefined);
        assert.equal(await other.revokeAccessKey('LWAAAA'), true);
        await other.createAccessKey({ accessKey: 'LWDDDD', tenantId: TENANT, secretHash: hash(4), scopes: [] });
        assert.notEqual((await store.getAccessKey('LWAAAA'))?.revokedAt, null);
        assert.equal((await store.getAccessKey('LWDDDD'))?.accessKey, 'LWDDDD');
        // And its own changes, the other way round.
        await store.createAccessKey({ accessKey: 'LWEEEE', tenantId: TENANT, secretHash: hash(5), scopes: [] });
        assert.equal((await other.getAccessKey('LWEEEE'))?.revokedAt, null);
        assert.equal(await store.revokeAccessKey('LWEEEE'), true);
        assert.notEqual((await store.getAccessKey('LWEEEE'))?.revokedAt, null);
        assert.notEqual((await other.getAccessKey('LWEEEE'))?.revokedAt, null);
      });

      it('makes a first key only while the tenant has none: one between stores making it at once, none after a revoked one', async () => {
        const other = await open();
        // A third of them recorded in the admin trail, as a first start does.
        const trail = actTrail<AccessKeyRecord>(
          (k) => k.tenantId,
          (_, k) => ({ action: 'key.created', actor: { kind: 'server' }, target: { accessKey: k.accessKey }, before: null, after: {} }),
          () => T0,
        );
        const first = (s: Store, i: number) =>
          s.createFirstAccessKey(
            { accessKey: `LWF${i}`, tenantId: TENANT, secretHash: hash(i), scopes: ['api:logs:read'] },
            i % 3 === 2 ? trail : undefined,
          );
        const made = await Promise.all(Array.from({ length: 12 }, (_, i) => first(i % 2 === 0 ? store : other, i)));
        assert.equal(made.filter((k) => k !== undefined).length, 1, `one key made: ${made.map((k) => k?.accessKey).join(', ')}`);
        const key = made.find((k) => k !== undefined)!;
        assert.deepEqual(
          (await store.listAccessKeys(TENANT)).map((k) => k.accessKey),
          [key.accessKey],
        );
        assert.equal(
          (await store.firstPage(q(ADMIN_LOG_TYPE, 0, null), 10)).total,
          Number(key.accessKey.slice(3)) % 3 === 2 ? 1 : 0,
          'an act only for the key made',
        );

        assert.equal(await other.revokeAccessKey(key.accessKey), true);
        assert.equal(await store.createFirstAccessKey({ accessKey: 'LWF9', tenantId: TENANT, secretHash: hash(9), scopes: [] }), undefined);
        assert.equal(await store.getAccessKey('LWF9'), undefined);
        await store.createTenant({ id: OTHER, name: 'Other' });
        assert.equal((await other.createFirstAccessKey({ accessKey: 'LWF8', tenantId: OTHER, secretHash: hash(8), scopes: [] }))?.tenantId, OTHER);
        await assert.rejects(store.createFirstAccessKey({ accessKey: 'LWF7', tenantId: '404', secretHash: hash(7), scopes: [] }));
      });

      it('refuses a key for an unknown tenant, and a second key of the same name', async () => {
        await assert.rejects(store.createAccessKey({ accessKey: 'LWAAAA', tenantId: '404', secretHash: hash(1), scopes: [] }));
        await store.createAccessKey({ accessKey: 'LWAAAA', tenantId: TENANT, secretHash: hash(1), scopes: [] });
        await assert.rejects(store.createAccessKey({ accessKey: 'LWAAAA', tenantId: TENANT, secretHash: hash(2), scopes: [] }));
        assert.ok((await store.getAccessKey('LWAAAA'))?.secretHash.equals(hash(1)));
      });
    });

    describe('secrets', () => {
      it('creates a secret once and returns it ever after', async () => {
        let calls = 0;
        const make = (): string => `value-${++calls}`;
        assert.equal(await store.getOrCreateSecret('signing', make), 'value-1');
        assert.equal(await store.getOrCreateSecret('signing', make), 'value-1');
        assert.equal(calls, 1);
        assert.equal(await (await open()).getOrCreateSecret('signing', make), 'value-1');
        assert.equal(await store.getOrCreateSecret('other', make), 'value-2');
      });

      it('gives concurrent callers on several stores the same value', async () => {
        const stores = [store, await open(), await open()];
        let n = 0;
        const values = await Promise.all(Array.from({ length: 24 }, (_, i) => stores[i % stores.length]!.getOrCreateSecret('race', () => `v${n++}`)));
        assert.equal(new Set(values).size, 1);
      });
    });

    describe('checkpoints', () => {
      it('keeps one checkpoint per source, tenant and type, overwritten by the latest', async () => {
        await store.createTenant({ id: OTHER, name: 'Other' });
        assert.equal(await store.getCheckpoint('https://api.gong.io', TENANT, 'AccessLog'), undefined);
        await store.setCheckpoint({ source: 'https://api.gong.io', tenantId: TENANT, logType: 'AccessLog', throughMs: T0, entriesSeen: 10 });
        await store.setCheckpoint({ source: 'https://api.gong.io', tenantId: TENANT, logType: 'UserCallPlay', throughMs: 1, entriesSeen: 1 });
        await store.setCheckpoint({ source: 'https://api.gong.io', tenantId: OTHER, logType: 'AccessLog', throughMs: 2, entriesSeen: 2 });
        await store.setCheckpoint({ source: 'https://other', tenantId: TENANT, logType: 'AccessLog', throughMs: 3, entriesSeen: 3 });
        await store.setCheckpoint({
          source: 'https://api.gong.io',
          tenantId: TENANT,
          logType: 'AccessLog',
          throughMs: T0 + HOUR,
          entriesSeen: 2 ** 40,
        });
        const c = await store.getCheckpoint('https://api.gong.io', TENANT, 'AccessLog');
        assert.ok(c && !Number.isNaN(Date.parse(c.updatedAt)));
        assert.deepEqual(
          { ...c, updatedAt: undefined },
          {
            source: 'https://api.gong.io',
            tenantId: TENANT,
            logType: 'AccessLog',
            throughMs: T0 + HOUR,
            entriesSeen: 2 ** 40,
            updatedAt: undefined,
          },
        );
        assert.equal((await store.getCheckpoint('https://api.gong.io', OTHER, 'AccessLog'))?.throughMs, 2);
        assert.equal((await store.getCheckpoint('https://other', TENANT, 'AccessLog'))?.throughMs, 3);
        assert.equal((await store.getCheckpoint('https://api.gong.io', TENANT, 'UserCallPlay'))?.throughMs, 1);
        assert.equal(await store.getCheckpoint('https://api.gong.io', '404', 'AccessLog'), undefined);
        await assert.rejects(store.setCheckpoint({ source: 'x', tenantId: '404', logType: 'AccessLog', throughMs: 0, entriesSeen: 0 }));
      });

      it('adds what a save stored since the count it was built on (countFrom), so overlapping runs of one mirror both count', async () => {
        const at = (entriesSeen: number, countFrom?: number) =>
          store.setCheckpoint({ source: 'https://a', tenantId: TENANT, logType: 'AccessLog', throughMs: T0, entriesSeen, countFrom });
        const seen = async () => (await store.getCheckpoint('https://a', TENANT, 'AccessLog'))?.entriesSeen;
        await at(10, 0); // the first save of a first run
        assert.equal(await seen(), 10);
        // Two runs both began at 10: one stores 5, then 2 more; the other stores 7.
        await at(15, 10);
        await at(17, 10);
        await at(17, 15);
        assert.equal(await seen(), 24);
        await at(3); // without countFrom the count is set
        assert.equal(await seen(), 3);
      });

      it("lists every checkpoint, or one tenant's, by tenant, source and type", async () => {
        await store.createTenant({ id: OTHER, name: 'Other' });
        assert.deepEqual(await store.listCheckpoints(), []);
        await store.setCheckpoint({ source: 'https://b', tenantId: TENANT, logType: 'AccessLog', throughMs: T0, entriesSeen: 2 ** 40 });
        await store.setCheckpoint({ source: 'https://a', tenantId: TENANT, logType: 'UserCallPlay', throughMs: 1, entriesSeen: 1 });
        await store.setCheckpoint({ source: 'https://a', tenantId: TENANT, logType: 'AccessLog', throughMs: 2, entriesSeen: 0 });
        await store.setCheckpoint({ source: 'https://a', tenantId: OTHER, logType: 'AccessLog', throughMs: 3, entriesSeen: 3 });
        const strip = (list: Checkpoint[]) => list.map((c) => [c.tenantId, c.source, c.logType, c.throughMs, c.entriesSeen]);
        const all = await store.listCheckpoints();
        assert.ok(all.every((c) => !Number.isNaN(Date.parse(c.updatedAt))));
        // By tenant id as text: TENANT ('1…') before OTHER ('9…').
        const mine = [
          [TENANT, 'https://a', 'AccessLog', 2, 0],
          [TENANT, 'https://a', 'UserCallPlay', 1, 1],
          [TENANT, 'https://b', 'AccessLog', T0, 2 ** 40],
        ];
        const others = [[OTHER, 'https://a', 'AccessLog', 3, 3]];
        assert.deepEqual(strip(all), [...mine, ...others]);
        assert.deepEqual(strip(await store.listCheckpoints(TENANT)), mine);
        assert.deepEqual(strip(await store.listCheckpoints(OTHER)), others);
        assert.deepEqual(await store.listCheckpoints('404'), []);

        // Forgotten: one type of a source, then the rest of it; other sources and tenants stay.
        assert.equal(await store.forgetCheckpoints(TENANT, 'https://a', 'UserCallPlay'), 1);
        assert.deepEqual(strip(await store.listCheckpoints(TENANT)), [mine[0], mine[2]]);
        assert.equal(await store.forgetCheckpoints(TENANT, 'https://a', 'UserCallPlay'), 0);
        assert.equal(await store.forgetCheckpoints(TENANT, 'https://a'), 1);
        assert.deepEqual(strip(await store.listCheckpoints()), [mine[2], ...others]);
        assert.equal(await store.forgetCheckpoints('404', 'https://a'), 0);
      });
    });

    describe('volume and fidelity', () => {
      it('appends 20,000 entries in one batch and pages through them', async () => {
        const rnd = prng(7);
        const batch = Array.from({ length: 20_000 }, (_, i) =>
          makeEntry(
            'UserActivityLog',
            T0 + Math.floor(rnd() * 90 * 24) * HOUR,
            `{"auditId":"${9_000_000_000_000_000_000n + BigInt(i)}","pad":"${'x'.repeat(200)}"}`,
          ),
        );
        assert.deepEqual(await store.append(TENANT, batch), { accepted: 20_000, duplicates: 0 });
        const all = await readAll(store, q('UserActivityLog', 0, null), 1000);
        assert.equal(all.total, 20_000);
        assert.equal(all.entries.length, 20_000);
        assertSorted(all.entries);
        assert.deepEqual(await store.append(TENANT, batch), { accepted: 0, duplicates: 20_000 });
      });

      it('returns unicode, escapes and big numbers byte for byte', async () => {
        const records = [
          String.raw`{"name":"Zoë Ångström 山田太郎 🦄👩🏽‍💻","esc":"\"quoted\" \\ back\/slash \u00e9 \ud83d\ude00 \n\t\u0000"}`,
          `{"big":12345678901234567890123,"neg":-98765432109876543210,"f":1.0,"tiny":1.5e-300,"huge":1E+400,"z":-0,"arr":[1,2.50,"x",null,true]}`,
          String.raw`{"auditId":"9223372036854775808","nested":{"deep":{"deeper":[{"k":"\u2028\u2029"}]}},"rtl":"שָׁלוֹם مرحبا"}`,
          `{"long":"${'é'.repeat(300_000)}"}`,
        ];
        const batch = records.map((r, i) => makeEntry('UserCallPlay', T0 + i, r, `${2n ** 64n + BigInt(i)}`));
        await store.append(TENANT, batch);
        const page = await (await open()).firstPage(q('UserCallPlay', T0, null), 10);
        const entries = entriesOf(page);
        assert.equal(entries.length, batch.length);
        for (let i = 0; i < batch.length; i++) assert.equal(entries[i]!.body, batch[i]!.body);
        // The page text is the entries' texts, byte for byte, joined by commas.
        assert.ok(page.text.equals(Buffer.from(batch.map((e) => e.body).join(','))));
      });

      it('stores a batch given as UTF-8 bytes (parsed on a worker) as its texts, repeats and duplicates once', async () => {
        const [a, b, c, d, e, f] = [
          makeEntry('AccessLog', T0, '{"a":1}'),
          makeEntry('AccessLog', T0 + 1, String.raw`{"name":"Zoë 山田 🦄","esc":"\u001e \" \\"}`),
          makeEntry('AccessLog', T0 + 2, `{"long":"${'é'.repeat(5_000)}"}`),
          makeEntry('AccessLog', T0 + 2, '{"d":1}'),
          // Texts longer than a store may send in one piece (PostgreSQL: one COPY message), as a string and as bytes.
          makeEntry('AccessLog', T0 + 3, `{"e":"${'ü'.repeat(70_000)}"}`),
          makeEntry('AccessLog', T0 + 4, `{"f":"${'山'.repeat(50_000)}"}`),
        ];
        assert.deepEqual(await store.append(TENANT, [a!, e!]), { accepted: 2, duplicates: 0 });
        // All new but a repeat; then new and stored ones; then only stored ones.
        assert.deepEqual(await store.append(TENANT, packedOf([b!, b!, c!])), { accepted: 2, duplicates: 1 });
        assert.deepEqual(await store.append(TENANT, packedOf([a!, d!, f!, c!])), { accepted: 2, duplicates: 2 });
        assert.deepEqual(await store.append(TENANT, packedOf([d!, c!, e!])), { accepted: 0, duplicates: 3 });
        const page = await (await open()).firstPage(q('AccessLog', T0, null), 10);
        assert.equal(page.total, 6);
        assert.ok(page.text.equals(Buffer.from([a, b, c, d, e, f].map((x) => x!.body).join(','))));
      });
    });

    describe('concurrent writers', () => {
      it('stores each entry once when several stores append overlapping batches at once', async () => {
        const stores = [store, await open(), await open(), await open()];
        const universe = Array.from({ length: 600 }, (_, i) => makeEntry('AccessLog', T0 + (i % 97) * 1000, `{"i":${i}}`));
        const rnd = prng(3);
        const batches = Array.from({ length: 12 }, () => {
          const start = Math.floor(rnd() * 400);
          return universe.slice(start, start + 200);
        });
        batches.push(universe.slice(0, 300), universe.slice(300)); // together they cover everything
        const results = await Promise.all(batches.map((b, i) => stores[i % stores.length]!.append(TENANT, b)));
        const accepted = results.reduce((s, r) => s + r.accepted, 0);
        const duplicates = results.reduce((s, r) => s + r.duplicates, 0);
        assert.equal(accepted, 600);
        assert.equal(
          accepted + duplicates,
          batches.reduce((s, b) => s + b.length, 0),
        );
        const all = await readAll(store, q('AccessLog', 0, null), 100);
        assert.equal(all.total, 600);
        assert.equal(new Set(all.entries.map((e) => e.body)).size, 600);
      });

      it('lets different tenants append in parallel', async () => {
        await store.createTenant({ id: OTHER, name: 'Other' });
        const other = await open();
        const batch = Array.from({ length: 2000 }, (_, i) => makeEntry('AccessLog', T0 + i, `{"i":${i}}`));
        const [a, b] = await Promise.all([store.append(TENANT, batch), other.append(OTHER, batch)]);
        assert.equal(a.accepted, 2000);
        assert.equal(b.accepted, 2000);
      });
    });

    describe('migrations', () => {
      it('reopening a current store changes nothing', async () => {
        await store.append(TENANT, [makeEntry('AccessLog', T0)]);
        const version = await fixture.schemaVersion();
        assert.ok(version > 0);
        const again = await open();
        assert.equal(await fixture.schemaVersion(), version);
        assert.equal((await again.firstPage(q('AccessLog', T0, null), 10)).total, 1);
        await again.health();
      });

      it('refuses a store written by a newer logwarden', async () => {
        const version = await fixture.schemaVersion();
        await fixture.setSchemaVersion(version + 1);
        await assert.rejects(fixture.open(), (err) => err instanceof SchemaTooNewError && /upgrade logwarden/.test(err.message));
      });

      it('migrates a fresh database once when several stores open it at once', async () => {
        const fresh = await create({ fresh: true });
        try {
          const stores = await Promise.all([open(fresh), open(fresh), open(fresh)]);
          await stores[0]!.createTenant({ id: TENANT, name: 'Acme' });
          await stores[1]!.append(TENANT, [makeEntry('AccessLog', T0)]);
          assert.equal((await stores[2]!.firstPage(q('AccessLog', T0, null), 10)).total, 1);
          assert.equal(await fresh.schemaVersion(), await fixture.schemaVersion());
        } finally {
          for (const s of opened.splice(1)) await s.close();
          await fresh.teardown();
        }
      });
    });

    describe('when access keys were last used', () => {
      keyUseContractCases(() => ({ store, fixture, open, tenant: TENANT }));
    });

    describe('retention', () => {
      retentionContractCases(() => ({ store, fixture, open, tenant: TENANT, other: OTHER, t0: T0, makeEntry }));
    });

    describe('taking a whole store in', () => {
      transferContractCases(() => ({ store, create, tenant: TENANT, other: OTHER, t0: T0, makeEntry }), transferSources);
    });

    describe('verifiable log', { skip: verifiableLog ? undefined : 'this store does not keep the verifiable log yet' }, () => {
      treeContractCases(() => ({ store, fixture, open, tenant: TENANT, other: OTHER, t0: T0, makeEntry }));
    });
  });
}
