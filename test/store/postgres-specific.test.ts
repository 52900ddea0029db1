/**
 * The PostgreSQL store's own cases, beyond the store contract (postgres.test.ts): locks, month
 * partitions, upgrades of its own schema, outages of its connections.
 */
import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { completePurgeTrail, recordPurgeRun } from '../../src/admin/purge-trail.ts';
import type { NewEntry } from '../../src/logs/entry.ts';
import { BackgroundPurge, type BackgroundPurgeOptions } from '../../src/store/background-purge.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { attachMonth, BEGIN_SNAPSHOT, MIGRATIONS, monthOf } from '../../src/store/postgres/migrations.ts';
import { lockExclusively } from '../../src/store/postgres/table-locks.ts';
import type { StoredPage } from '../../src/store/store.ts';
import { entriesOf } from '../support/page-entries.ts';
import { type PostgresCluster, startPostgres, UNDO_COMPACT_CHECKPOINTS, UNDO_KEY_LAST_USED, UNDO_SEALED_KEYS } from '../support/postgres.ts';
import { makeEntry } from './contract/store.contract.ts';
import { auditLog, readBodies, refusingFirstTrailOf, trailedReceiptLeaves } from './contract/store-retention.contract.ts';

const { cluster, skip } = await startPostgres();
after(() => cluster?.stop());

/** Two sessions of their own on the database at `url`, connected (the caller ends them). */
async function twoSessions(url: string): Promise<[pg.Client, pg.Client]> {
  const clients: [pg.Client, pg.Client] = [new pg.Client({ connectionString: url }), new pg.Client({ connectionString: url })];
  for (const c of clients) await c.connect();
  return clients;
}

/** The partitions of entries, entry_keys and segments whose names match `pattern`, by name. */
async function monthPartitions(pgCluster: PostgresCluster, url: string, pattern: string): Promise<string[]> {
  const r = await pgCluster.query<{ name: string }>(
    url,
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent IN ('entries'::regclass, 'entry_keys'::regclass, 'segments'::regclass) AND c.relname ~ $1 ORDER BY 1`,
    [pattern],
  );
  return r.rows.map((row) => row.name);
}

/**
 * Writes `n` AccessLog entries of tenant 1 (tid 1, type 1) a second apart from `t0` straight
 * into DEFAULT, as a process that could not attach their month would have: rows, keys, and the
 * tenant's sequence moved past them (within one hour from `t0`, a total counts them rather than
 * reading hourly tallies, which these do not add to).
 */
async function writeToDefault(url: string, t0: number, n: number): Promise<NewEntry[]> {
  const early = Array.from({ length: n }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"early":${i}}`));
  const times = early.map((e) => e.eventTimeMs);
  await cluster!.query(
    url,
    `INSERT INTO entries_default (event_time, seq, tid, type_id, body, added_at)
     SELECT e.t, s.last_seq + e.o, 1, 1, e.b, (extract(epoch FROM now()) * 1000)::int8
     FROM entry_seqs s, unnest($1::int8[], $2::text[]) WITH ORDINALITY AS e (t, b, o) WHERE s.tid = 1`,
    [times, early.map((e) => e.body)],
  );
  await cluster!.query(url, 'INSERT INTO entry_keys_default (tid, event_time, key) SELECT 1, unnest($1::int8[]), unnest($2::int8[])', [
    times,
    early.map((e) => e.key.readBigInt64BE(0).toString()),
  ]);
  await cluster!.query(url, 'UPDATE entry_seqs SET last_seq = last_seq + $1 WHERE tid = 1', [n]);
  return early;
}

/** Resolves once a statement of another session that names `table` waits for a lock (seen through `watch`). */
async function lockWaitOn(watch: pg.Client, table: string): Promise<void> {
  for (let waiting = 0; waiting === 0; ) {
    await sleep(20);
    const w = await watch.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ~ $1",
      [table],
    );
    waiting = Number(w.rows[0]!.n);
  }
}
/**
 * Runs a purge cycle while an operator's session lengthens tenant a's AccessLog retention to 90
 * days, holding the tenant's row as a recorded change does: the cycle reads the old retention,
 * then waits for the row, and the change commits once it waits. Resolves with what it deleted.
 */
async function cycleWhileLengthened(url: string, purge: BackgroundPurge): Promise<number> {
  const [operator, watch] = await twoSessions(url);
  try {
    await operator.query('BEGIN');
    await operator.query("SELECT FROM entry_seqs WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') FOR UPDATE");
    await operator.query("UPDATE retention SET days = 90 WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') AND log_type = 'AccessLog'");
    const cycle = purge.cycle();
    await lockWaitOn(watch, 'entry_seqs');
    await operator.query('COMMIT');
    return await cycle;
  } finally {
    await operator.end();
    await watch.end();
  }
}
describe('postgres store: specific', { skip }, () => {
  let url: string;
  const stores: PostgresStore[] = [];
  const open = async (): Promise<PostgresStore> => {
    const s = await openPostgresStore({ url, poolSize: 4 });
    stores.push(s);
    return s;
  };

  /** A store whose tenant 1 has an entry of 2024-01, and 26 of 2024-03 in DEFAULT from `t0` (writeToDefault). */
  const monthInDefault = async (): Promise<{ store: PostgresStore; t0: number; early: NewEntry[] }> => {
    const store = await open();
    await store.createTenant({ id: '1', name: 't' });
    await store.append('1', [makeEntry('AccessLog', Date.UTC(2024, 0, 1))]);
    const t0 = Date.UTC(2024, 2, 3, 10);
    return { store, t0, early: await writeToDefault(url, t0, 26) };
  };

  beforeEach(async () => {
    url = await cluster!.createDatabase();
  });

  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    await cluster!.dropDatabase(url);
  });

  it('purges while appends of the same tenant fill the pool, without waiting on each other', { timeout: 20_000 }, async () => {
    const store = await openPostgresStore({ url, poolSize: 2 });
    stores.push(store);
    await store.createTenant({ id: 'a', name: 'A' });
    const t0 = Date.UTC(2025, 5, 1);
    await store.append(
      'a',
      Array.from({ length: 3000 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"i":${i}}`)),
    );
    let purged = 0;
    let done = false;
    let appended = 0;
    const purging = (async () => {
      for (
        let r = await store.purge('a', 'AccessLog', t0 + 3_000_000, 100);
        r.count > 0;
        r = await store.purge('a', 'AccessLog', t0 + 3_000_000, 100)
      )
        purged += r.count;
      done = true;
    })();
    // Appends of the tenant all along, each waiting for the tenant's row while a step holds it.
    const appending = Array.from({ length: 3 }, async () => {
      while (!done) await store.append('a', [makeEntry('AccessLog', t0 + 5_000_000 + appended, `{"k":${appended++}}`)]);
    });
    await Promise.all([purging, ...appending]);
    assert.equal(purged, 3000);
    assert.equal((await store.firstPage({ tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, appended);
  });

  it('lives through its connections ended under it (PostgreSQL stopped or restarted): the work under way fails, the next succeeds', async () => {
    const store = await open();
    await store.createTenant({ id: 'a', name: 'A' });
    const t0 = Date.UTC(2025, 5, 1);
    await store.append('a', [makeEntry('AccessLog', t0, '{"i":0}')]);
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      // Keeps an append waiting, its connection checked out of the pool with a statement under way.
      await holder.query('BEGIN');
      await holder.query("SELECT FROM entry_seqs WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') FOR UPDATE");
      // Heard from the start: it may fail before the test reaches its assertion.
      const failed = assert.rejects(store.append('a', [makeEntry('AccessLog', t0 + 1, '{"i":1}')]), /terminating connection|Connection terminated/);
      const db = new URL(url).pathname.slice(1);
      for (let n = 0; n === 0; ) {
        await sleep(10); // each look is a connection of its own: not in a tight loop
        const r = await cluster!.query<{ n: string }>(
          url,
          "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'logwarden' AND wait_event_type = 'Lock'",
          [db],
        );
        n = Number(r.rows[0]!.n);
      }
      // As a fast shutdown or an operator does: every connection of the store ended, busy or idle.
      await cluster!.query(url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'logwarden'", [db]);
      await failed;
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    // The process is still here (an unheard connection error would have ended it), and the store works.
    assert.deepEqual(await store.append('a', [makeEntry('AccessLog', t0 + 2, '{"i":2}')]), { accepted: 1, duplicates: 0 });
    assert.equal((await store.firstPage({ tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 2);
  });

  it("refuses to go on when its database is made anew under it with the tenants numbered otherwise: no tenant is served another's entries", async () => {
    const t0 = Date.UTC(2025, 5, 1);
    const fill = async (s: PostgresStore, ids: readonly string[]) => {
      for (const id of ids) {
        await s.createTenant({ id, name: id.toUpperCase() });
        await s.append(id, [makeEntry('AccessLog', t0, `{"of":"${id}"}`)]);
      }
    };
    const bodies = async (s: PostgresStore, tenantId: string) =>
      entriesOf(await s.firstPage({ tenantId, logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).map((e) => e.body);
    const running = await open();
    await fill(running, ['a', 'b']);
    assert.match((await bodies(running, 'a')).join(), /"of":"a"/);
    // Dropped (its connections ended) and made anew under the running store: b numbered first now.
    await cluster!.dropDatabase(url);
    await cluster!.query(cluster!.url('postgres'), `CREATE DATABASE ${pg.escapeIdentifier(new URL(url).pathname.slice(1))}`);
    await fill(await open(), ['b', 'a']);
    for (const tenantId of ['a', 'b']) {
      await assert.rejects(
        bodies(running, tenantId),
        (err: Error) => err.name === 'DatabaseReplacedError' && /restart the process/.test(err.message),
      );
    }
    // A process started afresh reads each tenant's own.
    const restarted = await open();
    assert.deepEqual(await bodies(restarted, 'a'), [makeEntry('AccessLog', t0, '{"of":"a"}').body]);
    assert.deepEqual(await bodies(restarted, 'b'), [makeEntry('AccessLog', t0, '{"of":"b"}').body]);
  });

  it('reads what a database put back to an earlier state under it holds, not segments it decoded before under the same ids', async () => {
    const t0 = Date.UTC(2025, 5, 1);
    const query = { tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null };
    const entries = (tag: string, from: number, n: number, stepMs: number) =>
      Array.from({ length: n }, (_, i) => makeEntry('AccessLog', from + i * stepMs, `{"tag":"${tag}","i":${i}}`));
    /** Every entry's tag, counted, and the first page's total. */
    const read = async (s: PostgresStore) => {
      const first = await s.firstPage(query, 100);
      const tags: Record<string, number> = {};
      for (let page: StoredPage = first; ; page = await s.nextPage(query, page.next!, first.watermark, 100)) {
        for (const e of entriesOf(page)) {
          const tag = (JSON.parse(e.body) as { logRecord: { tag: string } }).logRecord.tag;
          tags[tag] = (tags[tag] ?? 0) + 1;
        }
        if (!page.next) break;
      }
      return { total: first.total, tags };
    };
    const admin = cluster!.url('postgres');
    const name = new URL(url).pathname.slice(1);
    const backup = `${name}_backup`;
    /** A read through connections a copy or a drop ended: the statements under way fail, the next ones connect again. */
    const readAgain = async (s: PostgresStore) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await read(s);
        } catch (err) {
          if (attempt === 3) throw err;
        }
      }
    };
    const running = await openPostgresStore({ url, poolSize: 4, sealAgeMs: 0 });
    stores.push(running);
    try {
      await running.createTenant({ id: 'a', name: 'A' });
      await running.append('a', entries('early', t0, 300, 1000));
      await running.settle();
      await cluster!.copyDatabase(name, backup);
      await running.append('a', entries('later', t0 + 300_000, 300, 1000));
      await running.settle();
      assert.deepEqual(await readAgain(running), { total: 600, tags: { early: 300, later: 300 } });
      // The backup put back, the server still running; another server seals new entries into it,
      // under the segment ids that followed the backup: those the running one has decoded.
      await cluster!.query(admin, `DROP DATABASE ${name} WITH (FORCE)`);
      await cluster!.copyDatabase(backup, name);
      const other = await openPostgresStore({ url, poolSize: 2, sealAgeMs: 0 });
      await other.append('a', entries('after', t0 + 300_000, 200, 1500));
      await other.settle();
      await other.close();
      assert.deepEqual(await readAgain(running), { total: 500, tags: { early: 300, after: 200 } });
    } finally {
      await cluster!.query(admin, `DROP DATABASE IF EXISTS ${backup}`);
    }
  });

  it('reports a month a purge step cannot drop once, then as a repeat at every later step, and returns the steps', async () => {
    const reported: [string, boolean][] = [];
    const store = await openPostgresStore({
      url,
      poolSize: 4,
      noSealer: true,
      onBackgroundError: (err, repeat) => reported.push([err.message, repeat]),
    });
    stores.push(store);
    await store.createTenant({ id: 'a', name: 'A' });
    const jan = Date.UTC(2025, 0, 10);
    const feb = Date.UTC(2025, 1, 10);
    await store.append('a', [
      ...Array.from({ length: 30 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"i":${i}}`)),
      ...Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', feb + i * 60_000, `{"i":${i}}`)),
    ]);
    // A database that refuses to drop tables (an operator's event trigger, say): January, emptied, stays.
    await cluster!.query(
      url,
      `CREATE FUNCTION refuse_drop() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no table is dropped here'; END $$;
       CREATE EVENT TRIGGER refuse_drop ON ddl_command_start WHEN TAG IN ('DROP TABLE') EXECUTE FUNCTION refuse_drop()`,
    );
    assert.equal((await store.purge('a', 'AccessLog', Date.UTC(2025, 1, 1), 1000)).count, 30);
    assert.equal((await store.purge('a', 'AccessLog', Date.UTC(2025, 2, 1), 1000)).count, 20);
    const failure = 'dropping the months a purge step emptied: no table is dropped here';
    assert.deepEqual(reported, [
      [failure, false],
      [failure, true],
    ]);
    assert.equal((await store.firstPage({ tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 0);
  });

  it('drops the partitions of a month retention emptied (seen in the catalogue), and only then', async () => {
    const store = await open();
    await store.createTenant({ id: 'a', name: 'A' });
    await store.createTenant({ id: 'b', name: 'B' });
    const jan = Date.UTC(2025, 0, 10);
    const feb = Date.UTC(2025, 1, 10);
    await store.append(
      'a',
      Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"i":${i}}`)),
    );
    await store.append(
      'a',
      Array.from({ length: 50 }, (_, i) => makeEntry('AccessLog', feb + i * 60_000, `{"i":${i}}`)),
    );
    // Another process, which will believe February attached after it is gone.
    const other = await open();
    await other.append('b', [makeEntry('AccessLog', feb, '{"b":1}')]);
    await store.settle();
    const partitions = () => monthPartitions(cluster!, url, 'y2025m0[12]$');
    assert.deepEqual(await partitions(), [
      'entries_y2025m01',
      'entries_y2025m02',
      'entry_keys_y2025m01',
      'entry_keys_y2025m02',
      'segments_y2025m01',
      'segments_y2025m02',
    ]);
    const march = Date.UTC(2025, 2, 1);
    let n = 0;
    for (let r = await store.purge('a', 'AccessLog', march, 1000); r.count > 0; r = await store.purge('a', 'AccessLog', march, 1000)) n += r.count;
    assert.equal(n, 350);
    assert.deepEqual(
      await partitions(),
      ['entries_y2025m02', 'entry_keys_y2025m02', 'segments_y2025m02'],
      "January's went; February still holds b's entry",
    );
    assert.equal((await store.purge('b', 'AccessLog', march, 1000)).count, 1);
    assert.deepEqual(await partitions(), []);
    // The months take entries again, from this store and the other that believed them attached.
    await other.append('b', [makeEntry('AccessLog', feb + 1, '{"again":1}')]);
    await store.append('a', [makeEntry('AccessLog', feb, '{"again":2}')]);
    assert.equal((await store.firstPage({ tenantId: 'b', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 1);
    assert.equal((await other.firstPage({ tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 1);
  });

  it("an append queued for its tenant's row holds no lock on the entry tables (a month drop holding the row gets them)", async () => {
    const store = await openPostgresStore({ url, poolSize: 4, noSealer: true });
    stores.push(store);
    await store.createTenant({ id: 'a', name: 'A' });
    const jan = Date.UTC(2025, 0, 3);
    await store.append('a', [makeEntry('AccessLog', jan, '{"i":0}')]);
    const [holder, dropper] = await twoSessions(url);
    try {
      // As a month drop does: the tenant's row first, held for its whole transaction.
      await holder.query('BEGIN');
      await holder.query("SELECT FROM entry_seqs WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') FOR UPDATE");
      const queued = store.append('a', [makeEntry('AccessLog', jan + 1, '{"i":1}')]);
      await lockWaitOn(dropper, 'entry_seqs');
      // The drop's last lock: the parents, to itself. Refused in time if the queued append held any.
      await dropper.query('BEGIN');
      await dropper.query('SET LOCAL lock_timeout = 3000');
      await dropper.query('LOCK TABLE entries, segments, entry_keys IN ACCESS EXCLUSIVE MODE');
      await dropper.query('ROLLBACK');
      await holder.query('COMMIT');
      assert.equal((await queued).accepted, 1);
    } finally {
      await holder.end();
      await dropper.end();
    }
  });

  it("servers writing their keys' last uses at once lock the keys in one order, whatever plan each statement gets: no deadlock", async () => {
    const store = await openPostgresStore({ url, poolSize: 2, noSealer: true });
    stores.push(store);
    await store.createTenant({ id: 'a', name: 'A' });
    // Made out of name order: a scan of the table meets them Z, A, M, B.
    const keys = ['LWZZZZ', 'LWAAAA', 'LWMMMM', 'LWBBBB'];
    for (const accessKey of keys)
      await store.createAccessKey({ accessKey, tenantId: 'a', secretHash: Buffer.alloc(32, 1), scopes: ['api:logs:read'] });
    const T = Date.UTC(2026, 2, 4);
    const [other, watch] = await twoSessions(url);
    try {
      // Another server writing two of the keys' uses: A, then Z (name order).
      await other.query('BEGIN');
      await other.query("UPDATE access_keys SET last_used_at = $1 WHERE access_key = 'LWAAAA'", [new Date(T)]);
      const writing = store.recordKeyUse(keys.map((accessKey) => ({ accessKey, atMs: T + 60_000 })));
      await lockWaitOn(watch, 'access_keys');
      await other.query("UPDATE access_keys SET last_used_at = $1 WHERE access_key = 'LWZZZZ'", [new Date(T)]);
      await other.query('COMMIT');
      await writing;
      assert.deepEqual(
        (await store.listAccessKeys('a')).map((k) => k.lastUsedAt),
        keys.map(() => new Date(T + 60_000).toISOString()),
      );
    } finally {
      await other.end();
      await watch.end();
    }
  });

  /** A store with no sealer of its own (closed after the suite) and the given tenants, each named its id in capitals. */
  /** A purge whose clock says 2025-03-04, and what it says of each month it looks at. */
  function purgeOnMarch4(store: PostgresStore): { purge: BackgroundPurge; partitions: string[] } {
    const partitions: string[] = [];
    const purge = new BackgroundPurge({
      store,
      serverDays: null,
      intervalMs: 60_000,
      now: () => Date.UTC(2025, 2, 4),
      logPartition: (p) => void partitions.push(`${p.partition} ${p.outcome}`),
    });
    return { purge, partitions };
  }

  async function unsealedStoreWith(...tenantIds: string[]) {
    const store = await openPostgresStore({ url, poolSize: 4, sealAgeMs: 0, noSealer: true });
    stores.push(store);
    for (const id of tenantIds) await store.createTenant({ id, name: id.toUpperCase() });
    return store;
  }

  it('drops a month whose every entry is expired and under no hold whole, with its receipts (seen in the catalogue)', {
    timeout: 60_000,
  }, async () => {
    const store = await unsealedStoreWith('a', 'b');
    const jan = Date.UTC(2025, 0, 3);
    const feb = Date.UTC(2025, 1, 3);
    const mar = Date.UTC(2025, 2, 3);
    const janA = Array.from({ length: 3000 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"i":${i}}`, String(i % 7)));
    await store.append('a', janA);
    await store.settle(); // January's entries of a sealed into segments (with user postings) ...
    await store.append(
      'a',
      Array.from({ length: 40 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000 + 1, `{"hot":${i}}`, '3')),
    ); // ... and some still hot rows
    await store.append(
      'a',
      Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', feb + i * 60_000, `{"feb":${i}}`)),
    );
    await store.append(
      'a',
      Array.from({ length: 10 }, (_, i) => makeEntry('UserCallPlay', mar + i, `{"mar":${i}}`)),
    );
    for (const t of [jan, feb])
      await store.append(
        'b',
        Array.from({ length: 5 }, (_, i) => makeEntry('AccessLog', t + i, `{"b":${i}}`)),
      );
    const hold = await store.createHold({ tenantId: 'b', logType: null, fromMs: feb, toMs: feb + 10, reason: 'case 7', createdBy: 'ops@h' });
    const sizeA = (await auditLog(store, 'a')).leaves.length;
    const sizeB = (await auditLog(store, 'b')).leaves.length;
    const partitions = () => monthPartitions(cluster!, url, 'y2025m0[123]$');
    const months = (m: string) => ['entries', 'entry_keys', 'segments'].map((t) => `${t}_y2025${m}`);
    assert.deepEqual(await partitions(), [...months('m01'), ...months('m02'), ...months('m03')].sort());
    // The drop deletes no row of the months it keeps (a row delete would show in their statistics).
    // Those months only: January's tables, whose sealing deleted rows, are gone after the drop, and
    // their deletes would leave the sum as soon as the sealing's statistics had been reported.
    const deletedRows = async () =>
      Number(
        (await cluster!.query<{ n: string }>(url, "SELECT coalesce(sum(n_tup_del), 0) AS n FROM pg_stat_user_tables WHERE relname ~ '_y2025m0[23]$'"))
          .rows[0]!.n,
      );
    const rowsDeletedBefore = await deletedRows();

    // Expired before March, except UserCallPlay (kept forever): March stays; February holds b's held entries.
    const cutoffOf = (_tenant: string, logType: string) => (logType === 'UserCallPlay' ? null : Date.UTC(2025, 2, 1));
    const dropped = await store.dropExpiredPartitions(cutoffOf);
    assert.deepEqual(await partitions(), [...months('m02'), ...months('m03')].sort(), 'January dropped, and only January');
    assert.deepEqual(
      dropped.map((d) => [d.tenantId, d.receipt.count]),
      [
        ['a', 2500],
        ['a', 540],
        ['b', 5],
      ],
    );
    assert.equal(await deletedRows(), rowsDeletedBefore, 'no row of February or March deleted');

    // The receipts are in the trees, right after what was there, and every deleted leaf is named once.
    const auditA = await auditLog(store, 'a');
    assert.deepEqual([...auditA.receipts.keys()], [sizeA, sizeA + 1]);
    assert.equal(auditA.deleted.size, 3040);
    assert.deepEqual(
      dropped.filter((d) => d.tenantId === 'a').map((d) => d.receipt.leafIndex),
      [sizeA, sizeA + 1],
    );
    const auditB = await auditLog(store, 'b');
    assert.deepEqual([...auditB.receipts.keys()], [sizeB]);
    assert.equal(auditB.deleted.size, 5);

    // Reads: totals, pages, the user filter and the hourly tallies as if January had never been written.
    const all = { tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null };
    const read = await readBodies(store, all, 7);
    assert.equal(read.total, 20);
    assert.equal(read.bodies.length, 20);
    assert.equal((await store.firstPage({ ...all, user: { field: 'userId', value: '3' } }, 10)).total, 0);
    assert.deepEqual(await store.hourlyTallies({ ...all, toMs: Date.UTC(2025, 1, 1) }), []);
    assert.equal((await store.firstPage({ ...all, fromMs: jan, toMs: Date.UTC(2025, 1, 1) }, 10)).total, 0);
    assert.equal((await readBodies(store, { ...all, tenantId: 'b' })).total, 5);
    assert.equal((await readBodies(store, { ...all, logType: 'UserCallPlay' })).total, 10);
    const pending = await cluster!.query<{ n: string }>(url, 'SELECT (SELECT count(*) FROM segment_users WHERE last_time < $1) AS n', [
      Date.UTC(2025, 1, 1),
    ]);
    assert.equal(Number(pending.rows[0]!.n), 0, "January's user postings went with it");
    // Its idempotency keys too: the same entry ingested again is stored again.
    assert.deepEqual(await store.append('a', [janA[0]!]), { accepted: 1, duplicates: 0 });
    assert.equal((await readBodies(store, all)).total, 21);

    // January is back with that entry (purged by a step here); February stays while the hold stands, and goes once it is released.
    await store.purge('a', 'AccessLog', Date.UTC(2025, 1, 1), 100);
    assert.deepEqual(await store.dropExpiredPartitions(cutoffOf), []);
    assert.ok((await partitions()).includes('entries_y2025m02'));
    await store.releaseHold(hold.id, { reason: 'settled', releasedBy: 'ops@h' });
    const feb2 = await store.dropExpiredPartitions(cutoffOf);
    assert.deepEqual(
      feb2.map((d) => [d.tenantId, d.receipt.count]),
      [
        ['a', 20],
        ['b', 5],
      ],
    );
    assert.ok(!(await partitions()).includes('entries_y2025m02'));
    assert.equal((await readBodies(store, all)).total, 0);
    assert.equal((await auditLog(store, 'a')).deleted.size, 3061);
    assert.equal((await auditLog(store, 'b')).deleted.size, 10);
  });

  it('asks whether to go on before each month after the first, and ends the drops when told no', async () => {
    const store = await unsealedStoreWith('a');
    for (const month of [0, 1, 2]) await store.append('a', [makeEntry('AccessLog', Date.UTC(2025, month, 3), `{"m":${month}}`)]);
    let asked = 0;
    let answers = [true, false];
    const goOn = async () => {
      asked++;
      return answers.shift() ?? false;
    };
    const all = () => Date.UTC(2025, 6, 1);
    const dropped = await store.dropExpiredPartitions(all, undefined, goOn);
    assert.equal(asked, 2, 'asked before February and before March');
    assert.equal(dropped.length, 2, 'January and February dropped, March left');
    assert.deepEqual(await monthPartitions(cluster!, url, 'entries_y2025m0[123]$'), ['entries_y2025m03']);
    answers = [];
    assert.equal((await store.dropExpiredPartitions(all)).length, 1, 'asked nothing: every month');
  });

  it('the background purge drops expired months whole before deleting ranges', { timeout: 60_000 }, async () => {
    const store = await unsealedStoreWith('a');
    const jan = Date.UTC(2025, 0, 5);
    const feb = Date.UTC(2025, 1, 5);
    await store.append('a', [
      ...Array.from({ length: 30 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
      ...Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', feb + i * 86_400_000, `{"feb":${i}}`)),
    ]);
    await store.settle();
    const purged: number[] = [];
    // Kept 9 days on a clock at 2025-02-15, the day after the latest entry: January goes whole,
    // February from the 6th on stays.
    const now = Date.UTC(2025, 1, 15);
    const partitions: string[] = [];
    const purge = new BackgroundPurge({
      store,
      serverDays: 9,
      intervalMs: 60_000,
      now: () => now,
      onPurged: (_t, r) => void purged.push(r.count),
      logPartition: (p) => void partitions.push(`${p.partition} ${p.outcome}`),
    });
    assert.equal(await purge.cycle(), 31);
    assert.deepEqual(partitions, ['2025-01 dropped'], 'February, partly retained, is not told of');
    // By steps alone, one step of up to 2,000 would have taken all 31 (one receipt).
    assert.deepEqual(purged, [30, 1], "January's 30 in the drop's receipt, then February's expired entry by a step");
    const names = (
      await cluster!.query<{ name: string }>(
        url,
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'entries'::regclass AND c.relname ~ 'y2025'",
      )
    ).rows.map((r) => r.name);
    assert.deepEqual(names, ['entries_y2025m02']);
    assert.equal((await readBodies(store, { tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null })).total, 9);
    assert.equal((await auditLog(store, 'a')).deleted.size, 31);
  });

  /** A background purge on `now` (9 days kept) that writes the admin trail as the server's does; `onPurged` may refuse a receipt first. */
  const trailingPurge = (store: PostgresStore, now: number, options: Partial<BackgroundPurgeOptions> = {}) =>
    new BackgroundPurge({
      store,
      serverDays: 9,
      intervalMs: 60_000,
      now: () => now,
      beforeCycle: () => completePurgeTrail(store, () => now),
      onPurged: async (tenantId, receipt) => void (await recordPurgeRun(store, tenantId, receipt, () => now)),
      ...options,
    });
  const entriesOfTenant = async (store: PostgresStore, tenantId: string) =>
    (await readBodies(store, { tenantId, logType: 'AccessLog', fromMs: 0, toMs: null }, 100)).total;

  it("a tenant left out of a cycle (its earlier admin trail incomplete) loses no month in it; the other tenants' months go", {
    timeout: 60_000,
  }, async () => {
    const store = await unsealedStoreWith('a', 'b');
    const jan = Date.UTC(2025, 0, 5);
    const feb = Date.UTC(2025, 1, 5);
    await store.append(
      'a',
      Array.from({ length: 30 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
    );
    await store.append('b', [
      ...Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
      ...Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', feb + i * 60_000, `{"feb":${i}}`)),
      makeEntry('AccessLog', Date.UTC(2025, 2, 10), '{"mar":0}'),
    ]);
    // A step of a's whose trail entry a process that ended never wrote, its receipt then damaged.
    const orphan = await store.purge('a', 'AccessLog', jan + 5 * 60_000, 100);
    assert.equal(orphan.count, 5);
    const receiptOfA = "FROM tree_receipts WHERE tid = (SELECT tid FROM tenants WHERE id = 'a')";
    const text = (await cluster!.query<{ text: string }>(url, `SELECT text ${receiptOfA}`)).rows[0]!.text;
    await cluster!.query(url, `UPDATE tree_receipts SET text = 'not a receipt' ${receiptOfA.replace('FROM tree_receipts ', '')}`);
    // On 2025-03-11, a day after the latest entry, January and February are wholly past 9 days.
    const partitions: string[] = [];
    const purge = trailingPurge(store, Date.UTC(2025, 2, 11), { logPartition: (p) => void partitions.push(`${p.partition} ${p.outcome}`) });
    await assert.rejects(purge.cycle(), /retention purge failed for tenant a: the admin trail entry of receipt leaf \d+/);
    assert.deepEqual(partitions, ['2025-02 dropped'], "January holds a's entries: it stays whole");
    assert.equal(await entriesOfTenant(store, 'a'), 25, 'a loses nothing in the cycle it is left out of');
    assert.equal(await entriesOfTenant(store, 'b'), 1, "b's January by steps, its February with the month");
    assert.equal((await trailedReceiptLeaves(store, 'b')).length, 2);

    // Once a's receipt can be read again, its trail entry comes first, then January goes.
    await cluster!.query(url, `UPDATE tree_receipts SET text = $1 ${receiptOfA.replace('FROM tree_receipts ', '')}`, [text]);
    assert.equal(await purge.cycle(), 25);
    assert.deepEqual(partitions, ['2025-02 dropped', '2025-01 dropped']);
    const receiptsOfA = [...(await auditLog(store, 'a')).receipts.keys()];
    assert.deepEqual(receiptsOfA.length === 2 && receiptsOfA[0], orphan.leafIndex);
    assert.deepEqual(await trailedReceiptLeaves(store, 'a'), receiptsOfA, "a's trail in the order of its receipts");
  });

  /**
   * A store (no sealer) with tenants a and b, each with 30 AccessLog entries a minute apart from
   * 5 January 2025 and 10 from 5 February, `febStepMs` apart.
   */
  async function twoTenantsJanuaryFebruary(febStepMs: number) {
    const store = await unsealedStoreWith('a', 'b');
    const jan = Date.UTC(2025, 0, 5);
    const feb = Date.UTC(2025, 1, 5);
    for (const tenantId of ['a', 'b']) {
      await store.append(tenantId, [
        ...Array.from({ length: 30 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
        ...Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', feb + i * febStepMs, `{"feb":${i}}`)),
      ]);
    }
    return store;
  }

  it("a tenant whose trail entry of a month drop's receipt fails loses nothing more in the cycle, and its trail stays in receipt order", {
    timeout: 60_000,
  }, async () => {
    // January wholly expired on 2025-02-15 with 9 days kept; of February, the 5th only.
    const store = await twoTenantsJanuaryFebruary(86_400_000);
    const now = Date.UTC(2025, 1, 15);
    const purge = trailingPurge(store, now, { onPurged: refusingFirstTrailOf(store, 'a', () => now) });
    await assert.rejects(purge.cycle(), (err: Error) => {
      assert.match(err.message, /tenant a: the trail entry was refused/);
      assert.doesNotMatch(err.message, /tenant b|expired partitions/);
      return true;
    });
    assert.equal(await entriesOfTenant(store, 'a'), 10, "a's January went with the month; its February's expired entry stays for now");
    assert.equal(await entriesOfTenant(store, 'b'), 9);
    assert.equal((await trailedReceiptLeaves(store, 'a')).length, 0);
    assert.equal((await trailedReceiptLeaves(store, 'b')).length, 2, "b's receipts of the drop and of its step, each in the trail");

    assert.equal(await purge.cycle(), 1);
    assert.equal(await entriesOfTenant(store, 'a'), 9);
    for (const tenantId of ['a', 'b']) {
      const receipts = [...(await auditLog(store, tenantId)).receipts.keys()];
      assert.equal(receipts.length, 2);
      assert.deepEqual(await trailedReceiptLeaves(store, tenantId), receipts, `${tenantId}'s trail in the order of its receipts`);
    }
  });

  it("a drop that fails after dropping a month leaves no receipt of it out of the trail before the steps' later ones", {
    timeout: 60_000,
  }, async () => {
    const store = await twoTenantsJanuaryFebruary(60_000);
    await store.append('b', [makeEntry('AccessLog', Date.UTC(2025, 2, 10), '{"mar":0}')]);
    await store.settle();
    // A disk fault in a's February segment: the drop fails on February, after January went.
    const damaged = await cluster!.query(
      url,
      `UPDATE segments_y2025m02 SET data = set_byte(data, length(data) - 100, get_byte(data, length(data) - 100) # 1)
       WHERE tid = (SELECT tid FROM tenants WHERE id = 'a')`,
    );
    assert.equal(damaged.rowCount, 1);
    const partitions: string[] = [];
    const purge = trailingPurge(store, Date.UTC(2025, 2, 11), { logPartition: (p) => void partitions.push(`${p.partition} ${p.outcome}`) });
    await assert.rejects(purge.cycle(), (err: Error) => {
      assert.match(err.message, /expired partitions: .*corrupt/);
      assert.match(err.message, /tenant a AccessLog: .*corrupt/);
      assert.doesNotMatch(err.message, /tenant b/);
      return true;
    });
    assert.deepEqual(partitions, ['2025-01 dropped']);
    assert.equal(await entriesOfTenant(store, 'b'), 1, "b's February by its step");
    const receipts = [...(await auditLog(store, 'b')).receipts.keys()];
    assert.equal(receipts.length, 2);
    assert.deepEqual(await trailedReceiptLeaves(store, 'b'), receipts, "b's trail: January's receipt, then its step's");
    assert.deepEqual(await trailedReceiptLeaves(store, 'a'), [...(await auditLog(store, 'a')).receipts.keys()], "a's January receipt in its trail");
  });

  it("a purge step returns its receipt though the month it emptied cannot be dropped after it (the failure told as the store's background work)", {
    timeout: 30_000,
  }, async () => {
    const problems: string[] = [];
    const store = await openPostgresStore({ url, poolSize: 4, noSealer: true, onBackgroundError: (p) => void problems.push(p.message) });
    stores.push(store);
    await store.createTenant({ id: 'a', name: 'A' });
    const jan = Date.UTC(2025, 0, 5);
    await store.append('a', [
      ...Array.from({ length: 30 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
      makeEntry('AccessLog', Date.UTC(2025, 2, 10), '{"mar":0}'),
    ]);
    // Something of the operator's depends on January's partition: it cannot be dropped.
    await cluster!.query(url, 'CREATE VIEW january AS SELECT * FROM entries_y2025m01');
    const receipt = await store.purge('a', 'AccessLog', Date.UTC(2025, 1, 1), 100);
    assert.equal(receipt.count, 30);
    assert.deepEqual([...(await auditLog(store, 'a')).receipts.keys()], [receipt.leafIndex]);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /dropping the months a purge step emptied/);
    assert.ok((await monthPartitions(cluster!, url, 'y2025m01$')).includes('entries_y2025m01'));
    await cluster!.query(url, 'DROP VIEW january');
  });

  it('a month read for its drop while a retention is lengthened stays: the drop goes by the settings as they are once it holds the tenant', {
    timeout: 30_000,
  }, async () => {
    const store = await unsealedStoreWith('a');
    const jan = Date.UTC(2025, 0, 3);
    await store.append('a', [
      ...Array.from({ length: 50 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
      makeEntry('AccessLog', Date.UTC(2025, 2, 3), '{"mar":0}'),
    ]);
    await store.setRetention('a', 'AccessLog', 30);
    // On 2025-03-04, January is past 30 days, not past 90.
    const { purge, partitions } = purgeOnMarch4(store);
    // The purge reads 30 days, and the drop waits for the row once it has read the month.
    assert.equal(await cycleWhileLengthened(url, purge), 0, 'January is within its 90 days');
    assert.deepEqual(partitions, ['2025-01 changed']);
    assert.equal((await readBodies(store, { tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null })).total, 51);
    assert.equal((await auditLog(store, 'a')).deleted.size, 0);
  });

  it("a month that lost one tenant's rows and got as many of another's, numbered alike, while its drop waited is not dropped", {
    timeout: 30_000,
  }, async () => {
    const store = await unsealedStoreWith('a', 'b');
    const jan = Date.UTC(2025, 0, 3);
    // a's first entry (its sequence 1) in January; b, kept for ever, has none yet.
    await store.append('a', [makeEntry('AccessLog', jan, '{"a":0}')]);
    await store.append('a', [makeEntry('AccessLog', Date.UTC(2025, 2, 3), '{"mar":0}')]);
    await store.setRetention('a', 'AccessLog', 30);
    const { purge, partitions } = purgeOnMarch4(store);
    const [operator, watch] = await twoSessions(url);
    try {
      // The drop has read January (a's alone) and waits for a's row.
      await operator.query('BEGIN');
      await operator.query("SELECT FROM entry_seqs WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') FOR UPDATE");
      const cycle = purge.cycle();
      await lockWaitOn(watch, 'entry_seqs');
      // Meanwhile a's January row goes (as another purger's step would take it), and b's first
      // entry (its sequence 1 too) arrives in January: as many rows, their sequences adding up alike.
      await operator.query("DELETE FROM entries WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') AND event_time < $1", [Date.UTC(2025, 1, 1)]);
      await store.append('b', [makeEntry('AccessLog', jan + 60_000, '{"b":0}')]);
      await operator.query('COMMIT');
      await cycle;
    } finally {
      await operator.end();
      await watch.end();
    }
    assert.deepEqual(partitions, ['2025-01 changed']);
    assert.deepEqual((await readBodies(store, { tenantId: 'b', logType: 'AccessLog', fromMs: 0, toMs: null })).bodies, [
      makeEntry('AccessLog', jan + 60_000, '{"b":0}').body,
    ]);
  });

  it('a retention set without a trail entry waits for the purge step holding its tenant, as one with a trail entry does', async () => {
    const store = await unsealedStoreWith('a');
    const [step, watch] = await twoSessions(url);
    try {
      // A purge step under way: it holds the tenant's row and has read the settings.
      await step.query('BEGIN');
      await step.query("SELECT FROM entry_seqs WHERE tid = (SELECT tid FROM tenants WHERE id = 'a') FOR UPDATE");
      let done = false;
      const setting = store.setRetention('a', 'AccessLog', 90).then(() => {
        done = true;
      });
      // It waits for the row (or, were it not to, is done at once).
      await Promise.race([lockWaitOn(watch, 'entry_seqs'), setting]);
      assert.equal(done, false, 'set while the step that read the old settings could still commit');
      await step.query('COMMIT');
      await setting;
      assert.equal((await store.getRetention('a'))?.perType.AccessLog, 90);
    } finally {
      await step.end();
      await watch.end();
    }
  });

  it('a purge step that waited for its tenant while a retention was lengthened goes by the new one', { timeout: 30_000 }, async () => {
    const store = await unsealedStoreWith('a');
    const jan = Date.UTC(2025, 0, 3);
    await store.append('a', [
      ...Array.from({ length: 50 }, (_, i) => makeEntry('AccessLog', jan + i * 60_000, `{"jan":${i}}`)),
      makeEntry('AccessLog', Date.UTC(2025, 0, 31), '{"held":0}'),
      makeEntry('AccessLog', Date.UTC(2025, 2, 3), '{"mar":0}'),
    ]);
    // A hold on one January entry: the month is not dropped whole, the steps purge around it.
    await store.createHold({
      tenantId: 'a',
      logType: null,
      fromMs: Date.UTC(2025, 0, 31),
      toMs: Date.UTC(2025, 1, 1),
      reason: 'case',
      createdBy: 'o@h',
    });
    await store.setRetention('a', 'AccessLog', 30);
    const purge = new BackgroundPurge({ store, serverDays: null, intervalMs: 60_000, now: () => Date.UTC(2025, 2, 4) });
    // The step reads 30 days, then waits for the row.
    assert.equal(await cycleWhileLengthened(url, purge), 0, 'January is within its 90 days');
    assert.equal((await readBodies(store, { tenantId: 'a', logType: 'AccessLog', fromMs: 0, toMs: null })).total, 52);
    assert.equal((await auditLog(store, 'a')).deleted.size, 0);
  });

  /** Waits until `count` lock requests in this database are waiting. */
  async function waitForWaiters(count: number, orDone?: Promise<unknown>): Promise<void> {
    let done = false;
    void orDone?.then(() => (done = true));
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; ) {
      const r = await cluster!.query<{ n: string }>(
        url,
        `SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE NOT l.granted AND a.datname = current_database()`,
      );
      if (Number(r.rows[0]!.n) >= count || done) return;
      await sleep(10);
    }
    throw new Error(`no ${count} lock waiters appeared`);
  }

  const partitions = async (): Promise<Record<string, number>> => {
    const r = await cluster!.query<{ p: string; n: string }>(
      url,
      `SELECT c.relname AS p, (SELECT count(*) FROM entries e WHERE e.tableoid = c.oid) AS n
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'entries'::regclass`,
    );
    return Object.fromEntries(r.rows.map((row) => [row.p, Number(row.n)]));
  };

  it('upgrades a first-version database: hourly tallies from the stored entries', async () => {
    const H = 3_600_000;
    const base = Date.UTC(2025, 2, 1, 10);
    const times = [Date.UTC(1969, 11, 31, 23, 30), -1, 0, base - 1, base, base + H / 2, base + H + 7, base + 5 * H - 1];
    const entries = times.map((t, i) => makeEntry(i % 2 ? 'AccessLog' : 'UserCallPlay', t, `{"i":${i}}`));
    await cluster!.query(
      url,
      `BEGIN; CREATE TABLE schema_version (version integer NOT NULL); INSERT INTO schema_version VALUES (1); ${MIGRATIONS[0]};
       INSERT INTO tenants (id, name, created_at) VALUES ('7', 't', now());
       INSERT INTO entry_seqs (tid, last_seq) SELECT tid, ${entries.length} FROM tenants;
       INSERT INTO log_types (name) VALUES ('AccessLog'), ('UserCallPlay'); COMMIT;`,
    );
    for (const [i, e] of entries.entries()) {
      await cluster!.query(
        url,
        `INSERT INTO entries (event_time, seq, tid, type_id, key, body)
         SELECT $1, $2, t.tid, l.type_id, $3, $4 FROM tenants t, log_types l WHERE t.id = '7' AND l.name = $5`,
        [e.eventTimeMs, i + 1, e.key, e.body, e.logType],
      );
    }
    const upgrades: { from: number; to: number }[] = [];
    const store = await openPostgresStore({ url, poolSize: 4, onSchemaUpgrade: (u) => upgrades.push(u) });
    stores.push(store);
    assert.deepEqual(upgrades, [{ from: 1, to: MIGRATIONS.length }], 'the upgrade is told of once');
    for (const type of ['AccessLog', 'UserCallPlay']) {
      for (const [from, to] of [
        [-10 * H, null],
        [-H / 4, base + 3 * H],
        [base - H / 3, base + 5 * H],
        [-1, base + H / 2 + 1],
      ] as const) {
        const want = entries.filter((e) => e.logType === type && e.eventTimeMs >= from && (to === null || e.eventTimeMs < to)).length;
        assert.equal((await store.firstPage({ tenantId: '7', logType: type, fromMs: from, toMs: to }, 1)).total, want, `${type} [${from}, ${to})`);
      }
    }
    assert.deepEqual(await store.append('7', entries), { accepted: 0, duplicates: entries.length });
  });

  it('indexes for the user filter the segments sealed before the index existed', async () => {
    const t0 = Date.UTC(2025, 0, 1);
    const entries = Array.from({ length: 700 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"i":${i}}`, String(i % 5)));
    const before = await openPostgresStore({ url, poolSize: 2, sealAgeMs: 0, noSealer: true });
    await before.createTenant({ id: '7', name: 'Acme' });
    await before.append('7', entries);
    await before.settle();
    await before.close();
    // As the schema before the index (version 4) left it: segments, no postings, none of the later steps.
    await cluster!.query(
      url,
      `DROP TABLE segment_users; DROP TABLE segment_users_pending; DROP TABLE retention; DROP TABLE holds; DROP TABLE tree_receipts; DROP TABLE purge_lease;
       ${UNDO_SEALED_KEYS}; ${UNDO_COMPACT_CHECKPOINTS}; ${UNDO_KEY_LAST_USED};
       UPDATE schema_version SET version = 4`,
    );
    const store = await open();
    const pending = await cluster!.query<{ n: string }>(url, 'SELECT count(*) AS n FROM segment_users_pending');
    assert.equal(Number(pending.rows[0]!.n), 0, 'every segment indexed');
    const first = await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: t0, toMs: null, user: { field: 'userId', value: '3' } }, 1000);
    assert.equal(first.total, 140);
    assert.deepEqual(
      entriesOf(first).map((e) => e.body),
      entries.filter((_, i) => i % 5 === 3).map((e) => e.body),
    );
  });

  it('gives each month its partition as data arrives, and the rest to DEFAULT', async () => {
    const store = await open();
    await store.createTenant({ id: '1', name: 't' });
    const times = [Date.UTC(2024, 0, 31, 23, 59, 59, 999), Date.UTC(2024, 1, 1), Date.UTC(2025, 11, 15), Date.UTC(1969, 5, 1), Date.UTC(9999, 0, 1)];
    await store.append(
      '1',
      times.map((t) => makeEntry('AccessLog', t)),
    );
    assert.deepEqual(await partitions(), { entries_default: 2, entries_y2024m01: 1, entries_y2024m02: 1, entries_y2025m12: 1 });
    // Another process knows nothing of the partitions yet, and finds them.
    await (await open()).append('1', [makeEntry('AccessLog', Date.UTC(2024, 0, 2))]);
    assert.equal((await partitions()).entries_y2024m01, 2);
    const page = await store.firstPage({ tenantId: '1', logType: 'AccessLog', fromMs: Date.parse('0000-01-01T00:00:00Z'), toMs: null }, 10);
    assert.equal(page.total, 6);
  });

  it('moves a month out of DEFAULT when its partition arrives', async () => {
    const store = await open();
    await store.createTenant({ id: '1', name: 't' });
    await store.append('1', [makeEntry('AccessLog', Date.UTC(2024, 0, 1))]);
    // As if written while 2024-03 had no partition (by a process that could not attach one),
    // added now as a process adds it: with added_at 0 the store's sealer could take it at once.
    const early = makeEntry('AccessLog', Date.UTC(2024, 2, 3), '{"early":true}');
    await cluster!.query(
      url,
      `INSERT INTO entries_default (event_time, seq, tid, type_id, body, added_at)
       SELECT $1, s.last_seq + 1, 1, 1, $2, (extract(epoch FROM now()) * 1000)::int8 FROM entry_seqs s WHERE s.tid = 1`,
      [early.eventTimeMs, early.body],
    );
    await cluster!.query(url, 'INSERT INTO entry_keys_default (tid, event_time, key) VALUES (1, $1, $2)', [
      early.eventTimeMs,
      early.key.readBigInt64BE(0).toString(),
    ]);
    await cluster!.query(url, 'UPDATE entry_seqs SET last_seq = last_seq + 1 WHERE tid = 1');
    assert.deepEqual(await store.append('1', [early, makeEntry('AccessLog', Date.UTC(2024, 2, 4))]), { accepted: 1, duplicates: 1 });
    assert.deepEqual(await partitions(), { entries_default: 0, entries_y2024m01: 1, entries_y2024m03: 2 });
  });

  it('counts and pages every entry of a month that an attach moves out of DEFAULT while the read waits', async () => {
    const { store, t0, early } = await monthInDefault();

    // Another process attaches 2024-03 and is held just before it commits: its partitions made,
    // the rows moved into them, every lock it takes held.
    const [attacher, watch] = await twoSessions(url);
    let atCommit!: () => void;
    const reachedCommit = new Promise<void>((resolve) => (atCommit = resolve));
    let letCommit!: () => void;
    const commitLet = new Promise<void>((resolve) => (letCommit = resolve));
    const held = new Proxy(attacher, {
      get: (target, prop, receiver) =>
        prop === 'query'
          ? async (...args: Parameters<pg.Client['query']>) => {
              if (args[0] === 'COMMIT') {
                atCommit();
                await commitLet;
              }
              return (target.query as (...a: unknown[]) => unknown).apply(target, args);
            }
          : Reflect.get(target, prop, receiver),
    });
    try {
      const attached = attachMonth(held as unknown as pg.PoolClient, monthOf(t0), 60_000);
      await Promise.race([reachedCommit, attached]);
      // A first page of the month begins meanwhile; it waits for a lock the attach holds.
      const reading = store.firstPage({ tenantId: '1', logType: 'AccessLog', fromMs: t0, toMs: t0 + 30 * 60_000 }, 100);
      await lockWaitOn(watch, 'entries');
      letCommit();
      await attached;
      const page = await reading;
      assert.equal(page.total, early.length, 'the total counts the moved entries');
      assert.deepEqual(
        entriesOf(page).map((e) => e.body),
        early.map((e) => e.body),
      );
      assert.deepEqual(await monthPartitions(cluster!, url, '_y2024m03$'), ['entries_y2024m03', 'entry_keys_y2024m03', 'segments_y2024m03']);
    } finally {
      letCommit();
      await attacher.end();
      await watch.end();
    }
  });

  it('keeps a repeatable-read snapshot over the parents whole: an attach moving rows out of DEFAULT waits for it', async () => {
    const { t0, early } = await monthInDefault();
    const [reader, watch] = await twoSessions(url);
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {}); // as above: a client still closing when the database is dropped
    const count = 'SELECT count(*)::int AS n FROM entries WHERE event_time >= $1 AND event_time < $2';
    const march = [Date.UTC(2024, 2, 1), Date.UTC(2024, 3, 1)];
    try {
      // As a user-filtered page or a tree backfill begins: its first statement takes the snapshot.
      await reader.query(BEGIN_SNAPSHOT);
      assert.equal((await reader.query<{ n: number }>('SELECT count(*)::int AS n FROM tenants')).rows[0]!.n, 1);
      const attacher = await pool.connect();
      const pid = (await attacher.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      let settled = false;
      const attached = attachMonth(attacher, monthOf(t0), 60_000).finally(() => {
        settled = true;
        attacher.release();
      });
      // Until the attach was refused a lock (the rollback to the savepoint that only a refused
      // request is followed by, table-locks.ts) or waits for one, or is done.
      for (let refused = false; !refused && !settled; ) {
        await sleep(10);
        const w = await watch.query<{ query: string; wait: string | null }>(
          'SELECT query, wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1',
          [pid],
        );
        refused = /ROLLBACK TO SAVEPOINT lw_table_locks/.test(w.rows[0]?.query ?? '') || w.rows[0]?.wait === 'Lock';
      }
      // Read through the parent later in the transaction: in its snapshot the month's rows are where they were.
      assert.equal((await reader.query<{ n: number }>(count, march)).rows[0]!.n, early.length);
      assert.equal(settled, false, 'the attach waits for the snapshot to end');
      await reader.query('COMMIT');
      await attached;
      assert.deepEqual(await monthPartitions(cluster!, url, '^entries_y2024m03$'), ['entries_y2024m03']);
      assert.equal((await reader.query<{ n: number }>(count, march)).rows[0]!.n, early.length);
    } finally {
      await reader.end();
      await watch.end();
      await pool.end();
    }
  });

  it("gives back a user filter's connection clean when its snapshot's lock times out", async () => {
    const store = await openPostgresStore({ url, poolSize: 1, statementTimeoutMs: 300 });
    stores.push(store);
    await store.createTenant({ id: '1', name: 't' });
    const t0 = Date.UTC(2024, 0, 1);
    await store.append(
      '1',
      [0, 1, 2].map((i) => makeEntry('AccessLog', t0 + i, `{"i":${i}}`, 'u1')),
    );
    const query = { tenantId: '1', logType: 'AccessLog', fromMs: t0, toMs: null, user: { field: 'userId' as const, value: 'u1' } };
    const holder = new pg.Client({ connectionString: url });
    await holder.connect();
    try {
      // As an attach or a month's drop holds a parent.
      await holder.query('BEGIN; LOCK TABLE ONLY entries IN ACCESS EXCLUSIVE MODE');
      await assert.rejects(store.firstPage(query, 10), { code: '57014' });
      await holder.query('COMMIT');
      // The pool's one connection again: out of the failed transaction.
      assert.equal((await store.firstPage(query, 10)).total, 3);
    } finally {
      await holder.end();
    }
  });

  it('attaches a month without waiting for one DEFAULT partition while holding another: a read holding segments then reading entries meets no deadlock', async () => {
    await open();
    const reader = new pg.Client({ connectionString: url });
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    // pool.end() resolves before its clients have closed: the next DROP DATABASE … WITH (FORCE)
    // may end one, and its error, unheard, would fail whichever test runs then.
    pool.on('error', () => {});
    await reader.connect();
    try {
      // A page read's order: segments first (held here, in an open transaction), then entries.
      await reader.query('BEGIN');
      await reader.query('SELECT FROM segments_default LIMIT 1');
      const attacher = await pool.connect();
      const pid = (await attacher.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      let settled = false;
      // A deadline far longer than the steps below take on a loaded machine: what is tested is the
      // order of the locks (a deadlock PostgreSQL would detect within its deadlock_timeout), not the deadline.
      const attached = attachMonth(attacher, monthOf(Date.UTC(2024, 4, 1)), 60_000).finally(() => {
        settled = true;
        attacher.release();
      });
      // Until the attach has asked for segments_default (the lock the reader holds): its session
      // shows that request, or, for the pause between its attempts, the rollback to the savepoint
      // that only a refused request is followed by (table-locks.ts). Looked at every 10 ms, each
      // look a connection of its own.
      for (let asked = false; !asked && !settled; ) {
        await sleep(10);
        const q = await cluster!.query<{ query: string }>(url, 'SELECT query FROM pg_stat_activity WHERE pid = $1', [pid]);
        asked = /segments_default|ROLLBACK TO SAVEPOINT lw_table_locks/.test(q.rows[0]?.query ?? '');
      }
      // Waited for entries_default while holding segments_default: had the attach held
      // entries_default while waiting for segments_default, PostgreSQL would fail one of the two.
      await reader.query('SELECT FROM entries_default LIMIT 1');
      await reader.query('COMMIT');
      await attached;
      assert.equal((await partitions()).entries_y2024m05, 0);
    } finally {
      await reader.end();
      await pool.end();
    }
  });

  it('takes table locks all or none: refused with 55P03 once its deadline passes while one is held elsewhere, then granted', async () => {
    await open();
    const holder = new pg.Client({ connectionString: url });
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    pool.on('error', () => {}); // as above: a client still closing when the database is dropped
    await holder.connect();
    const taker = await pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT FROM segments_default LIMIT 1');
      const tables = ['entries_default', 'segments_default'];
      for (const waitForFirst of [true, false]) {
        await taker.query('BEGIN');
        await assert.rejects(lockExclusively(taker, tables, { waitForFirst, deadlineMs: Date.now() + 100 }), { code: '55P03' });
        await taker.query('ROLLBACK');
      }
      // The refused attempts left nothing held: another session locks what the taker asked for first.
      await holder.query('SET LOCAL lock_timeout = 2000');
      await holder.query('LOCK TABLE entries_default IN ACCESS EXCLUSIVE MODE');
      await holder.query('COMMIT');
      await taker.query('BEGIN');
      await lockExclusively(taker, tables, { waitForFirst: true, deadlineMs: Date.now() + 100 });
      const held = await cluster!.query<{ relname: string }>(
        url,
        `SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
         WHERE l.pid = $1 AND l.mode = 'AccessExclusiveLock' AND l.granted ORDER BY 1`,
        [(await taker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid],
      );
      assert.deepEqual(
        held.rows.map((r) => r.relname),
        tables,
      );
      await taker.query('ROLLBACK');
    } finally {
      taker.release();
      await holder.end();
      await pool.end();
    }
  });

  it('routes a long batch into partitions attached while it runs', async () => {
    const store = await open();
    await store.createTenant({ id: '1', name: 't' });
    // Long enough to take several statements: the later months are attached mid-transaction.
    const batch = [0, 1, 2].flatMap((m) => Array.from({ length: 6000 }, (_, i) => makeEntry('AccessLog', Date.UTC(2023, m, 1) + i)));
    assert.deepEqual(await store.append('1', batch), { accepted: 18_000, duplicates: 0 });
    assert.deepEqual(await partitions(), { entries_default: 0, entries_y2023m01: 6000, entries_y2023m02: 6000, entries_y2023m03: 6000 });
  });

  it('a process that first met a log type in a histogram read appends entries of it (the name known by its number too)', async () => {
    const first = await open();
    await first.createTenant({ id: '1', name: 't' });
    await first.createTenant({ id: '2', name: 'u' });
    await first.append('1', [makeEntry('UserCallPlay', Date.UTC(2026, 0, 1))]);
    const other = await open();
    await other.hourlyTallies({ tenantId: '2', logType: 'UserCallPlay', fromMs: Date.UTC(2026, 0, 1), toMs: Date.UTC(2026, 0, 2) });
    assert.deepEqual(await other.append('1', [makeEntry('UserCallPlay', Date.UTC(2026, 0, 1, 1))]), { accepted: 1, duplicates: 0 });
  });

  it('leads every key of the per-tenant tables with the tenant', async () => {
    await open();
    const r = await cluster!.query<{ index: string; first: string }>(
      url,
      `SELECT i.indexrelid::regclass::text AS index, a.attname AS first
       FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
       WHERE i.indisunique AND i.indrelid IN
         ('entries'::regclass, 'entry_keys'::regclass, 'segments'::regclass, 'entry_seqs'::regclass, 'checkpoints'::regclass)`,
    );
    assert.equal(r.rows.length, 4);
    for (const row of r.rows) assert.equal(row.first, 'tid', row.index);
  });

  it('keeps a snapshot exact when a batch holding lower sequence values commits after a later one', async () => {
    // Batch A takes its sequence values, then stalls (its partition is locked by the test) while
    // batch B, for another month, is written and a query starts. Were sequence values handed
    // out without ordering commits, B would commit first, the query's watermark would pass A's
    // values, and A's entries would surface in the query's later pages.
    const TENANT = '42';
    const june = Date.UTC(2025, 5, 10);
    const july = Date.UTC(2025, 6, 10);
    const store = await open();
    await store.createTenant({ id: TENANT, name: 't' });
    const seed = Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', june + i * 1000, `{"seed":${i}}`));
    await store.append(TENANT, [...seed, makeEntry('AccessLog', july, '{"seed":"july"}')]);
    const juneTable = (await cluster!.query<{ t: string }>(url, `SELECT tableoid::regclass::text AS t FROM entries WHERE event_time = $1`, [june]))
      .rows[0]!.t;

    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${juneTable} IN SHARE MODE`);
      const a = (await open()).append(
        TENANT,
        Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', june + 100_000 + i, `{"a":${i}}`)),
      );
      await waitForWaiters(1);
      const b = (await open()).append(TENANT, [makeEntry('AccessLog', july + 1, '{"b":1}')]);
      await waitForWaiters(2, b);

      const query = { tenantId: TENANT, logType: 'AccessLog', fromMs: Date.UTC(2025, 5, 1), toMs: Date.UTC(2025, 7, 1) };
      const first = await store.firstPage(query, 5);
      await locker.query('COMMIT');
      await Promise.all([a, b]);

      const paged = entriesOf(first);
      for (let page: StoredPage = first; page.next !== null; paged.push(...entriesOf(page))) {
        page = await store.nextPage(query, page.next, first.watermark, 5);
      }
      assert.equal(paged.length, first.total);
      assert.ok(!paged.some((e) => e.body.includes('"a":')), 'an entry committed after the query began surfaced in it');
      assert.equal((await store.firstPage(query, 5)).total, 21 + 10 + 1);
    } finally {
      await locker.end();
    }
  });
});
