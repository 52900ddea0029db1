import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RATE_LIMITED_MESSAGE } from '../../src/errors.ts';
import { createTenant, type IssuedKey, issueAccessKey } from '../../src/service/access-keys.ts';
import { requestToken, startTestApp, TestClock } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

const Q = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' };

// Each app runs on a TestClock: a burst falls in one one-second window because the clock only
// moves when a test moves it (`clock.nextSecond(5)` starts a fresh second), and no test waits.

for (const kind of await storeKinds()) {
  describe(`rate limits (${kind.name})`, { skip: kind.skip }, () => {
    it('allows 3 reads per second by default, then 429 with a truthful Retry-After', async () => {
      const clock = new TestClock();
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { readPerSecond: 3, readPerDay: 10_000 } });
      try {
        clock.nextSecond(5);
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await t.list(Q)).statusCode);
        assert.deepEqual(statuses, [404, 404, 404, 429]);
        const r = await t.list(Q);
        assert.equal(r.statusCode, 429);
        assert.deepEqual(r.json().errors, [RATE_LIMITED_MESSAGE]);
        assert.match(r.json().requestId, /^[0-9a-z]{19}$/);
        const wait = Number(r.headers['retry-after']);
        assert.ok(Number.isInteger(wait) && wait >= 1, String(r.headers['retry-after']));
        clock.advance(wait * 1000);
        assert.equal((await t.list(Q)).statusCode, 404, 'a retry after Retry-After succeeds');
        const metrics = await t.inject({ method: 'GET', url: '/metrics' });
        assert.match(metrics.body, /logwarden_rate_limited_total\{kind="read"\} 2/);
      } finally {
        await t.close();
      }
    });

    it('limits reads per UTC day, with Retry-After until midnight, and does not count rejected requests', async () => {
      const clock = new TestClock();
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { readPerSecond: 2, readPerDay: 4 } });
      try {
        clock.nextSecond(5);
        assert.equal((await t.list(Q)).statusCode, 404);
        assert.equal((await t.list(Q)).statusCode, 404);
        assert.equal((await t.list(Q)).statusCode, 429); // per-second
        assert.equal((await t.list(Q)).statusCode, 429);
        clock.nextSecond(5);
        // Two more fit in the day only because the rejected ones were not counted.
        assert.equal((await t.list(Q)).statusCode, 404);
        assert.equal((await t.list(Q)).statusCode, 404);
        clock.nextSecond(5);
        const r = await t.list(Q);
        assert.equal(r.statusCode, 429);
        const now = clock.now();
        const midnight = Math.ceil(now / 86_400_000) * 86_400_000;
        const expected = Math.ceil((midnight - now) / 1000);
        assert.ok(Math.abs(Number(r.headers['retry-after']) - expected) <= 2, `${r.headers['retry-after']} vs ${expected}`);
      } finally {
        await t.close();
      }
    });

    it('does not start the daily read count afresh when the clock steps back over midnight UTC', async () => {
      const midnight = Date.UTC(2026, 5, 2);
      const clock = new TestClock(midnight + 30_000);
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { readPerSecond: 100, readPerDay: 3 } });
      try {
        assert.equal((await t.list(Q)).statusCode, 404);
        assert.equal((await t.list(Q)).statusCode, 404);
        clock.advance(-60_000); // 23:59:30 the day before
        assert.equal((await t.list(Q)).statusCode, 404);
        const r = await t.list(Q);
        assert.equal(r.statusCode, 429, 'the fourth read of the day');
        // Until the end of the day the reads were counted in, a day and a half-minute away.
        assert.equal(r.headers['retry-after'], String((86_400_000 + 30_000) / 1000));
        clock.ms = midnight + 86_400_000;
        assert.equal((await t.list(Q)).statusCode, 404);
      } finally {
        await t.close();
      }
    });

    it('limits ingest and token requests each on their own counter, of the ingest limit', async () => {
      const clock = new TestClock();
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { ingestPerSecond: 2, readPerSecond: 100 } });
      try {
        clock.nextSecond(5);
        const entry = [{ eventTime: '2026-02-01T00:00:00Z', logRecord: {} }];
        assert.equal((await t.ingest('AccessLog', entry)).statusCode, 201);
        assert.equal((await t.ingest('AccessLog', entry)).statusCode, 201);
        const r = await t.ingest('AccessLog', entry);
        assert.equal(r.statusCode, 429);
        assert.equal(r.headers['retry-after'], '1');
        assert.equal((await t.list(Q)).statusCode, 200, 'reads are counted separately');
        // Token requests have a window of their own: a key that may only read, asking for tokens
        // in a loop, cannot use up its tenant's ingest (nor ingest its tokens).
        for (let i = 0; i < 2; i++) assert.equal((await requestToken(t, t.key, 'grant_type=client_credentials')).statusCode, 200);
        // Past the limit, a token request is refused the way ingest is, with an OAuth error a client retries.
        const token = await requestToken(t, t.key, 'grant_type=client_credentials');
        assert.equal(token.statusCode, 429);
        assert.equal(token.headers['retry-after'], '1');
        assert.equal(token.json().error, 'temporarily_unavailable');
        clock.nextSecond(5);
        assert.equal((await requestToken(t, t.key, 'grant_type=client_credentials')).statusCode, 200);
        assert.equal((await requestToken(t, t.key, 'grant_type=client_credentials')).statusCode, 200);
        assert.equal((await t.ingest('AccessLog', entry)).statusCode, 201, 'tokens took none of the ingest window');
      } finally {
        await t.close();
      }
    });

    it('counts each tenant on its own: another tenant at every limit takes nothing of this one’s', async () => {
      const clock = new TestClock();
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { readPerSecond: 2, readPerDay: 3, ingestPerSecond: 2 } });
      try {
        const other = await createTenant(t.store, 'other');
        const otherKey = await issueAccessKey(t.store, other.id, ['api:logs:read', 'api:logs:write']);
        // A lower limit of the other tenant's own is not this one's.
        await t.store.setTenantLimits(other.id, { readPerSecond: 1 });
        clock.nextSecond(5);
        const entry = [{ eventTime: '2026-02-01T00:00:00Z', logRecord: {} }];
        const token = (key: IssuedKey) => requestToken(t, key, 'grant_type=client_credentials');
        // The other tenant uses up its reads of the second, then of the day, its ingest and its tokens.
        const theirs = [];
        for (let s = 0; s < 3; s++) {
          for (let i = 0; i < 2; i++) theirs.push((await t.list(Q, otherKey)).statusCode);
          clock.nextSecond(5);
        }
        assert.deepEqual(theirs, [404, 429, 404, 429, 404, 429]);
        assert.equal((await t.list(Q, otherKey)).statusCode, 429, 'its day is used up');
        for (let i = 0; i < 2; i++) assert.equal((await t.ingest('AccessLog', entry, otherKey)).statusCode, 201);
        assert.equal((await t.ingest('AccessLog', entry, otherKey)).statusCode, 429);
        for (let i = 0; i < 2; i++) assert.equal((await token(otherKey)).statusCode, 200);
        assert.equal((await token(otherKey)).statusCode, 429);
        // In that same second, this tenant has all of its own.
        assert.equal((await t.list(Q)).statusCode, 404);
        assert.equal((await t.list(Q)).statusCode, 404);
        assert.equal((await t.list(Q)).statusCode, 429, 'its own per-second limit, the server default');
        for (let i = 0; i < 2; i++) assert.equal((await t.ingest('AccessLog', entry)).statusCode, 201);
        for (let i = 0; i < 2; i++) assert.equal((await token(t.key)).statusCode, 200);
        clock.nextSecond(5);
        assert.equal((await t.list(Q)).statusCode, 200, 'and a day of its own');
        assert.equal((await t.list(Q, otherKey)).statusCode, 429);
        const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
        assert.ok(!metrics.includes(other.id) && !metrics.includes(t.tenantId), 'rejections are counted by kind, never by tenant');
      } finally {
        await t.close();
      }
    });

    for (const [when, stepMs] of [
      ['', 0],
      [' after the clock is put back an hour', -3_600_000],
    ] as const) {
      it(`picks up a tenant limit change within the refresh interval${when}`, async () => {
        const clock = new TestClock();
        const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { readPerSecond: 1, limitsRefreshMs: 200 } });
        try {
          clock.nextSecond(5);
          assert.equal((await t.list(Q)).statusCode, 404);
          if (stepMs === 0) assert.equal((await t.list(Q)).statusCode, 429);
          clock.advance(stepMs);
          await t.store.setTenantLimits(t.tenantId, { readPerSecond: 5 });
          clock.advance(250);
          clock.nextSecond(5);
          const statuses = [];
          for (let i = 0; i < 6; i++) statuses.push((await t.list(Q)).statusCode);
          // Put back, the read before the step counts on into the clock's second (a count never starts afresh on a step back).
          assert.deepEqual(statuses, stepMs === 0 ? [404, 404, 404, 404, 404, 429] : [404, 404, 404, 404, 429, 429]);
        } finally {
          await t.close();
        }
      });
    }
  });
}
