/**
 * The "purge run" admin-trail entry of a purge step: written after the step's deletion receipt,
 * it names the type, the range, the count and the receipt's leaf; a step that deleted nothing
 * writes nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { completePurgeTrail, recordPurgeRun } from '../../src/admin/purge-trail.ts';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/start.ts';
import { issueAccessKey } from '../../src/service/access-keys.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { PurgeReceipt } from '../../src/store/store.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { basic } from '../support/app.ts';

describe('purge runs in the admin trail', () => {
  it('records each purge step that deleted entries, after its receipt leaf', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-purge-trail-'));
    const store = openSqliteStore({ dataDir: dir });
    try {
      await store.createTenant({ id: '4242', name: 'Purged' });
      const day = 86_400_000;
      const t0 = Date.UTC(2026, 0, 1);
      await store.append('4242', [makeEntry('AccessLog', t0), makeEntry('AccessLog', t0 + day), makeEntry('AccessLog', t0 + 40 * day)]);
      const receipt = await store.purge('4242', 'AccessLog', t0 + 10 * day, 1000);
      assert.equal(receipt.count, 2);
      const now = Date.UTC(2026, 1, 20, 3, 0, 0);
      const record = await recordPurgeRun(store, '4242', receipt, () => now);
      assert.equal(await recordPurgeRun(store, '4242', await store.purge('4242', 'AccessLog', t0 + 10 * day, 1000), () => now), undefined);

      const page = await store.firstPage({ tenantId: '4242', logType: 'LogwardenAdminLog', fromMs: 0, toMs: null }, 10);
      const entries = JSON.parse(`[${page.text.toString('utf8')}]`) as Array<{
        userFullName: string;
        eventTime: string;
        logRecord: Record<string, unknown>;
      }>;
      assert.equal(entries.length, 1);
      const [entry] = entries;
      assert.deepEqual([entry!.userFullName, entry!.eventTime], ['logwarden server', '2026-02-20T03:00:00.000Z']);
      assert.deepEqual(entry!.logRecord, record);
      assert.deepEqual(
        { ...entry!.logRecord, actId: 'x' },
        {
          action: 'purge.run',
          actId: 'x',
          tenantId: '4242',
          actor: { kind: 'server' },
          target: { logType: 'AccessLog' },
          before: null,
          after: {
            logType: 'AccessLog',
            firstEventTime: '2026-01-01T00:00:00.000Z',
            lastEventTime: '2026-01-02T00:00:00.000Z',
            count: 2,
            receiptLeafIndex: 3,
            digest: receipt.digest,
            purgedAt: receipt.purgedAt,
          },
        },
      );
      // Three entries (leaves 0-2), the receipt (leaf 3), the purge-run entry (leaf 4).
      assert.equal((await store.log!('4242'))!.checkpoint.size, 5);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the entry of a receipt whose purge ended before writing it, once, whoever finds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-purge-trail-gap-'));
    const store = openSqliteStore({ dataDir: dir });
    try {
      await store.createTenant({ id: '4343', name: 'Gap' });
      const day = 86_400_000;
      const t0 = Date.UTC(2026, 0, 1);
      await store.append('4343', [makeEntry('AccessLog', t0), makeEntry('AccessLog', t0 + day), makeEntry('AccessLog', t0 + 40 * day)]);
      // The step's receipt commits; the process ends before the trail entry (no recordPurgeRun).
      const receipt = await store.purge('4343', 'AccessLog', t0 + 10 * day, 1000);
      assert.deepEqual(await store.untrailedReceipts(), [
        { tenantId: '4343', leafIndex: receipt.leafIndex, text: (await store.untrailedReceipts())[0]!.text },
      ]);
      const now = Date.UTC(2026, 1, 21);
      assert.equal(await completePurgeTrail(store, () => now), 1);
      assert.deepEqual(await store.untrailedReceipts(), []);
      // Found again (another process, a later cycle), or recorded late by the step's own process: nothing more.
      assert.equal(await completePurgeTrail(store, () => now), 0);
      assert.equal(await recordPurgeRun(store, '4343', receipt, () => now), undefined);
      const page = await store.firstPage({ tenantId: '4343', logType: 'LogwardenAdminLog', fromMs: 0, toMs: null }, 10);
      const entries = JSON.parse(`[${page.text.toString('utf8')}]`) as Array<{ logRecord: { action: string; after: Record<string, unknown> } }>;
      assert.equal(entries.length, 1);
      assert.deepEqual(entries[0]!.logRecord.after, {
        logType: 'AccessLog',
        firstEventTime: '2026-01-01T00:00:00.000Z',
        lastEventTime: '2026-01-02T00:00:00.000Z',
        count: 2,
        receiptLeafIndex: receipt.leafIndex,
        digest: receipt.digest,
        purgedAt: receipt.purgedAt,
      });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the server's background purge writes a purge.run entry per step into the tenant's trail, readable by its read key", {
    timeout: 60_000,
  }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-purge-trail-server-'));
    try {
      const day = 86_400_000;
      const seed = openSqliteStore({ dataDir });
      await seed.createTenant({ id: '77', name: 'Acme' });
      const key = await issueAccessKey(seed, '77', ['api:logs:read']);
      const now = Date.now();
      await seed.append('77', [
        ...Array.from({ length: 4 }, (_, i) => makeEntry('UserCallPlay', now - (50 + i) * day, `{"old":${i}}`)),
        makeEntry('UserCallPlay', now - day, '{"new":0}'),
        makeEntry('AccessLog', now - 60 * day, '{"gone":0}'),
      ]);
      // A purge whose process ended after its receipt, before its trail entry.
      const orphan = await seed.purge('77', 'AccessLog', now - 30 * day, 100);
      assert.equal(orphan.count, 1);
      await seed.close();

      const told: PurgeReceipt[] = [];
      const server = await startServer(loadConfig({ dataDir, port: 0, retentionDays: 30, purgeIntervalSeconds: 1, logLevel: 'silent' }, {}), {
        onPurged: (_store, _tenantId, receipt) => void told.push(receipt),
      });
      try {
        const deadline = Date.now() + 30_000;
        while (told.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.equal(told.length, 1, "the caller's hook is still told");
        const res = await server.app.inject({
          method: 'GET',
          url: '/v2/logs',
          query: { logType: 'LogwardenAdminLog', fromDateTime: '2000-01-01T00:00:00Z' },
          headers: { authorization: basic(key) },
        });
        assert.equal(res.statusCode, 200, res.body);
        const records = (
          res.json() as { logEntries: Array<{ userFullName: string; logRecord: { action: string; actor: unknown; after: Record<string, unknown> } }> }
        ).logEntries;
        // The orphan's entry first (written as the cycle began), then the step's own.
        assert.equal(records.length, 2);
        assert.deepEqual([records[0]!.logRecord.after.logType, records[0]!.logRecord.after.receiptLeafIndex], ['AccessLog', orphan.leafIndex]);
        records.shift();
        assert.equal(records[0]!.userFullName, 'logwarden server');
        assert.deepEqual([records[0]!.logRecord.action, records[0]!.logRecord.actor], ['purge.run', { kind: 'server' }]);
        const after = records[0]!.logRecord.after;
        assert.deepEqual([after.logType, after.count, after.receiptLeafIndex], ['UserCallPlay', 4, told[0]!.leafIndex]);
        assert.equal(after.firstEventTime, new Date(told[0]!.fromMs).toISOString());
        assert.equal(after.lastEventTime, new Date(told[0]!.toMs).toISOString());
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
