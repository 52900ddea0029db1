/**
 * The server's background purge over a real store: retention by the effective policy, holds,
 * the admin trail's floor, the onPurged hook, and one purger per store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { BackgroundPurge } from '../../src/store/background-purge.ts';
import { DAY_MS } from '../../src/store/retention-policy.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import type { PurgeReceipt } from '../../src/store/store.ts';
import { makeEntry } from './contract/store.contract.ts';
import { auditLog } from './contract/store-retention.contract.ts';

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

  const total = async (logType: string) => (await store.firstPage({ tenantId: '7', logType, fromMs: 0, toMs: null }, 1)).total;

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
      ['AccessLog:25', 'AccessLog:25', 'AccessLog:20', 'LogwardenAdminLog:25', 'LogwardenAdminLog:15', 'UserCallPlay:25', 'UserCallPlay:15'],
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

  it('keeps everything by default and under holds', async () => {
    now = T0 + 1000 * DAY_MS;
    const forever = new BackgroundPurge({ store, serverDays: null, intervalMs: 60_000 });
    assert.equal(await forever.cycle(), 0);
    await store.createHold({ tenantId: '7', logType: null, fromMs: T0 + 50 * DAY_MS, toMs: null, reason: 'case', createdBy: 'a@b' });
    const purge = new BackgroundPurge({ store, serverDays: 1, intervalMs: 60_000 });
    assert.equal(await purge.cycle(), 3 * 50);
    for (const type of ['AccessLog', 'UserCallPlay', 'LogwardenAdminLog']) assert.equal(await total(type), 50);
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
