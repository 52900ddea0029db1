/**
 * Several server processes acting as one service: two `logwarden serve` processes on one
 * PostgreSQL database and one Redis, and `serve --workers 2` on one SQLite file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pgClient from 'pg';
import { type RunningServer, runCli, startServe } from '../support/cli.ts';
import { startPostgres } from '../support/postgres.ts';
import { startRedis } from '../support/redis.ts';

const ACCESS_KEY = 'multi-process-key';
const SECRET = 'm'.repeat(40);
const AUTH = 'Basic ' + Buffer.from(`${ACCESS_KEY}:${SECRET}`).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const pg = await startPostgres();
const redis = await startRedis();
after(async () => {
  await pg.cluster?.stop();
  await redis.server?.stop();
});
const skip = pg.skip ?? redis.skip;

interface Page {
  records: { totalRecords: number; currentPageNumber: number; cursor?: string };
  logEntries: Array<{ logRecord: { i: number } }>;
}

async function get(server: RunningServer, query: string, auth = AUTH): Promise<{ status: number; body: Page }> {
  const r = await fetch(`${server.url}/v2/logs?${query}`, { headers: { authorization: auth } });
  return { status: r.status, body: (await r.json()) as Page };
}

function batch(n: number, tag: string): string {
  const entries = Array.from({ length: n }, (_, i) => ({
    userId: String(i),
    eventTime: `2026-02-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`,
    logRecord: { i, tag },
  }));
  return JSON.stringify({ logType: 'AccessLog', logEntries: entries });
}

async function post(server: RunningServer, body: string): Promise<{ accepted: number; duplicates: number }> {
  const r = await fetch(`${server.url}/v2/logs`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body });
  assert.equal(r.status, 201);
  return (await r.json()) as { accepted: number; duplicates: number };
}

describe('two processes on one PostgreSQL and one Redis', { skip }, () => {
  let a: RunningServer;
  let b: RunningServer;
  let dbUrl: string;
  let tenantId: string;
  const store = () => ['--database-url', dbUrl];

  before(async () => {
    dbUrl = await pg.cluster!.createDatabase();
    const env = {
      LOGWARDEN_DATABASE_URL: dbUrl,
      LOGWARDEN_REDIS_URL: redis.server!.url,
      LOGWARDEN_BOOTSTRAP_ACCESS_KEY: ACCESS_KEY,
      LOGWARDEN_BOOTSTRAP_SECRET: SECRET,
      LOGWARDEN_READ_PER_SECOND: '1000',
      LOGWARDEN_INGEST_PER_SECOND: '1000',
      LOGWARDEN_LIMITS_REFRESH_MS: '500',
      LOGWARDEN_LOG_LEVEL: 'warn',
      // Keys kept a minute: a revocation must reach the processes by notification, not by expiry.
      LOGWARDEN_AUTH_CACHE_MS: '60000',
    };
    a = await startServe(['--port', '0'], env);
    tenantId = /created tenant (\d+)/.exec(a.stderr())![1]!;
    b = await startServe(['--port', '0'], env);
    assert.ok(!/created tenant/.test(b.stderr()), 'the second process finds the tenant the first created');
  });

  after(async () => {
    for (const s of [a, b]) {
      if (!s) continue;
      s.child.kill('SIGTERM');
      await s.exited;
    }
  });

  it('stores a batch posted to both at once exactly once', async () => {
    const body = batch(500, 'same');
    const [ra, rb] = await Promise.all([post(a, body), post(b, body)]);
    assert.equal(ra.accepted + rb.accepted, 500);
    assert.equal(ra.duplicates + rb.duplicates, 500);
    const page = await get(a, 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z');
    assert.equal(page.body.records.totalRecords, 500);
  });

  it('continues on one process a cursor issued by the other', async () => {
    const seen: number[] = [];
    let cursor: string | undefined;
    let turn = 0;
    do {
      const server = turn++ % 2 === 0 ? a : b;
      const q = cursor ? `cursor=${encodeURIComponent(cursor)}` : 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z';
      const r = await get(server, q);
      assert.equal(r.status, 200);
      seen.push(...r.body.logEntries.map((e) => e.logRecord.i));
      cursor = r.body.records.cursor;
    } while (cursor);
    assert.equal(turn, 5);
    assert.equal(seen.length, 500);
    assert.equal(new Set(seen).size, 500);
  });

  it('accepts on one process a Bearer token issued by the other', async () => {
    const r = await fetch(`${a.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=api:logs:read',
    });
    const token = ((await r.json()) as { access_token: string }).access_token;
    const page = await get(b, 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z', `Bearer ${token}`);
    assert.equal(page.status, 200);
  });

  it('enforces a tenant limit across both processes and sees a limit change on both', async () => {
    const set = await runCli(['tenants', 'limits', tenantId, '--per-second', '2', ...store()]);
    assert.equal(set.code, 0, set.stderr);
    await sleep(1200); // both processes re-read limits every 500 ms
    await sleep(1000 - (Date.now() % 1000) + 10);
    const q = 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z&limit=1';
    const statuses = [(await get(a, q)).status, (await get(b, q)).status, (await get(a, q)).status, (await get(b, q)).status];
    assert.deepEqual(statuses, [200, 200, 429, 429]);
    const reset = await runCli(['tenants', 'limits', tenantId, '--reset', ...store()]);
    assert.equal(reset.code, 0, reset.stderr);
    // Both processes see the reset within their refresh interval: the next test starts after it.
    const resetAt = Date.now();
    for (const server of [a, b]) {
      while ((await get(server, q)).status === 429) {
        assert.ok(Date.now() - resetAt < 5000, 'limit reset seen within 5 seconds');
        await sleep(100);
      }
    }
    await sleep(1000 - (Date.now() % 1000) + 10); // the polls' second is over
  });

  it('sees a revocation on both processes at once (Basic and tokens already issued), though they keep keys a minute', async () => {
    const created = await runCli(['keys', 'create', '--tenant', tenantId, '--scope', 'read', '--json', ...store()]);
    const key = JSON.parse(created.stdout) as { accessKey: string; secret: string };
    const auth = 'Basic ' + Buffer.from(`${key.accessKey}:${key.secret}`).toString('base64');
    const q = 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z&limit=1';
    assert.equal((await get(a, q, auth)).status, 200);
    assert.equal((await get(b, q, auth)).status, 200);
    const token = await fetch(`${a.url}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const bearer = `Bearer ${((await token.json()) as { access_token: string }).access_token}`;
    assert.equal((await get(b, q, bearer)).status, 200);
    assert.equal((await runCli(['keys', 'revoke', key.accessKey, ...store()])).code, 0);
    const revokedAt = Date.now();
    for (const server of [a, b]) {
      for (const credentials of [auth, bearer]) {
        // The notification is on its way as the command ends; well within a second.
        while ((await get(server, q, credentials)).status !== 401) {
          assert.ok(Date.now() - revokedAt < 5000, 'revocation seen within 5 seconds, though keys are kept a minute');
          await sleep(50);
        }
      }
    }
  });
  it('keeps no key while it cannot hear changes: a revocation it missed holds too', async () => {
    const created = await runCli(['keys', 'create', '--tenant', tenantId, '--scope', 'read', '--json', ...store()]);
    const key = JSON.parse(created.stdout) as { accessKey: string; secret: string };
    const auth = 'Basic ' + Buffer.from(`${key.accessKey}:${key.secret}`).toString('base64');
    const q = 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z&limit=1';
    assert.equal((await get(a, q, auth)).status, 200);
    const db = new pgClient.Client({ connectionString: dbUrl });
    await db.connect();
    try {
      // The processes' listening connections end; a revocation written behind their back sends no notification.
      const ended = await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN %'`);
      assert.ok(ended.rowCount! >= 2, 'both processes listen');
      await db.query('UPDATE access_keys SET revoked_at = now() WHERE access_key = $1', [key.accessKey]);
    } finally {
      await db.end();
    }
    const revokedAt = Date.now();
    while ((await get(a, q, auth)).status !== 401) {
      assert.ok(Date.now() - revokedAt < 5000, 'the missed revocation holds within 5 seconds, though keys are kept a minute');
      await sleep(50);
    }
  });
});

describe('serve --workers 2 on one SQLite file', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-workers-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves from several processes on one port, pages across them, and stops on SIGTERM', async () => {
    const server = await startServe(['--data-dir', dir, '--port', '0', '--workers', '2'], {
      LOGWARDEN_BOOTSTRAP_ACCESS_KEY: ACCESS_KEY,
      LOGWARDEN_BOOTSTRAP_SECRET: SECRET,
      LOGWARDEN_READ_PER_SECOND: '1000',
      LOGWARDEN_LOG_LEVEL: 'info',
    });
    try {
      assert.match(server.stderr(), /with 2 workers/);
      assert.match(server.stderr(), /rate limits are counted per worker process/);
      assert.equal((await post(server, batch(300, 'w'))).accepted, 300);
      const seen = new Set<number>();
      let cursor: string | undefined;
      do {
        const r = await get(server, cursor ? `cursor=${encodeURIComponent(cursor)}` : 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z&limit=10');
        assert.equal(r.status, 200);
        for (const e of r.body.logEntries) seen.add(e.logRecord.i);
        cursor = r.body.records.cursor;
      } while (cursor);
      assert.equal(seen.size, 300);
      // Each worker accepts connections from the shared socket: fresh connections reach both
      // (which one takes each is the kernel's choice, so up to 100 are opened).
      const servedBy = () => new Set([...server.stdout().matchAll(/"pid":(\d+)/g)].map((m) => m[1]));
      let healthzRequests = 0;
      for (let i = 0; i < 100 && servedBy().size < 2; i++) {
        healthzRequests++;
        await new Promise<void>((resolve, reject) => {
          httpGet(`${server.url}/healthz`, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
        });
        if (i % 10 === 9) await sleep(50); // lets the log lines arrive
      }
      await sleep(200);
      const pids = servedBy();
      assert.ok(pids.size >= 2, `requests were served by ${pids.size} process(es)`);
      // One /metrics for the server: whichever worker a scrape reaches, it counts every worker's requests.
      const healthz = async () => {
        const text = await new Promise<string>((resolve, reject) => {
          httpGet(`${server.url}/metrics`, { agent: false }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          }).on('error', reject);
        });
        return Number(/^logwarden_http_requests_total\{route="\/healthz",method="GET",status="200"\} (\d+)$/m.exec(text)?.[1]);
      };
      for (let i = 0; i < 10; i++, healthzRequests++) {
        await new Promise<void>((resolve, reject) => {
          httpGet(`${server.url}/healthz`, { agent: false }, (res) => res.resume().on('end', resolve)).on('error', reject);
        });
      }
      const scraped = [];
      for (let i = 0; i < 6; i++) scraped.push(await healthz());
      assert.deepEqual(scraped, Array(6).fill(healthzRequests), 'every scrape counts both workers');
      // Scrapes at once (many waiting on the channel to the primary) are all answered.
      const together = await Promise.all(Array.from({ length: 40 }, () => healthz()));
      assert.deepEqual(together, Array(40).fill(healthzRequests), 'concurrent scrapes are answered, not 500');
      // A worker that dies is replaced, and the service keeps answering.
      process.kill(Number([...pids][0]), 'SIGKILL');
      const since = Date.now();
      while (!/died \(SIGKILL\); starting another/.test(server.stderr())) {
        assert.ok(Date.now() - since < 10_000, 'the primary starts another worker');
        await sleep(50);
      }
      for (let i = 0; i < 4; i++) assert.equal((await get(server, 'logType=AccessLog&fromDateTime=2026-02-01T00:00:00Z&limit=1')).status, 200);
    } finally {
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
    }
  });
});
