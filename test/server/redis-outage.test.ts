/**
 * A Redis outage under a running app (the shared rate limits): every request that needs the
 * limits is 503 with Retry-After, as the README's status table says, the token endpoint says
 * temporarily_unavailable, /readyz says not ready, and all of it recovers once Redis is back
 * on its address, with no restart. A Redis that keeps its connections open but stops answering
 * is the same outage: answered 503 after the command timeout, not waited for.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { RedisLimiter } from '../../src/server/limiter/redis-limiter.ts';
import { basic, requestToken, startTestApp, type TestApp } from '../support/app.ts';
import { startRedis } from '../support/redis.ts';

const first = await startRedis();
let current = first.server;
after(() => current?.stop());

describe('a Redis outage under a running app', { skip: first.skip }, () => {
  it('answers 503 with Retry-After while Redis is down, says so in /readyz, and recovers once it is back', async () => {
    const url = first.server!.url;
    const limiter = await RedisLimiter.connect({ url });
    let t: TestApp | undefined;
    try {
      t = await startTestApp({ limiter });
      const app = t;
      const read = () => app.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
      const token = () => requestToken(app, app.key, 'grant_type=client_credentials&scope=api%3Alogs%3Aread');
      const ready = () => app.inject({ method: 'GET', url: '/readyz' });
      assert.equal((await app.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { a: 0 } }])).statusCode, 201);
      assert.equal((await read()).statusCode, 200);
      assert.equal((await ready()).statusCode, 200);

      await current!.stop();
      current = undefined;
      const r = await read();
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(r.headers['retry-after'], '1');
      assert.deepEqual(r.json().errors, ['store unreachable; retry later']);
      const ingest = await app.ingest('AccessLog', [{ eventTime: '2026-01-02T00:00:00Z', logRecord: { a: 1 } }]);
      assert.equal(ingest.statusCode, 503, ingest.body);
      const tk = await token();
      assert.equal(tk.statusCode, 503, tk.body);
      assert.equal(tk.json().error, 'temporarily_unavailable');
      assert.equal(tk.headers['retry-after'], '1');
      const nr = await ready();
      assert.equal(nr.statusCode, 503);
      assert.deepEqual(nr.json().errors, ['rate-limit store (Redis) unreachable']);

      const again = await startRedis({ port: Number(new URL(url).port) });
      current = again.server;
      // The client reconnects on its own, with backoff: the next answers are whole again.
      for (let i = 0; (await ready()).statusCode !== 200; i++) {
        assert.ok(i < 200, 'ready again within ten seconds');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await read()).statusCode, 200);
      assert.equal((await token()).statusCode, 200);
      const unauthorized = await app.inject({
        method: 'GET',
        url: '/v2/logs?logType=AccessLog',
        headers: { authorization: basic({ accessKey: 'x', secret: 'y' }) },
      });
      assert.equal(unauthorized.statusCode, 401);
    } finally {
      await t?.close();
      await limiter.close();
    }
  });
});

/** What a test of a Redis of its own gets: the server, a running app counting in it, a read and /readyz. */
interface RedisApp {
  readonly redis: NonNullable<Awaited<ReturnType<typeof startRedis>>['server']>;
  readonly app: TestApp;
  read(): ReturnType<TestApp['list']>;
  ready(): ReturnType<TestApp['inject']>;
}

/** Runs `check` against an app counting its limits in a Redis of its own, an entry stored and read; stops both after. */
async function withOwnRedis(check: (r: RedisApp) => Promise<void>): Promise<void> {
  const redis = (await startRedis()).server!;
  const limiter = await RedisLimiter.connect({ url: redis.url });
  let t: TestApp | undefined;
  try {
    t = await startTestApp({ limiter });
    const app = t;
    const read = () => app.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
    const ready = () => app.inject({ method: 'GET', url: '/readyz' });
    assert.equal((await app.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { a: 0 } }])).statusCode, 201);
    assert.equal((await read()).statusCode, 200);
    await check({ redis, app, read, ready });
  } finally {
    await t?.close();
    await limiter.close();
    await redis.stop();
  }
}

describe('a Redis that stops answering under a running app', { skip: first.skip }, () => {
  it('answers 503 with Retry-After and says not ready while Redis refuses to count (out of memory), and recovers once it counts', async () => {
    await withOwnRedis(async ({ redis, read, ready }) => {
      const admin = new Redis(redis.url);
      try {
        // Past its memory limit with nothing it may evict, Redis refuses every write: OOM.
        await admin.config('SET', 'maxmemory', '1');
        const r = await read();
        assert.equal(r.statusCode, 503, r.body);
        assert.equal(r.headers['retry-after'], '1');
        assert.deepEqual(r.json().errors, ['store unreachable; retry later']);
        assert.equal((await ready()).statusCode, 503);
        await admin.config('SET', 'maxmemory', '0');
        assert.equal((await read()).statusCode, 200);
        assert.equal((await ready()).statusCode, 200);
      } finally {
        admin.disconnect();
      }
    });
  });

  it('answers 503 with Retry-After and says not ready while Redis does not answer, and recovers once it does', async () => {
    await withOwnRedis(async ({ redis, app, read, ready }) => {
      redis.freeze();
      try {
        // Bounded: without a command timeout these would wait for as long as Redis is frozen.
        const within = <T>(p: Promise<T>, what: string): Promise<T> =>
          Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within 15 s`)), 15_000).unref())]);
        const r = await within(read(), 'GET /v2/logs');
        assert.equal(r.statusCode, 503, r.body);
        assert.equal(r.headers['retry-after'], '1');
        assert.deepEqual(r.json().errors, ['store unreachable; retry later']);
        const ingest = await within(app.ingest('AccessLog', [{ eventTime: '2026-01-02T00:00:00Z', logRecord: { a: 1 } }]), 'POST /v2/logs');
        assert.equal(ingest.statusCode, 503, ingest.body);
        const nr = await within(ready(), '/readyz');
        assert.equal(nr.statusCode, 503);
        assert.deepEqual(nr.json().errors, ['rate-limit store (Redis) unreachable']);
      } finally {
        redis.thaw();
      }
      for (let i = 0; (await ready()).statusCode !== 200; i++) {
        assert.ok(i < 200, 'ready again within ten seconds');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await read()).statusCode, 200);
    });
  });
});
