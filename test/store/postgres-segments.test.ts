/**
 * The PostgreSQL store's segments: sealing, late entries, several sealing processes, snapshot
 * paging across seals, corruption, space, and upgrading a database of the previous schema.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import pg from 'pg';
import { generateDemoEntries } from '../../src/demo/demo-data.ts';
import type { NewEntry } from '../../src/logs/entry.ts';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/index.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { CorruptEntryError, CorruptSegmentError, type EntryQuery, type StoredPage } from '../../src/store/store.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf, type PageText } from '../support/page-entries.ts';
import { startPostgres, UNDO_COMPACT_CHECKPOINTS, UNDO_KEY_LAST_USED, UNDO_SEALED_KEYS } from '../support/postgres.ts';
import { makeEntry, readAll } from './contract/store.contract.ts';

const { cluster, skip } = await startPostgres();
after(() => cluster?.stop());

const T0 = Date.UTC(2025, 2, 31, 20); // four hours before a month boundary
const MIN = 60_000;

/** A deterministic generator, so a failing case replays identically. */
function prng(seed: number): () => number {
  let s = ((seed * 2654435761) % 2147483646) + 1;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}

/** The entries a query must show, in page order, from a model of what was appended (first arrival wins). */
function expected(model: readonly { e: NewEntry; order: number }[], q: EntryQuery): string[] {
  return model
    .filter(({ e }) => e.logType === q.logType && e.eventTimeMs >= q.fromMs && (q.toMs === null || e.eventTimeMs < q.toMs))
    .sort((a, b) => a.e.eventTimeMs - b.e.eventTimeMs || a.order - b.order)
    .map(({ e }) => e.body);
}

describe('postgres store: segments', { skip }, () => {
  let url: string;
  const stores: PostgresStore[] = [];
  const open = async (options: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> => {
    const s = await openPostgresStore({ url, poolSize: 4, sealAgeMs: 0, sealIntervalMs: 10, ...options });
    stores.push(s);
    return s;
  };
  const sql = async <R extends Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]> =>
    (await cluster!.query<R>(url, text, params)).rows;
  const hotRows = async (): Promise<number> => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM entries'))[0]!.n);
  const segmentCount = async (): Promise<number> => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM segments'))[0]!.n);
  const keyRows = async (): Promise<number> => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM entry_keys'))[0]!.n);

  /** Segments of one group never overlap and never cross a month, and their counts add up. */
  async function assertSegmentsWellFormed(): Promise<void> {
    const rows = await sql<{ tid: number; type_id: number; first_time: string; first_seq: string; last_time: string; last_seq: string; n: number }>(
      'SELECT tid, type_id, first_time, first_seq, last_time, last_seq, n FROM segments ORDER BY tid, type_id, last_time, last_seq',
    );
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const month = (ms: number) => new Date(ms).toISOString().slice(0, 7);
      assert.equal(month(Number(r.first_time)), month(Number(r.last_time)), 'a segment crosses a month');
      const prev = rows[i - 1];
      if (prev && prev.tid === r.tid && prev.type_id === r.type_id) {
        const before =
          Number(prev.last_time) < Number(r.first_time) || (prev.last_time === r.first_time && Number(prev.last_seq) < Number(r.first_seq));
        assert.ok(before, 'two segments of one group overlap');
      }
    }
  }

  beforeEach(async () => {
    url = await cluster!.createDatabase();
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await cluster!.dropDatabase(url);
  });

  it('seals hot rows into segments without changing a page, a total or idempotency', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 't' });
    const rnd = prng(1);
    const entries = Array.from({ length: 3000 }, (_, i) =>
      makeEntry(i % 3 ? 'AccessLog' : 'UserCallPlay', T0 + Math.floor(rnd() * 8 * 60 * MIN), `{"i":${i},"pad":"${'x'.repeat(i % 50)}"}`),
    );
    // Equal times and the far past and future too.
    entries.push(...Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', T0 + 3 * 60 * MIN, `{"tie":${i}}`)));
    entries.push(makeEntry('AccessLog', Date.UTC(1969, 5, 1), '{"old":1}'), makeEntry('AccessLog', Date.UTC(9999, 0, 1), '{"far":1}'));
    await store.append('1', entries);
    const queries: EntryQuery[] = [
      { tenantId: '1', logType: 'AccessLog', fromMs: Date.UTC(1960, 0, 1), toMs: null },
      { tenantId: '1', logType: 'AccessLog', fromMs: T0 + 37 * MIN + 11, toMs: T0 + 6 * 60 * MIN + 5 },
      { tenantId: '1', logType: 'UserCallPlay', fromMs: T0, toMs: T0 + 4 * 60 * MIN },
    ];
    const before = await Promise.all(queries.map((q) => readAll(store, q, 77)));
    await store.settle();
    assert.equal(await hotRows(), 0);
    assert.ok((await segmentCount()) >= 10);
    await assertSegmentsWellFormed();
    const reader = await open({ noSealer: true });
    for (const [i, q] of queries.entries()) {
      // The reader a second time, with every segment in its cache: pages that run past a
      // cached segment read the next one in the same statement.
      for (const [s, size] of [
        [store, 77],
        [reader, 77],
        [reader, 77],
        [reader, 300],
      ] as const) {
        const now = await readAll(s, q, size);
        assert.equal(now.total, before[i]!.total);
        assert.deepEqual(now.entries, before[i]!.entries);
      }
    }
    // Sealed entries keep their idempotency keys in their segments, not as rows.
    assert.equal(await keyRows(), 0);
    assert.deepEqual(await store.append('1', entries.slice(0, 500)), { accepted: 0, duplicates: 500 });
    // A batch of sealed duplicates (at tied times too) and new entries: only the new are stored.
    const fresh = [makeEntry('AccessLog', T0 + 3 * 60 * MIN, '{"tie":"new"}'), makeEntry('UserCallPlay', T0 + 61 * MIN, '{"new":1}')];
    assert.deepEqual(await store.append('1', [...entries.slice(2900), ...fresh]), { accepted: 2, duplicates: entries.length - 2900 });
    assert.equal(await keyRows(), 2);
    assert.deepEqual(await reader.append('1', fresh), { accepted: 0, duplicates: 2 });
    const r = await sql<{ storage: string; rel: string }>(
      `SELECT c.relname AS rel, a.attstorage AS storage FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       WHERE a.attname = 'data' AND c.relname LIKE 'segments%'`,
    );
    assert.ok(r.length >= 3);
    for (const row of r) assert.equal(row.storage, 'e', `${row.rel}: compressed bytes must not be compressed again`);
  });

  it('keeps pages, totals and idempotency through rounds of late entries into sealed ranges, in bounded space', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 't' });
    const rnd = prng(2);
    const model: { e: NewEntry; order: number }[] = [];
    const keys = new Set<string>();
    const add = async (batch: NewEntry[]) => {
      await store.append('1', batch);
      for (const e of batch) {
        if (keys.has(e.key.toString('hex'))) continue;
        keys.add(e.key.toString('hex'));
        model.push({ e, order: model.length });
      }
    };
    // Realistic texts (they decide how well segments compress), within one month.
    const window = { fromMs: Date.UTC(2025, 4, 3), toMs: Date.UTC(2025, 4, 13) };
    await add([...generateDemoEntries({ ...window, seed: 5, count: 20_000, types: ['AccessLog'] })]);
    await store.settle();
    const query: EntryQuery = { tenantId: '1', logType: 'AccessLog', fromMs: window.fromMs, toMs: null };
    const hotSizes: number[] = [];
    for (let round = 0; round < 5; round++) {
      const late = [...generateDemoEntries({ ...window, seed: 100 + round, count: 100, types: ['AccessLog'] })];
      await add([...late, model[Math.floor(rnd() * model.length)]!.e]);
      await store.settle();
      assert.equal(await hotRows(), 0);
      const all = await readAll(store, query, 100);
      assert.equal(all.total, model.length);
      assert.deepEqual(
        all.entries.map((e) => e.body),
        expected(model, query),
      );
      await cluster!.query(url, 'VACUUM segments, entries');
      // The sealed entries take, indexes and TOAST included, at most 1.5× their live compressed
      // bytes (texts and idempotency keys): replaced segments' space is reused. The hot table is working space for entries
      // not yet sealed (its indexes keep the size of the largest backlog): it must not grow.
      const [space] = await sql<{ sealed: string; live: string; hot: string }>(
        `SELECT (SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = 'segments'::regclass) AS sealed,
                (SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits i WHERE i.inhparent = 'entries'::regclass) AS hot,
                (SELECT sum(octet_length(data) + coalesce(pg_column_size(key_times) + pg_column_size(keys), 0)) FROM segments) AS live`,
      );
      const ratio = Number(space!.sealed) / Number(space!.live);
      if (process.env.LOGWARDEN_TEST_VERBOSE) console.log(`round ${round}: ${JSON.stringify(space)} (${ratio.toFixed(3)}×)`);
      assert.ok(ratio <= 1.5, `round ${round}: sealed entries take ${ratio.toFixed(2)}× their live compressed bytes`);
      hotSizes.push(Number(space!.hot));
      assert.ok(Number(space!.hot) <= hotSizes[0]! * 1.25, `round ${round}: the hot table grew to ${space!.hot} bytes`);
    }
    await assertSegmentsWellFormed();
  });

  it('forgets the decoded segments its sealer or purge replaced: a reader of the newest entries caches no segment that no longer exists', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 't' });
    const query: EntryQuery = { tenantId: '1', logType: 'AccessLog', fromMs: T0, toMs: null };
    // Steady ingest read as it comes: each seal rewrites the newest, short segment (new id)
    // after a page has cached it.
    for (let batch = 0; batch < 30; batch++) {
      await store.append(
        '1',
        Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', T0 + (batch * 20 + i) * 1000, `{"i":${batch * 20 + i}}`)),
      );
      await store.settle();
      await readAll(store, query, 100);
    }
    // A purge step rewrites the first segment, which the reads cached.
    assert.equal((await store.purge('1', 'AccessLog', T0 + 50_000, 1000)).count, 50);
    await readAll(store, query, 100);
    const cache = (store as unknown as { cache: { size: number } }).cache;
    const live = await segmentCount();
    assert.ok(live >= 2, `${live} segments`);
    assert.ok(cache.size <= live, `${cache.size} segments cached, ${live} exist`);
  });

  it('forgets the decoded segments another process replaced or purged once a read finds them gone: its cache holds no more segments than exist', async () => {
    const reader = await open({ noSealer: true });
    const writer = await open({ noSealer: true });
    await writer.createTenant({ id: '1', name: 't' });
    const query: EntryQuery = { tenantId: '1', logType: 'AccessLog', fromMs: T0, toMs: null };
    // Steady ingest sealed by the other store, read here as it comes: each seal there rewrites
    // the newest, short segment (new id) after a page here has cached it.
    for (let batch = 0; batch < 30; batch++) {
      await writer.append(
        '1',
        Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', T0 + (batch * 20 + i) * 1000, `{"i":${batch * 20 + i}}`)),
      );
      await writer.settle();
      await readAll(reader, query, 100);
    }
    // A purge step there rewrites the first segment, which the reads here cached.
    assert.equal((await writer.purge('1', 'AccessLog', T0 + 50_000, 1000)).count, 50);
    const got = await readAll(reader, query, 100);
    assert.equal(got.entries.length, 550);
    const cache = (reader as unknown as { cache: { size: number } }).cache;
    const live = await segmentCount();
    assert.ok(live >= 2, `${live} segments`);
    assert.ok(cache.size <= live, `${cache.size} segments cached, ${live} exist`);
  });

  it('several stores appending and sealing at once: no entry lost or doubled, snapshot paging exact', async () => {
    const writers = await Promise.all([0, 1, 2].map(() => open({ sealAgeMs: 0, sealIntervalMs: 5 })));
    await writers[0]!.createTenant({ id: '1', name: 't' });
    const reader = await open({ noSealer: true });
    const query: EntryQuery = { tenantId: '1', logType: 'AccessLog', fromMs: T0, toMs: T0 + 10 * 60 * MIN };
    let stop = false;
    const appended = new Set<string>();
    const write = async (w: PostgresStore, seed: number): Promise<void> => {
      const rnd = prng(seed);
      for (let n = 0; !stop && n < 400; n++) {
        const batch = Array.from({ length: 1 + Math.floor(rnd() ** 2 * 60) }, () =>
          makeEntry('AccessLog', T0 + Math.floor(rnd() * 10 * 60 * MIN), `{"w":${seed},"r":${Math.floor(rnd() * 1e9)}}`),
        );
        // Now and then an entry another writer may be sending too.
        batch.push(makeEntry('AccessLog', T0 + Math.floor(rnd() * 50) * MIN, `{"shared":${Math.floor(rnd() * 50)}}`));
        await w.append('1', batch);
        for (const e of batch) appended.add(e.body);
      }
    };
    const running = writers.map((w, i) => write(w, 10 + i));
    try {
      for (let round = 0; round < 15; round++) {
        const first = await reader.firstPage(query, 50);
        const seen: PageText[] = entriesOf(first);
        for (let page: StoredPage = first; page.next !== null; ) {
          page = await reader.nextPage(query, page.next, first.watermark, 50);
          seen.push(...entriesOf(page));
        }
        assert.equal(seen.length, first.total, `round ${round}: a snapshot's pages do not add up to its total`);
        assert.equal(new Set(seen.map((e) => e.body)).size, seen.length, `round ${round}: an entry shown twice`);
        for (let i = 1; i < seen.length; i++) assert.ok(seen[i - 1]!.timeMs <= seen[i]!.timeMs);
      }
    } finally {
      stop = true;
      await Promise.all(running);
    }
    await writers[0]!.settle();
    await Promise.all(writers.map((w) => w.settle()));
    assert.equal(await hotRows(), 0);
    await assertSegmentsWellFormed();
    const all = await readAll(reader, query, 100);
    assert.equal(all.total, appended.size);
    assert.deepEqual(new Set(all.entries.map((e) => e.body)), appended);
    assert.equal(all.entries.length, appended.size);
  });

  it('leaves entries sealed after a query began out of its later pages', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 't' });
    await store.append(
      '1',
      Array.from({ length: 1000 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"old":${i}}`)),
    );
    await store.settle();
    const query: EntryQuery = { tenantId: '1', logType: 'AccessLog', fromMs: T0, toMs: null };
    const first = await store.firstPage(query, 100);
    // Entries between the sealed ones, sealed into the same (rewritten) segments.
    await store.append(
      '1',
      Array.from({ length: 500 }, (_, i) => makeEntry('AccessLog', T0 + i * 2000 + 500, `{"new":${i}}`)),
    );
    await store.settle();
    assert.equal(await hotRows(), 0);
    const seen = entriesOf(first);
    for (let page: StoredPage = first; page.next !== null; ) {
      page = await store.nextPage(query, page.next, first.watermark, 100);
      seen.push(...entriesOf(page));
    }
    assert.equal(seen.length, 1000);
    assert.ok(!seen.some((e) => e.body.includes('"new"')));
    assert.equal((await store.firstPage(query, 1)).total, 1500);
  });

  it('refuses a corrupt segment or one of another tenant with a clear error, never its bytes', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 'a' });
    await store.createTenant({ id: '2', name: 'b' });
    for (const t of ['1', '2']) {
      await store.append(
        t,
        Array.from({ length: 200 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"tenant":"${t}","i":${i}}`)),
      );
    }
    await store.settle();
    const q = (tenantId: string): EntryQuery => ({ tenantId, logType: 'AccessLog', fromMs: T0, toMs: null });
    // Tenant 2's segment bytes under tenant 1's segment row.
    await sql(`UPDATE segments s SET data = o.data FROM segments o WHERE s.tid = 1 AND o.tid = 2 AND o.first_time = s.first_time`);
    await assert.rejects((await open({ noSealer: true })).firstPage(q('1'), 10), CorruptSegmentError);
    // One byte flipped in tenant 2's.
    await sql(`UPDATE segments SET data = set_byte(data, 40, get_byte(data, 40) # 1) WHERE tid = 2`);
    await assert.rejects((await open({ noSealer: true })).firstPage(q('2'), 10), CorruptSegmentError);
  });

  /**
   * A store (no sealer of its own) with tenants 1 and 2, tenant 1's 300 AccessLog entries
   * sealed into a segment then damaged; the problems it reports, and the count of repeats.
   */
  async function withCorruptSegment() {
    const reports = { lines: [] as string[], repeats: 0 };
    const store = await open({
      noSealer: true,
      onBackgroundError: (problem, repeat) => (repeat ? reports.repeats++ : reports.lines.push(problem.message)),
    });
    await store.createTenant({ id: '1', name: 'a' });
    await store.createTenant({ id: '2', name: 'b' });
    await store.append(
      '1',
      Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"i":${i}}`)),
    );
    await store.settle();
    await sql(`UPDATE segments SET data = set_byte(data, 40, get_byte(data, 40) # 1) WHERE tid = 1`);
    return { store, reports };
  }

  it('leaves a group with a corrupt segment unsealed, says so once, and seals the others', async () => {
    const { store, reports } = await withCorruptSegment();
    const { lines } = reports;
    // A late entry into the corrupt range, and another tenant's entries.
    await store.append('1', [makeEntry('AccessLog', T0 + 500, '{"late":1}')]);
    await store.append(
      '2',
      Array.from({ length: 50 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"b":${i}}`)),
    );
    await store.settle();
    await store.settle();
    const hot = await sql<{ tid: number; n: string }>('SELECT tid, count(*) AS n FROM entries GROUP BY tid');
    assert.deepEqual(
      hot.map((r) => [r.tid, Number(r.n)]),
      [[1, 1]],
    );
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(reports.repeats >= 1, 'the second settle meets the corrupt segment again, a repeat');
    assert.match(lines[0]!, /corrupt/);
    assert.doesNotMatch(lines[0]!, /"i":|late/, 'no entry text in the log line');
  });

  it("finds every other tenant's rows to seal however many rows a group left unsealed holds", async () => {
    const {
      store,
      reports: { lines },
    } = await withCorruptSegment();
    // A late entry into the corrupt range keeps the group unsealed; the tenant goes on storing
    // entries of that type, more than a round looks at, before the other tenant stores its own.
    await store.append('1', [makeEntry('AccessLog', T0 + 500, '{"late":1}')]);
    await store.append(
      '1',
      Array.from({ length: 2500 }, (_, i) => makeEntry('AccessLog', T0 + 400_000 + i * 1000, `{"more":${i}}`)),
    );
    await store.append(
      '2',
      Array.from({ length: 50 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"b":${i}}`)),
    );
    await store.settle();
    const hot = await sql<{ tid: number; n: string }>('SELECT tid, count(*) AS n FROM entries GROUP BY tid ORDER BY tid');
    assert.deepEqual(
      hot.map((r) => [r.tid, Number(r.n)]),
      [[1, 2501]],
    );
    assert.equal(lines.length, 1, lines.join('\n'));
  });

  it('leaves a group with a hot row that fails its check unsealed, says so once without its text, and seals the others', async () => {
    // Pages and sealing refusing such a row, on both stores: the store contract ("sealed entries").
    const lines: string[] = [];
    let repeats = 0;
    const store = await open({ noSealer: true, onBackgroundError: (problem, repeat) => (repeat ? repeats++ : lines.push(problem.message)) });
    await store.createTenant({ id: '1', name: 'a' });
    await store.createTenant({ id: '2', name: 'b' });
    await store.append(
      '1',
      Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"secret":"payload-${i}"}`)),
    );
    await store.append(
      '2',
      Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"b":${i}}`)),
    );
    const [row] = await sql<{ seq: string }>(
      `UPDATE entries SET body = replace(body, 'payload-7', 'payload-X') WHERE tid = 1 AND body LIKE '%payload-7"%' RETURNING seq`,
    );
    await store.settle();
    await store.settle();
    const hot = await sql<{ tid: number; n: string }>('SELECT tid, count(*) AS n FROM entries GROUP BY tid');
    assert.deepEqual(
      hot.map((r) => [r.tid, Number(r.n)]),
      [[1, 20]],
    );
    assert.equal(Number((await sql<{ n: string }>('SELECT count(*) AS n FROM segments WHERE tid = 1'))[0]!.n), 0, 'nothing of tenant 1 sealed');
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.ok(repeats >= 1, 'the second settle meets the row again, a repeat');
    assert.match(lines[0]!, new RegExp(`stored entry ${row!.seq} .*is corrupt`));
    assert.doesNotMatch(lines[0]!, /payload/, 'no entry text in the log line');
    await assert.rejects(store.firstPage({ tenantId: '1', logType: 'AccessLog', fromMs: T0, toMs: null }, 100), CorruptEntryError);
  });

  it('an append of an entry the sealer is moving waits for it, then finds its key in the new segment', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 't' });
    const sealed = Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"i":${i}}`));
    await store.append('1', sealed);
    await store.settle();
    const late = makeEntry('AccessLog', T0 + 150_500, '{"late":1}');
    await store.append('1', [late]);
    // Another session holds the late row: the sealer stops at its delete, the row's key already
    // deleted and the segment holding it written, all uncommitted.
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT FROM entries WHERE body = $1 FOR SHARE', [late.body]);
      const waiters = async (): Promise<number> =>
        Number((await sql<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'`))[0]!.n);
      const until = async (n: number, what: string): Promise<void> => {
        for (let i = 0; (await waiters()) < n; i++) {
          assert.ok(i < 500, what);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      const sealing = store.settle();
      await until(1, 'the sealer did not reach the held row');
      const replay = store.append('1', [late]);
      await until(2, 'the append did not wait for the sealer');
      await holder.query('COMMIT');
      await sealing;
      assert.deepEqual(await replay, { accepted: 0, duplicates: 1 });
    } finally {
      await holder.end();
    }
    assert.equal(await hotRows(), 0);
    assert.equal(await keyRows(), 0);
    const all = await readAll(store, { tenantId: '1', logType: 'AccessLog', fromMs: T0, toMs: null }, 1000);
    assert.equal(all.entries.filter((e) => e.body === late.body).length, 1);
    assert.equal(all.total, 301);
  });

  it('gives back the index space of hot partitions that sealing emptied, and drops a failed rebuild', async () => {
    const store = await open({ noSealer: true });
    await store.createTenant({ id: '1', name: 't' });
    const t0 = Date.UTC(2025, 4, 1);
    const entries = Array.from({ length: 40_000 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"i":${i}}`));
    for (let at = 0; at < entries.length; at += 10_000) await store.append('1', entries.slice(at, at + 10_000));
    const indexBytes = async (): Promise<Record<string, number>> => {
      const rows = await sql<{ name: string; bytes: string }>(
        `SELECT c.relname AS name, pg_indexes_size(c.oid) AS bytes FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent IN ('entries'::regclass, 'entry_keys'::regclass) AND c.relname LIKE '%y2025m05'`,
      );
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)]));
    };
    const loaded = await indexBytes();
    assert.ok(loaded.entries_y2025m05! > 1024 * 1024 && loaded.entry_keys_y2025m05! > 1024 * 1024, JSON.stringify(loaded));
    // What a rebuild cut short leaves: an invalid copy of an index.
    await cluster!.query(
      url,
      `CREATE INDEX entries_y2025m05_pkey_ccnew ON entries_y2025m05 (tid, type_id, event_time, seq);
       UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'entries_y2025m05_pkey_ccnew'::regclass`,
    );
    await store.settle();
    assert.equal(await hotRows(), 0);
    const reclaimed = await indexBytes();
    for (const [name, bytes] of Object.entries(reclaimed)) assert.ok(bytes < 64 * 1024, `${name} kept ${bytes} bytes of indexes`);
    assert.equal((await sql('SELECT 1 FROM pg_class WHERE relname = $1', ['entries_y2025m05_pkey_ccnew'])).length, 0);
    // The rebuilt indexes are the ones in use: idempotency and new rows as before.
    assert.deepEqual(await store.append('1', entries.slice(0, 100)), { accepted: 0, duplicates: 100 });
    assert.deepEqual(await store.append('1', [makeEntry('AccessLog', t0 + 500, '{"new":1}')]), { accepted: 1, duplicates: 0 });
    assert.deepEqual(await store.append('1', [makeEntry('AccessLog', t0 + 500, '{"new":1}')]), { accepted: 0, duplicates: 1 });
  });

  it('moves the idempotency keys of segments sealed before segments carried them, in the background', async () => {
    const before = await open({ noSealer: true });
    await before.createTenant({ id: '1', name: 't' });
    const window = { fromMs: Date.UTC(2025, 4, 3), toMs: Date.UTC(2025, 5, 13) };
    const entries = [...generateDemoEntries({ ...window, seed: 9, count: 3000, types: ['AccessLog', 'UserCallPlay'] })];
    await before.append('1', entries);
    await before.settle();
    // Back to the schema before segments carried keys (and before the steps after it).
    await cluster!.query(
      url,
      `BEGIN; ${UNDO_SEALED_KEYS}; ALTER TABLE tree_receipts DROP COLUMN trailed; ${UNDO_COMPACT_CHECKPOINTS}; ${UNDO_KEY_LAST_USED}; UPDATE schema_version SET version = ${MIGRATIONS.length - 5}; COMMIT`,
    );
    assert.equal(await keyRows(), entries.length);
    const queries: EntryQuery[] = ['AccessLog', 'UserCallPlay'].map((logType) => ({ tenantId: '1', logType, fromMs: window.fromMs, toMs: null }));
    const model = entries.map((e, order) => ({ e, order }));
    const check = async (store: PostgresStore): Promise<void> => {
      for (const q of queries) {
        const all = await readAll(store, q, 100);
        assert.deepEqual(
          all.entries.map((e) => e.body),
          expected(model, q),
        );
      }
    };
    const upgraded = await open({ noSealer: true });
    const keyless = async (): Promise<number> => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM segments WHERE keys IS NULL'))[0]!.n);
    assert.ok((await keyless()) >= 10);
    // Before the conversion: duplicates are found by their rows; a late entry rewrites a keyless segment.
    assert.deepEqual(await upgraded.append('1', entries.slice(0, 300)), { accepted: 0, duplicates: 300 });
    const late = [...generateDemoEntries({ ...window, seed: 10, count: 40, types: ['AccessLog'] })];
    await upgraded.append('1', late);
    model.push(...late.map((e, i) => ({ e, order: entries.length + i })));
    await check(upgraded);
    const store = await open({ sealAgeMs: 0, sealIntervalMs: 10 });
    for (let i = 0; (await keyless()) > 0 || (await hotRows()) > 0; i++) {
      assert.ok(i < 500, 'the keys were not moved in the background');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(await keyRows(), 0);
    await check(store);
    assert.deepEqual(await store.append('1', [...entries, ...late]), { accepted: 0, duplicates: entries.length + late.length });
    await assertSegmentsWellFormed();
  });

  it('upgrades a database of the previous schema: same answers, then sealed in the background', async () => {
    const base = Date.UTC(2025, 2, 1, 10);
    const rnd = prng(3);
    const entries = Array.from({ length: 1500 }, (_, i) =>
      makeEntry(i % 2 ? 'AccessLog' : 'UserCallPlay', base + Math.floor(rnd() * 40 * 86_400_000), `{"i":${i}}`),
    );
    entries.push(makeEntry('AccessLog', Date.UTC(1969, 11, 31, 23, 30), '{"pre":1}'));
    await cluster!.query(
      url,
      `BEGIN; CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (2);
       ${MIGRATIONS[0]}; ${MIGRATIONS[1]};
       INSERT INTO tenants (id, name, created_at) VALUES ('7', 't', now());
       INSERT INTO entry_seqs (tid, last_seq) SELECT tid, ${entries.length} FROM tenants;
       INSERT INTO log_types (name) VALUES ('AccessLog'), ('UserCallPlay');
       CREATE TABLE entries_y2025m03 PARTITION OF entries FOR VALUES FROM (${Date.UTC(2025, 2, 1)}) TO (${Date.UTC(2025, 3, 1)});
       COMMIT;`,
    );
    await cluster!.query(
      url,
      `INSERT INTO entries (event_time, seq, tid, type_id, key, body)
       SELECT u.t, u.n, 1, l.type_id, u.k, u.b FROM unnest($1::int8[], $2::bytea[], $3::text[], $4::text[]) WITH ORDINALITY AS u (t, k, b, ty, n)
       JOIN log_types l ON l.name = u.ty`,
      [entries.map((e) => e.eventTimeMs), entries.map((e) => e.key), entries.map((e) => e.body), entries.map((e) => e.logType)],
    );
    const queries: EntryQuery[] = ['AccessLog', 'UserCallPlay'].flatMap((logType) => [
      { tenantId: '7', logType, fromMs: Date.UTC(1960, 0, 1), toMs: null },
      { tenantId: '7', logType, fromMs: base + 86_400_000 * 3.3, toMs: base + 86_400_000 * 33.7 },
    ]);
    const model = entries.map((e, order) => ({ e, order }));
    const check = async (store: PostgresStore): Promise<void> => {
      for (const q of queries) {
        const all = await readAll(store, q, 64);
        const want = expected(model, q);
        assert.equal(all.total, want.length);
        assert.deepEqual(
          all.entries.map((e) => e.body),
          want,
        );
      }
    };
    await check(await open({ noSealer: true }));
    assert.equal(await hotRows(), entries.length);
    const store = await open({ sealAgeMs: 120_000 }); // a live default: upgraded rows are old enough at once
    for (let i = 0; (await hotRows()) > 0; i++) {
      assert.ok(i < 500, 'the upgraded rows were not sealed in the background');
      await new Promise((r) => setTimeout(r, 20));
    }
    await check(store);
    assert.deepEqual(await store.append('7', entries), { accepted: 0, duplicates: entries.length });
    assert.equal(await keyRows(), 0);
    await assertSegmentsWellFormed();
  });

  it('seals a backlog of entries of a megabyte each a bounded share at a time, within a small heap', { timeout: 300_000 }, async () => {
    // 160 MiB of hot entries of one type: read in one step (as text), they do not fit a 140 MiB
    // heap; a sealing step reads at most 64 MiB.
    const script = `
      import { openPostgresStore } from ${JSON.stringify(runnable(new URL('../../src/store/postgres/index.ts', import.meta.url)))};
      import { makeEntry } from ${JSON.stringify(runnable(new URL('./contract/store.contract.ts', import.meta.url)))};
      const store = await openPostgresStore({ url: ${JSON.stringify(url)}, poolSize: 2, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
      await store.createTenant({ id: '1', name: 'a' });
      const text = 'x'.repeat(1024 * 1024);
      for (let b = 0; b < 16; b++) {
        await store.append('1', Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', Date.UTC(2026, 0, 1) + (b * 10 + i) * 1000, '{"n":' + (b * 10 + i) + ',"s":"' + text + '"}')));
      }
      await store.settle();
      await store.close();
    `;
    const child = spawn(process.execPath, ['--max-old-space-size=140', ...LOADER_ARGS, '--input-type=module', '-e', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    assert.equal(code, 0, stderr.split('\n').slice(0, 3).join('\n'));
    assert.equal(await hotRows(), 0);
    const store = await open({ noSealer: true });
    const page = await store.firstPage({ tenantId: '1', logType: 'AccessLog', fromMs: 0, toMs: null }, 1);
    assert.equal(page.total, 160);
    assert.match(entriesOf(page)[0]!.body, /^\{"eventTime":"2026-01-01T00:00:00.000Z","logRecord":\{"n":0,"s":"x{1048576}"\}\}$/);
  });

  it("seals rows added before the database's clock was put back, without waiting for the clock to reach them again", async () => {
    const store = await open({ noSealer: true, sealAgeMs: 60 * MIN });
    await store.createTenant({ id: '1', name: 't' });
    await store.append('1', [makeEntry('AccessLog', T0, '{"ahead":1}'), makeEntry('AccessLog', T0 + 1, '{"ahead":2}')]);
    // Added while the database server's clock ran a year ahead; the clock is right now.
    await sql('UPDATE entries SET added_at = added_at + $1', [365 * 24 * 60 * MIN]);
    await store.append('1', [makeEntry('AccessLog', T0 + 2, '{"fresh":1}')]);
    await store.settle();
    assert.equal(await hotRows(), 1, 'the row added a moment ago waits for the seal age; those added "in the future" are sealed');
    assert.equal((await readAll(store, { tenantId: '1', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).entries.length, 3);
  });
});
