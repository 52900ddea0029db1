/**
 * Purge under SIGKILL (issue 12): a child process purges a large store in steps (sealed and hot
 * entries) and is killed at random moments, several times. After each kill the store must hold
 * no entry deleted without its receipt and no receipt without its deletion: the entries served
 * and the entries the receipts name are, together, exactly the entries written, with no
 * overlap; totals are exact; the tree verifies. A last run completes the purge.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { it } from 'node:test';
import { formatEventTime } from '../../src/logs/time.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { makeEntry } from './contract/store.contract.ts';
import { auditLog, readBodies } from './contract/store-retention.contract.ts';

const T0 = Date.UTC(2025, 0, 1);
const N = 12_000;
const CUTOFF = T0 + N * 60_000; // every entry is older
const entryAt = (i: number) => makeEntry('AccessLog', T0 + i * 60_000, `{"i":${i},"pad":"${'x'.repeat(i % 200)}"}`);

/** Runs purge steps in a child until SIGKILL after `killAfterSteps` steps and a random pause, or until done. */
function purgeChild(dir: string, killAfterSteps: number | null): Promise<{ steps: number; killed: boolean }> {
  const script = `
    import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite/index.ts', import.meta.url).pathname)};
    const store = openSqliteStore({ dataDir: ${JSON.stringify(dir)}, sealIntervalMs: 60_000 });
    for (;;) {
      process.stdout.write('step\\n');
      const r = await store.purge('7', 'AccessLog', ${CUTOFF}, 700);
      if (r.count === 0) break;
      process.stdout.write('done ' + r.count + '\\n');
    }
    await store.close();
    process.stdout.write('finished\\n');
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let steps = 0;
    let killed = false;
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('done')) return;
      steps++;
      if (killAfterSteps !== null && steps === killAfterSteps && !killed) {
        killed = true;
        // Somewhere inside the next step (or between steps).
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 40));
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ steps, killed: true });
      else if (code === 0) resolve({ steps, killed: false });
      else reject(new Error(`purge child exited ${code}: ${stderr}`));
    });
  });
}

it('a purge killed with SIGKILL leaves no deletion without its receipt nor a receipt without its deletion; a rerun completes', {
  timeout: 240_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logwarden-purge-crash-'));
  try {
    const entries = Array.from({ length: N }, (_, i) => entryAt(i));
    const setup = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 60_000 });
    await setup.createTenant({ id: '7', name: 'Acme' });
    await setup.append('7', entries.slice(0, N - 1000));
    setup.settle(); // most entries sealed in segments, the last thousand hot
    await setup.append('7', entries.slice(N - 1000));
    await setup.close();
    const leafOf = (e: (typeof entries)[number]) =>
      buildEntryLeaf({ logType: e.logType, eventTime: formatEventTime(e.eventTimeMs), wireText: e.body });
    const all = new Map(entries.map((e) => [e.body, leafOf(e)]));

    let killedRuns = 0;
    for (const after of [1, 3, 4, 2]) {
      const run = await purgeChild(dir, after);
      if (run.killed) killedRuns++;
      const store = openSqliteStore({ dataDir: dir, sealIntervalMs: 60_000 });
      try {
        const served = await readBodies(store, { tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 1000);
        assert.equal(served.total, served.bodies.length, 'total exact');
        const audit = await auditLog(store, '7');
        const deleted = new Set([...audit.deleted].map((i) => audit.leaves[i]!));
        const present = new Set(served.bodies.map((b) => all.get(b)!));
        for (const leaf of present) assert.ok(!deleted.has(leaf), 'an entry still served is named by a receipt');
        assert.equal(present.size + deleted.size, N, 'every entry either served or named by a receipt');
        const tallied = (await store.hourlyTallies({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null })).reduce((n, t) => n + t.count, 0);
        assert.equal(tallied, present.size, 'hourly tallies exact');
      } finally {
        await store.close();
      }
    }
    assert.ok(killedRuns >= 3, `the child was killed mid-purge ${killedRuns} times`);
    const last = await purgeChild(dir, null);
    assert.equal(last.killed, false);
    const store = openSqliteStore({ dataDir: dir, sealIntervalMs: 60_000 });
    try {
      assert.equal((await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, 0);
      assert.equal((await auditLog(store, '7')).deleted.size, N);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
