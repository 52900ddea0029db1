/**
 * When access keys were last used: a request authenticated with HTTP Basic, a token issued and a
 * Bearer request each mark their key, in memory, written when the recorder flushes (about once
 * a minute, and when the app closes); a failed authentication marks nothing; a failed write
 * fails no request and is retried.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import Database from 'better-sqlite3';
import { KEY_USE_FLUSH_MS, KeyUseRecorder, keyUseWarning } from '../../src/server/key-use.ts';
import { issueAccessKey } from '../../src/service/access-keys.ts';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import { basic, capturedLog, requestToken, startTestApp, type TestApp, TestClock } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

const Q = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' };
const ENTRY = [{ userId: '1', eventTime: '2026-02-01T00:00:00Z', logRecord: {} }];
const iso = (ms: number): string => new Date(ms).toISOString();

for (const kind of await storeKinds()) {
  describe(`when access keys were last used (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    const clock = new TestClock();
    before(async () => {
      t = await startTestApp({ factory: kind.factory, now: clock.now, keyUses: { flushMs: 0 } });
      await t.ingest('AccessLog', ENTRY);
      await t.keyUses!.flush();
    });
    after(async () => t.close());

    const lastUsed = async (accessKey: string) => (await t.store.getAccessKey(accessKey))?.lastUsedAt;

    it('a Basic request marks its key, in memory until the flush; a later one moves the time on', async () => {
      const key = await issueAccessKey(t.store, t.tenantId, ['api:logs:read']);
      const at = clock.ms;
      assert.equal((await t.list(Q, key)).statusCode, 200);
      assert.equal(await lastUsed(key.accessKey), null, 'not written by the request');
      await t.keyUses!.flush();
      assert.equal(await lastUsed(key.accessKey), iso(at));
      clock.advance(90_000);
      assert.equal((await t.list(Q, key)).statusCode, 200);
      clock.advance(5_000);
      assert.equal((await t.list(Q, key)).statusCode, 200);
      await t.keyUses!.flush();
      assert.equal(await lastUsed(key.accessKey), iso(at + 95_000), 'the latest of the uses since the last flush');
    });

    it('getting a token marks its key, and so does each Bearer request with the token', async () => {
      const key = await issueAccessKey(t.store, t.tenantId, ['api:logs:read']);
      const issuedAt = clock.ms;
      const r = await requestToken(t, key, 'grant_type=client_credentials');
      assert.equal(r.statusCode, 200);
      await t.keyUses!.flush();
      assert.equal(await lastUsed(key.accessKey), iso(issuedAt));
      clock.advance(30_000);
      const used = await t.inject({ method: 'GET', url: '/v2/logs', query: Q, headers: { authorization: `Bearer ${r.json().access_token}` } });
      assert.equal(used.statusCode, 200);
      await t.keyUses!.flush();
      assert.equal(await lastUsed(key.accessKey), iso(issuedAt + 30_000));
    });

    it('a failed authentication marks nothing: a wrong secret, a revoked key, a token refused', async () => {
      const key = await issueAccessKey(t.store, t.tenantId, ['api:logs:read']);
      const gone = await issueAccessKey(t.store, t.tenantId, ['api:logs:read']);
      const token = (await requestToken(t, gone, 'grant_type=client_credentials')).json().access_token as string;
      await t.keyUses!.flush();
      const goneUsed = await lastUsed(gone.accessKey);
      await t.store.revokeAccessKey(gone.accessKey);
      clock.advance(60_000);
      assert.equal((await t.list(Q, { ...key, secret: `${key.secret}x` })).statusCode, 401);
      assert.equal((await requestToken(t, key, 'grant_type=client_credentials', basic({ ...key, secret: 'wrong' }))).statusCode, 401);
      assert.equal((await t.list(Q, gone)).statusCode, 401);
      const bearer = await t.inject({ method: 'GET', url: '/v2/logs', query: Q, headers: { authorization: `Bearer ${token}` } });
      assert.equal(bearer.statusCode, 401);
      await t.keyUses!.flush();
      assert.equal(await lastUsed(key.accessKey), null);
      assert.equal(await lastUsed(gone.accessKey), goneUsed, 'a revoked key keeps its last use before the revocation');
    });
  });
}

describe('when access keys were last used: writing', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-key-use-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the app writes the uses once a minute, not before, and what is left when it closes', async (c) => {
    const clock = new TestClock();
    c.mock.timers.enable({ apis: ['setInterval'] });
    const store = openSqliteStore({ dataDir: join(dir, 'minute') });
    try {
      const t = await startTestApp({ store, now: clock.now });
      const lastUsed = async () => (await store.getAccessKey(t.key.accessKey))?.lastUsedAt;
      assert.equal((await t.ingest('AccessLog', ENTRY, t.writeKey)).statusCode, 201);
      const at = clock.ms;
      assert.equal((await t.list(Q)).statusCode, 200);
      c.mock.timers.tick(KEY_USE_FLUSH_MS - 1);
      await turns(20);
      assert.equal(await lastUsed(), null, 'nothing written within the minute');
      c.mock.timers.tick(1);
      for (let i = 0; i < 1000 && (await lastUsed()) === null; i++) await turns(1);
      assert.equal(await lastUsed(), iso(at));

      clock.advance(5_000);
      assert.equal((await t.list(Q)).statusCode, 200);
      assert.equal(await lastUsed(), iso(at));
      // serve closes the app before the store: the last uses are written then.
      await t.app.close();
      assert.equal(await lastUsed(), iso(at + 5_000));
    } finally {
      mock.timers.reset();
      await store.close();
    }
  });

  it('two servers on one store: the later use stays, whichever server writes last', async () => {
    const dataDir = join(dir, 'two');
    const stores = [openSqliteStore({ dataDir }), openSqliteStore({ dataDir })] as const;
    const early = new TestClock();
    const late = new TestClock(early.ms + 90_000);
    const first = await startTestApp({ store: stores[0], now: late.now, keyUses: { flushMs: 0 } });
    const second = await startTestApp({ store: stores[1], now: early.now, keyUses: { flushMs: 0 } });
    try {
      assert.equal((await first.ingest('AccessLog', ENTRY, first.writeKey)).statusCode, 201);
      const key = await issueAccessKey(stores[0], first.tenantId, ['api:logs:read']);
      assert.equal((await first.list(Q, key)).statusCode, 200);
      assert.equal((await second.list(Q, key)).statusCode, 200);
      await first.keyUses!.flush();
      await second.keyUses!.flush();
      for (const store of stores) assert.equal((await store.getAccessKey(key.accessKey))?.lastUsedAt, iso(late.ms));
    } finally {
      await first.app.close();
      await second.app.close();
      for (const store of stores) await store.close();
    }
  });

  it('a write that fails fails no request: one warning line, no secret, and the uses are written at the next flush', async () => {
    const { logger, lines } = capturedLog('info');
    const clock = new TestClock();
    const dataDir = join(dir, 'busy');
    const store = openSqliteStore({ dataDir });
    const t = await startTestApp({ store, now: clock.now, logger, keyUses: { flushMs: 0 } });
    // Another process holds the database's write lock (reads go on: WAL).
    const other = new Database(join(dataDir, DATABASE_FILE));
    try {
      assert.equal((await t.ingest('AccessLog', ENTRY, t.writeKey)).statusCode, 201);
      await t.keyUses!.flush();
      const at = clock.ms;
      other.exec('BEGIN IMMEDIATE');
      assert.equal((await t.list(Q)).statusCode, 200);
      await t.keyUses!.flush();
      const warnings = lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
      assert.equal(warnings.length, 1, lines.join('\n'));
      assert.match(warnings[0]!.msg, /could not record when 1 access key\(s\) were last used; trying again at the next write/);
      assert.ok(!lines.some((l) => l.includes(t.key.secret)), 'no secret in the log');
      other.exec('COMMIT');
      await t.keyUses!.flush();
      assert.equal((await store.getAccessKey(t.key.accessKey))?.lastUsedAt, iso(at));
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await t.app.close();
      await store.close();
    }
  });

  it('the write as the app closes waits for another process holding the store a moment, instead of losing the uses', async () => {
    const dataDir = join(dir, 'held');
    // No seal step of its own meanwhile: it would wait for the lock this thread holds.
    const store = openSqliteStore({ dataDir, sealIntervalMs: 3_600_000 });
    const { logger, lines } = capturedLog('info');
    const other = new Database(join(dataDir, DATABASE_FILE));
    try {
      const key = await issueAccessKey(store, (await store.createTenant({ id: '777777777777777777', name: 'Held' })).id, ['api:logs:read']);
      // The store as the recorder sees it; the other process ends its write once the first try has failed.
      let tries = 0;
      const watched: Pick<Store, 'recordKeyUse'> = {
        async recordKeyUse(uses) {
          tries++;
          try {
            await store.recordKeyUse(uses);
          } finally {
            if (other.inTransaction) other.exec('COMMIT');
          }
        },
      };
      const clock = new TestClock();
      const recorder = new KeyUseRecorder(watched, { now: clock.now, flushMs: 0, warn: keyUseWarning(logger) });
      recorder.note(key.accessKey);
      other.exec('BEGIN IMMEDIATE');
      await recorder.stop();
      assert.equal(tries, 2, 'tried again');
      assert.equal((await store.getAccessKey(key.accessKey))?.lastUsedAt, iso(clock.ms));
      assert.deepEqual(lines, [], 'nothing lost, nothing to warn of');

      // Held throughout: a few tries, then one warning, and the stop ends.
      const later = new KeyUseRecorder(store, { now: clock.now, flushMs: 0, warn: keyUseWarning(logger) });
      clock.advance(1_000);
      later.note(key.accessKey);
      other.exec('BEGIN IMMEDIATE');
      await later.stop();
      other.exec('COMMIT');
      assert.equal((await store.getAccessKey(key.accessKey))?.lastUsedAt, iso(clock.ms - 1_000));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0]!, /could not record when 1 access key\(s\) were last used; stopping, so they stay unrecorded/);
    } finally {
      if (other.inTransaction) other.exec('ROLLBACK');
      other.close();
      await store.close();
    }
  });
});

/** Gives background work `n` turns of the event loop (no wall-clock wait). */
async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
