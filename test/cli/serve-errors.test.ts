/**
 * Start-up failures a person understands: each is one line on stderr naming the place, the
 * cause and what to do, with exit code 1 — never a raw EADDRINUSE/EEXIST or a stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandError } from '../../src/cli/exit-codes.ts';
import { SSLMODE_WARNING } from '../../src/cli/main.ts';
import { explainStartFailure } from '../../src/cli/serve-errors.ts';
import { loadConfig } from '../../src/config.ts';
import { type CliResult, runCli, runCliProcess } from '../support/cli.ts';
import { type PostgresStart, startPostgres } from '../support/postgres.ts';

/** One line, `logwarden: …`, no error code of the system and no stack. */
function assertFriendly(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^logwarden: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\b(EADDRINUSE|EEXIST|ENOTDIR|EACCES|SQLITE_[A-Z_]+)\b|\n\s+at /);
}

/** As assertFriendly, after the start's permission warnings (an operator's directory open to others). */
function assertFriendlyLast(r: CliResult, pattern: RegExp): void {
  const errors = r.stderr
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('logwarden: warning: '))
    .join('\n');
  assertFriendly({ ...r, stderr: errors }, pattern);
}

const root = process.getuid?.() === 0;
const canDropPrivileges = root && spawnSync('runuser', ['-u', 'nobody', '--', 'true']).status === 0;

/** A temporary directory user nobody may write (serve checks it at start-up), as /tmp is. */
let nobodysTmp: string | undefined;
function tmpForNobody(): string {
  if (nobodysTmp === undefined) {
    nobodysTmp = mkdtempSync(join(tmpdir(), 'logwarden-nobody-tmp-'));
    chmodSync(nobodysTmp, 0o1777);
  }
  return nobodysTmp;
}
after(() => nobodysTmp && rmSync(nobodysTmp, { recursive: true, force: true }));

/** Runs `serve` as user nobody (root writes through any mode bits) or as ourselves. */
function runServeAsNobody(args: string[]): Promise<CliResult> {
  return canDropPrivileges
    ? runCliProcess(['serve', ...args], { as: ['runuser', '-u', 'nobody', '--'], env: { TMPDIR: tmpForNobody() } })
    : runCli(['serve', ...args]);
}

describe('serve: start-up errors a person understands', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-start-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a port in use', async () => {
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    const port = (taken.address() as { port: number }).port;
    try {
      const r = await runCli(['serve', '--data-dir', join(dir, 'port'), '--port', String(port)]);
      assertFriendly(r, new RegExp(`127\\.0\\.0\\.1:${port} is taken .*use --port`));
      // Said before the store is touched: no first key was made whose secret this start never printed.
      assert.ok(!existsSync(join(dir, 'port')), 'no data directory was created');
      // Said once, not once by every worker.
      const workers = await runCli(['serve', '--data-dir', join(dir, 'port'), '--port', String(port), '--workers', '3']);
      assertFriendly(workers, new RegExp(`127\\.0\\.0\\.1:${port} is taken .*use --port`));
    } finally {
      taken.close();
    }
  });

  it('a host that is no address of this machine, named as set (flag or environment)', async () => {
    const r = await runCli(['serve', '--data-dir', join(dir, 'host'), '--port', '0'], { env: { LOGWARDEN_HOST: '192.0.2.1' } });
    assertFriendly(r, /the host 192\.0\.2\.1 \(--host or LOGWARDEN_HOST\) is not an address of this machine; use --host 127\.0\.0\.1/);
  });

  it('a log signing secret other than the one the checkpoints were signed with: refused at start, not a 500 on every write', {
    timeout: 60_000,
  }, async () => {
    const data = join(dir, 'resigned');
    const made = await runCli(['tenants', 'create', '--name', 'acme', '--data-dir', data, '--json']);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    // Showing the tenant signs its log's first checkpoint, with the secret kept in the store.
    assert.equal((await runCli(['tenants', 'show', id, '--data-dir', data])).code, 0);
    const r = await runCli(['serve', '--data-dir', data, '--port', '0'], {
      env: { LOGWARDEN_LOG_SIGNING_SECRET: 'another secret of at least 32 bytes!' },
    });
    assertFriendly(
      r,
      new RegExp(`the last checkpoint of logwarden/\\w+/${id} \\(size \\d+\\) does not verify with the log key .*LOGWARDEN_LOG_ORIGIN_PREFIX`),
    );
  });

  it('a data directory that is a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const r = await runCli(['serve', '--data-dir', file, '--port', '0']);
    assertFriendly(r, new RegExp(`the data directory ${file} is a file, not a directory; use --data-dir`));
    const under = await runCli(['serve', '--data-dir', join(file, 'data'), '--port', '0']);
    assertFriendly(under, new RegExp(`cannot create the data directory ${join(file, 'data')}: ${file} is a file; use --data-dir`));
  });

  it('a data directory that cannot be written', async (t) => {
    if (root && !canDropPrivileges) return t.skip('running as root without runuser: mode bits do not stop root');
    const locked = join(dir, 'locked');
    mkdirSync(locked, { mode: 0o755 });
    if (!root) chmodSync(locked, 0o555);
    const r = await runServeAsNobody(['--data-dir', join(locked, 'data'), '--port', '0']);
    assertFriendly(
      r,
      new RegExp(`cannot write to the data directory ${join(locked, 'data')} \\(.*permission denied\\); use --data-dir .*or fix its permissions`),
    );
  });

  it('a store SQLite cannot open, saying which part is wrong', async (t) => {
    // A folder where the database file goes: for any user, root included.
    const folder = join(dir, 'folder-db');
    mkdirSync(join(folder, 'logwarden.db'), { recursive: true, mode: 0o700 });
    chmodSync(folder, 0o700);
    const r = await runCli(['serve', '--data-dir', folder, '--port', '0']);
    assertFriendly(r, new RegExp(`${join(folder, 'logwarden.db')} is a folder, not a database file; move it away, or use --data-dir`));

    if (root && !canDropPrivileges) return t.skip('running as root without runuser: mode bits do not stop root');
    // Others may pass through the test's folder to reach the ones below.
    const open = mkdtempSync(join(tmpdir(), 'logwarden-open-'));
    chmodSync(open, 0o755);
    try {
      // An existing data directory this user may not write in (it is the operator's: left as it is).
      const locked = join(open, 'locked');
      mkdirSync(locked, { mode: 0o755 });
      if (!root) chmodSync(locked, 0o555);
      const a = await runServeAsNobody(['--data-dir', locked, '--port', '0']);
      assertFriendlyLast(
        a,
        new RegExp(
          `cannot write to the data directory ${locked} \\(permission denied: this user may not create files in it\\); use --data-dir .*or fix its permissions`,
        ),
      );

      // A database file in the user's own directory that the user may not read and write.
      const mine = join(open, 'mine');
      mkdirSync(mine, { mode: 0o700 });
      writeFileSync(join(mine, 'logwarden.db'), '', { mode: 0o600 });
      if (root) {
        const uid = Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim());
        chownSync(mine, uid, 0);
      } else {
        chmodSync(join(mine, 'logwarden.db'), 0o000);
      }
      const b = await runServeAsNobody(['--data-dir', mine, '--port', '0']);
      assertFriendlyLast(
        b,
        new RegExp(
          `${join(mine, 'logwarden.db')} cannot be read and written by this user \\(permission denied\\); use --data-dir .*or fix its permissions`,
        ),
      );
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
  });

  it('a data directory on a read-only file system, said as such (systemd ProtectSystem=strict), not as permission denied', async (t) => {
    // A read-only mount in a mount namespace of its own: root only, where unshare is allowed.
    const ro = join(dir, 'read-only');
    mkdirSync(ro);
    const mountRo = ['unshare', '-m', 'sh', '-c', 'mount -t tmpfs -o ro,mode=0700 tmpfs "$0" && exec "$@"', ro];
    if (!root || spawnSync(mountRo[0]!, [...mountRo.slice(1), 'true']).status !== 0)
      return t.skip('needs root and unshare -m to mount a read-only file system');
    const existing = await runCliProcess(['serve', '--data-dir', ro, '--port', '0'], { as: mountRo });
    assertFriendly(
      existing,
      new RegExp(
        `cannot write to the data directory ${ro} \\(read-only file system\\); use --data-dir .*or mount it writable .*ReadWritePaths=${ro}\\)$`,
      ),
    );
    const below = await runCliProcess(['serve', '--data-dir', join(ro, 'data'), '--port', '0'], { as: mountRo });
    assertFriendly(
      below,
      new RegExp(`cannot create the data directory ${join(ro, 'data')} \\(${ro}: read-only file system\\); .*or mount it writable`),
    );
  });

  it('a temporary directory (TMPDIR) that is missing or is a file, said at start-up rather than as a 500 to a large ingest', async () => {
    const file = join(dir, 'tmp-file');
    writeFileSync(file, '');
    for (const [tmp, cause] of [
      [join(dir, 'no-such-tmp'), 'no such file or directory'],
      [file, 'a part of the path is a file'],
    ] as const) {
      const data = join(dir, 'tmpdir-data');
      // A process of its own: os.tmpdir() reads the process's real environment.
      const r = await runCliProcess(['serve', '--data-dir', data, '--port', '0'], { env: { TMPDIR: tmp } });
      assertFriendly(
        r,
        new RegExp(
          `cannot write to the temporary directory ${tmp} \\(TMPDIR; ${cause}\\), where large NDJSON ingests spool; set TMPDIR to a directory`,
        ),
      );
      assert.ok(!existsSync(data), 'said before the store is touched');
    }
  });

  it('a database file that is not a database', async () => {
    const data = join(dir, 'garbage');
    // Owner-only, as logwarden makes them: the permission warnings are another test's subject.
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, 'logwarden.db'), 'this is not an SQLite database '.repeat(200), { mode: 0o600 });
    const r = await runCli(['serve', '--data-dir', data, '--port', '0']);
    assertFriendly(r, new RegExp(`${join(data, 'logwarden.db')} is not a readable logwarden database .*restore it from a backup, or move it away`));
  });

  it('a log-witness.db that is not a database is named as such, never logwarden.db, which is not at fault', async () => {
    const data = join(dir, 'bad-witness');
    mkdirSync(data, { mode: 0o700 });
    writeFileSync(join(data, 'log-witness.db'), 'this is not an SQLite database '.repeat(200), { mode: 0o600 });
    const r = await runCli(['serve', '--data-dir', data, '--port', '0']);
    assertFriendly(
      r,
      new RegExp(
        `${join(data, 'log-witness.db')} \\(the record of the checkpoints signed.*\\) is not an SQLite file; the store itself is not at fault\\. ` +
          'Put back a copy of it made while no server ran, or move it away: the next start makes a new one',
      ),
    );
    assert.doesNotMatch(r.stderr, /logwarden\.db\b/);
  });

  it('a full disk at start-up, said as such for the file SQLite could not grow, not as "disk I/O error"', async (t) => {
    // A small file system of its own, in a mount namespace: root only, where unshare is allowed.
    const small = join(dir, 'small-disk');
    mkdirSync(small);
    const fill =
      'mount -t tmpfs -o size=4m,mode=0700 tmpfs "$0" && cp -a "$1/." "$0/" && shift && { dd if=/dev/zero of="$0/filler" bs=64k 2>/dev/null; exec "$@"; }';
    if (!root || spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs tmpfs "$0"', small]).status !== 0)
      return t.skip('needs root and unshare -m to mount a small file system');
    // A store made, closed cleanly (no -wal, no -shm left), then opened on a full disk.
    const store = join(dir, 'store-to-fill');
    const made = await runCli(['tenants', 'create', '--name', 'full', '--data-dir', store]);
    assert.equal(made.code, 0, made.stderr);
    const r = await runCliProcess(['serve', '--data-dir', small, '--port', '0'], { as: ['unshare', '-m', 'sh', '-c', fill, small, store] });
    assertFriendlyLast(r, new RegExp(`the disk holding ${join(small, 'logwarden.db')} is full; free some space or use --data-dir`));
  });

  it('a Redis URL that leads nowhere, said once before the store is touched, without its password', async () => {
    const data = join(dir, 'redis');
    const url = 'redis://:redis-pw-71c@127.0.0.1:1';
    for (const [workers, how] of [
      ['1', { env: { LOGWARDEN_REDIS_URL: url } }],
      ['2', { flags: ['--redis-url', url] }],
    ] as const) {
      const r = await runCli(['serve', '--data-dir', data, '--port', '0', '--workers', workers, ...('flags' in how ? how.flags : [])], {
        env: 'env' in how ? how.env : {},
      });
      assertFriendly(
        r,
        /cannot use Redis at 127\.0\.0\.1:1 for the shared rate limits \(connection refused\); start it, or check --redis-url \(LOGWARDEN_REDIS_URL\)/,
      );
      assert.ok(!r.stderr.includes('redis-pw-71c'));
    }
    // Another service on the port (here one that answers like HTTP): said so, not a protocol error to report.
    const http = createServer((socket) => socket.on('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const port = (http.address() as AddressInfo).port;
      const r = await runCli(['serve', '--data-dir', data, '--port', '0', '--redis-url', `redis://127.0.0.1:${port}`]);
      assertFriendly(
        r,
        new RegExp(
          `cannot use Redis at 127\\.0\\.0\\.1:${port} for the shared rate limits \\(it does not answer as Redis: another service on that port\\?\\)`,
        ),
      );
    } finally {
      http.close();
    }
    assert.ok(!existsSync(data), 'no data directory was created');
  });

  it('a flag given an empty value is a usage error, not every interface or the working directory', async () => {
    for (const flag of ['--host', '--data-dir', '--redis-url', '--log-level', '--database-url']) {
      const r = await runCli(['serve', '--port', '0', flag, ''], { env: { LOGWARDEN_DATABASE_URL: 'postgres://127.0.0.1:1/x' } });
      assert.equal(r.code, 2, `${flag}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${flag} needs a value \\(it was given as ""\\)`));
      assert.doesNotMatch(r.stderr, /listening/);
    }
  });

  it('a Redis URL whose port or database is no number, named as given', async () => {
    const r = await runCli(['serve', '--port', '0'], { env: { LOGWARDEN_REDIS_URL: 'redis://127.0.0.1:42421/abc' } });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /LOGWARDEN_REDIS_URL names the database "abc": the database must be a whole number from 0/);
    const port = await runCli(['serve', '--port', '0', '--redis-url', 'redis://127.0.0.1:abc']);
    assert.equal(port.code, 2, port.stderr);
    assert.match(port.stderr, /--redis-url is not a valid URL/);
  });

  it('a PostgreSQL URL that leads nowhere, without repeating its password', async () => {
    const r = await runCli(['serve', '--database-url', 'postgres://someone:hunter2-pw@127.0.0.1:1/logwarden', '--port', '0']);
    assertFriendly(r, /no PostgreSQL server answers at 127\.0\.0\.1:1 \(connection refused\); start it, or check --database-url/);
    assert.ok(!r.stderr.includes('hunter2'));
    const bad = await runCli(['serve', '--database-url', 'mysql://x@y/z', '--port', '0']);
    assert.equal(bad.code, 2, 'a URL of the wrong kind is a usage error');
    assert.match(bad.stderr, /--database-url must start with postgres:\/\//);
  });
});

describe('serve: a PostgreSQL server that refuses', () => {
  let pg: PostgresStart;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg.cluster?.stop());

  it('names a database that does not exist, and a user it does not know', async (t) => {
    if (!pg.cluster) return t.skip(pg.skip);
    const at = `127.0.0.1:${pg.cluster.port}`;
    const noDb = await runCli(['serve', '--database-url', `postgres://postgres@${at}/no_such_db`, '--port', '0']);
    assertFriendly(noDb, new RegExp(`the database named in the database URL does not exist on ${at.replace(/\./g, '\\.')}; create it`));
    const noUser = await runCli(['serve', '--database-url', `postgres://nobody_here:pw-9f3@${at}/postgres`, '--port', '0']);
    assertFriendly(noUser, /refused the user name or password of the database URL; check --database-url/);
    assert.ok(!noUser.stderr.includes('pw-9f3'));
  });
});

describe('serve: a PostgreSQL certificate that does not verify', () => {
  const config = loadConfig({ databaseUrl: 'postgres://lw:pw-5e1@db.example:5433/lw?sslmode=require' }, {});
  const tlsError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('says in one line that the certificate could not be verified, and the three ways on', () => {
    for (const [code, message, cause] of [
      ['DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate', 'self-signed certificate'],
      ['SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain', 'signed by a CA this machine does not trust'],
      ['CERT_HAS_EXPIRED', 'certificate has expired', 'expired'],
    ] as const) {
      const err = explainStartFailure(tlsError(code, message), config);
      assert.ok(err instanceof CommandError, code);
      assert.equal(
        err.message,
        `the TLS certificate of the PostgreSQL server at db.example:5433 could not be verified (${cause}); ` +
          'give the CA that signed it with sslrootcert=<CA file> in the database URL, or sslmode=no-verify to encrypt without verifying ' +
          "(uselibpqcompat=true&sslmode=require: libpq's meaning of require); check --database-url (or LOGWARDEN_DATABASE_URL)",
      );
      assert.ok(!err.message.includes('pw-5e1'));
    }
  });

  it("says pg's 11-line SECURITY WARNING about sslmode=require in one line", async () => {
    // A process of its own: the warning is pg's, once per process, through process.emitWarning.
    const r = await runCliProcess(['serve', '--port', '0', '--database-url', 'postgres://lw@127.0.0.1:1/lw?sslmode=require']);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.split('\n').filter(Boolean);
    assert.deepEqual(lines, [
      `logwarden: warning: ${SSLMODE_WARNING}`,
      'logwarden: no PostgreSQL server answers at 127.0.0.1:1 (connection refused); start it, or check --database-url (or LOGWARDEN_DATABASE_URL)',
    ]);
  });
});
