/**
 * `read`: requests per second of 100-entry cursor pages over the ten-million-entry range,
 * against a bare node:http server answering the same paths with the same bytes, under the same
 * autocannon load, in alternating runs. Ratio = logwarden ÷ bare (SPEC §10: at least 1/3).
 * Measured for one server process, the bar's case, and, alongside, for `serve --workers`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '../lib/http.ts';
import { load, type LoadResult } from '../lib/load.ts';
import { startBareServer } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import { authHeader, firstPagePath, type Target } from '../lib/target.ts';

export interface ReadOptions {
  readonly pages: number;
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  readonly runs: number;
  readonly workDir: string;
}

export interface ReadFigures {
  readonly logwardenRps: number;
  readonly bareRps: number;
  readonly ratio: number;
  /** The same load against `serve --workers N` (N processes sharing the port). */
  readonly workers: { readonly processes: number; readonly logwardenRps: number; readonly ratio: number; readonly runs: number[] } | null;
  readonly logwardenLatencyP50Ms: number;
  readonly bareLatencyP50Ms: number;
  readonly runs: { readonly logwarden: number[]; readonly bare: number[] };
  readonly failedRequests: number;
  readonly distinctPages: number;
  readonly meanPageBytes: number;
  readonly connections: number;
  readonly secondsPerRun: number;
}

/**
 * Cursor paths spread evenly over the range: the cursor of the first page of queries starting
 * at `pages` points across it, each passed back alone, as a client pages on.
 */
export async function cursorPaths(t: Target, pages: number): Promise<string[]> {
  const { fromMs, toMs } = t.dataset;
  const paths: string[] = [];
  for (let i = 0; i < pages; i++) {
    const from = fromMs + Math.floor(((toMs - fromMs - 3_600_000) * i) / pages);
    const first = await expect(200, t.server.url + firstPagePath(t, from, toMs), { headers: authHeader(t) });
    const cursor = (JSON.parse(first.body) as { records: { cursor?: string } }).records.cursor;
    if (!cursor) throw new Error(`no cursor on the first page from ${new Date(from).toISOString()}`);
    paths.push(`/v2/logs?cursor=${cursor}`);
  }
  return paths;
}

/** A second logwarden server on the same store, run with `--workers`. */
export interface WorkersServer {
  readonly url: string;
  readonly processes: number;
}

export async function measureRead(t: Target, paths: readonly string[], o: ReadOptions, workers?: WorkersServer): Promise<ReadFigures> {
  const headers = authHeader(t);
  // The bare server's answers are logwarden's, recorded: the same bytes for the same paths.
  const recorded: Array<[string, string]> = [];
  for (const path of paths) recorded.push([path, (await expect(200, t.server.url + path, { headers })).body]);
  const pagesFile = join(o.workDir, `read-pages-${t.kind}.json`);
  writeFileSync(pagesFile, JSON.stringify(recorded));
  const meanPageBytes = Math.round(recorded.reduce((n, [, b]) => n + Buffer.byteLength(b), 0) / recorded.length);

  const bare = await startBareServer(pagesFile);
  try {
    const run = (url: string, seconds: number): Promise<LoadResult> => load({ url, paths, connections: o.connections, seconds, headers });
    await run(bare.url, o.warmupSeconds);
    await run(t.server.url, o.warmupSeconds);
    if (workers) await run(workers.url, o.warmupSeconds);
    const lw: LoadResult[] = [];
    const base: LoadResult[] = [];
    const many: LoadResult[] = [];
    for (let i = 0; i < o.runs; i++) {
      base.push(await run(bare.url, o.seconds));
      lw.push(await run(t.server.url, o.seconds));
      if (workers) many.push(await run(workers.url, o.seconds));
    }
    const lwRps = median(lw.map((r) => r.requestsPerSecond));
    const bareRps = median(base.map((r) => r.requestsPerSecond));
    const manyRps = median(many.map((r) => r.requestsPerSecond));
    return {
      logwardenRps: round(lwRps),
      bareRps: round(bareRps),
      ratio: round(lwRps / bareRps, 3),
      workers: workers
        ? { processes: workers.processes, logwardenRps: round(manyRps), ratio: round(manyRps / bareRps, 3), runs: many.map((r) => round(r.requestsPerSecond)) }
        : null,
      logwardenLatencyP50Ms: median(lw.map((r) => r.latencyP50Ms)),
      bareLatencyP50Ms: median(base.map((r) => r.latencyP50Ms)),
      runs: { logwarden: lw.map((r) => round(r.requestsPerSecond)), bare: base.map((r) => round(r.requestsPerSecond)) },
      failedRequests: [...lw, ...base, ...many].reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
      distinctPages: paths.length,
      meanPageBytes,
      connections: o.connections,
      secondsPerRun: o.seconds,
    };
  } finally {
    await bare.stop();
  }
}
