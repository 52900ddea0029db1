/**
 * A server's memory with many tenants: N tenants, each with an access key, in a fresh SQLite
 * store; a local server (`logwarden serve`, its own process) visited tenant after tenant, round
 * robin: each visit ingests a small JSON batch, reads the first page of the tenant's entries of
 * the last hour (and the next page when there is one) and its signed checkpoint. The server's
 * RSS (from /proc), V8 heap used and external memory (from its /metrics) are sampled every
 * `--every` seconds.
 *
 *   node --import tsx bench/many-tenants-memory.ts [--tenants N] [--minutes N] [--concurrency N] [--batch N] [--every S] [--port N]
 *
 * --port N  where the server listens (default: a free port)
 *
 * Prints one JSON object: the samples, and the visits made. Figures in docs/benchmarks.md
 * ("Memory with many tenants").
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTenant, issueAccessKey } from '../src/service/access-keys.ts';
import { openSqliteStore } from '../src/store/sqlite/index.ts';
import { basicAuth, closeConnections, send } from './lib/http.ts';
import { type ServerProcess, startLogwarden } from './lib/processes.ts';

const { values: flags } = parseArgs({
  options: {
    tenants: { type: 'string', default: '5000' },
    minutes: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '4' },
    batch: { type: 'string', default: '5' },
    every: { type: 'string', default: '30' },
    port: { type: 'string', default: '0' },
  },
});
const MiB = 1024 * 1024;

interface Sample {
  readonly seconds: number;
  readonly visits: number;
  readonly rssMiB: number;
  readonly heapUsedMiB: number;
  readonly externalMiB: number;
}

/** A gauge's value in a Prometheus text answer. */
function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)`, 'm').exec(text);
  if (!m) throw new Error(`/metrics has no ${name}`);
  return Number(m[1]);
}

async function sample(server: ServerProcess, seconds: number, visits: number): Promise<Sample> {
  const metrics = (await send(`${server.url}/metrics`)).body;
  const mib = (bytes: number) => Math.round((bytes / MiB) * 10) / 10;
  return {
    seconds,
    visits,
    rssMiB: server.rssMiB(),
    heapUsedMiB: mib(gauge(metrics, 'logwarden_nodejs_heap_size_used_bytes')),
    externalMiB: mib(gauge(metrics, 'logwarden_nodejs_external_memory_bytes')),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'logwarden-tenants-bench-'));
try {
  const store = openSqliteStore({ dataDir: dir });
  const tenants: { id: string; auth: string }[] = [];
  for (let i = 0; i < Number(flags.tenants); i++) {
    const tenant = await createTenant(store, `tenant ${i}`);
    const key = await issueAccessKey(store, tenant.id, ['api:logs:read', 'api:logs:write']);
    tenants.push({ id: tenant.id, auth: basicAuth(key.accessKey, key.secret) });
  }
  await store.close();

  const server = await startLogwarden({ dataDir: dir }, randomBytes(32).toString('base64url'), 1, [], Number(flags.port));
  try {
    const started = performance.now();
    const endAt = started + Number(flags.minutes) * 60_000;
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const statuses: Record<string, number> = {};
    const count = (what: string, status: number) => (statuses[`${what} ${status}`] = (statuses[`${what} ${status}`] ?? 0) + 1);
    let next = 0;
    let visits = 0;
    let call = 0;

    const visit = async (t: { id: string; auth: string }) => {
      const now = Date.now();
      const logEntries = Array.from({ length: Number(flags.batch) }, (_, i) => ({
        userId: String(7301845529017364000n + BigInt(i)),
        userEmailAddress: `user${i}@example.com`,
        eventTime: new Date(now - i).toISOString(),
        logRecord: { action: 'VIEW_CALL', callId: String(4105738291029384000n + BigInt(call++)), note: 'x'.repeat(120) },
      }));
      const headers = { authorization: t.auth };
      const ingest = await send(`${server.url}/v2/logs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ logType: 'UserActivityLog', logEntries }),
      });
      count('ingest', ingest.status);
      const page = await send(`${server.url}/v2/logs?logType=UserActivityLog&fromDateTime=${from}&limit=100`, { headers });
      count('list', page.status);
      const cursor = page.status === 200 ? (JSON.parse(page.body) as { records: { cursor?: string } }).records.cursor : undefined;
      if (cursor) count('list', (await send(`${server.url}/v2/logs?cursor=${encodeURIComponent(cursor)}`, { headers })).status);
      count('checkpoint', (await send(`${server.url}/v2/tlog/${t.id}/checkpoint`, { headers })).status);
      visits++;
    };
    const worker = async () => {
      while (performance.now() < endAt) await visit(tenants[next++ % tenants.length]!);
    };

    const samples: Sample[] = [await sample(server, 0, 0)];
    const every = Number(flags.every) * 1000;
    let sampling = Promise.resolve();
    const timer = setInterval(() => {
      sampling = sampling.then(async () => {
        samples.push(await sample(server, Math.round((performance.now() - started) / 1000), visits));
      });
    }, every);
    try {
      await Promise.all(Array.from({ length: Number(flags.concurrency) }, worker));
    } finally {
      clearInterval(timer);
      await sampling;
    }
    samples.push(await sample(server, Math.round((performance.now() - started) / 1000), visits));
    process.stdout.write(
      `${JSON.stringify(
        {
          tenants: tenants.length,
          batch: Number(flags.batch),
          concurrency: Number(flags.concurrency),
          visits,
          rounds: Math.round((visits / tenants.length) * 10) / 10,
          statuses,
          loadAverage: loadavg().map((l) => Number(l.toFixed(1))),
          cpus: cpus().length,
          samples,
        },
        null,
        2,
      )}\n`,
    );
  } finally {
    await server.stop();
  }
} finally {
  closeConnections();
  rmSync(dir, { recursive: true, force: true });
}
