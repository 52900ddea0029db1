/**
 * `logwarden copy` moves a store as it is: an SQLite store with two tenants, keys (one revoked),
 * a hold, retention settings, an admin trail, entries of several types and purged ones (leaves
 * without text), served by a real server, is copied into a real PostgreSQL database; a server on
 * the copy then answers `GET /v2/logs` with the same bytes for the same queries (cursors of the
 * source's server go on there), the verifier's state file made against the source's server
 * passes against the copy's, an entry sent again is a duplicate, and a new entry extends the
 * same log. A target that holds anything is refused; SQLite into another data directory works
 * too (the same pages and sequences). The PostgreSQL store is then a source: refused while a
 * server has it open, then copied into a data directory and into another PostgreSQL database,
 * servers on both answering with the same bytes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { recordPurgeRun } from '../../src/admin/purge-trail.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { type RunningServer, runCli, startServe } from '../support/cli.ts';
import { type PostgresStart, startPostgres } from '../support/postgres.ts';

const UNTIL = '2026-06-01';
/** Entries of AccessLog before this are purged in the source: their leaves stay, their texts go. */
const PURGED_BEFORE = Date.parse('2026-05-10T00:00:00Z');

interface Key {
  accessKey: string;
  secret: string;
}

async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function auth(key: Key): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${key.accessKey}:${key.secret}`).toString('base64')}` };
}

/** The raw body of GET /v2/logs, and its cursor (if any). */
async function getPage(url: string, key: Key, query: string): Promise<{ status: number; body: string; cursor: string | undefined }> {
  const res = await fetch(`${url}/v2/logs?${query}`, { headers: auth(key) });
  const body = await res.text();
  const cursor = res.status === 200 ? (JSON.parse(body) as { records: { cursor?: string } }).records.cursor : undefined;
  return { status: res.status, body, cursor };
}

/** A page's body with its request id and cursor (random per response) blanked. */
function blanked(page: { body: string; cursor: string | undefined }): string {
  const body = page.body.replace(/^\{"requestId":"[^"]*"/, '{"requestId":"-"');
  return page.cursor === undefined ? body : body.replace(page.cursor, '<cursor>');
}

/** Every page of a query, cursors followed, blanked. */
async function allPages(url: string, key: Key, query: string): Promise<string[]> {
  const pages: string[] = [];
  let next: string | undefined = query;
  while (next !== undefined) {
    const page = await getPage(url, key, next);
    assert.equal(page.status, 200, `${next}: ${page.body}`);
    pages.push(blanked(page));
    next = page.cursor === undefined ? undefined : `cursor=${encodeURIComponent(page.cursor)}`;
  }
  return pages;
}

const QUERIES = [
  'logType=AccessLog&fromDateTime=2026-05-01T00:00:00Z&limit=97',
  'logType=UserActivityLog&fromDateTime=2026-04-01T00:00:00Z&toDateTime=2026-05-20T00:00:00Z&limit=50',
  'logType=LogwardenAdminLog&fromDateTime=2000-01-01T00:00:00Z',
];

async function ingest(url: string, key: Key, entries: object[]): Promise<{ accepted: number; duplicates: number }> {
  const res = await fetch(`${url}/v2/logs`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify({ logType: 'AccessLog', logEntries: entries }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return JSON.parse(text);
}

describe('logwarden copy', () => {
  let pg: PostgresStart;
  let dir: string;
  let src: string;
  let tenant: string;
  let other: string;
  let key: Key;
  let revoked: Key;
  let verifyEnv: Record<string, string>;
  /** The PostgreSQL database the first case copies the SQLite store into (and then appends to). */
  let moved: string | undefined;
  const servers: RunningServer[] = [];
  const sent = [1, 2, 3].map((i) => ({
    userId: '5120938476102938475',
    eventTime: `2026-05-31T12:00:0${i}.000Z`,
    logRecord: { method: 'GET', path: `/calls/${i}` },
  }));

  async function serve(args: string[]): Promise<RunningServer> {
    const s = await startServe([...args, '--port', '0']);
    servers.push(s);
    return s;
  }

  async function stop(s: RunningServer): Promise<void> {
    s.child.kill('SIGTERM');
    await s.exited;
  }

  before(async () => {
    pg = await startPostgres();
    dir = mkdtempSync(join(tmpdir(), 'logwarden-copy-'));
    src = join(dir, 'sqlite');
    const dataDir = ['--data-dir', src];
    tenant = (JSON.parse(await cli(['tenants', 'create', '--name', 'Acme Corp', '--json', ...dataDir])) as { id: string }).id;
    other = (JSON.parse(await cli(['tenants', 'create', '--name', 'Beta', '--json', ...dataDir])) as { id: string }).id;
    key = JSON.parse(await cli(['keys', 'create', '--tenant', tenant, '--scope', 'read', '--scope', 'write', '--json', ...dataDir])) as Key;
    revoked = JSON.parse(await cli(['keys', 'create', '--tenant', tenant, '--scope', 'read', '--json', ...dataDir])) as Key;
    await cli(['keys', 'revoke', revoked.accessKey, ...dataDir]);
    await cli(['seed', '--tenant', tenant, '--entries', '700', '--days', '60', '--until', UNTIL, ...dataDir]);
    await cli(['seed', '--tenant', other, '--entries', '120', '--days', '10', '--until', UNTIL, '--seed', '7', ...dataDir]);
    await cli(['tenants', 'retention', tenant, '--type', 'UserCallPlay', '--days', '400', ...dataDir]);
    await cli(['tenants', 'retention', tenant, '--days', '3650', ...dataDir]);
    await cli(['tenants', 'limits', tenant, '--per-second', '40', ...dataDir]);
    await cli(['holds', 'create', '--tenant', tenant, '--type', 'UserCallPlay', '--from', '2026-04-01', '--reason', 'Case 7', ...dataDir]);
    // A purge step, as the server's purge makes it: its receipt leaf, then its admin-trail entry.
    const store = openSqliteStore({ dataDir: src });
    try {
      const receipt = await store.purge(tenant, 'AccessLog', PURGED_BEFORE, 1000);
      assert.ok(receipt.count > 0);
      await recordPurgeRun(store, tenant, receipt, Date.now);
    } finally {
      await store.close();
    }
    verifyEnv = {
      LOGWARDEN_ACCESS_KEY: key.accessKey,
      LOGWARDEN_SECRET: key.secret,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_CACHE_HOME: join(dir, 'cache'),
    };
  });

  after(async () => {
    for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await pg.cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('moves an SQLite store into PostgreSQL: same pages and cursors, the same verifiable log, keys and duplicates', async (t) => {
    if (!pg.cluster) return t.skip(pg.skip);
    const url = await pg.cluster.createDatabase();
    moved = url;
    const state = join(dir, 'verify-state.json');

    // The source's server: pages, a cursor to go on with later, the verifier's state, entries sent.
    const source = await serve(['--data-dir', src]);
    const before = [];
    for (const q of QUERIES) before.push(await allPages(source.url, key, q));
    const first = await getPage(source.url, key, QUERIES[0]!);
    const second = await getPage(source.url, key, `cursor=${encodeURIComponent(first.cursor!)}`);
    const sentFirst = await ingest(source.url, key, sent);
    assert.equal(sentFirst.accepted, 3, JSON.stringify(sentFirst));
    await cli(['verify', '--url', source.url, '--tenant', tenant, '--state', state], verifyEnv);
    const afterIngest = await allPages(source.url, key, QUERIES[0]!);
    // While the server has the store open, the copy does not start: the server would go on acknowledging entries it has not got.
    const inUse = await runCli(['copy', '--data-dir', src, '--to-database-url', url]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /another process \(a server, a command\) has the store open: stop every server/);
    await stop(source);

    const copied = await runCli(['copy', '--data-dir', src, '--to-database-url', url]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stdout, new RegExp(`tenant ${tenant} \\(Acme Corp\\): .* equal, last checkpoint verifies`));
    assert.match(copied.stdout, new RegExp(`tenant ${other} \\(Beta\\): `));
    // Kept by month, as appended entries are (retention drops whole months): nothing in DEFAULT.
    const rows = await pg.cluster.query<{ months: string; unpartitioned: string }>(
      url,
      `SELECT (SELECT count(*) FROM pg_inherits WHERE inhparent = 'entries'::regclass) - 1 AS months,
         (SELECT count(*) FROM entries_default) + (SELECT count(*) FROM entry_keys_default) + (SELECT count(*) FROM segments_default) AS unpartitioned`,
    );
    assert.ok(Number(rows.rows[0]!.months) >= 3, rows.rows[0]!.months);
    assert.equal(rows.rows[0]!.unpartitioned, '0');

    // What the commands show of tenants, keys, holds and retention is the same on both stores.
    for (const args of [
      ['tenants', 'list'],
      ['keys', 'list', '--tenant', tenant],
      ['holds', 'list', '--all'],
      ['tenants', 'retention', tenant],
    ]) {
      assert.equal(await cli([...args, '--json', '--database-url', url]), await cli([...args, '--json', '--data-dir', src]), args.join(' '));
    }

    const target = await serve(['--database-url', url]);
    assert.equal((await getPage(target.url, revoked, QUERIES[0]!)).status, 401, 'a revoked key stays revoked');
    // Byte for byte, cursors aside (each encoding is random); the source's cursor goes on here.
    for (const [i, q] of QUERIES.entries()) {
      const pages = await allPages(target.url, key, q);
      assert.ok(isDeepStrictEqual(pages, i === 0 ? afterIngest : before[i]), `${q}: the pages differ`);
    }
    const resumed = await getPage(target.url, key, `cursor=${encodeURIComponent(first.cursor!)}`);
    assert.equal(resumed.status, 200, resumed.body);
    assert.equal(blanked(resumed), blanked(second));
    // The verifier's state from the source's server: the same log, neither forked nor rolled back.
    await cli(['verify', '--url', target.url, '--tenant', tenant, '--state', state], verifyEnv);
    // Sent again: duplicates. A new entry: accepted, and the log the target signs extends the source's.
    const again = await ingest(target.url, key, sent);
    assert.equal(again.duplicates, 3, JSON.stringify(again));
    assert.equal(again.accepted, 0);
    const fresh = await ingest(target.url, key, [{ ...sent[0]!, logRecord: { method: 'POST', path: '/after-the-move' } }]);
    assert.equal(fresh.accepted, 1, JSON.stringify(fresh));
    const verified = await runCli(['verify', '--url', target.url, '--tenant', tenant, '--state', state], { env: verifyEnv });
    assert.equal(verified.code, 0, verified.stderr + verified.stdout);
    await stop(target);

    // The target holds something now: a second copy into it is refused, and leaves it as it was.
    const refused = await runCli(['copy', '--data-dir', src, '--to-database-url', url]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /the target store is not empty \(it already holds tenants\)/);
  });

  it('copies into another data directory, the same pages', async () => {
    const to = join(dir, 'sqlite-copy');
    const copied = await runCli(['copy', '--data-dir', src, '--to-data-dir', to]);
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(copied.stdout, new RegExp(`tenant ${other} \\(Beta\\): .* equal, last checkpoint verifies`));
    const [a, b] = [openSqliteStore({ dataDir: src }), openSqliteStore({ dataDir: to })];
    try {
      for (const logType of ['AccessLog', 'UserActivityLog', 'LogwardenAdminLog']) {
        const query = { tenantId: tenant, logType, fromMs: 0, toMs: null };
        const [pa, pb] = [await a.firstPage(query, 1000), await b.firstPage(query, 1000)];
        assert.ok(pa.total > 0);
        assert.deepEqual([pb.total, pb.watermark, pb.text.toString(), pb.seqs], [pa.total, pa.watermark, pa.text.toString(), pa.seqs]);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('copies a PostgreSQL store into a data directory and into another database: refused while a server has it open; the same pages', async (t) => {
    if (!pg.cluster || !moved) return t.skip(pg.skip ?? 'the move into PostgreSQL did not run');
    const from = moved;
    const source = await serve(['--database-url', from]);
    const pages = [];
    for (const q of QUERIES) pages.push(await allPages(source.url, key, q));
    const toDir = join(dir, 'from-pg');
    const inUse = await runCli(['copy', '--database-url', from, '--to-data-dir', toDir]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /another process \(a server, a command\) has the store open: stop every server/);
    await stop(source);

    const toUrl = await pg.cluster.createDatabase();
    for (const target of [
      ['--to-data-dir', toDir],
      ['--to-database-url', toUrl],
    ]) {
      const copied = await runCli(['copy', '--database-url', from, ...target]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.match(copied.stdout, new RegExp(`tenant ${tenant} \\(Acme Corp\\): .* equal, last checkpoint verifies`));
      assert.match(copied.stdout, new RegExp(`tenant ${other} \\(Beta\\): .* equal, last checkpoint verifies`));
    }
    for (const args of [
      ['--data-dir', toDir],
      ['--database-url', toUrl],
    ]) {
      const copy = await serve(args);
      for (const [i, q] of QUERIES.entries())
        assert.ok(isDeepStrictEqual(await allPages(copy.url, key, q), pages[i]), `${args[0]} ${q}: the pages differ`);
      await stop(copy);
    }
  });

  it('--help says when to use it, and what to do before and after', async () => {
    const r = await runCli(['copy', '--help']);
    assert.equal(r.code, 0);
    for (const words of ['EMPTY', 'Stop every server', 'LOGWARDEN_LOG_SIGNING_SECRET', 'run again', 'Redis', '--to-database-url', '--to-data-dir']) {
      assert.ok(r.stdout.includes(words), words);
    }
  });
});
