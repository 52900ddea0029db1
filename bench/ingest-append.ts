/**
 * Ingest in this process, without HTTP: `ingestJsonBatch` (what `POST /v2/logs` runs once the
 * body is in) taking JSON batches of 10,000 demo AccessLog entries, as bytes, into a fresh
 * SQLite store (its durability, the tree kept). What a change to parsing, validation, hashing
 * or the append path costs, apart from the HTTP server and the load generator.
 *
 *   node --import tsx bench/ingest-append.ts [--batches 7] [--runs 3] [--here]   (under `node --cpu-prof` for a profile)
 *
 * Each run opens a new store, stores one warm-up batch, then times the others. Prints, per run
 * and as the median, the CPU microseconds per entry of this process (all its threads) and
 * entries per second. `--here`: batches stored on this thread rather than on the store's append
 * thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import { LogTypes } from '../src/logs/log-types.ts';
import { ingestJsonBatch } from '../src/service/ingest-logs.ts';
import { openSqliteStore } from '../src/store/sqlite/index.ts';
import { DAY_MS } from './lib/dataset.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({
  options: {
    batches: { type: 'string', default: '7' },
    runs: { type: 'string', default: '3' },
    here: { type: 'boolean', default: false },
  },
});
const BATCH = 10_000;
const batches = Number(flags.batches);
const runs = Number(flags.runs);
if (!(batches >= 1) || !(runs >= 1)) throw new RangeError('--batches and --runs must be at least 1');

/** JSON batch bodies of BATCH entries each, as the route hands them to ingestJsonBatch. */
function bodies(count: number, seed: number, fromMs: number): Buffer[] {
  const texts: string[] = [];
  for (const e of generateDemoEntries({ seed, count: count * BATCH * 2, fromMs, toMs: fromMs + DAY_MS, types: ['AccessLog'] })) {
    texts.push(e.body);
    if (texts.length === count * BATCH) break;
  }
  const out: Buffer[] = [];
  for (let i = 0; i < texts.length; i += BATCH) {
    out.push(Buffer.from(`{"logType":"AccessLog","logEntries":[${texts.slice(i, i + BATCH).join(',')}]}`));
  }
  return out;
}

const day = Date.UTC(2025, 5, 2);
const warm = bodies(1, 8, day - 7 * DAY_MS);
const timed = bodies(batches, 7, day);
const types = new LogTypes(['AccessLog']);
const cpuPerEntry: number[] = [];
const rates: number[] = [];
for (let run = 0; run < runs; run++) {
  const dir = mkdtempSync(join(tmpdir(), 'logwarden-ingest-append-'));
  const store = await openSqliteStore({ dataDir: dir, noAppendThread: flags.here });
  try {
    await store.createTenant({ id: '1001', name: 'bench' });
    for (const b of warm) await ingestJsonBatch(store, '1001', b, types);
    const cpu = process.cpuUsage();
    const started = performance.now();
    let stored = 0;
    for (const b of timed) stored += (await ingestJsonBatch(store, '1001', b, types)).accepted;
    const secs = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (stored !== timed.length * BATCH) throw new Error(`stored ${stored} of ${timed.length * BATCH} entries`);
    cpuPerEntry.push((used.user + used.system) / stored);
    rates.push(stored / secs);
    console.log(`run ${run + 1}: ${cpuPerEntry.at(-1)!.toFixed(1)} µs CPU per entry, ${Math.round(rates.at(-1)!)} entries/s`);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(
  JSON.stringify({
    cpuMicrosecondsPerEntry: round(median(cpuPerEntry), 1),
    entriesPerSecond: Math.round(median(rates)),
    runs,
    batches,
    batchSize: BATCH,
  }),
);
