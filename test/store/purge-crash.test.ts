/**
 * Purge under SIGKILL (issue 12), on both stores: a child process purges a large store (sealed
 * and hot entries over two months) and is killed at random moments, several times. PostgreSQL's
 * child first drops the month that is wholly expired, then deletes the rest by steps; SQLite's
 * goes by steps only. After each kill the store must hold no entry deleted without its receipt
 * and no receipt without its deletion: the entries served and the entries the receipts name
 * are, together, exactly the entries written, with no overlap; totals and tallies are exact. A
 * last run completes the purge.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, describe, it } from 'node:test';
import { formatEventTime } from '../../src/logs/time.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { startPostgres } from '../support/postgres.ts';
import { makeEntry } from './contract/store.contract.ts';
import { auditLog, readBodies } from './contract/store-retention.contract.ts';

const T0 = Date.UTC(2025, 0, 1);
const N = 12_000;
const SPACING_MS = 6 * 60_000; // 50 days: all of January, most of February
const CUTOFF = Date.UTC(2025, 1, 10); // January expired whole, February in part
const EXPIRED = Math.ceil((CUTOFF - T0) / SPACING_MS);
const entryAt = (i: number) => makeEntry('AccessLog', T0 + i * SPACING_MS, `{"i":${i},"pad":"${'x'.repeat(i % 200)}"}`);

type Opened = Store & { close(): Promise<void>; settle(): unknown };

interface StoreKind {
  /** Opens the store; `seal` makes it seal everything at settle. */
  open(seal?: boolean): Promise<Opened>;
  /** The child's module code that opens the same store as `store`. */
  readonly childOpen: string;
  /** Whether the child drops whole expired partitions before its steps. */
  readonly partitions: boolean;
}

const src = (path: string) => JSON.stringify(runnable(new URL(`../../src/${path}`, import.meta.url)));

/**
 * Runs the purge in a child until SIGKILL after `killAfter` acts (drops or steps; 0: somewhere in
 * the first, from its start) and a random pause, or until done. `receipts` counts the receipts
 * of months dropped whole.
 *
 * The child waits for a line on its stdin after each act, and gets none once the kill is armed:
 * the kill lands inside the act it was aimed at or just after it, however fast this machine
 * runs that act, and never after the purge has finished.
 */
function purgeChild(kind: StoreKind, killAfter: number | null): Promise<{ acts: number; killed: boolean; receipts: number }> {
  const script = `
    import { createInterface } from 'node:readline';
    ${kind.childOpen}
    const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
    const done = async (line) => {
      process.stdout.write(line + '\\n');
      await lines.next();
    };
    process.stdout.write('start\\n');
    ${kind.partitions ? `const dropped = await store.dropExpiredPartitions(() => ${CUTOFF}); await done('done dropped ' + dropped.length);` : ''}
    for (;;) {
      const r = await store.purge('7', 'AccessLog', ${CUTOFF}, 700);
      if (r.count === 0) break;
      await done('done ' + r.count);
    }
    process.stdin.destroy();
    await store.close();
    process.stdout.write('finished\\n');
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER_ARGS, '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.on('error', () => {}); // a line for a child already killed
    let stderr = '';
    let acts = 0;
    let killed = false;
    let receipts = 0;
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith('done dropped ')) receipts += Number(line.slice('done dropped '.length));
      if (line === 'start' && killAfter === 0) {
        killed = true;
        // Somewhere inside the first act: the drop's listing, its transaction, or after it.
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 400));
      }
      if (!line.startsWith('done')) return;
      acts++;
      if (killed) return; // no next act: the kill is on its way
      if (killAfter !== null && acts === killAfter) {
        killed = true;
        // Somewhere inside the next act (or just after it).
        setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 40));
      }
      child.stdin.write('next\n');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ acts, killed: true, receipts });
      else if (code === 0) resolve({ acts, killed: false, receipts });
      else reject(new Error(`purge child exited ${code}: ${stderr}`));
    });
  });
}

async function purgeUnderKills(kind: StoreKind): Promise<void> {
  const entries = Array.from({ length: N }, (_, i) => entryAt(i));
  const setup = await kind.open(true);
  await setup.createTenant({ id: '7', name: 'Acme' });
  await setup.append('7', entries.slice(0, N - 1000));
  await setup.settle(); // most entries sealed in segments, the last thousand hot
  await setup.append('7', entries.slice(N - 1000));
  await setup.close();
  const leafOf = (e: (typeof entries)[number]) => buildEntryLeaf({ logType: e.logType, eventTime: formatEventTime(e.eventTimeMs), wireText: e.body });
  const all = new Map(entries.map((e) => [e.body, leafOf(e)]));

  let killedRuns = 0;
  let dropReceipts = 0;
  for (const killAfter of kind.partitions ? [0, 0, 1, 3] : [1, 3, 4, 2]) {
    const run = await purgeChild(kind, killAfter);
    if (run.killed) killedRuns++;
    dropReceipts += run.receipts;
    const store = await kind.open();
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
  const last = await purgeChild(kind, null);
  assert.equal(last.killed, false);
  dropReceipts += last.receipts;
  if (kind.partitions) assert.ok(dropReceipts > 0, 'January went whole, with its receipts');
  const store = await kind.open();
  try {
    assert.equal((await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, N - EXPIRED);
    assert.equal((await auditLog(store, '7')).deleted.size, EXPIRED);
  } finally {
    await store.close();
  }
}

describe('sqlite', () => {
  it('a purge killed with SIGKILL leaves no deletion without its receipt nor a receipt without its deletion; a rerun completes', {
    timeout: 240_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-purge-crash-'));
    try {
      await purgeUnderKills({
        open: async (seal) => openSqliteStore({ dataDir: dir, sealIntervalMs: 60_000, ...(seal ? { sealAgeMs: 0 } : {}) }),
        childOpen: `import { openSqliteStore } from ${src('store/sqlite/index.ts')};
          const store = openSqliteStore({ dataDir: ${JSON.stringify(dir)}, sealIntervalMs: 60_000 });`,
        partitions: false,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const { cluster, skip } = await startPostgres();
after(() => cluster?.stop());

describe('postgres', { skip }, () => {
  it('a purge killed with SIGKILL, mid-drop of a whole month or mid-step, leaves no deletion without its receipt nor a receipt without its deletion; a rerun completes', {
    timeout: 240_000,
  }, async () => {
    const url = await cluster!.createDatabase();
    try {
      await purgeUnderKills({
        open: async (seal) => openPostgresStore({ url, poolSize: 2, noSealer: !seal, ...(seal ? { sealAgeMs: 0 } : {}) }),
        childOpen: `import { openPostgresStore } from ${src('store/postgres/index.ts')};
          const store = await openPostgresStore({ url: ${JSON.stringify(url)}, poolSize: 2, noSealer: true });`,
        partitions: true,
      });
    } finally {
      await cluster!.dropDatabase(url);
    }
  });
});
