/**
 * `npm run soak` — the load measurement of `npm run bench` on its own: cursor-page reads on
 * many connections against one `logwarden serve` on the SQLite data set, with the server's
 * memory sampled every 5 seconds (SPEC §10: sustained load yields zero 5xx and flat memory).
 *
 *   npm run soak [-- --seconds N --connections N --cache DIR --entries N --port N]
 *
 * --seconds      how long the load lasts (default 60)
 * --connections  concurrent connections (default 64)
 * --cache        where the data set is kept, shared with `npm run bench` (default ~/.cache/logwarden-bench)
 * --entries      size of the data set (default 10,000,000, the bench's; another size replaces the cached one)
 * --port         where the server listens (default: a free port)
 *
 * Prints the figures as JSON; exits 1 when any request got a 5xx, failed or timed out.
 */
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SPEC, sqliteDataset } from './lib/dataset.ts';
import { closeConnections } from './lib/http.ts';
import { startLogwarden } from './lib/processes.ts';
import { progressLog } from './lib/report.ts';
import { sqliteTarget } from './lib/target.ts';
import { cursorPaths } from './measure/read.ts';
import { measureSoak } from './measure/soak.ts';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    connections: { type: 'string', default: '64' },
    cache: { type: 'string', default: join(homedir(), '.cache', 'logwarden-bench') },
    entries: { type: 'string', default: String(DEFAULT_SPEC.entries) },
    port: { type: 'string', default: '0' },
  },
});

const log = progressLog(Date.now());
const dataset = await sqliteDataset(flags.cache, { ...DEFAULT_SPEC, entries: Number(flags.entries) }, log);
const signingKey = randomBytes(32).toString('base64url');
const server = await startLogwarden({ dataDir: dataset.dataDir }, signingKey, 1, [], Number(flags.port));
let failed = true;
try {
  const target = sqliteTarget(server, dataset, signingKey);
  log('collecting cursor pages');
  const paths = await cursorPaths(target, 400);
  const seconds = Number(flags.seconds);
  const connections = Number(flags.connections);
  log(`${seconds} s of load at ${connections} connections`);
  const figures = await measureSoak(target, paths, { seconds, connections });
  process.stdout.write(`${JSON.stringify(figures, null, 2)}\n`);
  failed = figures.status5xx > 0 || figures.errors > 0 || figures.timeouts > 0;
  if (failed) log(`failed: ${figures.status5xx} answers 5xx, ${figures.errors} errors, ${figures.timeouts} timeouts`);
} finally {
  closeConnections();
  await server.stop();
}
process.exitCode = failed ? 1 : 0;
