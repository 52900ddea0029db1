/**
 * Only the read measurement of `npm run bench`, one process on each side: 100-entry cursor
 * pages of `GET /v2/logs` against the bare node:http server answering the same paths with the
 * same bytes, in alternating runs (bench/measure/read.ts). Besides requests per second it
 * prints each server's CPU time per page, which a machine shared with other work distorts far
 * less than a rate, and the load average around the runs. For checking a change to the read
 * path without the whole suite.
 *
 *   node --import tsx bench/read-ratio.ts [--entries N] [--cache DIR] [--runs N] [--seconds S]
 *   node --import tsx bench/read-ratio.ts --postgres [--pg-entries N] …
 *
 * --entries     SQLite data set, kept in --cache as `npm run bench` keeps its own (default 1,000,000)
 * --postgres    a throwaway PostgreSQL cluster loaded with --pg-entries entries (default 1,000,000) instead
 * --profile DIR the logwarden server runs under `node --cpu-prof`; its profile is written to DIR when it stops
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { homedir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SPEC, sqliteDataset } from './lib/dataset.ts';
import { closeConnections } from './lib/http.ts';
import { cpuProfileArgs, startLogwarden } from './lib/processes.ts';
import { progressLog } from './lib/report.ts';
import { sqliteTarget, type Target } from './lib/target.ts';
import { cursorPaths, measureRead, type ReadFigures } from './measure/read.ts';
import { postgresSection } from './postgres.ts';

const { values: flags } = parseArgs({
  options: {
    cache: { type: 'string', default: join(homedir(), '.cache', 'logwarden-bench') },
    entries: { type: 'string', default: '1000000' },
    postgres: { type: 'boolean', default: false },
    'pg-entries': { type: 'string', default: '1000000' },
    runs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '10' },
    profile: { type: 'string' },
  },
});

const started = Date.now();
const log = progressLog(started);
const signingKey = randomBytes(32).toString('base64url');
const workDir = join(flags.cache, `read-${process.pid}`);
mkdirSync(workDir, { recursive: true });
const nodeArgs = cpuProfileArgs(flags.profile);
const plan = { pages: 400, connections: 16, seconds: Number(flags.seconds), warmupSeconds: 3, runs: Number(flags.runs), workDir };

interface Measured {
  readonly read: ReadFigures;
  readonly loadAverage: { readonly before: number; readonly after: number };
}

async function measure(target: Target): Promise<Measured> {
  log(`${target.kind}: collecting cursor pages`);
  const paths = await cursorPaths(target, plan.pages);
  const before = loadavg()[0]!;
  log(`${target.kind}: read, logwarden and bare node:http, one process each, ${plan.runs} x ${plan.seconds} s (load average ${before.toFixed(1)})`);
  const read = await measureRead(target, paths, plan);
  return { read, loadAverage: { before: Math.round(before * 10) / 10, after: Math.round(loadavg()[0]! * 10) / 10 } };
}

async function sqlite(): Promise<Measured> {
  const dataset = await sqliteDataset(flags.cache, { ...DEFAULT_SPEC, entries: Number(flags.entries) }, log);
  const server = await startLogwarden({ dataDir: dataset.dataDir }, signingKey, 1, nodeArgs);
  try {
    return await measure(sqliteTarget(server, dataset, signingKey));
  } finally {
    await server.stop();
  }
}

async function postgres(): Promise<Measured> {
  const section = await postgresSection({
    spec: { ...DEFAULT_SPEC, entries: Number(flags['pg-entries']) },
    signingKey,
    log,
    nodeArgs,
    measure: (target) => measure(target),
  });
  if (!('results' in section)) throw new Error(`PostgreSQL: ${section.skipped}`);
  return section.results;
}

try {
  const { read, loadAverage } = flags.postgres ? await postgres() : await sqlite();
  const side = (f: ReadFigures['bare']) => ({
    requestsPerSecond: f.requestsPerSecond,
    runs: f.runs,
    cpuUsPerPage: f.cpuUsPerRequest,
    cores: f.serverCores,
  });
  const summary = {
    store: flags.postgres ? 'postgres' : 'sqlite',
    ratio: read.ratio,
    logwarden: side(read.logwarden),
    bare: side(read.bare),
    cpuRatio: Math.round((read.bare.cpuUsPerRequest / read.logwarden.cpuUsPerRequest) * 1000) / 1000,
    loadAverage,
    failedRequests: read.failedRequests,
    meanPageBytes: read.meanPageBytes,
  };
  process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
} finally {
  closeConnections();
  rmSync(workDir, { recursive: true, force: true });
}
