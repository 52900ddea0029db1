/**
 * `ingest`: entries per second of bulk ingest over HTTP (JSON batches of up to 10,000 entries of
 * one log type, two requests in flight) into a fresh store, against bare-insert.ts storing the
 * same rows (SPEC §10: at least 1/4 on SQLite). Each run starts from an empty store and first
 * ingests a separate warm-up set, so that neither side is measured cold.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDemoEntries } from '../../src/demo/demo-data.ts';
import type { NewEntry } from '../../src/logs/entry.ts';
import { DAY_MS, DEFAULT_SPEC, populate } from '../lib/dataset.ts';
import { basicAuth, expect } from '../lib/http.ts';
import { type StoreLocation, startLogwarden } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';

const BARE_INSERT = fileURLToPath(new URL('../bare-insert.ts', import.meta.url));
const MAX_BATCH = 10_000;
const IN_FLIGHT = 2;

export interface IngestOptions {
  readonly entries: number;
  readonly warmupEntries: number;
  readonly runs: number;
  readonly workDir: string;
  /** Arguments for node running the logwarden server (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

export interface IngestFigures {
  readonly logwardenEntriesPerSecond: number;
  readonly bareEntriesPerSecond: number | null;
  readonly ratio: number | null;
  readonly runs: { readonly logwarden: number[]; readonly bare: number[] };
  readonly entries: number;
  readonly requests: number;
}

/** The rows of a run: realistic entries of all five types over one day. */
function rows(count: number, seed: number, dayMs: number): NewEntry[] {
  return [...generateDemoEntries({ seed, count, fromMs: dayMs, toMs: dayMs + DAY_MS })];
}

/** JSON ingest bodies: the entries of each log type, in order, in batches of up to 10,000. */
function batches(entries: readonly NewEntry[]): string[] {
  const byType = new Map<string, string[]>();
  for (const e of entries) {
    const list = byType.get(e.logType) ?? [];
    list.push(e.body);
    byType.set(e.logType, list);
  }
  const out: string[] = [];
  for (const [logType, bodies] of byType) {
    for (let i = 0; i < bodies.length; i += MAX_BATCH) {
      out.push(`{"logType":${JSON.stringify(logType)},"logEntries":[${bodies.slice(i, i + MAX_BATCH).join(',')}]}`);
    }
  }
  return out;
}

async function post(url: string, auth: string, bodies: readonly string[]): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      await expect(201, `${url}/v2/logs`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** One timed HTTP ingest into a fresh store (a data directory or a database). */
async function logwardenRun(
  at: StoreLocation,
  warm: readonly string[],
  timed: readonly string[],
  entries: number,
  signingKey: string,
  nodeArgs: readonly string[],
): Promise<number> {
  const ds = await populate(at, { ...DEFAULT_SPEC, entries: 0 }, () => {});
  const server = await startLogwarden(at, signingKey, 1, nodeArgs);
  try {
    const auth = basicAuth(ds.accessKey, ds.secret);
    await post(server.url, auth, warm);
    const started = performance.now();
    await post(server.url, auth, timed);
    return entries / ((performance.now() - started) / 1000);
  } finally {
    await server.stop();
  }
}

function bareRun(rowsFile: string, dir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', BARE_INSERT, rowsFile, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve((JSON.parse(out) as { entriesPerSecond: number }).entriesPerSecond) : reject(new Error(`bare insert exited ${code}`)),
    );
  });
}

export interface IngestStores {
  /** A fresh, empty store location for run `i`, and how to remove it. */
  fresh(i: number): Promise<{ at: StoreLocation; dispose(): Promise<void> }>;
  /** Whether to run the bare better-sqlite3 baseline (the bar is defined for SQLite). */
  readonly bare: boolean;
}

export async function measureIngest(stores: IngestStores, o: IngestOptions, signingKey: string): Promise<IngestFigures> {
  const day = Date.UTC(2025, 5, 2);
  const warmRows = rows(o.warmupEntries, 8, day - 7 * DAY_MS);
  const timedRows = rows(o.entries, 7, day);
  const warm = batches(warmRows);
  const timed = batches(timedRows);

  // Rows for the bare baseline: the same entries, as the store keeps them (type id, time, key, text).
  const rowsFile = join(o.workDir, 'ingest-rows.ndjson');
  if (stores.bare) {
    const typeIds = new Map<string, number>();
    const line = (e: NewEntry): string => {
      if (!typeIds.has(e.logType)) typeIds.set(e.logType, typeIds.size + 1);
      return JSON.stringify([typeIds.get(e.logType), e.eventTimeMs, e.key.toString('hex'), e.body]);
    };
    writeFileSync(rowsFile, [String(warmRows.length), ...warmRows.map(line), ...timedRows.map(line)].join('\n') + '\n');
  }

  // Alternating runs, so that any drift of the machine affects both sides alike.
  const lw: number[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < o.runs; i++) {
      const { at, dispose } = await stores.fresh(i);
      try {
        lw.push(await logwardenRun(at, warm, timed, o.entries, signingKey, o.nodeArgs ?? []));
      } finally {
        await dispose();
      }
      if (!stores.bare) continue;
      const dir = join(o.workDir, `bare-${i}`);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      try {
        bare.push(await bareRun(rowsFile, dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    rmSync(rowsFile, { force: true });
  }

  const lwRate = median(lw);
  const bareRate = bare.length > 0 ? median(bare) : null;
  return {
    logwardenEntriesPerSecond: round(lwRate),
    bareEntriesPerSecond: bareRate === null ? null : round(bareRate),
    ratio: bareRate === null ? null : round(lwRate / bareRate, 3),
    runs: { logwarden: lw.map((r) => round(r)), bare: bare.map((r) => round(r)) },
    entries: o.entries,
    requests: timed.length,
  };
}
