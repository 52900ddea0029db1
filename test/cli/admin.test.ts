import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { runCli, runCliInProcess } from '../support/cli.ts';
import { UNDO_KEY_LAST_USED } from '../support/sqlite-schema.ts';

describe('logwarden tenants, keys, ingest', () => {
  let dir: string;
  const flags = () => ['--data-dir', dir];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('creates and lists tenants, and shows and changes their limits', async () => {
    const created = await runCli(['tenants', 'create', '--name', 'Acme Corp', '--json', ...flags()]);
    assert.equal(created.code, 0, created.stderr);
    const tenant = JSON.parse(created.stdout);
    assert.match(tenant.id, /^[1-9][0-9]{17}$/);
    assert.equal(tenant.name, 'Acme Corp');
    const plain = await runCli(['tenants', 'create', '--name', 'Other', ...flags()]);
    assert.match(plain.stdout, /^[0-9]{18}\n$/);
    const blank = await runCli(['tenants', 'create', '--name', '   ', ...flags()]);
    assert.deepEqual([blank.code, blank.stderr], [2, 'logwarden: --name is blank: give the tenant a name\n']);
    const long = await runCli(['tenants', 'create', '--name', 'x'.repeat(201), ...flags()]);
    assert.deepEqual([long.code, long.stderr], [2, 'logwarden: --name must be at most 200 characters (got 201)\n']);

    const list = JSON.parse((await runCli(['tenants', 'list', '--json', ...flags()])).stdout);
    assert.equal(list.length, 2);
    assert.deepEqual(list[0].limits, { readPerSecond: 3, readPerDay: 10000, ingestPerSecond: 100 });

    const changed = await runCli(['tenants', 'limits', tenant.id, '--per-second', '7', '--per-day', '500', '--json', ...flags()]);
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(JSON.parse(changed.stdout).limits, { readPerSecond: 7, readPerDay: 500, ingestPerSecond: 100 });
    const shown = await runCli(['tenants', 'limits', tenant.id, ...flags()]);
    assert.match(shown.stdout, /reads per second\s+7\n/);
    assert.match(shown.stdout, /ingest per second\s+100 \(default\)/);
    const table = await runCli(['tenants', 'list', ...flags()]);
    assert.match(table.stdout, /Acme Corp/);
  });

  it('creates keys whose secret is shown once and stored only as a hash; lists and revokes them', async () => {
    const tenant = JSON.parse((await runCli(['tenants', 'create', '--name', 'Keys', '--json', ...flags()])).stdout);
    const created = await runCli(['keys', 'create', '--tenant', tenant.id, '--scope', 'api:logs:read', '--scope', 'write', '--json', ...flags()]);
    assert.equal(created.code, 0, created.stderr);
    const key = JSON.parse(created.stdout);
    assert.deepEqual(Object.keys(key), ['accessKey', 'secret', 'tenant', 'scopes']);
    assert.deepEqual(key.scopes, ['api:logs:read', 'api:logs:write']);
    assert.ok(Buffer.from(key.secret, 'base64url').length >= 32, 'at least 256 bits');

    const listed = await runCli(['keys', 'list', '--tenant', tenant.id, '--json', ...flags()]);
    assert.ok(!listed.stdout.includes(key.secret));
    assert.equal(JSON.parse(listed.stdout)[0].accessKey, key.accessKey);

    const store = openSqliteStore({ dataDir: dir });
    const record = await store.getAccessKey(key.accessKey);
    await store.close();
    assert.ok(record && !record.secretHash.toString('hex').includes(Buffer.from(key.secret).toString('hex')));

    const revoked = await runCli(['keys', 'revoke', key.accessKey, ...flags()]);
    assert.equal(revoked.code, 0);
    assert.match(revoked.stdout, /^revoked LW/);
    const again = JSON.parse((await runCli(['keys', 'list', '--tenant', tenant.id, '--json', ...flags()])).stdout);
    assert.ok(again[0].revokedAt);
  });

  it('keys list shows when each key was last used; --unused-for lists the active keys not used within that time', async () => {
    const DAY = 86_400_000;
    const store = openSqliteStore({ dataDir: dir });
    const made = Date.now();
    let tenantId: string;
    try {
      tenantId = (await store.createTenant({ id: '424242424242424242', name: 'Review' })).id;
      for (const k of ['LWRECENT', 'LWSTALE', 'LWNEVER', 'LWGONE']) {
        await store.createAccessKey({ accessKey: k, tenantId, secretHash: Buffer.alloc(32, k.length), scopes: ['api:logs:read'] });
      }
      await store.recordKeyUse([
        { accessKey: 'LWRECENT', atMs: made + 150 * DAY },
        { accessKey: 'LWSTALE', atMs: made + 50 * DAY },
      ]);
      await store.revokeAccessKey('LWGONE');
    } finally {
      await store.close();
    }
    // The review runs 200 days after the keys were made.
    const now = () => made + 200 * DAY;
    const list = async (...extra: string[]) => {
      const r = await runCliInProcess(['keys', 'list', '--tenant', tenantId, ...extra, ...flags()], { now });
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const all = JSON.parse((await list('--json')).stdout) as { accessKey: string; lastUsed: string | null }[];
    assert.deepEqual(Object.fromEntries(all.map((k) => [k.accessKey, k.lastUsed])), {
      LWRECENT: new Date(made + 150 * DAY).toISOString(),
      LWSTALE: new Date(made + 50 * DAY).toISOString(),
      LWNEVER: null,
      LWGONE: null,
    });
    const table = (await list()).stdout;
    assert.match(table, /LAST USED/);
    assert.match(table, /LWNEVER .* never\n/);
    const stale = JSON.parse((await list('--unused-for', '90d', '--json')).stdout) as { accessKey: string }[];
    assert.deepEqual(stale.map((k) => k.accessKey).sort(), ['LWNEVER', 'LWSTALE'], 'used before the cutoff, or never and made before it');
    const older = JSON.parse((await list('--unused-for', '250d', '--json')).stdout) as { accessKey: string }[];
    assert.deepEqual(older, [], 'a key made within the time is not stale, used or not');
    assert.match((await list('--unused-for', '250d')).stderr, /no active key has gone unused for 250d/);
    const bad = await runCliInProcess(['keys', 'list', '--tenant', tenantId, '--unused-for', '3 months', ...flags()], { now });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--unused-for must be a duration like 30s, 15m, 12h, 7d or 2w/);
  });

  it('keys list: keys made before uses were recorded read unknown until their first use, and --unused-for lists them, flagged', async () => {
    const DAY = 86_400_000;
    const old = join(dir, 'before-key-uses');
    const tenantId = '434343434343434343';
    const store = openSqliteStore({ dataDir: old });
    try {
      await store.createTenant({ id: tenantId, name: 'Upgraded' });
      for (const k of ['LWOLDIDLE', 'LWOLDBUSY']) {
        await store.createAccessKey({ accessKey: k, tenantId, secretHash: Buffer.alloc(32, k.length), scopes: ['api:logs:read'] });
      }
    } finally {
      await store.close();
    }
    // As logwarden left the store before it recorded uses (schema version 9).
    const db = new Database(join(old, DATABASE_FILE));
    db.exec(UNDO_KEY_LAST_USED);
    db.pragma(`user_version = ${MIGRATIONS.length - 2}`);
    db.close();
    const upgraded = openSqliteStore({ dataDir: old });
    try {
      await upgraded.createAccessKey({ accessKey: 'LWNEWIDLE', tenantId, secretHash: Buffer.alloc(32, 1), scopes: ['api:logs:read'] });
      await upgraded.recordKeyUse([{ accessKey: 'LWOLDBUSY', atMs: Date.now() }]);
    } finally {
      await upgraded.close();
    }
    const list = async (now: () => number, ...extra: string[]) => {
      const r = await runCliInProcess(['keys', 'list', '--tenant', tenantId, ...extra, '--data-dir', old], { now });
      assert.equal(r.code, 0, r.stderr);
      return r;
    };
    const today = () => Date.now();
    const table = (await list(today)).stdout;
    assert.match(table, /LWOLDIDLE .* unknown\n/);
    assert.match(table, /LWNEWIDLE .* never\n/);
    assert.match(table, /LWOLDBUSY .* \d{4}-\d\d-\d\dT[\d:.]+Z\n/, 'its first recorded use replaces unknown');
    const json = JSON.parse((await list(today, '--json')).stdout) as { accessKey: string; lastUsed: string | null; lastUsedKnown: boolean }[];
    assert.deepEqual(Object.fromEntries(json.map((k) => [k.accessKey, [k.lastUsed === null, k.lastUsedKnown]])), {
      LWOLDIDLE: [true, false],
      LWOLDBUSY: [false, true],
      LWNEWIDLE: [true, true],
    });
    // A day later nothing is 90 days old, yet the key whose last use is unknown is listed, flagged.
    const stale = await list(() => Date.now() + DAY, '--unused-for', '90d');
    assert.match(stale.stdout, /LWOLDIDLE .* unknown\n/);
    assert.doesNotMatch(stale.stdout, /LWNEWIDLE|LWOLDBUSY/);
    assert.match(stale.stderr, /^1 of them unknown: created before uses were recorded \(from \d{4}-[\d:.T-]+Z\)/);
    const staleJson = JSON.parse((await list(() => Date.now() + DAY, '--unused-for', '90d', '--json')).stdout) as { accessKey: string }[];
    assert.deepEqual(
      staleJson.map((k) => k.accessKey),
      ['LWOLDIDLE'],
    );
  });

  it('ingests NDJSON from a file and from stdin, idempotently and all or nothing', async () => {
    const tenant = JSON.parse((await runCli(['tenants', 'create', '--name', 'Ingest', '--json', ...flags()])).stdout);
    const lines = Array.from(
      { length: 50 },
      (_, i) =>
        `{"logType":"AccessLog","userId":"${i}","eventTime":"2026-02-01T00:00:${String(i % 60).padStart(2, '0')}Z","logRecord":{"i":${i},"f":1.0}}`,
    );
    const file = join(dir, 'in.ndjson');
    writeFileSync(file, lines.join('\n') + '\n');
    const first = await runCli(['ingest', file, '--tenant', tenant.id, '--json', ...flags()]);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), { accepted: 50, duplicates: 0, lines: 50 });
    const second = await runCli(['ingest', '-', '--tenant', tenant.id, ...flags()], { input: lines.join('\n') });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /stored 0 entries, 50 duplicates skipped/);
    const one = await runCli(['ingest', '-', '--tenant', tenant.id, ...flags()], { input: lines[0]!.replace('"i":0', '"i":-1') });
    assert.equal(one.stdout, 'stored 1 entry, 0 duplicates skipped (1 line)\n');
    const bad = await runCli(['ingest', '-', '--tenant', tenant.id, ...flags()], {
      input: lines[0] + '\n{"logType":"AccessLog","eventTime":"2026-02-01T00:00:00","logRecord":{}}\n',
    });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^logwarden: line 2: eventTime: .*offset.*nothing was stored\n$/);
    // A line as long as an entry of a JSON body may be (over the HTTP NDJSON line limit) loads, as a `fetch` export of it.
    const big = `{"logType":"AccessLog","eventTime":"2026-02-01T00:00:00Z","logRecord":{"b":"${'x'.repeat(2 * 1024 * 1024)}"}}`;
    const long = await runCli(['ingest', '-', '--tenant', tenant.id, ...flags()], { input: `${big}\n` });
    assert.equal(long.code, 0, long.stderr);
    assert.equal(long.stdout, 'stored 1 entry, 0 duplicates skipped (1 line)\n');
    const over = await runCli(['ingest', '-', '--tenant', tenant.id, ...flags()], {
      input: `${big}\n`,
      env: { LOGWARDEN_MAX_JSON_BODY_BYTES: String(1024 * 1024) },
    });
    assert.equal(over.code, 1);
    assert.match(over.stderr, /^logwarden: line 1: longer than 1048576 bytes/);
    const empty = await runCli(['ingest', '-', '--tenant', tenant.id, ...flags()], { input: '\n  \n' });
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr, 'logwarden: no entries in standard input (it is empty or blank); nothing was stored\n');
  });

  it('makes no store for a command that reads one: a data directory without a store is named, and left as it was', async () => {
    const nowhere = join(dir, 'typo');
    for (const args of [
      ['tenants', 'list'],
      ['tenants', 'show', '1'],
      ['keys', 'list', '--tenant', '1'],
      ['keys', 'create', '--tenant', '1', '--scope', 'read'],
      ['holds', 'list'],
      ['ingest', '-', '--tenant', '1'],
      ['seed', '--tenant', '1', '--entries', '1'],
    ]) {
      const r = await runCli([...args, '--data-dir', nowhere], { input: '' });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `logwarden: no store at ${nowhere} (it holds no logwarden.db): give the --data-dir (or LOGWARDEN_DATA_DIR) of your server's store; \`logwarden serve\` makes one on its first start\n`,
        args.join(' '),
      );
      assert.equal(existsSync(nowhere), false, `${args.join(' ')} made ${nowhere}`);
    }
    // Making a tenant makes the store, as a first start of the server would.
    const made = await runCli(['tenants', 'create', '--name', 'First', '--data-dir', nowhere]);
    assert.equal(made.code, 0, made.stderr);
    assert.equal(existsSync(join(nowhere, 'logwarden.db')), true);
  });

  it('refuses a bad setting only where it is used: a command warns of a server-only one, serve refuses them all in one error', async () => {
    const tenant = JSON.parse((await runCli(['tenants', 'create', '--name', 'Settings', '--json', ...flags()])).stdout);
    const env = { LOGWARDEN_PORT: 'http', LOGWARDEN_READ_PER_SECOND: '0' };
    const port = 'LOGWARDEN_PORT must be an integer from 0 to 65535 (got "http")';
    const perSecond = 'LOGWARDEN_READ_PER_SECOND must be an integer from 1 to 1000000 (got "0")';
    const warning = (problem: string) =>
      `logwarden: warning: ${problem} (this command does not use it; \`logwarden serve\` refuses to start with it)\n`;
    for (const args of [
      ['keys', 'create', '--tenant', tenant.id, '--scope', 'read'],
      ['keys', 'list', '--tenant', tenant.id],
      ['holds', 'list'],
      ['tenants', 'retention', tenant.id],
    ]) {
      const r = await runCli([...args, ...flags()], { env });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.startsWith(warning(port) + warning(perSecond)), `${args.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /invalid configuration/);
    }
    // The tenants' limits are shown with the server's defaults, so a bad default is refused there.
    const list = await runCli(['tenants', 'list', ...flags()], { env: { LOGWARDEN_PORT: 'http' } });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stderr, warning(port));
    const limits = await runCli(['tenants', 'list', ...flags()], { env });
    assert.deepEqual([limits.code, limits.stderr], [2, `logwarden: invalid configuration:\n  - ${perSecond}\n`]);
    const serve = await runCli(['serve', ...flags()], { env });
    assert.deepEqual([serve.code, serve.stderr], [2, `logwarden: invalid configuration:\n  - ${port}\n  - ${perSecond}\n`]);
  });

  it('reports usage errors with exit 2 and other failures with exit 1, on one line', async () => {
    const usage = await runCli(['keys', 'create', '--tenant', '1', '--scope', 'admin', ...flags()]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown scope "admin"/);
    const missing = await runCli(['tenants', 'create', ...flags()]);
    assert.equal(missing.code, 2);
    const unknownCommand = await runCli(['frobnicate']);
    assert.equal(unknownCommand.code, 2);
    const noTenant = await runCli(['keys', 'create', '--tenant', '999', '--scope', 'read', ...flags()]);
    assert.equal(noTenant.code, 1);
    assert.equal(noTenant.stderr, `logwarden: no tenant 999 in the store at ${dir}\n`);
    const help = await runCli(['keys', 'create', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Example:/);
    // Names and reasons for people are plain text on one line: a line break or a terminal escape would garble tables.
    for (const bad of ['line1\nline2', '\u001b[31mRED\u001b[0m', 'tab\there']) {
      const name = await runCli(['tenants', 'create', '--name', bad, ...flags()]);
      assert.equal(name.code, 2, JSON.stringify(bad));
      assert.equal(
        name.stderr,
        'logwarden: --name holds a control character (a line break, a tab or a terminal escape): give plain text on one line\n',
      );
      const reason = await runCli(['holds', 'create', '--tenant', '1', '--reason', bad, ...flags()]);
      assert.equal(reason.code, 2, JSON.stringify(bad));
      assert.match(reason.stderr, /^logwarden: --reason holds a control character/);
    }
    // A secret pasted in place of an access key is not printed back.
    const secretLike = 'Zx9_k2PqL0vRt5uWyA3bC7dE1fG4hJ6iK8mN0oQ2sTu';
    const revoke = await runCli(['keys', 'revoke', secretLike, ...flags()]);
    assert.equal(revoke.code, 1);
    assert.ok(!revoke.stderr.includes(secretLike), revoke.stderr);
    assert.match(revoke.stderr, /no such access key \(the value given is not repeated: it may be a secret\)/);
  });
});
