/**
 * The verifiable log's cost on the SQLite store, in process (no HTTP): entries per second of
 * `store.append` in batches of 10,000 entries of one log type (as bulk ingest sends them) into a
 * fresh store, and the disk the store then takes (sealed), against the entries' JSON; with the
 * tree tables' share. Run on a build without the tree, it gives the figures to compare with
 * (the tree's tables are then simply absent).
 *
 *   node --import tsx bench/tree-append.ts [--entries N] [--warmup N] [--batch N] [--runs N] [--dir DIR]
 *
 * Prints one JSON object. Figures in docs/benchmarks.md.
 */

import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import type { NewEntry } from '../src/logs/entry.ts';
import { DATABASE_FILE, openSqliteStore } from '../src/store/sqlite/index.ts';
import { sqliteDatabaseBytes, sqliteJsonBytes } from './lib/disk.ts';

const { values: flags } = parseArgs({
  options: {
    entries: { type: 'string', default: '200000' },
    warmup: { type: 'string', default: '20000' },
    batch: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const entries = Number(flags.entries);
const warmup = Number(flags.warmup);
const batchSize = Number(flags.batch);
const DAY = 86_400_000;
const FROM = Date.UTC(2026, 0, 5);

function batches(list: readonly NewEntry[]): NewEntry[][] {
  const byType = new Map<string, NewEntry[]>();
  for (const e of list) {
    const group = byType.get(e.logType) ?? [];
    group.push(e);
    byType.set(e.logType, group);
  }
  const out: NewEntry[][] = [];
  for (const group of byType.values()) for (let i = 0; i < group.length; i += batchSize) out.push(group.slice(i, i + batchSize));
  return out;
}

const TREE_TABLES = [
  'tree_heads',
  'tree_tiles',
  'tree_high',
  'tree_checkpoints',
  'tree_runs',
  'sqlite_autoindex_tree_tiles_1',
  'sqlite_autoindex_tree_heads_1',
];

const results = [];
for (let run = 0; run < Number(flags.runs); run++) {
  const base = flags.dir ?? tmpdir();
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'logwarden-tree-bench-'));
  try {
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 60 * 60_000 });
    await store.createTenant({ id: '1', name: 'bench' });
    const warm = batches([...generateDemoEntries({ seed: 1000 + run, count: warmup, fromMs: FROM - DAY, toMs: FROM })]);
    const timed = batches([...generateDemoEntries({ seed: 2000 + run, count: entries, fromMs: FROM, toMs: FROM + DAY })]);
    for (const b of warm) await store.append('1', b);
    const started = performance.now();
    let stored = 0;
    for (const b of timed) stored += (await store.append('1', b)).accepted;
    const seconds = (performance.now() - started) / 1000;
    store.settle();
    await store.close();
    const databaseBytes = sqliteDatabaseBytes(dir);
    const { jsonBytes, entries: total } = sqliteJsonBytes(dir);
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    let treeBytes = 0;
    try {
      const names = TREE_TABLES.map((n) => `'${n}'`).join(',');
      treeBytes = db.prepare<[], number>(`SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (${names})`).pluck().get()!;
    } finally {
      db.close();
    }
    results.push({
      entriesPerSecond: Math.round(stored / seconds),
      stored,
      entries: total,
      databaseBytes,
      jsonBytes,
      ratio: Number((databaseBytes / jsonBytes).toFixed(4)),
      bytesPerEntry: Number((databaseBytes / total).toFixed(1)),
      treeBytesPerEntry: Number((treeBytes / total).toFixed(1)),
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const speeds = results.map((r) => r.entriesPerSecond).sort((a, b) => a - b);
process.stdout.write(JSON.stringify({ medianEntriesPerSecond: speeds[Math.floor(speeds.length / 2)], runs: results }, null, 2) + '\n');
