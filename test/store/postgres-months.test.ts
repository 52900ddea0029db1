/**
 * The PostgreSQL store over years of months: a query's total is planned over the partitions of
 * the months its bounds fall in, not over every month the store holds, and stays exact across
 * month and year boundaries (Dec 31 → Jan 1, Feb 29). A page within a month that has its own
 * partitions is read from them by a statement each connection plans once, and read right
 * when that month's partitions are dropped under a reader that knew them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { NewEntry } from '../../src/logs/entry.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { dropEmptyMonth, monthOf } from '../../src/store/postgres/migrations.ts';
import { PageReader } from '../../src/store/postgres/page-reader.ts';
import { SegmentCache } from '../../src/store/postgres/segment-cache.ts';
import { readTotals } from '../../src/store/postgres/totals.ts';
import type { StoredPage } from '../../src/store/store.ts';
import { entriesOf } from '../support/page-entries.ts';
import { startPostgres } from '../support/postgres.ts';
import { makeEntry } from './contract/store.contract.ts';

const { cluster, skip } = await startPostgres({ statementStats: true });
after(() => cluster?.stop());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TENANT = '1';

/** Four years of AccessLog, 2022 to 2025: a few entries a week, and some at the edges of years and of Feb 29. */
function entries(): NewEntry[] {
  const times: number[] = [];
  for (let t = Date.UTC(2022, 0, 1, 5); t < Date.UTC(2026, 0, 1); t += 2 * DAY + 7 * HOUR + 13_001) times.push(t);
  for (const y of [2022, 2023, 2024, 2025]) times.push(Date.UTC(y, 0, 1), Date.UTC(y, 0, 1) - 1, Date.UTC(y, 0, 1) + 1);
  times.push(Date.UTC(2024, 1, 29), Date.UTC(2024, 1, 29, 23, 59, 59, 999), Date.UTC(2024, 2, 1) - 1);
  return times.map((t, i) => makeEntry('AccessLog', t, `{"i":${i}}`));
}

describe('postgres store: totals over years of months', { skip }, () => {
  let url: string;
  let store: PostgresStore;
  let times: number[];
  before(async () => {
    url = await cluster!.createDatabase();
    store = await openPostgresStore({ url, poolSize: 2, sealAgeMs: 0, sealIntervalMs: 10 });
    await store.createTenant({ id: TENANT, name: 'Years' });
    const list = entries();
    times = list.map((e) => e.eventTimeMs).sort((a, b) => a - b);
    await store.append(TENANT, list);
    await store.settle();
  });
  after(() => store?.close());

  const ranges: Array<[string, number, number | null]> = [
    ['whole hours inside one month', Date.UTC(2024, 5, 3), Date.UTC(2024, 5, 20)],
    ['ragged ends inside one month', Date.UTC(2024, 5, 3, 0, 10), Date.UTC(2024, 5, 20, 7, 50)],
    ['over a year boundary', Date.UTC(2023, 11, 31, 23, 59, 59, 999), Date.UTC(2024, 0, 1, 0, 0, 0, 2)],
    ['over Feb 29', Date.UTC(2024, 1, 28, 12, 20), Date.UTC(2024, 2, 1, 0, 40)],
    ['three years, ragged', Date.UTC(2022, 3, 1, 4, 5), Date.UTC(2025, 3, 1, 4, 5)],
    ['from an instant to the latest entry', Date.UTC(2025, 9, 14, 6, 30), null],
  ];

  it('counts every range exactly, across months and years', async () => {
    for (const [what, fromMs, toMs] of ranges) {
      const expected = times.filter((t) => t >= fromMs && (toMs === null || t < toMs)).length;
      const page = await store.firstPage({ tenantId: TENANT, logType: 'AccessLog', fromMs, toMs }, 1);
      assert.equal(page.total, expected, what);
    }
  });

  /** The month partitions a statement run by `read` on a connection of its own planned: those its transaction locked. */
  async function partitionsPlanned(read: (pool: pg.Pool, ids: { tid: number; typeId: number }) => Promise<void>): Promise<string[]> {
    const ids = await cluster!.query<{ tid: number; type_id: number }>(
      url,
      "SELECT t.tid, l.type_id FROM tenants t, log_types l WHERE t.id = $1 AND l.name = 'AccessLog'",
      [TENANT],
    );
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      await pool.query('BEGIN');
      await read(pool, { tid: ids.rows[0]!.tid, typeId: ids.rows[0]!.type_id });
      const locked = await pool.query<{ name: string }>(
        `SELECT c.relname AS name FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         WHERE l.pid = pg_backend_pid() AND c.relname ~ '^(entries|entry_keys|segments)_(y[0-9]{4}m[0-9]{2}|default)$'`,
      );
      await pool.query('ROLLBACK');
      return locked.rows.map((r) => r.name).sort();
    } finally {
      await pool.end();
    }
  }

  const owner = { tenantId: TENANT, logType: 'AccessLog' };
  const inJune = ranges.slice(0, 2);

  it("plans a total over the partitions of its bounds' months only, not over every month held", async () => {
    const held = await cluster!.query<{ n: string }>(url, "SELECT count(*) AS n FROM pg_class WHERE relname ~ '^segments_y[0-9]{4}m[0-9]{2}$'");
    assert.ok(Number(held.rows[0]!.n) >= 48, 'a partition per month of four years');
    for (const [what, fromMs, toMs] of inJune) {
      let total: number | undefined;
      const names = await partitionsPlanned(async (pool, ids) => {
        total = (await readTotals(pool, new SegmentCache(1 << 20), { ...ids, owner, fromMs, toMs }))?.total;
      });
      assert.equal(total, times.filter((t) => t >= fromMs && toMs !== null && t < toMs).length, what);
      assert.ok(
        names.every((n) => n.endsWith('_y2024m06')),
        `${what}: the total's statement planned ${names.length} partitions (${names.slice(0, 6).join(', ')}, …), not only June 2024's`,
      );
    }
  });

  it('plans a page of a bounded range over the months up to its end only, not over every later month', async () => {
    for (const [what, fromMs, toMs] of inJune) {
      let page: StoredPage | undefined;
      const names = await partitionsPlanned(async (pool, ids) => {
        const scope = { ...ids, owner, fromMs, toMs, watermark: Number.MAX_SAFE_INTEGER };
        page = await new PageReader(pool, new SegmentCache(1 << 20)).read(scope, { timeMs: fromMs, seq: 0 }, 3);
      });
      const expected = times.filter((t) => t >= fromMs && toMs !== null && t < toMs);
      assert.deepEqual(
        entriesOf(page!).map((e) => e.timeMs),
        expected.slice(0, 3),
        what,
      );
      assert.ok(
        names.every((n) => n.endsWith('_y2024m06')),
        `${what}: the page's statement planned ${names.length} partitions (${names.slice(0, 6).join(', ')}, …), not only June 2024's`,
      );
    }
  });

  it('seals a late entry of an old month without writing to the partitions of later months', async () => {
    // Another session holds June 2025's partitions against writes (SHARE: reads go on), so a
    // statement that writes to every month's partitions, as the sealer's deletes did, waits for it.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE segments_y2025m06, entries_y2025m06, entry_keys_y2025m06 IN SHARE MODE');
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const late = Date.UTC(2022, 2, 14, 9, 26, 53, 589);
      await store.append(TENANT, [makeEntry('AccessLog', late, '{"late":true}')]);
      times.push(late);
      times.sort((a, b) => a - b);
      let done = false;
      const settled = store.settle().then(() => {
        done = true;
        return 'sealed';
      });
      // Looks, until the sealing is done, for a statement waiting for the held partitions.
      const look = async (): Promise<string | undefined> => {
        while (!done) {
          const r = await cluster!.query<{ query: string }>(url, 'SELECT query FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [
            holderPid,
          ]);
          if (r.rows.length > 0) return `waited for June 2025: ${r.rows[0]!.query.replace(/\s+/g, ' ').slice(0, 160)}`;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return undefined;
      };
      const waited = await look();
      await holder.query('ROLLBACK');
      const outcome = waited ?? (await settled);
      await settled;
      assert.equal(outcome, 'sealed');
      assert.equal(Number((await cluster!.query<{ n: string }>(url, 'SELECT count(*) AS n FROM entries')).rows[0]!.n), 0);
      const page = await store.firstPage({ tenantId: TENANT, logType: 'AccessLog', fromMs: Date.UTC(2022, 2, 1), toMs: Date.UTC(2022, 3, 1) }, 100);
      assert.deepEqual(
        entriesOf(page).map((e) => e.timeMs),
        times.filter((t) => t >= Date.UTC(2022, 2, 1) && t < Date.UTC(2022, 3, 1)),
      );
    } finally {
      await holder.end();
    }
  });

  it("plans the sealer's searches of every month once per connection, not at every round", async () => {
    await cluster!.query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const stats = async (like: string) =>
      (
        await cluster!.query<{ calls: string; plans: string }>(
          url,
          `SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(plans), 0) AS plans FROM pg_stat_statements
           WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE $1`,
          [like],
        )
      ).rows[0]!;
    await cluster!.query(url, 'SELECT pg_stat_statements_reset()');
    // The sealer runs a round every 10 ms: at least 30 of them, whatever the machine's speed.
    for (;;) {
      const s = await stats('%FROM entries WHERE added_at <=%');
      if (Number(s.calls) >= 30) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    for (const like of ['%FROM entries WHERE added_at <=%', '%FROM segments WHERE keys IS NULL LIMIT%']) {
      const s = await stats(like);
      assert.ok(Number(s.plans) * 2 < Number(s.calls), `${like}: planned ${s.plans} times in ${s.calls} rounds`);
    }
  });

  it('plans the statement of a page within a month that has its partitions once per connection, not at every page', async () => {
    await cluster!.query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await cluster!.query(url, 'SELECT pg_stat_statements_reset()');
    const query = { tenantId: TENANT, logType: 'AccessLog', fromMs: Date.UTC(2024, 5, 1), toMs: Date.UTC(2024, 6, 1) };
    const expected = times.filter((t) => t >= query.fromMs && t < query.toMs);
    const first = await store.firstPage(query, 1);
    assert.ok(first.next, 'June 2024 holds more than one entry');
    for (let i = 0; i < 30; i++) {
      const page = await store.nextPage(query, first.next, first.watermark, 2);
      assert.deepEqual(
        entriesOf(page).map((e) => e.timeMs),
        expected.slice(1, 3),
      );
    }
    const r = await cluster!.query<{ calls: string; plans: string }>(
      url,
      `SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(plans), 0) AS plans FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM segments_y2024m06%'`,
    );
    assert.ok(Number(r.rows[0]!.calls) >= 30, `the pages were read from June's partitions (${r.rows[0]!.calls} runs)`);
    assert.ok(Number(r.rows[0]!.plans) * 2 < Number(r.rows[0]!.calls), `planned ${r.rows[0]!.plans} times in ${r.rows[0]!.calls} runs`);
  });

  it("reads on through the parents when a month's partitions were dropped under a reader that knew them", async () => {
    const other = '2';
    await store.createTenant({ id: other, name: 'Dropped month' });
    const [june, august] = [Date.UTC(2021, 5, 10), Date.UTC(2021, 7, 10)];
    await store.append(other, [makeEntry('AccessLog', june, '{"june":true}'), makeEntry('AccessLog', august, '{"august":true}')]);
    await store.settle();
    const ids = await cluster!.query<{ tid: number; type_id: number }>(
      url,
      "SELECT t.tid, l.type_id FROM tenants t, log_types l WHERE t.id = $1 AND l.name = 'AccessLog'",
      [other],
    );
    const scope = {
      tid: ids.rows[0]!.tid,
      typeId: ids.rows[0]!.type_id,
      owner: { tenantId: other, logType: 'AccessLog' },
      fromMs: Date.UTC(2021, 5, 1),
      toMs: Date.UTC(2021, 8, 1),
      watermark: Number.MAX_SAFE_INTEGER,
    };
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const reader = new PageReader(pool, new SegmentCache(1 << 20));
      const read = async () => entriesOf(await reader.read(scope, { timeMs: scope.fromMs, seq: 0 }, 5)).map((e) => e.timeMs);
      assert.deepEqual(await read(), [june, august]);
      // June 2021 emptied (its one entry deleted) and its partitions dropped, as retention does.
      await cluster!.query(url, 'DELETE FROM segments WHERE tid = $1 AND first_time < $2', [scope.tid, Date.UTC(2021, 6, 1)]);
      await cluster!.query(url, 'DELETE FROM entry_keys WHERE tid = $1 AND event_time < $2', [scope.tid, Date.UTC(2021, 6, 1)]);
      const admin = new pg.Pool({ connectionString: url, max: 1 });
      const client = await admin.connect();
      try {
        assert.equal(await dropEmptyMonth(client, monthOf(june), 5_000), true);
      } finally {
        client.release();
        await admin.end();
      }
      assert.deepEqual(await read(), [august]);
    } finally {
      await pool.end();
    }
  });
});
