import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { DAY_MS, type LimiterStore, type LimitWindow, SECOND_MS } from '../../src/server/limiter/limiter.ts';
import { MemoryLimiter } from '../../src/server/limiter/memory-limiter.ts';
import { RedisLimiter } from '../../src/server/limiter/redis-limiter.ts';
import { startRedis } from '../support/redis.ts';

const redis = await startRedis();
after(() => redis.server?.stop());

/** A UTC midnight, so second and day windows line up predictably. */
const MIDNIGHT = Date.UTC(2025, 5, 12);

interface LimiterCasesOptions {
  name: string;
  /**
   * A fresh scope for one test: a factory of limiters that start with no counts. The limiters
   * of one scope share their counts when `shared` (as server processes on one Redis do).
   */
  scope(): () => Promise<LimiterStore>;
  shared: boolean;
  skip?: string | undefined;
}

/** The behaviour every LimiterStore shows (limiter.ts). */
function limiterCases({ name, scope, shared, skip }: LimiterCasesOptions): void {
  describe(`LimiterStore: ${name}`, { skip }, () => {
    let create: () => Promise<LimiterStore>;
    let limiters: LimiterStore[];
    let limiter: LimiterStore;
    const another = async (): Promise<LimiterStore> => {
      const l = await create();
      limiters.push(l);
      return l;
    };

    beforeEach(async () => {
      create = scope();
      limiters = [];
      limiter = await another();
    });

    afterEach(async () => {
      for (const l of limiters) await l.close();
    });

    const perSecond = (limit: number): LimitWindow[] => [{ limit, windowMs: SECOND_MS }];

    it('allows up to the limit, then rejects until the window turns over', async () => {
      const now = MIDNIGHT + 5 * SECOND_MS + 250;
      for (let i = 0; i < 3; i++) assert.deepEqual(await limiter.hit('t', perSecond(3), now + i), { allowed: true, retryAfterMs: 0 });
      assert.deepEqual(await limiter.hit('t', perSecond(3), now + 10), { allowed: false, retryAfterMs: 740 });
      assert.deepEqual(await limiter.hit('t', perSecond(3), now + 749), { allowed: false, retryAfterMs: 1 });
      assert.equal((await limiter.hit('t', perSecond(3), now + 750)).allowed, true);
    });

    it('aligns windows to the epoch', async () => {
      const end = MIDNIGHT + 11 * SECOND_MS;
      assert.equal((await limiter.hit('t', perSecond(1), end - 1)).allowed, true);
      assert.deepEqual(await limiter.hit('t', perSecond(1), end - 1), { allowed: false, retryAfterMs: 1 });
      assert.equal((await limiter.hit('t', perSecond(1), end)).allowed, true);
    });

    it('does not count rejected requests', async () => {
      const windows: LimitWindow[] = [
        { limit: 2, windowMs: SECOND_MS },
        { limit: 5, windowMs: DAY_MS },
      ];
      let allowed = 0;
      // Ten attempts in each of three seconds: 2 + 2 + 1 allowed; the 25 rejections cost nothing.
      for (let s = 0; s < 3; s++) {
        for (let i = 0; i < 10; i++) if ((await limiter.hit('t', windows, MIDNIGHT + s * SECOND_MS + i)).allowed) allowed++;
      }
      assert.equal(allowed, 5);
    });

    it('tells the wait of the longest full window: a full day lasts until midnight UTC', async () => {
      const windows: LimitWindow[] = [
        { limit: 100, windowMs: SECOND_MS },
        { limit: 2, windowMs: DAY_MS },
      ];
      const noon = MIDNIGHT + DAY_MS / 2;
      await limiter.hit('t', windows, noon);
      await limiter.hit('t', windows, noon + 1);
      assert.deepEqual(await limiter.hit('t', windows, noon + 2), { allowed: false, retryAfterMs: DAY_MS / 2 - 2 });
      // Both windows full: still the longer wait.
      const both: LimitWindow[] = [
        { limit: 2, windowMs: SECOND_MS },
        { limit: 2, windowMs: DAY_MS },
      ];
      assert.deepEqual(await limiter.hit('t', both, noon + 3), { allowed: false, retryAfterMs: DAY_MS / 2 - 3 });
      assert.equal((await limiter.hit('t', windows, MIDNIGHT + DAY_MS)).allowed, true);
    });

    it('keeps counting into the day it left when the clock steps back over midnight UTC', async () => {
      const day: LimitWindow[] = [{ limit: 3, windowMs: DAY_MS }];
      const after = MIDNIGHT + DAY_MS + 30_000;
      assert.equal((await limiter.hit('t', day, after)).allowed, true);
      assert.equal((await limiter.hit('t', day, after + 1)).allowed, true);
      // Put back a minute: the day before by the clock, but its reads go on counting into the new day.
      const back = after - 60_000;
      assert.equal((await limiter.hit('t', day, back)).allowed, true);
      assert.deepEqual(await limiter.hit('t', day, back + 1), { allowed: false, retryAfterMs: 2 * DAY_MS - (back + 1 - MIDNIGHT) });
      assert.equal((await limiter.hit('t', day, MIDNIGHT + DAY_MS + 40_000)).allowed, false);
      assert.equal((await limiter.hit('t', day, MIDNIGHT + 2 * DAY_MS)).allowed, true);
    });

    it("carries the count into the clock's window when the clock steps back further than a window", async () => {
      const day: LimitWindow[] = [{ limit: 2, windowMs: DAY_MS }];
      const ahead = MIDNIGHT + 365 * DAY_MS;
      assert.equal((await limiter.hit('t', day, ahead)).allowed, true);
      // Set right after running a year ahead: not shut out for a year, nor counting afresh.
      const noon = MIDNIGHT + DAY_MS / 2;
      assert.equal((await limiter.hit('t', day, noon)).allowed, true);
      assert.deepEqual(await limiter.hit('t', day, noon + 1), { allowed: false, retryAfterMs: DAY_MS / 2 - 1 });
      assert.equal((await limiter.hit('t', day, MIDNIGHT + DAY_MS)).allowed, true);
      // The same for a second's window: a step back of an hour waits a second at most.
      const second = perSecond(1);
      assert.equal((await limiter.hit('s', second, ahead)).allowed, true);
      assert.deepEqual(await limiter.hit('s', second, ahead - 3_600_000 + 100), { allowed: false, retryAfterMs: 900 });
      assert.equal((await limiter.hit('s', second, ahead - 3_600_000 + 1000)).allowed, true);
    });

    it('keeps keys apart', async () => {
      assert.equal((await limiter.hit('tenant-a', perSecond(1), MIDNIGHT)).allowed, true);
      assert.equal((await limiter.hit('tenant-a', perSecond(1), MIDNIGHT)).allowed, false);
      assert.equal((await limiter.hit('tenant-b', perSecond(1), MIDNIGHT)).allowed, true);
      assert.equal((await limiter.hit('tenant-a:read', perSecond(1), MIDNIGHT)).allowed, true);
    });

    it('allows a request with no windows and rejects every request under a zero limit', async () => {
      assert.deepEqual(await limiter.hit('t', [], MIDNIGHT), { allowed: true, retryAfterMs: 0 });
      assert.deepEqual(await limiter.hit('z', perSecond(0), MIDNIGHT + 400), { allowed: false, retryAfterMs: 600 });
    });

    it(`never lets concurrent requests overshoot${shared ? ', across several limiters' : ''}`, async () => {
      const pool = shared ? [limiter, await another(), await another()] : [limiter];
      const windows: LimitWindow[] = [
        { limit: 10, windowMs: SECOND_MS },
        { limit: 1000, windowMs: DAY_MS },
      ];
      const now = MIDNIGHT + 42 * SECOND_MS;
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => pool[i % pool.length]!.hit('t', windows, now + (i % 5))));
      assert.equal(results.filter((r) => r.allowed).length, 10);
      // The day window counted exactly the allowed ten.
      const day: LimitWindow[] = [{ limit: 12, windowMs: DAY_MS }];
      assert.equal((await limiter.hit('t', day, now + SECOND_MS)).allowed, true);
      assert.equal((await limiter.hit('t', day, now + SECOND_MS)).allowed, true);
      assert.equal((await limiter.hit('t', day, now + SECOND_MS)).allowed, false);
    });
  });
}

limiterCases({ name: 'memory', scope: () => async () => new MemoryLimiter(), shared: false });

let scopes = 0;
limiterCases({
  name: 'redis',
  skip: redis.skip,
  shared: true,
  scope() {
    const keyPrefix = `test:${++scopes}:`;
    return () => RedisLimiter.connect({ url: redis.server!.url, keyPrefix });
  },
});

describe('RedisLimiter: specific', { skip: redis.skip }, () => {
  it('lets counters expire after their window', async () => {
    const limiter = await RedisLimiter.connect({ url: redis.server!.url, keyPrefix: 'expiry:' });
    const client = new Redis(redis.server!.url);
    try {
      const now = Date.now();
      await limiter.hit(
        't',
        [
          { limit: 5, windowMs: SECOND_MS },
          { limit: 5, windowMs: DAY_MS },
        ],
        now,
      );
      const keys = (await client.keys('expiry:*')).sort();
      assert.equal(keys.length, 2);
      for (const k of keys) {
        const ttl = await client.pttl(k);
        const windowMs = Number(k.split(':')[2]);
        assert.ok(ttl > 0 && ttl <= windowMs + 60_000, `${k} expires in ${ttl} ms`);
      }
    } finally {
      await limiter.close();
      client.disconnect();
    }
  });

  it('fails to connect to a server that is not there', async () => {
    await assert.rejects(RedisLimiter.connect({ url: 'redis://127.0.0.1:1' }));
  });

  it('fails to connect to a database the server does not have, instead of counting in another', async () => {
    await assert.rejects(
      RedisLimiter.connect({ url: `${redis.server!.url}/999999` }),
      /cannot use Redis at .* for the shared rate limits \(ERR DB index is out of range\)/,
    );
    const limiter = await RedisLimiter.connect({ url: `${redis.server!.url}/1` });
    await limiter.close();
  });
});
