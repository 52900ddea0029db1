/** The server purges expired entries in the background and tells `onPurged` (issue 12). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { ADMIN_LOG_TYPE } from '../../src/logs/log-types.ts';
import { formatEventTime } from '../../src/logs/time.ts';
import { startServer } from '../../src/server/start.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { PurgeReceipt } from '../../src/store/store.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { entriesOf } from '../support/page-entries.ts';

const DAY = 86_400_000;

it('a server deletes entries older than LOGWARDEN_RETENTION_DAYS in the background and calls onPurged', { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-retention-'));
  try {
    const seed = openSqliteStore({ dataDir });
    await seed.createTenant({ id: '7', name: 'Acme' });
    const now = Date.now();
    await seed.append('7', [
      ...Array.from({ length: 5 }, (_, i) => makeEntry('AccessLog', now - (40 + i) * DAY, `{"old":${i}}`)),
      ...Array.from({ length: 3 }, (_, i) => makeEntry('AccessLog', now - (i + 1) * DAY, `{"new":${i}}`)),
    ]);
    await seed.close();

    const purged: { tenantId: string; receipt: PurgeReceipt }[] = [];
    const server = await startServer(loadConfig({ dataDir, port: 0, retentionDays: 30, purgeIntervalSeconds: 1, logLevel: 'silent' }, {}), {
      onPurged: (_store, tenantId, receipt) => void purged.push({ tenantId, receipt }),
    });
    try {
      const deadline = Date.now() + 20_000;
      while (purged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.equal(purged.length, 1);
      assert.equal(purged[0]!.tenantId, '7');
      assert.equal(purged[0]!.receipt.count, 5);
      assert.equal(purged[0]!.receipt.logType, 'AccessLog');
    } finally {
      await server.stop();
    }
    const after = openSqliteStore({ dataDir });
    try {
      assert.equal((await after.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 3);
    } finally {
      await after.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

it("the background purge runs on the server's clock: cutoffs and its admin-trail entries take `now`", { timeout: 30_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-retention-clock-'));
  // Years ahead of the real clock: by Date.now nothing here is expired, and no entry is of today.
  const at = Date.UTC(2031, 0, 1, 12);
  try {
    const seed = openSqliteStore({ dataDir });
    await seed.createTenant({ id: '7', name: 'Acme' });
    await seed.append('7', [
      ...Array.from({ length: 4 }, (_, i) => makeEntry('AccessLog', at - (40 + i) * DAY, `{"old":${i}}`)),
      makeEntry('AccessLog', at - DAY, '{"new":0}'),
    ]);
    await seed.close();

    const purged: PurgeReceipt[] = [];
    const server = await startServer(loadConfig({ dataDir, port: 0, retentionDays: 30, purgeIntervalSeconds: 1, logLevel: 'silent' }, {}), {
      now: () => at,
      onPurged: (_store, _tenantId, receipt) => void purged.push(receipt),
    });
    try {
      const deadline = Date.now() + 20_000;
      while (purged.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        purged.map((r) => r.count),
        [4],
        'the entries older than 30 days by the server clock',
      );
    } finally {
      await server.stop();
    }
    const after = openSqliteStore({ dataDir });
    try {
      assert.equal((await after.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 1);
      const trail = await after.firstPage({ tenantId: '7', logType: ADMIN_LOG_TYPE, fromMs: 0, toMs: null }, 100);
      const runs = entriesOf(trail)
        .map((e) => JSON.parse(e.body) as { eventTime: string; logRecord: { action: string } })
        .filter((e) => e.logRecord.action === 'purge.run');
      assert.deepEqual(
        runs.map((e) => e.eventTime),
        [formatEventTime(at)],
        "the purge run is on the trail at the server's time",
      );
    } finally {
      await after.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
