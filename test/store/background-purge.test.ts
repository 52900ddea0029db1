/**
 * The server's background purge over a real store: retention by the effective policy, holds,
 * the admin trail's floor, the onPurged hook, and one purger per store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { completePurgeTrail, recordPurgeRun } from '../../src/admin/purge-trail.ts';
import { BackgroundPurge } from '../../src/store/background-purge.ts';
import type { PurgeClock } from '../../src/store/purge-clock.ts';
import { DAY_MS } from '../../src/store/retention-policy.ts';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import type { PurgeReceipt } from '../../src/store/store.ts';
import { makeEntry } from './contract/store.contract.ts';
import { auditLog, refusingFirstTrailOf, trailedReceiptLeaves } from './contract/store-retention.contract.ts';

const T0 = Date.UTC(2025, 0, 1);

describe('background purge (sqlite)', () => {
  let dir: string;
  let store: SqliteStore;
  let now: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-purge-'));
    now = T0;
    store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 5, now: () => now });
    await store.createTenant({ id: '7', name: 'Acme' });
    // One entry a day for 100 days of three types.
    const entries = [];
    for (let d = 0; d < 100; d++) {
      for (const type of ['AccessLog', 'UserCallPlay', 'LogwardenAdminLog']) entries.push(makeEntry(type, T0 + d * DAY_MS, `{"d":${d}}`));
    }
    await store.append('7', entries);
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const totalOf = async (tenantId: string, logType: string) => (await store.firstPage({ tenantId, logType, fromMs: 0, toMs: null }, 1)).total;
  const total = (logType: string) => totalOf('7', logType);
  /** A second tenant, with one AccessLog entry a day for 100 days. */
  const addGlobex = async (): Promise<void> => {
    await store.createTenant({ id: '8', name: 'Globex' });
    await store.append(
      '8',
      Array.from({ length: 100 }, (_, d) => makeEntry('AccessLog', T0 + d * DAY_MS, `{"d":${d}}`)),
    );
  };

  it("deletes what is older than each type's retention, in bounded steps, keeping the admin trail as long as the longest", async () => {
    await store.setRetention('7', 'AccessLog', 30);
    await store.setRetention('7', 'LogwardenAdminLog', 10);
    const seen: { tenantId: string; receipt: PurgeReceipt }[] = [];
    const lines: unknown[] = [];
    now = T0 + 100 * DAY_MS; // day 100: entries of days 0..69 are older than 30 days
    const purge = new BackgroundPurge({
      store,
      serverDays: 60, // UserCallPlay: days 0..39 go
      intervalMs: 60_000,
      stepEntries: 25,
      now: () => now,
      onPurged: (tenantId, receipt) => void seen.push({ tenantId, receipt }),
      log: (line) => lines.push(line),
    });
    assert.equal(await purge.cycle(), 70 + 40 + 40);
    assert.equal(await total('AccessLog'), 30);
    assert.equal(await total('UserCallPlay'), 60);
    assert.equal(await total('LogwardenAdminLog'), 60, 'kept as long as UserCallPlay (60 days), not its own 10');
    assert.deepEqual(
      seen.map((s) => `${s.receipt.logType}:${s.receipt.count}`),
      ['LogwardenAdminLog:25', 'LogwardenAdminLog:15', 'AccessLog:25', 'AccessLog:25', 'AccessLog:20', 'UserCallPlay:25', 'UserCallPlay:15'],
    );
    assert.ok(seen.every((s) => s.tenantId === '7'));
    assert.equal(lines.length, 7);
    assert.deepEqual(Object.keys(lines[0] as object).sort(), ['count', 'from', 'logType', 'receiptLeaf', 'tenantId', 'to']);
    assert.equal(await purge.cycle(), 0, 'nothing more until time passes');
    const audit = await auditLog(store, '7');
    assert.equal(audit.deleted.size, 150);
    assert.equal(audit.receipts.size, 7);
    await purge.stop();
  });

  it('measures the admin trail against the types as the cycle found them, not as its earlier steps left them', async () => {
    // Tenant 9: one AccessLog entry (kept 23 days, the tenant's setting) an hour older than its
    // one admin trail entry (own setting 1 day, so kept 23 days as long as AccessLog holds entries).
    await store.createTenant({ id: '9', name: 'Initech' });
    await store.append('9', [makeEntry('AccessLog', T0, '{"a":0}'), makeEntry('LogwardenAdminLog', T0 + 3_600_000, '{"t":1}')]);
    await store.setRetention('9', null, 23);
    await store.setRetention('9', 'LogwardenAdminLog', 1);
    now = T0 + 23 * DAY_MS + 1_800_000; // the AccessLog entry is older than 23 days, the trail's is not
    const purge = new BackgroundPurge({ store, serverDays: null, intervalMs: 60_000, now: () => now });
    assert.equal(await purge.cycle(), 1);
    assert.equal(await totalOf('9', 'AccessLog'), 0);
    assert.equal(await totalOf('9', 'LogwardenAdminLog'), 1, 'kept 23 days: the cycle began with AccessLog holding an entry');
    // The next cycle finds no AccessLog entry: the trail goes by its own day.
    assert.equal(await purge.cycle(), 1);
    assert.equal(await totalOf('9', 'LogwardenAdminLog'), 0);
    await purge.stop();
  });

  it('keeps everything by default and under holds', async () => {
    now = T0 + 1000 * DAY_MS;
    const forever = new BackgroundPurge({ store, serverDays: null, intervalMs: 60_000 });
    assert.equal(await forever.cycle(), 0);
    await store.createHold({ tenantId: '7', logType: null, fromMs: T0 + 50 * DAY_MS, toMs: null, reason: 'case', createdBy: 'a@b' });
    const purge = new BackgroundPurge({ store, serverDays: 1, intervalMs: 60_000 });
    assert.equal(await purge.cycle(), 3 * 50);
    for (const type of ['AccessLog', 'UserCallPlay', 'LogwardenAdminLog']) assert.equal(await total(type), 50);
  });

  it('goes by the settings as they are at each step: a retention lengthened, or set to forever, while a purge runs stops it deleting', async () => {
    await store.setRetention('7', 'AccessLog', 5);
    await store.setRetention('7', 'UserCallPlay', 5);
    now = T0 + 100 * DAY_MS; // days 0..94 of each type are older than 5 days
    const changes: (() => Promise<unknown>)[] = [
      // After AccessLog's first step (days 0..24): 90 days, so only days 0..9 were due.
      () => store.setRetention('7', 'AccessLog', 90),
      // After UserCallPlay's first step: kept forever.
      () => store.setRetention('7', 'UserCallPlay', null),
    ];
    const steps: string[] = [];
    const purge = new BackgroundPurge({
      store,
      serverDays: null,
      intervalMs: 60_000,
      stepEntries: 25,
      now: () => now,
      onPurged: async (_, receipt) => {
        steps.push(`${receipt.logType}:${receipt.count}`);
        if (receipt.logType !== 'LogwardenAdminLog') await changes.shift()?.();
      },
    });
    assert.equal(await purge.cycle(), 50);
    assert.deepEqual(steps, ['AccessLog:25', 'UserCallPlay:25']);
    assert.equal(await total('AccessLog'), 75, 'days 25..99: nothing more went once 90 days were set');
    assert.equal(await total('UserCallPlay'), 75, 'days 25..99: nothing more went once kept forever');
    assert.equal(await purge.cycle(), 0);
    await purge.stop();
  });

  it('measures retention no further than a day past the latest entry stored: a clock stepped a year ahead deletes nothing early', async () => {
    await store.setRetention('7', 'AccessLog', 30);
    const held: PurgeClock[] = [];
    const purge = new BackgroundPurge({ store, serverDays: null, intervalMs: 60_000, now: () => now, onHeldBack: (c) => void held.push(c) });
    now = T0 + 100 * DAY_MS;
    assert.equal(await purge.cycle(), 70, 'days 0..69 are older than 30 days');
    assert.equal(held.length, 0);

    now = T0 + 465 * DAY_MS; // the clock set a year ahead; the latest entry is of day 99
    assert.equal(await purge.cycle(), 1, 'day 70 only: the margin is a day (and the hour of the latest entry)');
    assert.equal(await total('AccessLog'), 29, 'days 71..99 are within their 30 days of the latest entry');
    const latestMs = T0 + 99 * DAY_MS + 3_600_000;
    assert.deepEqual(held, [{ clockMs: now, latestMs, asOfMs: latestMs + DAY_MS }]);
    assert.equal(await purge.cycle(), 0);
    assert.equal(held.length, 1, 'told once, not at every cycle');

    // Entries keep coming, dated by the clocks of the systems that act: the purge follows them.
    await store.append('7', [makeEntry('UserCallPlay', T0 + 101 * DAY_MS, '{"d":101}')]);
    assert.equal(await purge.cycle(), 2, 'days 71 and 72: older than 30 days before day 102 (and an hour)');

    // The clock was right (a machine resumed after a year): entries of its time let the purge catch up.
    await store.append('7', [makeEntry('UserCallPlay', now - 60_000, '{"d":465}')]);
    assert.equal(await purge.cycle(), 27);
    assert.equal(await total('AccessLog'), 0);
    assert.equal(held.length, 2);
    assert.equal(held[1]?.asOfMs, now, 'told that the clock is followed again');
    await purge.stop();
  });

  it('takes no entry dated after the clock for evidence of the time: one of another tenant dated years ahead leaves the protection whole', async () => {
    await store.setRetention('7', 'AccessLog', 30);
    await addGlobex();
    // Another tenant's client dates an entry 2099 (its clock set wrong, or on purpose).
    await store.append('8', [makeEntry('AccessLog', Date.UTC(2099, 0, 1), '{"far":1}')]);
    const held: PurgeClock[] = [];
    const purge = new BackgroundPurge({ store, serverDays: null, intervalMs: 60_000, now: () => now, onHeldBack: (c) => void held.push(c) });
    now = T0 + 100 * DAY_MS;
    assert.equal(await purge.cycle(), 70, 'days 0..69 are older than 30 days');
    now = T0 + 465 * DAY_MS; // the clock set a year ahead; the latest entry dated before it is of day 99
    assert.equal(await purge.cycle(), 1, 'day 70 only, as without the entry of 2099');
    assert.equal(await total('AccessLog'), 29);
    const latestMs = T0 + 99 * DAY_MS + 3_600_000;
    assert.deepEqual(held, [{ clockMs: now, latestMs, asOfMs: latestMs + DAY_MS }]);
    await purge.stop();
  });

  it('keeps its lease through a cycle of many short steps, so no other process purges meanwhile', async () => {
    // Thirty tenants with two expired entries each: every step deletes fewer than a step's worth.
    for (let i = 0; i < 30; i++) {
      await store.createTenant({ id: `L${i}`, name: `L${i}` });
      await store.append(`L${i}`, [makeEntry('AccessLog', T0, '{"a":1}'), makeEntry('AccessLog', T0 + 1, '{"a":2}')]);
    }
    now = T0 + 100 * DAY_MS;
    const taken: string[] = [];
    const purge = new BackgroundPurge({
      store,
      serverDays: 30,
      intervalMs: 60_000,
      leaseMs: 200,
      now: () => now,
      // Each step's trail entry takes a while: the cycle outlasts the lease several times over.
      onPurged: async (tenantId) => {
        await new Promise((r) => setTimeout(r, 15));
        if (await store.takePurgeLease('another process', 200)) taken.push(tenantId);
      },
    });
    assert.ok((await purge.cycle()) >= 60);
    assert.deepEqual(taken, [], 'another process took the lease during the cycle');
    await purge.stop();
  });

  it('says nothing of a clock ahead where everything is kept forever', async () => {
    now = T0 + 1000 * DAY_MS;
    const told: boolean[] = [];
    const purge = new BackgroundPurge({
      store,
      serverDays: null,
      intervalMs: 60_000,
      now: () => now,
      onHeldBack: (_c, held) => void told.push(held),
    });
    assert.equal(await purge.cycle(), 0);
    assert.equal(told.length, 0);
    await store.setRetention('7', 'AccessLog', 30);
    assert.equal(await purge.cycle(), 71, 'days 0..70: older than 30 days a day after the latest entry (day 99)');
    await store.setRetention('7', 'AccessLog', null);
    assert.equal(await purge.cycle(), 0);
    assert.deepEqual(told, [true, false]);
  });

  it('deletes nothing while no entry but the admin trail is stored to measure the clock by', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'logwarden-purge-'));
    const other = openSqliteStore({ dataDir: empty, sealAgeMs: 0, sealIntervalMs: 5, now: () => now });
    try {
      await other.createTenant({ id: '8', name: 'Quiet' });
      await other.append('8', [makeEntry('LogwardenAdminLog', T0, '{"d":0}')]);
      now = T0 + 1000 * DAY_MS;
      const held: PurgeClock[] = [];
      const purge = new BackgroundPurge({ store: other, serverDays: 1, intervalMs: 60_000, now: () => now, onHeldBack: (c) => void held.push(c) });
      assert.equal(await purge.cycle(), 0);
      assert.deepEqual(held, [{ clockMs: now, latestMs: null, asOfMs: null }]);
    } finally {
      await other.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it("purges every other tenant when one tenant's purge fails, and reports the failure naming that tenant", async () => {
    // A second tenant, listed after the first, with the same entries.
    await store.createTenant({ id: '8', name: 'Globex' });
    const entries = [];
    for (let d = 0; d < 100; d++) for (const type of ['AccessLog', 'UserCallPlay']) entries.push(makeEntry(type, T0 + d * DAY_MS, `{"d":${d}}`));
    await store.append('8', entries);
    store.settle();
    await store.close();
    // A disk fault in the first tenant's oldest AccessLog segment, which its purge must read.
    const db = new Database(join(dir, DATABASE_FILE));
    try {
      const seg = db
        .prepare<[], { id: number; data: Buffer }>(
          `SELECT s.id, s.data FROM segments s JOIN tenants t ON t.tid = s.tid JOIN log_types l ON l.type_id = s.type_id
           WHERE t.id = '7' AND l.name = 'AccessLog' ORDER BY s.first_time LIMIT 1`,
        )
        .get()!;
      seg.data[seg.data.length - 100] = seg.data[seg.data.length - 100]! ^ 1;
      db.prepare('UPDATE segments SET data = ? WHERE id = ?').run(seg.data, seg.id);
    } finally {
      db.close();
    }
    store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 5, now: () => now });
    now = T0 + 100 * DAY_MS;
    const errors: unknown[] = [];
    const purge = new BackgroundPurge({ store, serverDays: 30, intervalMs: 60_000, now: () => now, onError: (err) => errors.push(err) });
    await assert.rejects(purge.cycle(), (err: Error) => {
      assert.match(err.message, /tenant 7 AccessLog: stored segment \d+ is corrupt/);
      assert.doesNotMatch(err.message, /tenant 8/);
      return true;
    });
    for (const type of ['AccessLog', 'UserCallPlay']) assert.equal(await totalOf('8', type), 30, `tenant 8 ${type}: days 0..69 went`);
    assert.equal(await totalOf('7', 'UserCallPlay'), 30, "the failing tenant's other types are purged too");
    // Its damaged type is left as it was (counted from the hourly tallies: a page would read the damaged segment).
    const tallies = await store.hourlyTallies({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null });
    assert.equal(
      tallies.reduce((n, t) => n + t.count, 0),
      100,
    );
    await purge.stop();
  });

  it("purges every other tenant when one tenant's earlier admin trail cannot be completed, leaving that tenant for later", async () => {
    await addGlobex();
    // A step whose trail entry a process that ended never wrote, its receipt then damaged.
    assert.equal((await store.purge('7', 'AccessLog', T0 + 5 * DAY_MS, 100)).count, 5);
    const db = new Database(join(dir, DATABASE_FILE));
    try {
      db.prepare(`UPDATE tree_receipts SET text = 'not a receipt' WHERE tid = (SELECT tid FROM tenants WHERE id = '7')`).run();
    } finally {
      db.close();
    }
    now = T0 + 100 * DAY_MS;
    const purge = new BackgroundPurge({
      store,
      serverDays: 30,
      intervalMs: 60_000,
      now: () => now,
      beforeCycle: () => completePurgeTrail(store, () => now),
      onPurged: async (tenantId, receipt) => void (await recordPurgeRun(store, tenantId, receipt, () => now)),
    });
    await assert.rejects(purge.cycle(), /retention purge failed for tenant 7: the admin trail entry of receipt leaf \d+/);
    assert.equal(await totalOf('8', 'AccessLog'), 30, 'days 0..69 went');
    assert.equal(await totalOf('8', 'LogwardenAdminLog'), 1, 'with its trail entry');
    assert.equal(await totalOf('7', 'AccessLog'), 95, 'left for a later cycle, its trail in order');
    await purge.stop();
  });

  it("leaves a tenant out of the rest of a cycle once a step's trail entry fails, so that its trail keeps the order of its receipts", async () => {
    await addGlobex();
    now = T0 + 100 * DAY_MS;
    const purge = new BackgroundPurge({
      store,
      serverDays: 30,
      intervalMs: 60_000,
      stepEntries: 25,
      now: () => now,
      beforeCycle: () => completePurgeTrail(store, () => now),
      onPurged: refusingFirstTrailOf(store, '7', () => now),
    });
    await assert.rejects(purge.cycle(), (err: Error) => {
      assert.match(err.message, /tenant 7 LogwardenAdminLog: the trail entry was refused/);
      assert.doesNotMatch(err.message, /tenant 8/);
      return true;
    });
    assert.equal(await totalOf('7', 'LogwardenAdminLog'), 75, 'its first step only (the admin trail goes first)');
    assert.equal(await totalOf('7', 'AccessLog'), 100, 'none of its other types in that cycle');
    assert.equal(await totalOf('7', 'UserCallPlay'), 100, 'none of its other types in that cycle');
    assert.equal(await totalOf('8', 'AccessLog'), 30);

    assert.equal(await purge.cycle(), 45 + 70 + 70, 'then the rest of its LogwardenAdminLog, its AccessLog and its UserCallPlay');
    for (const tenantId of ['7', '8']) {
      const receipts = [...(await auditLog(store, tenantId)).receipts.keys()];
      assert.deepEqual(await trailedReceiptLeaves(store, tenantId), receipts, `tenant ${tenantId}'s trail in the order of its receipts`);
    }
    await purge.stop();
  });

  it('lets one purger run at a time (the store lease), and runs on its own until stopped', async () => {
    now = T0 + 100 * DAY_MS;
    const other = openSqliteStore({ dataDir: dir, sealIntervalMs: 60_000 });
    try {
      const a = new BackgroundPurge({ store, serverDays: 10, intervalMs: 60_000, now: () => now });
      const b = new BackgroundPurge({ store: other, serverDays: 10, intervalMs: 60_000, now: () => now });
      assert.equal(await other.takePurgeLease(b.holder, 60_000), true);
      assert.equal(await a.cycle(), 0, 'b holds the lease');
      await other.releasePurgeLease(b.holder);
      // Started, it purges in the background.
      a.start();
      const deadline = Date.now() + 10_000;
      while ((await total('AccessLog')) > 10 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(await total('AccessLog'), 10);
      await a.stop();
      assert.equal(await b.cycle(), 0, 'the lease was given back');
    } finally {
      await other.close();
    }
  });
});
