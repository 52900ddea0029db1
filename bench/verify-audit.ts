/**
 * `logwarden verify`'s audit speed: leaves per second that `LogVerifier.audit` reads (entry
 * bundles over HTTP), hashes and checks against the signed root, from a local server in its
 * own process (`logwarden serve`) over a SQLite store of N entries. Each run audits from leaf
 * 0 with an empty cache, as a first run does.
 *
 *   node --import tsx bench/verify-audit.ts [--entries N] [--runs N] [--concurrency N] [--tiles]
 *
 * Prints one JSON object. Figures in docs/benchmarks.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { LogVerifier, MemoryLeafCache, TlogClient } from '../src/client/index.ts';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import type { NewEntry } from '../src/logs/entry.ts';
import { createTenant, issueAccessKey } from '../src/service/access-keys.ts';
import { openSqliteStore } from '../src/store/sqlite/index.ts';

/** User + system CPU seconds of a process so far (Linux /proc). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
}

const { values: flags } = parseArgs({
  options: {
    entries: { type: 'string', default: '200000' },
    runs: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '16' },
    tiles: { type: 'boolean', default: false },
  },
});
const DAY = 86_400_000;
const FROM = Date.UTC(2026, 0, 5);
const dir = mkdtempSync(join(tmpdir(), 'logwarden-verify-bench-'));
const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));

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

  const server = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data-dir', dir, '--port', '0', '--log-level', 'silent'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    server.stderr.on('data', (d: Buffer) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    server.on('exit', () => reject(new Error(`server exited: ${err}`)));
  });
  try {
    const runs: { leaves: number; seconds: number; leavesPerSecond: number; leavesPerClientCpuSecond: number; leavesPerServerCpuSecond: number }[] =
      [];
    for (let r = 0; r < Number(flags.runs); r++) {
      const client = new TlogClient({ baseUrl: url, tenantId: tenant.id, accessKey: key.accessKey, secret: key.secret, requestsPerSecond: 0 });
      const verifier = new LogVerifier({ client, cache: new MemoryLeafCache(), concurrency: Number(flags.concurrency) });
      const { checkpoint } = await verifier.checkpoint();
      const cpu = process.cpuUsage();
      const serverCpu = processCpuSeconds(server.pid!);
      const result = await verifier.audit(checkpoint, undefined, { checkTiles: flags.tiles });
      const used = process.cpuUsage(cpu);
      const clientCpuSeconds = (used.user + used.system) / 1e6;
      const serverCpuSeconds = processCpuSeconds(server.pid!) - serverCpu;
      runs.push({
        leaves: result.size,
        seconds: Number((result.elapsedMs / 1000).toFixed(3)),
        leavesPerSecond: Math.round(result.size / (result.elapsedMs / 1000)),
        // Per CPU-second of each side: what a run would reach with a core each to itself.
        leavesPerClientCpuSecond: Math.round(result.size / clientCpuSeconds),
        leavesPerServerCpuSecond: Math.round(result.size / serverCpuSeconds),
      });
    }
    const median = (f: (r: (typeof runs)[number]) => number) => runs.map(f).sort((a, b) => a - b)[Math.floor(runs.length / 2)];
    process.stdout.write(
      JSON.stringify(
        {
          medianLeavesPerSecond: median((r) => r.leavesPerSecond),
          medianLeavesPerClientCpuSecond: median((r) => r.leavesPerClientCpuSecond),
          medianLeavesPerServerCpuSecond: median((r) => r.leavesPerServerCpuSecond),
          loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
          cpus: cpus().length,
          checkTiles: flags.tiles,
          runs,
        },
        null,
        2,
      ) + '\n',
    );
  } finally {
    server.kill('SIGTERM');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
