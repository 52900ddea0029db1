/**
 * Slow request bodies over a real socket: a trickled body is cut with 408 once a timeout
 * window passes without enough progress, while other requests keep being served; a long but
 * steady upload is not cut however long it takes; and past the bound on concurrent ingest
 * bodies a request is refused at once with 503 and Retry-After.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { createTenant, issueAccessKey } from '../../src/service/access-keys.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { startServe } from '../support/cli.ts';
import { parseResponse, type RawResponse } from '../support/raw-http.ts';

const TIMEOUT_MS = 1000;

interface Upload {
  readonly socket: Socket;
  /** Resolves with the response once the server closes the connection, or rejects after `waitMs`. */
  readonly response: Promise<RawResponse & { ms: number }>;
  /** Stops sending. */
  stop(): void;
}

/**
 * Sends the head of a POST /v2/logs promising `length` bytes, then `chunk` every `everyMs`
 * until the body is complete or the connection closes.
 */
function upload(port: number, auth: string, contentType: string, body: Buffer, chunkBytes: number, everyMs: number, waitMs = 15_000): Upload {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  const data: Buffer[] = [];
  let sent = 0;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => clearInterval(timer);
  const response = new Promise<RawResponse & { ms: number }>((resolve, reject) => {
    const give = setTimeout(() => {
      stop();
      socket.destroy();
      reject(new Error(`no answer within ${waitMs} ms (${sent} of ${body.length} bytes sent)`));
    }, waitMs);
    socket.on('data', (d: Buffer) => data.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      stop();
      clearTimeout(give);
      try {
        resolve({ ...parseResponse(Buffer.concat(data)), ms: Date.now() - started });
      } catch (err) {
        reject(err as Error);
      }
    });
  });
  socket.write(
    `POST /v2/logs HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: ${auth}\r\n` +
      `Content-Type: ${contentType}\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  timer = setInterval(() => {
    if (socket.destroyed || sent >= body.length) return stop();
    socket.write(body.subarray(sent, sent + chunkBytes));
    sent += chunkBytes;
  }, everyMs);
  return { socket, response, stop };
}

function ndjsonBody(n: number, tag: string): Buffer {
  let s = '';
  for (let i = 0; i < n; i++) s += `{"logType":"AccessLog","eventTime":"2026-07-01T00:00:00Z","logRecord":{"tag":"${tag}","i":${i}}}\n`;
  return Buffer.from(s);
}

describe('slow request bodies (real socket)', () => {
  let t: TestApp;
  let port: number;
  let auth: string;
  before(async () => {
    t = await startTestApp({ config: { requestTimeoutMs: TIMEOUT_MS, maxConcurrentIngests: 3 } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as { port: number }).port;
    auth = basic(t.key);
  });
  after(async () => t.close());

  for (const contentType of ['application/json', 'application/x-ndjson']) {
    it(`cuts a trickled ${contentType} body with 408 in the configured time, while other requests are served`, async () => {
      const body =
        contentType === 'application/json'
          ? Buffer.from(
              JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-07-01T00:00:00Z', logRecord: { pad: 'x'.repeat(500) } }] }),
            )
          : ndjsonBody(5, 'trickle');
      // One byte every 100 ms: 10 bytes/s, far below the floor of 1 KiB/s.
      const slow = upload(port, auth, contentType, body, 1, 100);

      // Meanwhile the server answers everyone else.
      for (let i = 0; i < 3; i++) {
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(health.status, 200);
        const ok = await fetch(`http://127.0.0.1:${port}/v2/logs`, {
          method: 'POST',
          headers: { authorization: auth, 'content-type': 'application/json' },
          body: JSON.stringify({ logType: 'UserCallPlay', logEntries: [{ eventTime: `2026-07-02T00:00:0${i}Z`, logRecord: { i } }] }),
        });
        assert.equal(ok.status, 201, await ok.text());
        await new Promise((r) => setTimeout(r, 150));
      }

      const res = await slow.response;
      assert.equal(res.status, 408, res.body.toString());
      const envelope = JSON.parse(res.body.toString()) as { requestId: string; errors: string[] };
      assert.match(envelope.errors[0]!, /^request body arrived too slowly/);
      assert.equal(res.headers.connection, 'close');
      // Cut after one window (plus scheduling slack), not left open.
      assert.ok(res.ms >= TIMEOUT_MS - 50, `answered after ${res.ms} ms`);
    });
  }

  it('does not cut a steady upload that takes several timeout windows', async () => {
    const body = ndjsonBody(600, 'steady'); // ~50 KB
    // 2 KiB every 100 ms: 20 KiB/s, above the floor; about 2.5 s, more than two windows.
    const steady = upload(port, auth, 'application/x-ndjson', body, 2048, 100);
    const res = await steady.response;
    assert.equal(res.status, 201, res.body.toString());
    assert.equal((JSON.parse(res.body.toString()) as { accepted: number }).accepted, 600);
    assert.ok(res.ms > 2 * TIMEOUT_MS, `the upload took ${res.ms} ms`);
  });

  it('refuses ingest past the bound on concurrent bodies with 503 and Retry-After, and serves again once they end', async () => {
    // Slow bodies from two tenants (a tenant holds at most half the slots, rounded up: 2 of 3).
    const other = await createTenant(t.store, 'other tenant');
    const otherAuth = basic(await issueAccessKey(t.store, other.id, ['api:logs:write']));
    const a = upload(port, auth, 'application/x-ndjson', ndjsonBody(400, 'slot-a'), 2048, 100);
    const b = upload(port, auth, 'application/x-ndjson', ndjsonBody(400, 'slot-b'), 2048, 100);
    const c = upload(port, otherAuth, 'application/x-ndjson', ndjsonBody(400, 'slot-c'), 2048, 100);
    await new Promise((r) => setTimeout(r, 400));

    const refused = await fetch(`http://127.0.0.1:${port}/v2/logs`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-07-03T00:00:00Z', logRecord: {} }] }),
    });
    assert.equal(refused.status, 503, await refused.clone().text());
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(((await refused.json()) as { errors: string[] }).errors[0]!, /already reading 3 ingest requests/);
    // Reads are not ingest: they go on.
    const read = await t.list({ logType: 'UserCallPlay', fromDateTime: '2026-07-01T00:00:00Z' });
    assert.equal(read.statusCode, 200);

    assert.equal((await a.response).status, 201);
    assert.equal((await b.response).status, 201);
    assert.equal((await c.response).status, 201);
    const again = await t.ingest('AccessLog', [{ eventTime: '2026-07-03T00:00:00Z', logRecord: {} }]);
    assert.equal(again.statusCode, 201);
  });

  it('keeps one tenant from holding every slot: past half the slots its next body is refused while another tenant is served', async () => {
    const a = upload(port, auth, 'application/x-ndjson', ndjsonBody(400, 'share-a'), 2048, 100);
    const b = upload(port, auth, 'application/x-ndjson', ndjsonBody(400, 'share-b'), 2048, 100);
    await new Promise((r) => setTimeout(r, 300));
    const post = (authorization: string) =>
      fetch(`http://127.0.0.1:${port}/v2/logs`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-07-04T00:00:00Z', logRecord: {} }] }),
      });
    const second = await post(auth);
    assert.equal(second.status, 503);
    assert.equal(second.headers.get('retry-after'), '1');
    assert.match(
      ((await second.json()) as { errors: string[] }).errors[0]!,
      /this tenant already has 2 ingest requests being read, its share of this server's 3/,
    );
    const other = await createTenant(t.store, 'another tenant');
    const served = await post(basic(await issueAccessKey(t.store, other.id, ['api:logs:write'])));
    assert.equal(served.status, 201, await served.text());
    assert.equal((await a.response).status, 201);
    assert.equal((await b.response).status, 201);
  });

  it('stores nothing of an upload whose key is revoked while its body arrives: 401 at its end', async () => {
    const tenant = await createTenant(t.store, 'revoked mid-upload');
    const issued = await issueAccessKey(t.store, tenant.id, ['api:logs:write']);
    const up = upload(port, basic(issued), 'application/x-ndjson', ndjsonBody(400, 'revoked'), 4096, 100);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await t.store.revokeAccessKey(issued.accessKey), true);
    const answer = await up.response;
    assert.equal(answer.status, 401, answer.body.toString());
    const stored = await t.store.firstPage({ tenantId: tenant.id, logType: 'AccessLog', fromMs: 0, toMs: null }, 1);
    assert.equal(stored.total, 0, 'nothing of it stored');
  });

  it("does not count a request refused for want of a slot against the tenant's ingest limit", async () => {
    const tenant = await createTenant(t.store, 'limited');
    await t.store.setTenantLimits(tenant.id, { ingestPerSecond: 2 });
    const key = basic(await issueAccessKey(t.store, tenant.id, ['api:logs:write']));
    const a = upload(port, key, 'application/x-ndjson', ndjsonBody(400, 'limit-a'), 2048, 100);
    const b = upload(port, key, 'application/x-ndjson', ndjsonBody(400, 'limit-b'), 2048, 100);
    await new Promise((r) => setTimeout(r, 300));
    // Five at once while both of its slots are held: each is a 503, none uses up the limit of 2
    // per second (counted, they would run into it and be answered 429).
    const statuses = await Promise.all(
      Array.from({ length: 5 }, () =>
        fetch(`http://127.0.0.1:${port}/v2/logs`, {
          method: 'POST',
          headers: { authorization: key, 'content-type': 'application/json' },
          body: JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-07-05T00:00:00Z', logRecord: {} }] }),
        }).then((r) => r.status),
      ),
    );
    assert.deepEqual(statuses, [503, 503, 503, 503, 503]);
    assert.equal((await a.response).status, 201);
    assert.equal((await b.response).status, 201);
  });
});

describe('request timeout settings', () => {
  it('defaults to 30 s and 16 concurrent ingests; LOGWARDEN_REQUEST_TIMEOUT_MS and LOGWARDEN_MAX_CONCURRENT_INGESTS set them', () => {
    const d = loadConfig({}, {});
    assert.deepEqual([d.requestTimeoutMs, d.maxConcurrentIngests, d.ndjsonMemoryBytes], [30_000, 16, 64 * 1024 * 1024]);
    const c = loadConfig(
      {},
      { LOGWARDEN_REQUEST_TIMEOUT_MS: '2500', LOGWARDEN_MAX_CONCURRENT_INGESTS: '4', LOGWARDEN_NDJSON_MEMORY_BYTES: '1048576' },
    );
    assert.deepEqual([c.requestTimeoutMs, c.maxConcurrentIngests, c.ndjsonMemoryBytes], [2500, 4, 1048576]);
    assert.throws(
      () => loadConfig({}, { LOGWARDEN_REQUEST_TIMEOUT_MS: '0', LOGWARDEN_MAX_CONCURRENT_INGESTS: 'x' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 2);
        return true;
      },
    );
  });

  it('serve --request-timeout cuts a trickled body in that time', async () => {
    const accessKey = 'LWSLOWBODYTESTKEY001';
    const secret = 'slow-body-test-secret-0123456789abcdefghijkl';
    const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-slow-'));
    const server = await startServe(['--data-dir', dataDir, '--port', '0', '--request-timeout', '500'], {
      LOGWARDEN_BOOTSTRAP_ACCESS_KEY: accessKey,
      LOGWARDEN_BOOTSTRAP_SECRET: secret,
      LOGWARDEN_LOG_LEVEL: 'silent',
    });
    try {
      const port = Number(new URL(server.url).port);
      const auth = 'Basic ' + Buffer.from(`${accessKey}:${secret}`).toString('base64');
      const res = await upload(port, auth, 'application/x-ndjson', ndjsonBody(3, 'flag'), 1, 100, 10_000).response;
      assert.equal(res.status, 408, res.body.toString());
      assert.match(res.body.toString(), /in 0\.5 s/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
