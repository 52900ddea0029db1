/**
 * The PostgreSQL store behind PgBouncer (1.18, without protocol-level prepared statements):
 * in pool_mode=session as it is; in pool_mode=transaction once told so
 * (LOGWARDEN_DATABASE_POOL_MODE=transaction: statements unnamed, key changes heard on the
 * direct URL or not at all), and refused with what to configure when not told; in
 * pool_mode=statement refused whatever it is told. Two stores stand for two server processes.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import type { NewEntry } from '../../src/logs/entry.ts';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres/index.ts';
import { type AccessKeyWatcher, DatabasePoolModeError } from '../../src/store/store.ts';
import { type PgBouncer, startPgBouncer } from '../support/pgbouncer.ts';
import { type PostgresCluster, startPostgres } from '../support/postgres.ts';
import { makeEntry, readAll } from './contract/store.contract.ts';

const { cluster, skip: pgSkip } = await startPostgres();
after(() => cluster?.stop());
const bouncers: Partial<Record<'session' | 'transaction' | 'statement', PgBouncer>> = {};
let skip: string | undefined = pgSkip;
if (cluster) {
  for (const mode of ['session', 'transaction', 'statement'] as const) {
    const started = await startPgBouncer(cluster, mode);
    if (started.skip !== undefined) {
      skip = started.skip;
      break;
    }
    bouncers[mode] = started.bouncer;
  }
}
after(async () => {
  for (const b of Object.values(bouncers)) await b.stop();
});

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5);

/** A fresh migrated database, as reached directly and through the PgBouncer of `mode`. */
async function database(mode: 'session' | 'transaction' | 'statement'): Promise<{ direct: string; pooled: string }> {
  const direct = await (cluster as PostgresCluster).createDatabase({ migrated: true });
  return { direct, pooled: bouncers[mode]!.url(direct) };
}

function batch(tenant: string, n: number, size: number): NewEntry[] {
  return Array.from({ length: size }, (_, i) => makeEntry('AccessLog', T0 + (n * size + i) * 1000, `{"tenant":"${tenant}","n":${n},"i":${i}}`));
}

async function until(what: string, done: () => boolean): Promise<void> {
  const started = performance.now();
  while (!done()) {
    if (performance.now() - started > 15_000) assert.fail(`still waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function recorder(): AccessKeyWatcher & { lives: boolean[]; changes: string[] } {
  const w = {
    lives: [] as boolean[],
    changes: [] as string[],
    live: (l: boolean) => void w.lives.push(l),
    changed: (k: string) => void w.changes.push(k),
  };
  return w;
}

describe('postgres store behind PgBouncer', { skip }, () => {
  const open: PostgresStore[] = [];
  const opened = async (o: PostgresStoreOptions): Promise<PostgresStore> => {
    const s = await openPostgresStore({ noSealer: true, onBackgroundError: (e) => assert.fail(e), ...o });
    open.push(s);
    return s;
  };
  after(async () => {
    for (const s of open) await s.close();
  });

  it('pool_mode=transaction: a store not told so is refused at opening, saying what to set', async () => {
    const { pooled } = await database('transaction');
    await assert.rejects(openPostgresStore({ url: pooled, noSealer: true }), (err: Error) => {
      assert.ok(err instanceof DatabasePoolModeError, String(err));
      assert.match(err.message, /pool_mode=transaction or statement/);
      assert.match(err.message, /set LOGWARDEN_DATABASE_POOL_MODE=transaction/);
      assert.match(err.message, /LOGWARDEN_DATABASE_DIRECT_URL/);
      return true;
    });
  });

  it('pool_mode=transaction: two stores told so append at once, every entry stored once, each tenant reading its own, sealed, purged, reopened', async () => {
    const { pooled } = await database('transaction');
    const a = await opened({ url: pooled, poolMode: 'transaction', sealAgeMs: 0 });
    const b = await opened({ url: pooled, poolMode: 'transaction', sealAgeMs: 0 });
    await a.createTenant({ id: 'one', name: 'One' });
    await b.createTenant({ id: 'two', name: 'Two' });
    const writes: Promise<unknown>[] = [];
    for (let n = 0; n < 20; n++) {
      for (const tenant of ['one', 'two']) writes.push((n % 2 ? a : b).append(tenant, batch(tenant, n, 50)));
    }
    // The same batches again, through the other store: duplicates, nothing stored twice.
    for (let n = 0; n < 20; n += 5) writes.push((n % 2 ? b : a).append('one', batch('one', n, 50)));
    await Promise.all(writes);
    const check = async (s: PostgresStore): Promise<void> => {
      for (const tenant of ['one', 'two']) {
        const got = await readAll(s, { tenantId: tenant, logType: 'AccessLog', fromMs: T0 - DAY, toMs: null }, 300);
        assert.equal(got.total, 1000);
        assert.equal(new Set(got.entries.map((e) => e.body)).size, 1000, `${tenant}: every entry once`);
        assert.ok(
          got.entries.every((e) => e.body.includes(`"tenant":"${tenant}"`)),
          `${tenant}: its own entries only`,
        );
      }
    };
    await check(a);
    await check(b);
    await a.settle();
    await check(b);
    assert.equal(
      (await (cluster as PostgresCluster).query<{ n: number }>(pooled, 'SELECT count(*)::int AS n FROM entries')).rows[0]?.n,
      0,
      'all sealed',
    );
    const receipt = await b.purge('one', 'AccessLog', T0 + 500_000, 10_000);
    assert.equal(receipt.count, 500);
    const log = await a.log('one');
    assert.ok(log && log.checkpoint.size >= 1001, 'the tree holds the entries and the deletion receipt');
    await a.close();
    const reopened = await opened({ url: pooled, poolMode: 'transaction' });
    const got = await readAll(reopened, { tenantId: 'one', logType: 'AccessLog', fromMs: T0 - DAY, toMs: null }, 1000);
    assert.equal(got.entries.length, 500);
  });

  it("pool_mode=transaction: a batch over one chunk reaching a month with no partition attaches it outside its transaction, never holding the tenant's row meanwhile", async () => {
    const { direct, pooled } = await database('transaction');
    const db = cluster as PostgresCluster;
    const a = await opened({ url: pooled, poolMode: 'transaction' });
    await a.createTenant({ id: 'big', name: 'Big' });
    // January has its partition; February none yet.
    await a.append('big', [makeEntry('AccessLog', T0, '{"first":true}')]);
    const feb = Date.UTC(2026, 1, 3);
    // More entries than one chunk of an append (10,000) in January, then some in February.
    const entries = [
      ...Array.from({ length: 10_000 }, (_, i) => makeEntry('AccessLog', T0 + 1000 + i, `{"i":${i}}`)),
      ...Array.from({ length: 20 }, (_, i) => makeEntry('AccessLog', feb + i, `{"feb":${i}}`)),
    ];
    // A session holding DEFAULT keeps February's partition from being attached until it lets go.
    const locker = new pg.Client({ connectionString: direct });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE entries_default IN ACCESS SHARE MODE');
      const lockerPid = (await locker.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const appending = a.append('big', entries);
      let waiting: { n: number; holders: number } | undefined;
      const started = performance.now();
      while (performance.now() - started < 30_000) {
        const r = await db.query<{ n: number; holders: number }>(
          direct,
          `SELECT (SELECT count(*)::int FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock') AS n,
                  (SELECT count(*)::int FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
                   WHERE c.relname = 'entry_seqs' AND l.pid <> $1 AND l.pid <> pg_backend_pid()) AS holders`,
          [lockerPid],
        );
        if (r.rows[0]!.n > 0) {
          waiting = r.rows[0]!;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      assert.ok(waiting, "February's partition is attached (waiting for DEFAULT)");
      assert.equal(waiting.holders, 0, "no transaction holds the tenant's row while the partition is attached");
      await locker.query('ROLLBACK');
      assert.deepEqual(await appending, { accepted: 10_020, duplicates: 0 });
    } finally {
      await locker.end();
    }
    const got = await readAll(a, { tenantId: 'big', logType: 'AccessLog', fromMs: T0 - DAY, toMs: null }, 5_000);
    assert.equal(got.entries.length, 10_021);
    const inDefault = await db.query<{ n: number }>(direct, 'SELECT count(*)::int AS n FROM entries_default');
    assert.equal(inDefault.rows[0]!.n, 0, "February's entries are in its partition");
  });

  it('pool_mode=transaction: key changes are heard on the direct URL; without one, nothing claims to hear them', async () => {
    const { direct, pooled } = await database('transaction');
    const a = await opened({ url: pooled, poolMode: 'transaction' });
    const deaf = await opened({ url: pooled, poolMode: 'transaction' });
    const hearing = await opened({ url: pooled, poolMode: 'transaction', directUrl: direct });
    const unheard = recorder();
    const heard = recorder();
    deaf.watchAccessKeys(unheard);
    hearing.watchAccessKeys(heard);
    await until('the direct connection to listen', () => heard.lives.at(-1) === true);
    await a.createTenant({ id: 'keys', name: 'Keys' });
    await a.createAccessKey({ accessKey: 'LWKEYWATCH01', tenantId: 'keys', secretHash: Buffer.alloc(32), scopes: ['api:logs:read'] });
    assert.equal(await a.revokeAccessKey('LWKEYWATCH01'), true);
    await until('the revocation to be heard', () => heard.changes.filter((k) => k === 'LWKEYWATCH01').length === 2);
    // Not told that changes are heard, the server keeps a lookup LOGWARDEN_AUTH_CACHE_MS at most.
    assert.deepEqual(unheard.lives, []);
    assert.deepEqual(unheard.changes, []);
  });

  it('pool_mode=statement is refused, told transaction or not, naming the modes that work', async () => {
    const { pooled } = await database('statement');
    await assert.rejects(openPostgresStore({ url: pooled, noSealer: true, poolMode: 'transaction' }), (err: Error) => {
      assert.ok(err instanceof DatabasePoolModeError, String(err));
      assert.match(err.message, /pool_mode=statement/);
      assert.match(err.message, /Use pool_mode=transaction with LOGWARDEN_DATABASE_POOL_MODE=transaction, or pool_mode=session/);
      return true;
    });
    await assert.rejects(openPostgresStore({ url: pooled, noSealer: true }), DatabasePoolModeError);
  });

  it('pool_mode=session: a store opens as it does on PostgreSQL itself, and hears key changes', async () => {
    const { pooled } = await database('session');
    const a = await opened({ url: pooled });
    const b = await opened({ url: pooled });
    const heard = recorder();
    b.watchAccessKeys(heard);
    await until('the connection to listen', () => heard.lives.at(-1) === true);
    await a.createTenant({ id: 's', name: 'S' });
    await Promise.all([a.append('s', batch('s', 0, 100)), b.append('s', batch('s', 1, 100))]);
    assert.equal((await readAll(b, { tenantId: 's', logType: 'AccessLog', fromMs: T0 - DAY, toMs: null }, 70)).entries.length, 200);
    await a.createAccessKey({ accessKey: 'LWKEYWATCH02', tenantId: 's', secretHash: Buffer.alloc(32), scopes: ['api:logs:read'] });
    await until('the new key to be heard', () => heard.changes.includes('LWKEYWATCH02'));
  });
});
