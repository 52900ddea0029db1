/**
 * `node --import tsx bench/retention-purge.ts [-- --entries N] [--store postgres]` — what a
 * retention purge costs the readers and writers of the same process, and the disk it gives back
 * (SQLite by default; PostgreSQL on a throwaway durable cluster, where the expired months are
 * dropped whole): a fresh
 * store of N entries (default 1,000,000; ~300-byte texts, sealed into segments), then pages of
 * 100 read (first pages at random points of the range kept) and 100-entry batches appended,
 * one after the other, first with no purge running, then while the background purge deletes
 * the oldest 90% in its 2,000-entry steps. Prints latency percentiles and the file size before
 * and after (WAL checkpointed). Data goes to a temporary directory, removed at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { BackgroundPurge } from '../src/store/background-purge.ts';
import { openPostgresStore } from '../src/store/postgres/index.ts';
import { DAY_MS } from '../src/store/retention-policy.ts';
import { DATABASE_FILE, openSqliteStore } from '../src/store/sqlite/index.ts';
import type { Store } from '../src/store/store.ts';
import { makeEntry } from '../test/store/contract/store.contract.ts';
import { type PostgresCluster, startPostgres } from '../test/support/postgres.ts';
import { percentile, round } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: { entries: { type: 'string', default: '1000000' }, store: { type: 'string', default: 'sqlite' } },
});
const N = Number(flags.entries);
const T0 = Date.UTC(2025, 0, 1);
const STEP_MS = Math.floor((100 * DAY_MS) / N); // N entries over 100 days
const dir = mkdtempSync(join(tmpdir(), 'logwarden-bench-purge-'));
const log = (line: string) =>
  void process.stderr.write(
    `${new Date().toISOString()} load ${loadavg()
      .map((l) => round(l, 2))
      .join(' ')}  ${line}\n`,
  );

let cluster: PostgresCluster | undefined;
let pgUrl = '';
const fileMb = async () => {
  if (cluster) {
    await cluster.query(pgUrl, 'VACUUM');
    const r = await cluster.query<{ n: string }>(pgUrl, 'SELECT pg_database_size(current_database()) AS n');
    return round(Number(r.rows[0]!.n) / 1e6, 1);
  }
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return round(statSync(join(dir, DATABASE_FILE)).size / 1e6, 1);
};

try {
  const now = T0 + 100 * DAY_MS;
  let store: Store & { settle(): unknown };
  if (flags.store === 'postgres') {
    const pg = await startPostgres({ durable: true });
    if (!pg.cluster) throw new Error(pg.skip);
    cluster = pg.cluster;
    pgUrl = await cluster.createDatabase();
    store = await openPostgresStore({ url: pgUrl, sealAgeMs: 0, sealIntervalMs: 60_000 });
  } else store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 60_000, now: () => now });
  await store.createTenant({ id: '7', name: 'Bench' });
  const started = performance.now();
  for (let at = 0; at < N; at += 10_000) {
    const batch = [];
    for (let i = at; i < Math.min(N, at + 10_000); i++)
      batch.push(makeEntry('AccessLog', T0 + i * STEP_MS, `{"i":${i},"n":"${randomBytes(225).toString('base64')}"}`));
    await store.append('7', batch);
    if (at % 100_000 === 0) {
      await store.settle();
      log(`seeded ${at + 10_000} entries`);
    }
  }
  await store.settle();
  log(`seeded ${N} entries in ${round((performance.now() - started) / 1000, 1)} s`);
  const before = await fileMb();
  if (cluster) {
    // The fresh data's checkpoint and first analyze now, not inside the samples that follow.
    await cluster.query(pgUrl, 'CHECKPOINT');
    await cluster.query(pgUrl, 'ANALYZE');
    log('checkpointed and analyzed');
  }

  // Readers page through the newest 10% (kept); a writer appends late batches into it too.
  const keptFrom = T0 + 90 * DAY_MS;
  let appended = 0;
  const sample = async (ms: number, running: () => boolean) => {
    const reads: number[] = [];
    const writes: number[] = [];
    const until = performance.now() + ms;
    while (performance.now() < until && running()) {
      const from = keptFrom + Math.floor(Math.random() * 9 * DAY_MS);
      let t = performance.now();
      await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: from, toMs: null }, 100);
      reads.push(performance.now() - t);
      if (reads.length % 10 === 0) {
        const batch = Array.from({ length: 100 }, (_, k) =>
          makeEntry('AccessLog', keptFrom + Math.floor(Math.random() * 9 * DAY_MS), `{"late":${appended++},"k":${k}}`),
        );
        t = performance.now();
        await store.append('7', batch);
        writes.push(performance.now() - t);
      }
      // A request arrives every few milliseconds, not back to back.
      await new Promise((r) => setTimeout(r, 2));
    }
    return { reads, writes };
  };
  const report = (what: string, s: { reads: number[]; writes: number[] }) =>
    log(
      `${what}: ${s.reads.length} page reads p50 ${round(percentile(s.reads, 50), 2)} ms, p99 ${round(percentile(s.reads, 99), 2)} ms, max ${round(Math.max(...s.reads), 1)} ms; ` +
        `${s.writes.length} appends of 100 p50 ${round(percentile(s.writes, 50), 2)} ms, p99 ${round(percentile(s.writes, 99), 2)} ms`,
    );
  report('idle', await sample(10_000, () => true));

  let done = false;
  let steps = 0;
  const months: string[] = [];
  const purge = new BackgroundPurge({
    store,
    serverDays: 10,
    intervalMs: 3_600_000,
    now: () => now,
    log: () => void steps++,
    logPartition: (p) => void months.push(`${p.partition} ${p.outcome}`),
  });
  const purgeStarted = performance.now();
  const cycle = purge.cycle().then((n) => {
    done = true;
    return n;
  });
  // Sampled for the whole purge, however long it takes (a purge of millions runs for many minutes).
  const during = await sample(Number.POSITIVE_INFINITY, () => !done);
  const total = await cycle;
  const purgeSeconds = round((performance.now() - purgeStarted) / 1000, 1);
  report('during the purge', during);
  log(`purge: ${total} entries in ${steps} steps and receipts, ${purgeSeconds} s (${round(total / purgeSeconds)} entries/s, paced at half the time)`);
  if (cluster) log(`expired months: ${months.join(', ') || 'none'}`);
  await store.close();
  log(`${cluster ? 'database (vacuumed)' : 'file'}: ${before} MB before, ${await fileMb()} MB after`);
} finally {
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
}
