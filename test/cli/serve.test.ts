import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { DEFAULT_DEMO_DAYS, DEFAULT_DEMO_ENTRIES, generateSteadyDemoEntries } from '../../src/demo/demo-data.ts';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT, runCli, startServe } from '../support/cli.ts';
import { leftByFirstStart } from '../support/first-start.ts';
import { storedAccessLogs } from '../support/stores.ts';

/** The first key's secret a start off a terminal leaves in its data directory. */
function firstSecret(dataDir: string): string | undefined {
  return /^secret:\s+(\S+)$/m.exec(readFileSync(join(dataDir, 'first-access-key'), 'utf8'))?.[1];
}

const hasCurl = spawnSync('curl', ['--version']).status === 0;

describe('logwarden serve', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-serve-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bootstraps an empty store, prints working credentials and curl lines once, and stops on SIGTERM', async () => {
    const server = await startServe(['--data-dir', dir, '--port', '0']);
    const err = server.stderr();
    const key = /access key: (\S+)/.exec(err)?.[1];
    // Standard error is a pipe here, not a terminal: the secret is in a file only its owner reads, never on stderr.
    const file = join(dir, 'first-access-key');
    assert.match(
      err,
      new RegExp(`Its secret is not printed: standard error is not a terminal.*\\nIt is in ${file} \\(readable by its owner only\\)`),
    );
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const secret = firstSecret(dir);
    assert.ok(key && secret, err);
    assert.ok(!err.includes(secret), 'the secret is not on stderr');
    const curlLines = err.split('\n').filter((l) => l.trim().startsWith('curl'));
    assert.equal(curlLines.length, 2);
    const writeCmd = err
      .slice(err.indexOf('Write an entry:\n') + 16, err.indexOf('Read entries:'))
      .replace(/\\\n/g, ' ')
      .trim();
    const readCmd = curlLines[1]!.trim();
    const consoleUrl = /Browse them in the console.*\n\s+(http:\S+)/.exec(err)?.[1];
    assert.equal(consoleUrl, `${server.url}/console`, err);
    assert.equal((await fetch(consoleUrl)).status, 200);
    if (hasCurl) {
      const wrote = JSON.parse(execFileSync('sh', ['-c', writeCmd + ' -s'], { encoding: 'utf8' }));
      assert.equal(wrote.accepted, 1);
      const page = JSON.parse(execFileSync('sh', ['-c', readCmd + ' -s'], { encoding: 'utf8' }));
      assert.equal(page.records.totalRecords, 1);
    } else {
      // Same request as the printed read line, without curl.
      const url = /'(http:[^']+)'/.exec(readCmd)![1]!;
      const r = await fetch(url, { headers: { authorization: 'Basic ' + Buffer.from(`${key}:${secret}`).toString('base64') } });
      assert.equal(r.status, 404, 'authenticated; the store is empty');
      console.log('# curl not installed: ran the printed read request with fetch instead');
    }
    assert.ok(!server.stdout().includes(secret), 'the secret is never in the structured log');
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);

    const again = await startServe(['--data-dir', dir, '--port', '0']);
    assert.ok(!again.stderr().includes('access key:'), 'credentials are printed only on the first start');
    // Instead it says how to get a new key; the printed command works as shown.
    const hint = /Lost a secret\? Make a new key: logwarden (keys create .*)/.exec(again.stderr());
    assert.ok(hint, again.stderr());
    const created = await runCli(hint[1]!.split(' '));
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /secret/i);
    const r = await fetch(`${again.url}/v2/logs?logType=AccessLog&fromDateTime=2000-01-01T00:00:00Z`, {
      headers: { authorization: 'Basic ' + Buffer.from(`${key}:${secret}`).toString('base64') },
    });
    assert.equal(r.status, hasCurl ? 200 : 404);
    again.child.kill('SIGINT');
    assert.equal(await again.exited, 0);
  });

  it('finishes a first start that stopped before it made its key (e.g. while demo data loaded): the next start makes and prints it', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'logwarden-serve-half-'));
    try {
      // What a first start leaves when stopped before its key: the default tenant, its id
      // recorded before it was made, no key.
      const store = openSqliteStore({ dataDir: fresh });
      await leftByFirstStart(store, '424242424242424242');
      await store.close();
      const server = await startServe(['--data-dir', fresh, '--port', '0']);
      const err = server.stderr();
      const key = /access key: (\S+)/.exec(err)?.[1];
      const secret = firstSecret(fresh);
      assert.ok(key && secret, err);
      const r = await fetch(`${server.url}/v2/logs?logType=AccessLog&fromDateTime=2000-01-01T00:00:00Z`, {
        headers: { authorization: 'Basic ' + Buffer.from(`${key}:${secret}`).toString('base64') },
      });
      assert.equal(r.status, 404, 'the printed key reads the default tenant (empty)');
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      // A tenant the operator made (another name) is not given a key by the server.
      const other = mkdtempSync(join(tmpdir(), 'logwarden-serve-own-'));
      try {
        const own = openSqliteStore({ dataDir: other });
        await own.createTenant({ id: '434343434343434343', name: 'acme' });
        await own.close();
        const s2 = await startServe(['--data-dir', other, '--port', '0']);
        assert.ok(!s2.stderr().includes('access key:'), s2.stderr());
        s2.child.kill('SIGTERM');
        assert.equal(await s2.exited, 0);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('uses preset bootstrap credentials, and finishes an in-flight ingest before stopping on SIGTERM', async () => {
    const d = mkdtempSync(join(tmpdir(), 'logwarden-serve-'));
    const accessKey = 'ci-bootstrap-key';
    const secret = 'a'.repeat(20) + 'b'.repeat(20);
    const server = await startServe(['--data-dir', d, '--port', '0'], {
      LOGWARDEN_BOOTSTRAP_ACCESS_KEY: accessKey,
      LOGWARDEN_BOOTSTRAP_SECRET: secret,
      LOGWARDEN_LOG_LEVEL: 'silent',
    });
    try {
      assert.ok(!server.stderr().includes(secret), 'a preset secret is not printed');
      const auth = 'Basic ' + Buffer.from(`${accessKey}:${secret}`).toString('base64');
      const { hostname, port } = new URL(server.url);
      // Start a streamed NDJSON ingest, signal the server mid-request, then finish the body.
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            hostname,
            port,
            agent: false,
            method: 'POST',
            path: '/v2/logs',
            headers: { authorization: auth, 'content-type': 'application/x-ndjson' },
          },
          (res) => {
            let body = '';
            res.on('data', (c) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on('error', reject);
        req.write('{"logType":"AccessLog","eventTime":"2026-01-01T00:00:00Z","logRecord":{"n":1}}\n');
        setTimeout(() => {
          server.child.kill('SIGTERM');
          setTimeout(() => req.end('{"logType":"AccessLog","eventTime":"2026-01-01T00:00:01Z","logRecord":{"n":2}}\n'), 300);
        }, 200);
      });
      const res = await response;
      assert.equal(res.status, 201, res.body);
      assert.equal(JSON.parse(res.body).accepted, 2);
      assert.equal(await server.exited, 0);
      const again = await startServe(['--data-dir', d, '--port', '0']);
      const page = await fetch(`${again.url}/v2/logs?logType=AccessLog&fromDateTime=2000-01-01T00:00:00Z`, { headers: { authorization: auth } });
      assert.equal(((await page.json()) as { records: { totalRecords: number } }).records.totalRecords, 2);
      again.child.kill('SIGTERM');
      await again.exited;
    } finally {
      server.child.kill('SIGKILL');
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('--demo loads realistic data of all five types over the last 30 days, so a first query returns entries', async () => {
    const d = mkdtempSync(join(tmpdir(), 'logwarden-demo-'));
    const startedAt = Date.now();
    const server = await startServe(['--data-dir', d, '--port', '0', '--demo'], { LOGWARDEN_READ_PER_SECOND: '100' });
    try {
      assert.match(server.stderr(), /demo data for tenant \d+: \d+ entries stored/);
      const key = /access key: (\S+)/.exec(server.stderr())![1]!;
      const secret = firstSecret(d);
      const auth = 'Basic ' + Buffer.from(`${key}:${secret}`).toString('base64');
      const from = new Date(Date.now() - 30 * 86_400_000).toISOString();
      for (const type of ['AccessLog', 'UserActivityLog', 'UserCallPlay', 'ExternallySharedCallAccess', 'ExternallySharedCallPlay']) {
        const r = await fetch(`${server.url}/v2/logs?logType=${type}&fromDateTime=${from}`, { headers: { authorization: auth } });
        assert.equal(r.status, 200, type);
        const page = (await r.json()) as { records: { totalRecords: number }; logEntries: unknown[] };
        assert.ok(page.records.totalRecords > 0 && page.logEntries.length > 0, type);
      }
      // The data reaches the present: the newest AccessLog entry the generator makes before the
      // start is served. (Not simply "an entry in the last hour": on a quiet night the demo
      // company's sessions can be more than an hour apart.)
      let newest = 0;
      const perDay = DEFAULT_DEMO_ENTRIES / DEFAULT_DEMO_DAYS;
      for (const e of generateSteadyDemoEntries({ fromMs: startedAt - 86_400_000, toMs: startedAt, perDay })) {
        if (e.logType === 'AccessLog') newest = e.eventTimeMs;
      }
      assert.ok(newest > startedAt - 86_400_000, 'an AccessLog entry in the last day');
      const recent = await fetch(`${server.url}/v2/logs?logType=AccessLog&fromDateTime=${new Date(newest).toISOString()}`, {
        headers: { authorization: auth },
      });
      assert.equal(recent.status, 200, 'the newest entries before the start');
      const times = ((await recent.json()) as { logEntries: Array<{ eventTime: string }> }).logEntries.map((e) => Date.parse(e.eventTime));
      assert.ok(times.includes(newest), `${new Date(newest).toISOString()} among ${times.map((t) => new Date(t).toISOString()).join(', ')}`);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      rmSync(d, { recursive: true, force: true });
    }
  });

  it("--demo --gong-retention gives the demo tenant Gong's retention (AccessLog 14 days), says so, records it once, and never overrides an operator's own setting", async () => {
    const d = mkdtempSync(join(tmpdir(), 'logwarden-demo-gong-'));
    const args = ['--data-dir', d, '--port', '0', '--demo', '--gong-retention'];
    const startedAt = Date.now();
    const server = await startServe(args, { LOGWARDEN_READ_PER_SECOND: '1000' });
    try {
      const tenant = /demo data for tenant (\d+)/.exec(server.stderr())![1]!;
      assert.match(server.stderr(), new RegExp(`demo tenant ${tenant} keeps Gong's published retention \\(--gong-retention\\): AccessLog 14 days;`));
      const key = /access key: (\S+)/.exec(server.stderr())![1]!;
      const secret = firstSecret(d);
      const auth = { authorization: 'Basic ' + Buffer.from(`${key}:${secret}`).toString('base64') };
      const get = async (query: string) => {
        const r = await fetch(`${server.url}/v2/logs?${query}`, { headers: auth });
        return {
          status: r.status,
          body: (await r.json()) as {
            records: { totalRecords: number };
            logEntries: Array<{ eventTime: string; logRecord: Record<string, unknown> }>;
          },
        };
      };
      const month = new Date(startedAt - 30 * 86_400_000).toISOString();
      const access = await get(`logType=AccessLog&fromDateTime=${month}&limit=1`);
      assert.equal(access.status, 200);
      assert.ok(Date.parse(access.body.logEntries[0]!.eventTime) >= startedAt - 14 * 86_400_000 - 60_000, access.body.logEntries[0]!.eventTime);
      // The other types keep their 30 days.
      const older = await get(`logType=UserActivityLog&fromDateTime=${month}&toDateTime=${new Date(startedAt - 20 * 86_400_000).toISOString()}`);
      assert.equal(older.status, 200);
      const trail = async () => (await get('logType=LogwardenAdminLog&fromDateTime=2000-01-01T00:00:00Z')).body.logEntries.map((e) => e.logRecord);
      const acts = (await trail()).filter((r) => r.action === 'retention.changed');
      assert.deepEqual(
        acts.map((r) => [r.actor, r.target, r.before, r.after]),
        [[{ kind: 'server' }, { logType: 'AccessLog' }, null, { days: 14 }]],
      );
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      const shown = await runCli(['tenants', 'retention', tenant, '--json', '--data-dir', d]);
      assert.deepEqual(JSON.parse(shown.stdout).types[0], { logType: 'AccessLog', days: 14, effectiveDays: 14, from: 'type' });

      // An operator keeps AccessLog forever: a restart sets nothing again and says so.
      const forever = await runCli(['tenants', 'retention', tenant, '--type', 'AccessLog', '--forever', '--data-dir', d]);
      assert.equal(forever.code, 0, forever.stderr);
      const again = await startServe(args, { LOGWARDEN_READ_PER_SECOND: '1000' });
      try {
        // The same demo store started again: its demo tenant is loaded again (what is already there is not stored twice).
        const loaded = new RegExp(`demo data for tenant ${tenant}: \\d+ (entry|entries) stored \\((\\d+) already there\\)`).exec(again.stderr());
        assert.ok(loaded && Number(loaded[2]) > 0, again.stderr());
        const r = await fetch(`${again.url}/v2/logs?logType=LogwardenAdminLog&fromDateTime=2000-01-01T00:00:00Z`, { headers: auth });
        const records = ((await r.json()) as { logEntries: Array<{ logRecord: { action: string; actor: { kind: string } } }> }).logEntries.map(
          (e) => e.logRecord,
        );
        assert.equal(records.filter((a) => a.action === 'tenant.demo').length, 1, 'the tenant was marked once, at its first start');
        assert.deepEqual(
          records.filter((a) => a.action === 'retention.changed').map((a) => a.actor.kind),
          ['server', 'cli'],
        );
        assert.doesNotMatch(again.stderr(), /keeps Gong's published retention/);
        assert.match(again.stderr(), new RegExp(`AccessLog of demo tenant ${tenant} keeps its own retention \\(forever\\), not Gong's`));
        const shownAgain = await runCli(['tenants', 'retention', tenant, '--json', '--data-dir', d]);
        assert.deepEqual(JSON.parse(shownAgain.stdout).types[0], { logType: 'AccessLog', days: 'forever', effectiveDays: 'forever', from: 'type' });
      } finally {
        again.child.kill('SIGTERM');
        await again.exited;
      }
    } finally {
      server.child.kill('SIGKILL');
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('npm start: SIGTERM to npm (as a service manager sends it) stops the server too, leaving no process behind', { timeout: 60_000 }, async () => {
    const data = mkdtempSync(join(tmpdir(), 'logwarden-npm-start-'));
    try {
      const npm = spawn('npm', ['start', '--', '--port', '0', '--data-dir', data], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<void>((resolve) => npm.on('close', () => resolve()));
      let err = '';
      await new Promise<void>((resolve, reject) => {
        npm.stderr.on('data', (d) => {
          err += d;
          if (/listening on http/.test(err)) resolve();
        });
        npm.on('close', () => reject(new Error(`npm start ended before listening: ${err}`)));
      });
      npm.kill('SIGTERM');
      await exited;
      const left = () => spawnSync('pgrep', ['-f', data], { encoding: 'utf8' }).stdout.trim();
      for (const end = Date.now() + 15_000; left() !== '' && Date.now() < end; ) await sleep(100);
      assert.equal(left(), '', 'the server process ended with npm');
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('with --workers, says each start-up warning once (the primary), not once per process', { timeout: 60_000 }, async () => {
    const data = join(dir, 'workers-warnings');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    const server = await startServe(['--data-dir', data, '--port', '0', '--workers', '2'], { LOGWARDEN_PORTT: '1' });
    try {
      await sleep(500);
      const err = server.stderr();
      assert.equal(err.match(/warning: LOGWARDEN_PORTT is not a logwarden setting/g)?.length, 1, err);
      assert.equal(err.match(/warning: the data directory .* is open to other users/g)?.length, 1, err);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('warns when the environment names two stores and no flag chooses: the PostgreSQL one is used', async () => {
    const env = { LOGWARDEN_DATA_DIR: join(dir, 'both'), LOGWARDEN_DATABASE_URL: 'postgres://someone@127.0.0.1:1/logwarden' };
    const r = await runCli(['serve', '--port', '0'], { env });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^logwarden: warning: LOGWARDEN_DATA_DIR and LOGWARDEN_DATABASE_URL are both set: the PostgreSQL store of LOGWARDEN_DATABASE_URL is used and LOGWARDEN_DATA_DIR is ignored/,
    );
    assert.match(r.stderr, /no PostgreSQL server answers at 127\.0\.0\.1:1/);
    // A flag chooses: nothing to warn about.
    const chosen = await runCli(['serve', '--port', '0', '--database-url', env.LOGWARDEN_DATABASE_URL], { env });
    assert.doesNotMatch(chosen.stderr, /warning/);
    // Every command that touches the store says it, once.
    for (const args of [
      ['tenants', 'list'],
      ['keys', 'list', '--tenant', '1'],
      ['seed', '--tenant', '1', '--entries', '1'],
    ]) {
      const admin = await runCli(args, { env });
      assert.equal(admin.code, 1, admin.stderr);
      assert.equal(admin.stderr.match(/warning: LOGWARDEN_DATA_DIR and LOGWARDEN_DATABASE_URL are both set/g)?.length, 1, admin.stderr);
    }
  });

  it('refuses --demo on a store whose tenant is not a demo tenant (exit 2, one paragraph), writing nothing', async () => {
    const data = join(dir, 'real-store');
    const store = openSqliteStore({ dataDir: data });
    await store.createTenant({ id: '616161616161616161', name: 'default' });
    await store.append('616161616161616161', [makeEntry('AccessLog', Date.now() - 20 * 86_400_000, '{"real":1}')]);
    await store.close();
    // A child process, stopped if it starts serving after all (it would not return).
    const r = spawnSync(process.execPath, [...CLI_ARGS, 'serve', '--demo', '--gong-retention', '--data-dir', data, '--port', '0'], {
      cwd: ROOT,
      env: cleanEnv(),
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^logwarden: --demo refused: the store in ${data} holds data and its tenant 616161616161616161 \\('default'\\) is not a demo tenant\\. .*` +
          'Nothing was written\\. To try the demo, give it a store of its own: a new --data-dir .*; to serve this store, start without --demo\\.',
      ),
    );
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.equal(await storedAccessLogs(data, '616161616161616161'), 1);
    const after = openSqliteStore({ dataDir: data });
    try {
      assert.deepEqual(await after.getRetention('616161616161616161'), { perType: {} });
      assert.equal((await after.firstPage({ tenantId: '616161616161616161', logType: 'LogwardenAdminLog', fromMs: 0, toMs: null }, 1)).total, 0);
      assert.deepEqual(await after.listAccessKeys('616161616161616161'), []);
    } finally {
      await after.close();
    }
  });

  it('refuses --gong-retention without --demo (exit 2)', async () => {
    const r = await runCli(['serve', '--gong-retention', '--data-dir', join(dir, 'never'), '--port', '0']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--gong-retention applies to the demo tenant: use it with --demo/);
  });

  it("logs a failure of the store's background sealing once, without entry text", async () => {
    const data = join(dir, 'corrupt-seal');
    // Entries stored an hour ago (older than the seal age), sealed, then one byte of the
    // segment flipped as a disk fault would, and a late entry into its range left hot.
    const hourAgo = () => Date.now() - 3_600_000;
    const first = openSqliteStore({ dataDir: data, sealAgeMs: 0, sealIntervalMs: 3_600_000, now: hourAgo });
    await first.createTenant({ id: '111', name: 'a' });
    const t0 = Date.UTC(2025, 5, 1);
    await first.append(
      '111',
      Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"secret":"payload-${i}"}`)),
    );
    first.settle();
    await first.close();
    const db = new Database(join(data, DATABASE_FILE));
    const seg = db.prepare<[], { id: number; data: Buffer }>('SELECT id, data FROM segments ORDER BY id LIMIT 1').get()!;
    seg.data[seg.data.length - 100] = seg.data[seg.data.length - 100]! ^ 1;
    db.prepare('UPDATE segments SET data = ? WHERE id = ?').run(seg.data, seg.id);
    db.close();
    const late = openSqliteStore({ dataDir: data, sealIntervalMs: 3_600_000, now: hourAgo });
    await late.append('111', [makeEntry('AccessLog', t0 + 500, '{"secret":"payload-late"}')]);
    await late.close();

    const server = await startServe(['--data-dir', data, '--port', '0', '--log-format', 'json', '--log-level', 'debug']);
    try {
      const lines = (level: number) =>
        server
          .stdout()
          .split('\n')
          .filter((l) => l.includes('store background work failed'))
          .map((l) => JSON.parse(l) as { level: number; problem: string })
          .filter((l) => l.level === level);
      // The sealer retries every second; each retry that fails the same way is a debug line.
      const deadline = Date.now() + 20_000;
      while (lines(20).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(lines(20).length >= 2, server.stdout());
      const failures = lines(50);
      assert.equal(failures.length, 1, server.stdout());
      const line = failures[0]!;
      assert.match(line.problem, new RegExp(`segment ${seg.id} is corrupt: checksum mismatch`));
      assert.deepEqual(new Set(lines(20).map((l) => l.problem)), new Set([line.problem]));
      assert.doesNotMatch(server.stdout(), /payload-/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
