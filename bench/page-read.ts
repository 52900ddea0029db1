/**
 * `npm run bench:page-read` — what reading one 100-entry page out of SQLite costs, in process,
 * without HTTP: the row page reader over the read benchmark's 400 pages (about 40 MB of
 * entries, more than a CPU cache holds) and over 4 of them (cache-resident); the same pages'
 * texts each stored as one value and read back by key; and the same 400 pages read from page
 * blocks, as the store serves them (checked byte for byte against the row reader).
 * Uses the benchmark's cached data set (made first if missing, as `npm run bench` does).
 *
 *   npm run bench:page-read [-- --cache DIR]
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DATABASE_FILE } from '../src/store/sqlite/index.ts';
import { BLOCK_FILE } from '../src/store/sqlite/block-file.ts';
import { PageBlocks } from '../src/store/sqlite/page-blocks.ts';
import { PageReader } from '../src/store/sqlite/page-reader.ts';
import { DEFAULT_SPEC, sqliteDataset } from './lib/dataset.ts';
import { median, round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { cache: { type: 'string', default: join(homedir(), '.cache', 'logwarden-bench') } } });
const PAGES = 400;
const LIMIT = 100;
const READS = 8000;

const dataset = await sqliteDataset(flags.cache, DEFAULT_SPEC, (line) => void process.stderr.write(`${line}\n`));
const db = new Database(join(dataset.dataDir, DATABASE_FILE), { readonly: true });
db.pragma('cache_size = -65536'); // as the store sets it
const tid = db.prepare<[string], number>('SELECT tid FROM tenants WHERE id = ?').pluck().get(dataset.tenantId)!;
const typeId = db.prepare<[string], number>('SELECT type_id FROM log_types WHERE name = ?').pluck().get(dataset.logType)!;
const reader = new PageReader(db);
// The read benchmark's pages: the first page of queries starting at 400 points across the range.
const starts = Array.from({ length: PAGES }, (_, i) => dataset.fromMs + Math.floor(((dataset.toMs - dataset.fromMs - 3_600_000) * i) / PAGES));
const page = (from: number) => reader.firstPage(tid, typeId, from, dataset.toMs, LIMIT);
const blocks = new PageBlocks(db, reader, { file: join(dataset.dataDir, BLOCK_FILE) });
const blockPage = (from: number) => blocks.firstPage(tid, typeId, from, dataset.toMs, LIMIT);

/** Median µs per read over five rounds of READS reads cycling through `keys`, after a warm-up. */
function time<K>(keys: readonly K[], read: (key: K) => unknown): number {
  for (let r = 0; r < 2; r++) for (const k of keys) read(k);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < READS; i++) read(keys[i % keys.length]!);
    rounds.push(Number(process.hrtime.bigint() - t0) / READS / 1000);
  }
  return round(median(rounds), 1);
}

const dir = mkdtempSync(join(tmpdir(), 'logwarden-page-read-'));
try {
  const blobs = new Database(join(dir, 'blobs.db'));
  blobs.pragma('page_size = 16384');
  blobs.pragma('cache_size = -65536');
  blobs.exec('CREATE TABLE pages (id INTEGER PRIMARY KEY, text BLOB NOT NULL)');
  const insert = blobs.prepare('INSERT INTO pages (id, text) VALUES (?, ?)');
  blobs.transaction(() => starts.forEach((from, i) => insert.run(i, page(from).text)))();
  const byId = blobs.prepare<[number], Buffer>('SELECT text FROM pages WHERE id = ?').pluck();
  const ids = starts.map((_, i) => i);

  const rows400 = time(starts, page);
  const rows4 = time(starts.filter((_, i) => i % (PAGES / 4) === 0), page);
  const blob400 = time(ids, (id) => byId.get(id));
  for (const from of starts) {
    if (!blockPage(from).text.equals(page(from).text)) throw new Error(`page blocks and rows differ from ${from}`);
  }
  const blocks400 = time(starts, blockPage);
  const bytes = Math.round(starts.reduce((n, from) => n + page(from).text.length, 0) / PAGES);
  process.stdout.write(
    [
      `page of ${LIMIT} entries (${bytes.toLocaleString('en-US')} bytes of text), µs per read, median of 5 x ${READS}:`,
      `  page reader, ${PAGES} pages cycled         ${rows400}`,
      `  page reader, 4 pages cycled           ${rows4}`,
      `  one stored value per page, ${PAGES} cycled ${blob400}`,
      `  page blocks, ${PAGES} pages cycled         ${blocks400}`,
      '',
    ].join('\n'),
  );
  blobs.close();
} finally {
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
