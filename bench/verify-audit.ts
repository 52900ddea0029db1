/**
 * `logwarden verify`'s audit speed: leaves per second that `LogVerifier.audit` reads (entry
 * bundles over HTTP), hashes and checks against the signed root, from a local server in its
 * own process (`logwarden serve`) over a SQLite store of N entries. Each run audits from leaf
 * 0 with an empty cache, as a first run does.
 *
 *   node --import tsx bench/verify-audit.ts [--entries N] [--runs N] [--concurrency N] [--tiles] [--profile DIR]
 *
 * --profile DIR  the server runs under `node --cpu-prof` and writes its profile to DIR when it stops
 *
 * Prints one JSON object. Figures in docs/benchmarks.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import type { NewEntry } from '../src/logs/entry.ts';
import { createTenant, issueAccessKey } from '../src/service/access-keys.ts';
import { openSqliteStore } from '../src/store/sqlite/index.ts';
import { closeConnections } from './lib/http.ts';
import { cpuProfileArgs, startLogwarden } from './lib/processes.ts';
import { measureAudit } from './measure/audit.ts';

const { values: flags } = parseArgs({
  options: {
    entries: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    tiles: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const DAY = 86_400_000;
const FROM = Date.UTC(2026, 0, 5);
const dir = mkdtempSync(join(tmpdir(), 'logwarden-verify-bench-'));

try {
  const store = openSqliteStore({ dataDir: dir, sealAgeMs: 60 * 60_000 });
  const tenant = await createTenant(store, 'bench');
  const key = await issueAccessKey(store, tenant.id, ['api:logs:read']);
  const byType = new Map<string, NewEntry[]>();
  for (const e of generateDemoEntries({ seed: 7, count: Number(flags.entries), fromMs: FROM, toMs: FROM + DAY })) {
    const list = byType.get(e.logType) ?? [];
    list.push(e);
    if (list.length === 10_000) {
      await store.append(tenant.id, list);
      byType.set(e.logType, []);
    } else byType.set(e.logType, list);
  }
  for (const list of byType.values()) if (list.length > 0) await store.append(tenant.id, list);
  store.settle();
  await store.close();

  const server = await startLogwarden({ dataDir: dir }, randomBytes(32).toString('base64url'), 1, cpuProfileArgs(flags.profile));
  try {
    const figures = await measureAudit(
      { server, tenantId: tenant.id, accessKey: key.accessKey, secret: key.secret },
      { runs: Number(flags.runs), concurrency: Number(flags.concurrency), checkTiles: flags.tiles },
    );
    process.stdout.write(
      JSON.stringify(
        {
          medianLeavesPerSecond: figures.leavesPerSecond,
          medianLeavesPerClientCpuSecond: figures.leavesPerClientCpuSecond,
          medianLeavesPerServerCpuSecond: figures.leavesPerServerCpuSecond,
          loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
          cpus: cpus().length,
          checkTiles: flags.tiles,
          leaves: figures.leaves,
          runs: figures.runs,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    await server.stop();
  }
} finally {
  closeConnections();
  rmSync(dir, { recursive: true, force: true });
}
