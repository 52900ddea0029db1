/**
 * `read`: requests per second of 100-entry cursor pages over the ten-million-entry range,
 * against a bare node:http server answering the same paths with the same bytes, under the same
 * autocannon load, in alternating runs. Ratio = logwarden ÷ bare (SPEC §10: at least 1/3).
 *
 * Measured with one process on each side, and with one process per core on each side
 * (`serve --workers N` against the bare server on N processes); the bar is judged on each
 * side's faster configuration, the rate it reaches on this machine. The CPU each server and
 * the load generator used is recorded with every figure: it shows which of them set the pace.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '../lib/http.ts';
import { type LoadResult, load } from '../lib/load.ts';
import { type ServerProcess, startBareServer } from '../lib/processes.ts';
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

/** One server under the read load: medians over the runs. */
export interface ServerFigures {
  readonly processes: number;
  readonly requestsPerSecond: number;
  readonly runs: number[];
  readonly latencyP50Ms: number;
  /** Server CPU per request, all its processes, µs. */
  readonly cpuUsPerRequest: number;
  /** Cores kept busy by the server, and by the load generator, during the runs. */
  readonly serverCores: number;
  readonly generatorCores: number;
}

export interface ReadFigures {
  /** One process on each side. */
  readonly bare: ServerFigures;
  readonly logwarden: ServerFigures;
  readonly ratio: number;
  /** One process per core on each side; the ratio is against the faster bare configuration. */
  readonly perCore: { readonly bare: ServerFigures; readonly logwarden: ServerFigures; readonly ratio: number } | null;
  /**
   * Each side in its faster configuration (one process, or one per core): the request rate
   * each reaches on this machine. The bar is judged on this ratio.
   */
  readonly best: { readonly logwarden: Best; readonly bare: Best; readonly ratio: number };
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

export interface Best {
  readonly processes: number;
  readonly requestsPerSecond: number;
}

const faster = (a: ServerFigures, b: ServerFigures | undefined): Best => {
  const f = b && b.requestsPerSecond > a.requestsPerSecond ? b : a;
  return { processes: f.processes, requestsPerSecond: f.requestsPerSecond };
};

/** A second logwarden server on the same store, run with `--workers`. */
export interface WorkersServer {
  readonly server: ServerProcess;
  readonly processes: number;
}

interface Measured {
  readonly load: LoadResult;
  readonly serverCpuSeconds: number;
  readonly generatorCpuSeconds: number;
  readonly seconds: number;
}

function figures(processes: number, runs: readonly Measured[]): ServerFigures {
  const served = runs.reduce((n, r) => n + r.load.requests, 0);
  const seconds = runs.reduce((n, r) => n + r.seconds, 0);
  return {
    processes,
    requestsPerSecond: round(median(runs.map((r) => r.load.requestsPerSecond))),
    runs: runs.map((r) => round(r.load.requestsPerSecond)),
    latencyP50Ms: median(runs.map((r) => r.load.latencyP50Ms)),
    cpuUsPerRequest: round((runs.reduce((n, r) => n + r.serverCpuSeconds, 0) * 1e6) / Math.max(1, served), 1),
    serverCores: round(runs.reduce((n, r) => n + r.serverCpuSeconds, 0) / seconds, 2),
    generatorCores: round(runs.reduce((n, r) => n + r.generatorCpuSeconds, 0) / seconds, 2),
  };
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
  const bareMany = workers ? await startBareServer(pagesFile, workers.processes) : undefined;
  try {
    const run = async (server: ServerProcess, seconds: number): Promise<Measured> => {
      const cpu0 = server.cpuSeconds();
      const gen0 = process.cpuUsage();
      const started = performance.now();
      const result = await load({ url: server.url, paths, connections: o.connections, seconds, headers });
      const gen = process.cpuUsage(gen0);
      return {
        load: result,
        serverCpuSeconds: server.cpuSeconds() - cpu0,
        generatorCpuSeconds: (gen.user + gen.system) / 1e6,
        seconds: (performance.now() - started) / 1000,
      };
    };
    const servers = [bare, t.server, ...(workers && bareMany ? [bareMany, workers.server] : [])];
    for (const s of servers) await run(s, o.warmupSeconds);
    const runs: Measured[][] = servers.map(() => []);
    for (let i = 0; i < o.runs; i++) {
      for (const [k, s] of servers.entries()) runs[k]!.push(await run(s, o.seconds));
    }
    const one = { bare: figures(1, runs[0]!), logwarden: figures(1, runs[1]!) };
    const many = workers ? { bare: figures(workers.processes, runs[2]!), logwarden: figures(workers.processes, runs[3]!) } : null;
    const best = { logwarden: faster(one.logwarden, many?.logwarden), bare: faster(one.bare, many?.bare) };
    return {
      ...one,
      ratio: round(one.logwarden.requestsPerSecond / one.bare.requestsPerSecond, 3),
      perCore: many && {
        ...many,
        ratio: round(many.logwarden.requestsPerSecond / best.bare.requestsPerSecond, 3),
      },
      best: { ...best, ratio: round(best.logwarden.requestsPerSecond / best.bare.requestsPerSecond, 3) },
      failedRequests: runs.flat().reduce((n, r) => n + r.load.non2xx + r.load.errors + r.load.timeouts, 0),
      distinctPages: paths.length,
      meanPageBytes,
      connections: o.connections,
      secondsPerRun: o.seconds,
    };
  } finally {
    await bare.stop();
    await bareMany?.stop();
  }
}
