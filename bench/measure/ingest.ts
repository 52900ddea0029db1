/**
 * `ingest`: entries per second of bulk ingest over HTTP (JSON batches of up to 10,000 entries of
 * one log type, two requests in flight) into a fresh store, against bare-insert.ts storing the
 * same rows (SPEC §10: at least 1/4 on SQLite). Each run starts from an empty store and first
 * ingests a separate warm-up set, so that neither side is measured cold.
 *
 * Beside it, the checkpoint's lag (issue 11: a signed checkpoint covers each acknowledged batch
 * within one second): from each timed 201 until `GET /v2/tlog/<tenant>/checkpoint` names a
 * tree of at least the entries acknowledged by then.
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
import { median, percentile, round } from '../lib/stats.ts';

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
  /** From each timed 201 until a signed checkpoint covered its entries, over every run's batches. */
  readonly checkpointLagMs: { readonly p50: number; readonly p99: number; readonly max: number; readonly batches: number };
}

/** The rows of a run: realistic entries of all five types over one day. */
function rows(count: number, seed: number, dayMs: number): NewEntry[] {
  return [...generateDemoEntries({ seed, count, fromMs: dayMs, toMs: dayMs + DAY_MS })];
}

/**
 * JSON ingest bodies: the entries of each log type, in order, in batches of up to 10,000. Made
 * bytes before the clock starts, as a load generator prepares its requests: encoding 8 MB of
 * text per request would cost the client a share of the two cores the server runs on.
 */
function batches(entries: readonly NewEntry[]): Buffer[] {
  const byType = new Map<string, string[]>();
  for (const e of entries) {
    const list = byType.get(e.logType) ?? [];
    list.push(e.body);
    byType.set(e.logType, list);
  }
  const out: Buffer[] = [];
  for (const [logType, bodies] of byType) {
    for (let i = 0; i < bodies.length; i += MAX_BATCH) {
      out.push(Buffer.from(`{"logType":${JSON.stringify(logType)},"logEntries":[${bodies.slice(i, i + MAX_BATCH).join(',')}]}`));
    }
  }
  return out;
}

async function post(url: string, auth: string, bodies: readonly Buffer[], onAccepted: (accepted: number) => void = () => {}): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      const a = await expect(201, `${url}/v2/logs`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body });
      onAccepted((JSON.parse(a.body) as { accepted: number }).accepted);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/** Longer than any lag is waited for: a checkpoint this late counts as this late. */
const LAG_CEILING_MS = 30_000;

/**
 * Watches a tenant's signed checkpoint: `acknowledged(n)` after each 201 (n new entries, so n
 * new leaves) starts timing until the checkpoint's tree size reaches every entry acknowledged so
 * far; `lags()` waits for all of them.
 */
class CheckpointLag {
  private target: number;
  private readonly waits: Promise<number>[] = [];

  private constructor(
    private readonly path: string,
    private readonly auth: string,
    size: number,
  ) {
    this.target = size;
  }

  static async start(url: string, auth: string, tenantId: string): Promise<CheckpointLag> {
    const path = `${url}/v2/tlog/${tenantId}/checkpoint`;
    return new CheckpointLag(path, auth, await CheckpointLag.size(path, auth));
  }

  /** The tree size of the checkpoint served now (C2SP tlog-checkpoint: origin, size, root hash). */
  private static async size(path: string, auth: string): Promise<number> {
    const note = (await expect(200, path, { headers: { authorization: auth } })).body;
    const size = Number(note.split('\n')[1]);
    if (!Number.isSafeInteger(size)) throw new Error(`not a checkpoint: ${note.slice(0, 200)}`);
    return size;
  }

  acknowledged(accepted: number): void {
    const acked = performance.now();
    this.target += accepted;
    const target = this.target;
    const wait = async (): Promise<number> => {
      while ((await CheckpointLag.size(this.path, this.auth)) < target) {
        if (performance.now() - acked > LAG_CEILING_MS) return LAG_CEILING_MS;
        await new Promise((r) => setTimeout(r, 5));
      }
      return performance.now() - acked;
    };
    this.waits.push(wait());
  }

  lags(): Promise<number[]> {
    return Promise.all(this.waits);
  }
}

/** One timed HTTP ingest into a fresh store (a data directory or a database). */
async function logwardenRun(
  at: StoreLocation,
  warm: readonly Buffer[],
  timed: readonly Buffer[],
  entries: number,
  signingKey: string,
  nodeArgs: readonly string[],
): Promise<{ entriesPerSecond: number; lagsMs: number[] }> {
  const ds = await populate(at, { ...DEFAULT_SPEC, entries: 0 }, () => {});
  const server = await startLogwarden(at, signingKey, 1, nodeArgs);
  try {
    const auth = basicAuth(ds.accessKey, ds.secret);
    await post(server.url, auth, warm);
    const lag = await CheckpointLag.start(server.url, auth, ds.tenantId);
    const started = performance.now();
    await post(server.url, auth, timed, (accepted) => lag.acknowledged(accepted));
    const entriesPerSecond = entries / ((performance.now() - started) / 1000);
    return { entriesPerSecond, lagsMs: await lag.lags() };
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
  const lags: number[] = [];
  const bare: number[] = [];
  try {
    for (let i = 0; i < o.runs; i++) {
      const { at, dispose } = await stores.fresh(i);
      try {
        const run = await logwardenRun(at, warm, timed, o.entries, signingKey, o.nodeArgs ?? []);
        lw.push(run.entriesPerSecond);
        lags.push(...run.lagsMs);
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
    checkpointLagMs: {
      p50: round(percentile(lags, 50), 1),
      p99: round(percentile(lags, 99), 1),
      max: round(Math.max(...lags), 1),
      batches: lags.length,
    },
  };
}
