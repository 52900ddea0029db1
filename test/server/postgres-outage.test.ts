/**
 * PostgreSQL misbehaving under a running app: a connection the server ended between two
 * statements of a transaction is an outage (503 with Retry-After, its cause logged), not a 500;
 * while a lock someone else holds keeps every connection of the pool waiting, requests that need
 * one and /readyz are answered 503 after the pool's connect timeout instead of waiting as long;
 * a statement of a request waiting for such a lock is cancelled at the statement timeout (503),
 * while background work waits it out; a statement PostgreSQL does not answer at all (its
 * processes stopped with SIGSTOP) is given up on a little later (503) and its connection closed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { createLogger } from '../../src/server/logger.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { basic, startTestApp } from '../support/app.ts';
import { startPostgres } from '../support/postgres.ts';

const { cluster, skip } = await startPostgres();
after(() => cluster?.stop());

/** A logger writing JSON lines into `lines`. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return createLogger('info', sink);
}

/**
 * What the pg driver throws for a statement sent on a connection that PostgreSQL ended while
 * no statement was under way (pg_terminate_backend between two statements of a transaction).
 */
async function statementOnEndedConnection(url: string): Promise<Error> {
  const client = new pg.Client({ connectionString: url });
  const ended = new Promise<void>((resolve) => client.on('error', () => resolve()));
  await client.connect();
  try {
    const { pid } = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!;
    await cluster!.query(url, 'SELECT pg_terminate_backend($1)', [pid]);
    await ended;
    return await client.query('COMMIT').then(
      () => assert.fail('a statement on an ended connection succeeded'),
      (err: Error) => err,
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/** A session of its own holding tables locked in an open transaction; `end` rolls back what it still holds. */
async function lockingSession(url: string) {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  let open = false;
  return {
    async lock(tables: string): Promise<void> {
      await client.query(`BEGIN; LOCK TABLE ${tables} IN ACCESS EXCLUSIVE MODE`);
      open = true;
    },
    async release(): Promise<void> {
      await client.query('COMMIT');
      open = false;
    },
    async end(): Promise<void> {
      if (open) await client.query('ROLLBACK').catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

describe('PostgreSQL connections lost under a running app', { skip }, () => {
  it('answers 503 with Retry-After when the connection was ended between two statements of an append', async () => {
    const url = await cluster!.createDatabase({ migrated: true });
    const store = await openPostgresStore({ url, poolSize: 2, noSealer: true });
    const lines: Array<Record<string, unknown>> = [];
    const t = await startTestApp({ store, logger: capturingLogger(lines) });
    try {
      const failure = await statementOnEndedConnection(url);
      const original = store.append;
      store.append = async () => {
        throw failure;
      };
      try {
        const r = await t.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { secretPayload: 'do-not-log' } }]);
        assert.equal(r.statusCode, 503, r.body);
        assert.equal(r.headers['retry-after'], '1');
        assert.deepEqual(r.json().errors, ['store unreachable; retry later']);
        const mine = lines.filter((l) => l.requestId === r.json().requestId);
        assert.equal(mine.length, 1);
        assert.deepEqual([mine[0]!.level, mine[0]!.code], [50, 'unavailable']);
        assert.equal((mine[0]!.err as { message: string }).message, failure.message);
        assert.ok(!JSON.stringify(mine).includes('do-not-log'));
      } finally {
        store.append = original;
      }
      const again = await t.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { a: 1 } }]);
      assert.equal(again.statusCode, 201, again.body);
    } finally {
      await t.close();
      await store.close();
      await cluster!.dropDatabase(url);
    }
  });
});

/** Rejects when `p` has not settled within `ms` (the bound of a wait that should end much sooner). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms).unref())]);
}

describe('PostgreSQL holding a lock every connection of the pool waits for', { skip }, () => {
  it('answers 503 with Retry-After, and /readyz 503, after the connect timeout; answers again once the lock is released', async () => {
    const url = await cluster!.createDatabase({ migrated: true });
    // One connection, and a short wait for it.
    const options = { url, poolSize: 1, noSealer: true, connectTimeoutMs: 300 };
    const store = await openPostgresStore(options);
    const t = await startTestApp({ store });
    const locker = await lockingSession(url);
    try {
      const read = () => t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
      assert.equal((await t.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { a: 0 } }])).statusCode, 201);
      assert.equal((await read()).statusCode, 200);

      await locker.lock('entries');
      // The pool's only connection waits for the lock, with this read.
      const blocked = read();
      for (let i = 0; ; i++) {
        const waiting = await cluster!.query(
          url,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'logwarden' AND wait_event_type = 'Lock'",
        );
        if (waiting.rows[0]!.n > 0) break;
        assert.ok(i < 500, 'the read waits for the lock within ten seconds');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }

      const r = await within(read(), 15_000, 'GET /v2/logs');
      assert.equal(r.statusCode, 503, r.body);
      assert.equal(r.headers['retry-after'], '1');
      assert.deepEqual(r.json().errors, ['store unreachable; retry later']);
      const nr = await within(t.inject({ method: 'GET', url: '/readyz' }), 15_000, '/readyz');
      assert.equal(nr.statusCode, 503, nr.body);

      await locker.release();
      assert.equal((await blocked).statusCode, 200);
      assert.equal((await t.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      assert.equal((await read()).statusCode, 200);
    } finally {
      await locker.end();
      await t.close();
      await store.close();
      await cluster!.dropDatabase(url);
    }
  });
});

describe('PostgreSQL holding a lock past the statement timeout', { skip }, () => {
  it('answers reads, ingest and checkpoint reads 503 with Retry-After, logged with the cause; background work waits; a retried ingest is stored once', async () => {
    const url = await cluster!.createDatabase({ migrated: true });
    // Short statements, a sealer that seals at once (run by hand: settle), connections to spare.
    const store = await openPostgresStore({ url, poolSize: 4, noSealer: true, sealAgeMs: 0, statementTimeoutMs: 300 });
    const lines: Array<Record<string, unknown>> = [];
    const t = await startTestApp({ store, logger: capturingLogger(lines) });
    const locker = await lockingSession(url);
    try {
      const read = () => t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
      const checkpoint = () => t.inject({ method: 'GET', url: `/v2/tlog/${t.tenantId}/checkpoint`, headers: { authorization: basic(t.readKey) } });
      const second = [{ eventTime: '2026-01-01T00:00:01Z', logRecord: { a: 1 } }];
      assert.equal((await t.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { a: 0 } }])).statusCode, 201);
      assert.equal((await read()).statusCode, 200);
      assert.equal((await checkpoint()).statusCode, 200);

      await locker.lock('entries, tree_checkpoints');
      // Background work is not bound by the statement timeout: sealing waits for the lock.
      const sealing = store.settle();
      for (const [what, request] of [
        ['GET /v2/logs', read],
        ['POST /v2/logs', () => t.ingest('AccessLog', second)],
        ['GET checkpoint', checkpoint],
      ] as const) {
        const r = await within(request(), 15_000, what);
        assert.equal(r.statusCode, 503, `${what}: ${r.body}`);
        assert.equal(r.headers['retry-after'], '1', what);
        assert.deepEqual(r.json().errors, ['store did not answer in time; retry later'], what);
        const mine = lines.filter((l) => l.requestId === r.json().requestId);
        assert.equal(mine.length, 1, what);
        assert.deepEqual([mine[0]!.level, mine[0]!.code], [50, 'unavailable'], what);
        assert.equal((mine[0]!.err as { code: string }).code, '57014', what);
      }
      assert.equal(await Promise.race([sealing.then(() => 'sealed'), new Promise((r) => setTimeout(r, 1000, 'waiting'))]), 'waiting');

      await locker.release();
      await within(sealing, 15_000, 'sealing');
      // The ingest that timed out left nothing: its retry stores the entry, and a second retry finds it.
      const retried = await t.ingest('AccessLog', second);
      assert.equal(retried.statusCode, 201, retried.body);
      assert.deepEqual([retried.json().accepted, retried.json().duplicates], [1, 0]);
      const again = await t.ingest('AccessLog', second);
      assert.deepEqual([again.json().accepted, again.json().duplicates], [0, 1]);
      const page = await read();
      assert.equal(page.statusCode, 200);
      assert.equal(page.json().records.totalRecords, 2);
      assert.equal((await checkpoint()).statusCode, 200);
    } finally {
      await locker.end();
      await t.close();
      await store.close();
      await cluster!.dropDatabase(url);
    }
  });
});

/** The processes of the cluster behind `url`: its postmaster and every process it started. */
async function clusterPids(url: string): Promise<number[]> {
  const dir = (await cluster!.query<{ setting: string }>(url, "SELECT setting FROM pg_settings WHERE name = 'data_directory'")).rows[0]!.setting;
  const postmaster = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map(Number);
  return [postmaster, ...children];
}

describe('PostgreSQL frozen (SIGSTOP) under a running app', { skip }, () => {
  it('answers 503 within a bound instead of waiting, closes the connection it gave up on, keeps nothing of an ingest so answered, and serves again once PostgreSQL resumes', async () => {
    const url = await cluster!.createDatabase({ migrated: true });
    const store = await openPostgresStore({ url, poolSize: 1, noSealer: true, connectTimeoutMs: 500, statementTimeoutMs: 300 });
    const lines: Array<Record<string, unknown>> = [];
    // Access keys looked up once: an ingest's first statement is then its transaction's.
    const t = await startTestApp({ store, logger: capturingLogger(lines), config: { authCacheMs: 60_000 } });
    let frozen: number[] = [];
    const freeze = (pids: number[]) => {
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      frozen = pids;
    };
    const thaw = () => {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
      frozen = [];
    };
    const openTransactions = async () =>
      (
        await cluster!.query<{ n: number }>(
          url,
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'logwarden' AND state LIKE 'idle in transaction%'",
        )
      ).rows[0]!.n;
    try {
      const read = () => t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
      const second = [{ eventTime: '2026-01-01T00:00:01Z', logRecord: { a: 1 } }];
      const unanswered = (r: Awaited<ReturnType<typeof read>>, what: string) => {
        assert.equal(r.statusCode, 503, `${what}: ${r.body}`);
        assert.equal(r.headers['retry-after'], '1', what);
        assert.deepEqual(r.json().errors, ['store did not answer in time; retry later'], what);
        const mine = lines.filter((l) => l.requestId === r.json().requestId);
        assert.deepEqual([mine.length, mine[0]!.level, (mine[0]!.err as { message: string }).message], [1, 50, 'Query read timeout'], what);
      };
      assert.equal((await t.ingest('AccessLog', [{ eventTime: '2026-01-01T00:00:00Z', logRecord: { a: 0 } }])).statusCode, 201);
      // The pool's one connection is open and idle: the next statement goes to its backend.
      assert.equal((await read()).statusCode, 200);

      // The app's backends frozen, the rest of the server answering: the ingest is given up on,
      // and its connection closed, so the next request gets a new one and is answered at once.
      const backends = await cluster!.query<{ pid: number }>(
        url,
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'logwarden' AND datname = current_database()",
      );
      freeze(backends.rows.map((r) => r.pid));
      unanswered(await within(t.ingest('AccessLog', second), 30_000, 'POST /v2/logs'), 'POST /v2/logs');
      assert.equal((await within(read(), 30_000, 'GET /v2/logs')).statusCode, 200);
      thaw();
      // The transaction of the ingest so answered does not stay open on the server (for the
      // next request given that connection to commit): the connection is gone.
      for (let i = 0; (await within(openTransactions(), 10_000, 'counting open transactions after SIGCONT')) > 0; i++) {
        assert.ok(i < 100, 'no transaction of the app stays open once its backend resumes (looked for ten seconds)');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }

      // All of PostgreSQL frozen, the postmaster too: no new connection is answered either.
      assert.equal((await within(read(), 30_000, 'GET /v2/logs before all of PostgreSQL froze')).statusCode, 200);
      freeze(await within(clusterPids(url), 10_000, "listing the cluster's processes"));
      unanswered(await within(read(), 30_000, 'GET /v2/logs'), 'GET /v2/logs');
      assert.equal((await within(t.ingest('AccessLog', second), 30_000, 'POST /v2/logs')).statusCode, 503);
      assert.equal((await within(t.inject({ method: 'GET', url: '/readyz' }), 30_000, '/readyz')).statusCode, 503);
      thaw();

      assert.equal((await within(t.inject({ method: 'GET', url: '/readyz' }), 30_000, '/readyz after SIGCONT')).statusCode, 200);
      // Nothing of the ingests answered 503 was kept: the retry stores the entry.
      const retried = await within(t.ingest('AccessLog', second), 30_000, 'the retried POST /v2/logs');
      assert.equal(retried.statusCode, 201, retried.body);
      assert.deepEqual([retried.json().accepted, retried.json().duplicates], [1, 0]);
      const after = await within(read(), 30_000, 'GET /v2/logs after the retry');
      assert.equal(after.statusCode, 200, after.body);
      assert.equal(after.json().records.totalRecords, 2);
      assert.equal(await within(openTransactions(), 10_000, 'counting open transactions at the end'), 0);
    } finally {
      thaw();
      // Bounded too: a step that hangs is named, instead of the file timing out.
      await within(t.close(), 30_000, 'closing the app');
      await within(store.close(), 30_000, 'closing the store');
      await within(cluster!.dropDatabase(url), 30_000, 'dropping the database');
    }
  });
});
