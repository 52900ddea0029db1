/**
 * `npm run bench:page-read` — what reading one 100-entry page out of the SQLite store costs, in
 * process, without HTTP: the first page of queries starting at the read benchmark's 400 points
 * across the range (about 40 MB of entries, more than a CPU cache holds), and at 4 of them.
 * Uses the benchmark's cached data set (made first if missing, as `npm run bench` does).
 *
 *   npm run bench:page-read [-- --cache DIR]
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteStore } from '../src/store/sqlite/index.ts';
import { DEFAULT_SPEC, sqliteDataset } from './lib/dataset.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { cache: { type: 'string', default: join(homedir(), '.cache', 'logwarden-bench') } } });
const PAGES = 400;
const LIMIT = 100;
const READS = 4000;

const dataset = await sqliteDataset(flags.cache, DEFAULT_SPEC, (line) => void process.stderr.write(`${line}\n`));
const store = openSqliteStore({ dataDir: dataset.dataDir });
const starts = Array.from({ length: PAGES }, (_, i) => dataset.fromMs + Math.floor(((dataset.toMs - dataset.fromMs - 3_600_000) * i) / PAGES));
const page = (from: number) => store.firstPage({ tenantId: dataset.tenantId, logType: dataset.logType, fromMs: from, toMs: dataset.toMs }, LIMIT);

/** Median µs per read over five rounds of READS reads cycling through `keys`, after a warm-up. */
async function time<K>(keys: readonly K[], read: (key: K) => Promise<unknown>): Promise<number> {
  for (let r = 0; r < 2; r++) for (const k of keys) await read(k);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < READS; i++) await read(keys[i % keys.length]!);
    rounds.push(Number(process.hrtime.bigint() - t0) / READS / 1000);
  }
  return round(median(rounds), 1);
}

try {
  const many = await time(starts, page);
  const few = await time(
    starts.filter((_, i) => i % (PAGES / 4) === 0),
    page,
  );
  let bytes = 0;
  for (const from of starts) bytes += (await page(from)).text.length;
  process.stdout.write(
    [
      `first page of ${LIMIT} entries (${Math.round(bytes / PAGES).toLocaleString('en-US')} bytes of text), µs per read, median of 5 x ${READS}:`,
      `  ${PAGES} pages cycled  ${many}`,
      `  4 pages cycled    ${few}`,
      '',
    ].join('\n'),
  );
} finally {
  await store.close();
}
