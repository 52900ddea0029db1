/**
 * Only the export measurement of `npm run bench` (SQLite): `logwarden fetch` (compiled) writing
 * the data set to NDJSON against `serve`, for checking a change to either side without the
 * whole suite.
 *
 *   node --import tsx bench/export-rate.ts [--entries N] [--export N] [--runs N] [--profile DIR] [--client-profile DIR]
 *
 * --entries N           the data set's size (made once, then kept in the cache)
 * --export N            the most entries an export reads (default: all; `npm run bench` reads 2,000,000 of 10,000,000)
 * --profile DIR         the logwarden server runs under `node --cpu-prof`; its profile is written to DIR when it stops
 * --client-profile DIR  the same for each `fetch` run
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SPEC, sqliteDataset } from './lib/dataset.ts';
import { closeConnections } from './lib/http.ts';
import { cpuProfileArgs, startLogwarden } from './lib/processes.ts';
import { progressLog } from './lib/report.ts';
import { sqliteTarget } from './lib/target.ts';
import { measureExport } from './measure/export.ts';

const { values: flags } = parseArgs({
  options: {
    cache: { type: 'string', default: join(homedir(), '.cache', 'logwarden-bench') },
    entries: { type: 'string', default: '1000000' },
    export: { type: 'string' },
    runs: { type: 'string', default: '3' },
    profile: { type: 'string' },
    'client-profile': { type: 'string' },
  },
});

const started = Date.now();
const log = progressLog(started);
const signingKey = randomBytes(32).toString('base64url');
const workDir = join(flags.cache, `export-${process.pid}`);
mkdirSync(workDir, { recursive: true });
const nodeArgs = cpuProfileArgs(flags.profile);
try {
  const dataset = await sqliteDataset(flags.cache, { ...DEFAULT_SPEC, entries: Number(flags.entries) }, log);
  const server = await startLogwarden({ dataDir: dataset.dataDir }, signingKey, 1, nodeArgs);
  try {
    log(`sqlite: export of ${dataset.entries.toLocaleString('en-US')} entries, ${flags.runs} runs`);
    const figures = await measureExport(sqliteTarget(server, dataset, signingKey), {
      maxEntries: Number(flags.export ?? flags.entries),
      runs: Number(flags.runs),
      workDir,
      clientNodeArgs: cpuProfileArgs(flags['client-profile']),
    });
    process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
  } finally {
    await server.stop();
  }
} finally {
  closeConnections();
  rmSync(workDir, { recursive: true, force: true });
}
