/**
 * `logwarden backup` and `logwarden restore` on real SQLite stores and a real server: a backup
 * made while the server ingests over HTTP finishes and holds every entry acknowledged before it
 * began (a server on the restored store answers `GET /v2/logs` with the same bytes), owner-only;
 * it replaces no file without --force. A restore checks the backup before it touches anything,
 * is refused while a server holds the store, keeps the database it replaces, and says when the
 * witness saw more of the log than the backup holds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { type RunningServer, runCli, runCliProcess, startServe } from '../support/cli.ts';
import { UNDO_USES_RECORDED_SINCE } from '../support/sqlite-schema.ts';

interface Key {
  accessKey: string;
  secret: string;
}

const BASE = Date.parse('2026-05-01T00:00:00Z');
const BATCH = 20;
/** Limits the ingest loop and the page reads stay under. */
const LIMITS = { LOGWARDEN_INGEST_PER_SECOND: '1000000', LOGWARDEN_READ_PER_SECOND: '1000' };

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function auth(key: Key): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${key.accessKey}:${key.secret}`).toString('base64')}` };
}

/** Sends entries number `from` to `from + BATCH - 1` (one second apart) and resolves once they are acknowledged. */
async function ingest(url: string, key: Key, from: number): Promise<void> {
  const logEntries = Array.from({ length: BATCH }, (_, i) => ({
    userId: '5120938476102938475',
    eventTime: new Date(BASE + (from + i) * 1000).toISOString(),
    logRecord: { method: 'POST', path: `/calls/${from + i}` },
  }));
  const res = await fetch(`${url}/v2/logs`, {
    method: 'POST',
    headers: { ...auth(key), 'content-type': 'application/json' },
    body: JSON.stringify({ logType: 'AccessLog', logEntries }),
  });
  assert.equal(res.status, 201, await res.text());
  await res.arrayBuffer().catch(() => undefined);
}

/** Every page of AccessLog entries before entry number `count`, cursors followed, request ids and cursors blanked. */
async function pagesBefore(url: string, key: Key, count: number): Promise<string[]> {
  const pages: string[] = [];
  let query: string | undefined =
    `logType=AccessLog&fromDateTime=${new Date(BASE).toISOString()}&toDateTime=${new Date(BASE + count * 1000).toISOString()}&limit=100`;
  while (query !== undefined) {
    const res = await fetch(`${url}/v2/logs?${query}`, { headers: auth(key) });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const cursor = (JSON.parse(body) as { records: { cursor?: string } }).records.cursor;
    pages.push(body.replace(/^\{"requestId":"[^"]*"/, '{"requestId":"-"').replace(cursor ?? '\u0000', '<cursor>'));
    query = cursor === undefined ? undefined : `cursor=${encodeURIComponent(cursor)}`;
  }
  return pages;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('logwarden backup and restore', () => {
  let dir: string;
  let data: string;
  let key: Key;
  let server: RunningServer | undefined;
  /** Entries acknowledged so far (numbered from 0, in batches). */
  let acknowledged = 0;
  /** A backup made while the server ingested, and the entries acknowledged before it began. */
  let early: string;
  let earlyCount = 0;
  /** A copy of that first backup (`early` is made again with --force). */
  let first: string;

  async function stopServer(signal: NodeJS.Signals): Promise<void> {
    server?.child.kill(signal);
    await server?.exited;
    server = undefined;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-backup-'));
    data = join(dir, 'data');
    first = join(dir, 'first.db');
    const tenant = (JSON.parse(await cli(['tenants', 'create', '--name', 'Acme Corp', '--json', '--data-dir', data])) as { id: string }).id;
    key = JSON.parse(await cli(['keys', 'create', '--tenant', tenant, '--scope', 'read', '--scope', 'write', '--json', '--data-dir', data])) as Key;
    server = await startServe(['--data-dir', data, '--port', '0'], LIMITS);
  });

  after(async () => {
    if (server?.child.exitCode === null) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up while the server ingests: every entry acknowledged before it began, in a file only its owner reads', { timeout: 60_000 }, async () => {
    const url = server!.url;
    for (let i = 0; i < 10; i++, acknowledged += BATCH) await ingest(url, key, acknowledged);
    earlyCount = acknowledged;
    early = join(dir, 'early.db');
    // Ingest goes on, batch after batch, until the backup (another process) has finished.
    let backingUp = true;
    let during = 0;
    const loop = (async () => {
      while (backingUp) {
        await ingest(url, key, acknowledged);
        acknowledged += BATCH;
        during++;
      }
    })();
    const r = await runCliProcess(['backup', '--data-dir', data, '--out', early, '--json']).finally(() => (backingUp = false));
    await loop;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(during > 0, 'entries were acknowledged while the backup ran');
    const summary = JSON.parse(r.stdout) as { file: string; entries: number; tenants: { treeSize: number }[] };
    assert.equal(summary.file, early);
    assert.ok(summary.entries >= earlyCount, r.stdout);
    assert.equal(summary.tenants.length, 1);
    assert.equal(r.stderr, '', 'off a terminal (cron), a backup that succeeds says nothing on stderr');
    assert.equal(statSync(early).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).sort(), ['data', 'early.db'], 'no temporary file left beside it');
    for (const name of readdirSync(data)) assert.ok(!name.includes('replaced'), name);

    // A server on the restored store answers the entries acknowledged before the backup with the same bytes.
    const expected = await pagesBefore(url, key, earlyCount);
    assert.equal((JSON.parse(expected[0]!) as { records: { totalRecords: number } }).records.totalRecords, earlyCount);
    const restored = join(dir, 'restored');
    const put = await runCli(['restore', early, '--data-dir', restored, '--json']);
    assert.equal(put.code, 0, put.stderr);
    assert.equal((JSON.parse(put.stdout) as { replaced: string | null }).replaced, null);
    assert.equal(statSync(join(restored, 'logwarden.db')).mode & 0o777, 0o600);
    const second = await startServe(['--data-dir', restored, '--port', '0'], LIMITS);
    try {
      assert.deepEqual(await pagesBefore(second.url, key, earlyCount), expected);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
    rmSync(restored, { recursive: true, force: true });
  });

  it('replaces an existing file only with --force', async () => {
    copyFileSync(early, first);
    const before = sha(early);
    const refused = await runCli(['backup', '--data-dir', data, '--out', early]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /early\.db exists: give another --out, or --force to replace it/);
    assert.equal(sha(early), before);
    const forced = await runCli(['backup', '--data-dir', data, '--out', early, '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stdout,
      /^backed up the store at .* and checked it:\n {2}tenant \d+ \(Acme Corp\): [\d,]+ entries, tree size \d+ root \S+: the tree gives its last signed checkpoint\n1 tenant/,
    );
    assert.notEqual(sha(early), before, 'more entries since');
    assert.equal(statSync(early).mode & 0o777, 0o600);
  });

  it('restore refuses while a server holds the store, and touches nothing', async () => {
    const listing = readdirSync(data).sort();
    const r = await runCli(['restore', early, '--data-dir', data]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /another process \(a server, a command\) has the store open: stop every server and command using it.*nothing was changed/);
    assert.deepEqual(readdirSync(data).sort(), listing);
  });

  it('restore refuses a truncated or damaged backup before it touches anything', async () => {
    // Killed: its write-ahead log stays, holding what it acknowledged since the last checkpoint.
    await stopServer('SIGKILL');
    const listing = readdirSync(data).sort();
    assert.ok(listing.includes('logwarden.db-wal'), listing.join());
    const current = [sha(join(data, 'logwarden.db')), sha(join(data, 'logwarden.db-wal'))];
    const whole = readFileSync(first);
    const truncated = join(dir, 'truncated.db');
    writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length / 2)));
    const damaged = join(dir, 'damaged.db');
    const bytes = Buffer.from(whole);
    bytes.fill(0x5a, 8192, 16384); // two pages of the b-trees overwritten
    writeFileSync(damaged, bytes);
    const text = join(dir, 'text.db');
    writeFileSync(text, 'not a database\n');
    const other = join(dir, 'other.db');
    const db = new Database(other);
    db.exec('CREATE TABLE notes (text TEXT)');
    db.close();
    for (const file of [truncated, damaged, text, other]) {
      const r = await runCli(['restore', file, '--data-dir', data]);
      assert.equal(r.code, 1, `${file}: ${r.stderr}`);
      assert.match(r.stderr, /cannot be restored: .*; nothing was changed/);
      assert.deepEqual(readdirSync(data).sort(), listing);
      assert.deepEqual([sha(join(data, 'logwarden.db')), sha(join(data, 'logwarden.db-wal'))], current);
    }
    assert.match((await runCli(['restore', other, '--data-dir', data])).stderr, /it is an SQLite database, but not a logwarden store/);
    // Into a data directory that does not exist yet: none is left behind.
    const never = join(dir, 'never');
    assert.equal((await runCli(['restore', truncated, '--data-dir', never])).code, 1);
    assert.ok(!existsSync(never));
  });

  it('restore keeps the database it replaces, with what its write-ahead log held, and says when the witness saw more of the log (exit 1, restore done)', async () => {
    const r = await runCli(['restore', first, '--data-dir', data], { now: () => Date.parse('2026-06-01T10:00:00Z') });
    assert.equal(r.code, 1);
    const aside = join(data, 'logwarden.db.replaced-2026-06-01T10-00-00.000Z');
    const names = readdirSync(data);
    assert.ok(names.includes('logwarden.db.replaced-2026-06-01T10-00-00.000Z'), names.join());
    assert.ok(
      !names.includes('logwarden.db-wal') && !names.includes('logwarden.db-shm'),
      `no write-ahead log left beside the restored database: ${names.join()}`,
    );
    assert.ok(readdirSync(data).includes('log-witness.db'), 'the witness stays');
    assert.equal(statSync(join(data, 'logwarden.db')).mode & 0o777, 0o600);
    assert.match(
      r.stdout,
      /^restored .*first\.db into the store at .* \(the database it replaced is kept as .*logwarden\.db\.replaced-2026-06-01T10-00-00\.000Z\)/,
    );
    assert.match(r.stderr, /the backup is restored \(that stays done\), but its verifiable log is behind what servers signed/);
    for (const way of [
      /Put back a newer copy/,
      /a new LOGWARDEN_LOG_ORIGIN_PREFIX/,
      /delete \S+log-witness\.db/,
      /To undo the restore: logwarden restore "\S+logwarden\.db\.replaced-2026-06-01T10-00-00\.000Z" --data-dir "/,
    ]) {
      assert.match(r.stderr, way);
    }
    // The database put aside is the newest backup there is: restored, it holds every entry acknowledged, and the witness agrees.
    const back = await runCli(['restore', aside, '--data-dir', data, '--json'], { now: () => Date.parse('2026-06-01T10:05:00Z') });
    assert.equal(back.code, 0, back.stderr);
    const out = JSON.parse(back.stdout) as { witness: { behind: boolean }; entries: number; replaced: string };
    assert.deepEqual(out.witness, { behind: false });
    assert.equal(out.entries, acknowledged + 2, 'every entry acknowledged, and the admin trail of the tenant and key creation');
    assert.equal(out.replaced, join(data, 'logwarden.db.replaced-2026-06-01T10-05-00.000Z'));
  });

  it('a tenant whose log has signed nothing yet is backed up and checked', async () => {
    const quiet = join(dir, 'quiet');
    const store = openSqliteStore({ dataDir: quiet });
    await store.createTenant({ id: '333333333333333333', name: 'Quiet' });
    await store.close();
    const out = join(dir, 'quiet.db');
    const r = await runCli(['backup', '--data-dir', quiet, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as { entries: number; tenants: { tenantId: string; treeSize: number }[] };
    assert.deepEqual(
      summary.tenants.map((t) => [t.tenantId, t.treeSize]),
      [['333333333333333333', 0]],
    );
    // The database file itself copied (in WAL mode, unlike a backup): restored, with nothing made beside the file given.
    const plain = join(dir, 'plain', 'copy.db');
    mkdirSync(dirname(plain));
    copyFileSync(join(quiet, 'logwarden.db'), plain);
    const put = await runCli(['restore', plain, '--data-dir', join(dir, 'quiet-restored')]);
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(readdirSync(dirname(plain)), ['copy.db']);
  });

  it('a store of an earlier schema is backed up as it is, not upgraded', async () => {
    const oldStore = join(dir, 'old-store');
    const store = openSqliteStore({ dataDir: oldStore });
    await store.createTenant({ id: '444444444444444444', name: 'Old' });
    await store.close();
    const db = new Database(join(oldStore, 'logwarden.db'));
    db.exec(UNDO_USES_RECORDED_SINCE);
    db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    db.close();
    const out = join(dir, 'old-store.db');
    const r = await runCli(['backup', '--data-dir', oldStore, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`a store of schema version ${MIGRATIONS.length - 1}, an earlier logwarden's: SQLite's integrity check passed`));
    for (const file of [join(oldStore, 'logwarden.db'), out]) {
      const check = new Database(file, { readonly: true });
      assert.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length - 1, file);
      check.close();
    }
  });

  it('a backup of an earlier schema is restored and upgraded; one of a newer schema is refused', async () => {
    const older = join(dir, 'older.db');
    copyFileSync(early, older);
    const db = new Database(older);
    db.exec(UNDO_USES_RECORDED_SINCE);
    db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
    db.close();
    const into = join(dir, 'upgraded');
    const r = await runCli(['restore', older, '--data-dir', into]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`a store of schema version ${MIGRATIONS.length - 1}, upgraded to this version's as it was opened`));
    assert.match(r.stderr, new RegExp(`upgraded the store's schema from version ${MIGRATIONS.length - 1} to ${MIGRATIONS.length}`));
    assert.equal((await runCli(['tenants', 'list', '--data-dir', into])).code, 0);

    const newer = join(dir, 'newer.db');
    copyFileSync(early, newer);
    const db2 = new Database(newer);
    db2.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db2.close();
    const refused = await runCli(['restore', newer, '--data-dir', join(dir, 'never')]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      new RegExp(`its schema is version ${MIGRATIONS.length + 1}, newer than this logwarden understands \\(${MIGRATIONS.length}\\)`),
    );
  });

  it('--database-url: backup and restore name PostgreSQL’s own tools (exit 2)', async () => {
    const url = 'postgres://logwarden@127.0.0.1:1/logwarden';
    const backup = await runCli(['backup', '--database-url', url, '--out', join(dir, 'pg.db')]);
    assert.equal(backup.code, 2);
    assert.match(
      backup.stderr,
      /a PostgreSQL store is backed up with pg_dump, e\.g\. pg_dump --format=custom --file=.+\.dump "\$LOGWARDEN_DATABASE_URL"/,
    );
    const restore = await runCli(['restore', early, '--database-url', url]);
    assert.equal(restore.code, 2);
    assert.match(restore.stderr, /pg_restore/);
  });

  it('--help teaches both with examples', async () => {
    const backup = await runCli(['backup', '--help']);
    assert.match(backup.stdout, /15 2 \* \* \* {2}logwarden backup --data-dir/);
    const restore = await runCli(['restore', '--help']);
    assert.match(restore.stdout, /logwarden restore \/backups\/\S+ --data-dir/);
  });
});
