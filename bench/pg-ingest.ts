/**
 * PostgreSQL ingest alone, without the read data set `npm run bench` loads first: entries per
 * second into an empty store on a throwaway cluster with durability on (fsync, synchronous
 * commit, full page writes), measured two ways on the same entries as the benchmark's ingest
 * (realistic entries of all five types over one day, batches of up to 10,000 of one type, two
 * batches in flight, after a 20,000-entry warm-up):
 *
 * - `append`: Store.append in this process (the store's own cost, no HTTP);
 * - `http`: JSON batches posted to a `logwarden serve` on the database (what issue 10 judges).
 *
 * `--waits` samples what the appending server processes are doing during the append runs
 * (pg_stat_activity every 20 ms: running, or waiting on which event) and prints the shares.
 * `--statements` prints, after each append run, the server's CPU per entry by process and the
 * statements' running time per entry (pg_stat_statements; a statement waiting on a lock counts
 * its wait).
 *
 *   node --import tsx bench/pg-ingest.ts [--entries 200000] [--runs 3] [--no-http] [--no-append] [--waits] [--statements]
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import type { NewEntry } from '../src/logs/entry.ts';
import { openPostgresStore } from '../src/store/postgres/index.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { DAY_MS } from './lib/dataset.ts';
import { median, round } from './lib/stats.ts';
import { measureIngest } from './measure/ingest.ts';

const { values: flags } = parseArgs({
  options: {
    entries: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    'no-http': { type: 'boolean', default: false },
    'no-append': { type: 'boolean', default: false },
    waits: { type: 'boolean', default: false },
    statements: { type: 'boolean', default: false },
  },
});
const entries = Number(flags.entries);
const runs = Number(flags.runs);
const BATCH = 10_000;
const IN_FLIGHT = 2;

/** Batches of up to 10,000 entries of one type, as the HTTP measurement posts them. */
function batches(rows: readonly NewEntry[]): NewEntry[][] {
  const byType = new Map<string, NewEntry[]>();
  for (const e of rows) {
    const list = byType.get(e.logType) ?? [];
    list.push(e);
    byType.set(e.logType, list);
  }
  const out: NewEntry[][] = [];
  for (const list of byType.values()) for (let i = 0; i < list.length; i += BATCH) out.push(list.slice(i, i + BATCH));
  return out;
}

/**
 * Polls pg_stat_activity for the store's active backends until stopped; returns the share of
 * samples per state ("running" or the wait event).
 */
function sampleWaits(url: string): { stop(): Promise<string> } {
  const client = new pg.Client({ connectionString: url });
  const counts = new Map<string, number>();
  let total = 0;
  let running = true;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const r = await client.query<{ w: string }>(
        `SELECT coalesce(wait_event_type || ':' || wait_event, 'running') AS w FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'logwarden' AND state = 'active'`,
      );
      for (const row of r.rows) counts.set(row.w, (counts.get(row.w) ?? 0) + 1);
      total += r.rows.length;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...counts]
        .sort((a, b) => b[1] - a[1])
        .map(([w, n]) => `${w} ${Math.round((100 * n) / Math.max(1, total))}%`)
        .join(', ');
    },
  };
}

/**
 * CPU time (ms) used so far by each of the cluster's processes (the postmaster and its
 * children), keyed by pid and process title, from /proc (Linux).
 */
async function serverCpuMs(url: string): Promise<Map<string, number>> {
  const dir = (await cluster!.query<{ d: string }>(url, "SELECT current_setting('data_directory') AS d")).rows[0]!.d;
  const postmaster = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  const used = new Map<string, number>();
  for (const pid of [String(postmaster), ...children]) {
    try {
      const title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 60);
      used.set(`${pid} ${title}`, Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6);
    } catch {
      // exited meanwhile
    }
  }
  return used;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** What --statements prints: CPU per entry by server process, and each statement's time per entry. */
async function statementsReport(url: string, before: Map<string, number>, after: Map<string, number>, entries: number): Promise<void> {
  for (const [proc, ms] of after) {
    const used = ms - (before.get(proc) ?? 0);
    if (used * 1000 >= entries * 0.1) console.log(`  ${((used * 1000) / entries).toFixed(1)} µs/entry CPU  ${proc}`);
  }
  const top = await cluster!.query<{ q: string; calls: string; ms: number }>(
    url,
    `SELECT left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS q, calls, total_exec_time AS ms
     FROM pg_stat_statements WHERE total_exec_time * 1000 >= $1 * 0.1 ORDER BY total_exec_time DESC`,
    [entries],
  );
  for (const r of top.rows) console.log(`  ${((r.ms * 1000) / entries).toFixed(1)} µs/entry running (${r.calls} calls)  ${r.q}`);
}

const { cluster, skip } = await startPostgres({ durable: true, statementStats: flags.statements });
if (!cluster) throw new Error(skip);
try {
  const day = Date.UTC(2025, 5, 2);
  if (!flags['no-append']) {
    const warm = batches([...generateDemoEntries({ seed: 8, count: 20_000, fromMs: day - 7 * DAY_MS, toMs: day - 6 * DAY_MS })]);
    const timed = batches([...generateDemoEntries({ seed: 7, count: entries, fromMs: day, toMs: day + DAY_MS })]);
    const rates: number[] = [];
    for (let run = 0; run < runs; run++) {
      const url = await cluster.createDatabase();
      const store = await openPostgresStore({ url, noSealer: true });
      try {
        await store.createTenant({ id: '1001', name: 'bench' });
        const post = async (list: NewEntry[][]): Promise<void> => {
          let next = 0;
          const worker = async (): Promise<void> => {
            while (next < list.length) await store.append('1001', list[next++]!);
          };
          await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
        };
        await post(warm);
        const sampler = flags.waits ? sampleWaits(url) : undefined;
        if (flags.statements) {
          await cluster.query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
          await cluster.query(url, 'SELECT pg_stat_statements_reset()');
        }
        const serverCpu = await serverCpuMs(url);
        const cpu = process.cpuUsage();
        const started = performance.now();
        await post(timed);
        const secs = (performance.now() - started) / 1000;
        const used = process.cpuUsage(cpu);
        const serverAfter = await serverCpuMs(url);
        const serverUsed = sum(serverAfter) - sum(serverCpu);
        if (sampler) console.log(`  server processes: ${await sampler.stop()}`);
        rates.push(entries / secs);
        console.log(
          `append run ${run + 1}: ${Math.round(entries / secs)} entries/s (${secs.toFixed(2)} s; CPU per entry: ` +
            `this process ${((used.user + used.system) / entries).toFixed(1)} µs, the server's processes ${((serverUsed * 1000) / entries).toFixed(1)} µs)`,
        );
        if (flags.statements) await statementsReport(url, serverCpu, serverAfter, entries);
      } finally {
        await store.close();
        await cluster.dropDatabase(url);
      }
    }
    console.log(`append: median ${round(median(rates))} entries/s`);
  }
  if (!flags['no-http']) {
    const figures = await measureIngest(
      {
        bare: false,
        async fresh() {
          const url = await cluster.createDatabase();
          return { at: { databaseUrl: url }, dispose: () => cluster.dropDatabase(url) };
        },
      },
      { entries, warmupEntries: 20_000, runs, workDir: '/tmp' },
      randomBytes(32).toString('base64url'),
    );
    console.log(`http: runs ${figures.runs.logwarden.join(', ')} entries/s; median ${figures.logwardenEntriesPerSecond}`);
  }
} finally {
  await cluster.stop();
}
