/**
 * Every command that opens the store checks its logs as `serve` does at start: a log signing
 * secret other than the one the store's checkpoints were signed with, or a log put back to an
 * earlier state than was signed, fails the command with exit code 1, before it signs anything.
 * A tenant created under another secret would otherwise get a first checkpoint signed by a key
 * the server does not sign with: a log the server can never extend, and two keys in one store.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type CliResult, runCli, runCliProcess } from '../support/cli.ts';
import { type PostgresStart, startPostgres } from '../support/postgres.ts';

const SERVER_SECRET = 'the secret the server signs with, 32+ bytes';
const OTHER_SECRET = 'another secret of at least 32 bytes!';
const CHANGED = /^logwarden: the last checkpoint of \S+ \(size \d+\) does not verify with the log key .*LOGWARDEN_LOG_SIGNING_SECRET/m;

function assertRefused(r: CliResult, pattern: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, pattern);
}

/** Ids of the tenants `flags` name, listed with the server's secret. */
async function tenantIds(flags: string[]): Promise<string[]> {
  const r = await runCli(['tenants', 'list', '--json', ...flags], { env: { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET } });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string }[]).map((t) => t.id);
}

/** A store whose tenant has checkpoints signed with SERVER_SECRET; then commands run without it, or with another. */
async function refusesAnotherSecret(flags: string[]): Promise<void> {
  const made = await runCli(['tenants', 'create', '--name', 'acme', '--json', ...flags], { env: { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET } });
  assert.equal(made.code, 0, made.stderr);
  const id = (JSON.parse(made.stdout) as { id: string }).id;
  const without: Record<string, string> = {};
  for (const env of [without, { LOGWARDEN_LOG_SIGNING_SECRET: OTHER_SECRET }]) {
    assertRefused(await runCli(['tenants', 'list', ...flags], { env }), CHANGED);
    assertRefused(await runCli(['tenants', 'create', '--name', 'beta', ...flags], { env }), CHANGED);
    assertRefused(await runCli(['keys', 'list', '--tenant', id, ...flags], { env }), CHANGED);
  }
  // Nothing was created under the other key: the server's secret still opens every log.
  assert.deepEqual(await tenantIds(flags), [id]);
  const show = await runCli(['tenants', 'show', id, ...flags], { env: { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET } });
  assert.equal(show.code, 0, show.stderr);
}

/**
 * A store whose tenant has checkpoints under the default prefix only; a command with SERVER_SECRET
 * under a new prefix goes first, then one with another secret under that prefix, before any
 * tenant has a checkpoint there to compare with (servers started together under a new prefix).
 */
async function refusesAnotherSecretUnderANewPrefix(flags: string[]): Promise<void> {
  const made = await runCli(['tenants', 'create', '--name', 'acme', '--json', ...flags]);
  assert.equal(made.code, 0, made.stderr);
  const id = (JSON.parse(made.stdout) as { id: string }).id;
  const prefix = 'audit.example.com/2026-12';
  const server = { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET, LOGWARDEN_LOG_ORIGIN_PREFIX: prefix };
  const list = await runCli(['tenants', 'list', ...flags], { env: server });
  assert.equal(list.code, 0, list.stderr);
  const other = { LOGWARDEN_LOG_SIGNING_SECRET: OTHER_SECRET, LOGWARDEN_LOG_ORIGIN_PREFIX: prefix };
  const recorded = new RegExp(`^logwarden: the logs of the origin prefix ${prefix} in this store are signed with another log signing secret`, 'm');
  const create = await runCli(['tenants', 'create', '--name', 'beta', ...flags], { env: other });
  assertRefused(create, recorded);
  // Nothing is signed under the prefix yet: the record alone, which the message says how to undo.
  assert.ok(create.stderr.includes(`delete the row tlog-prefix-key:${prefix} of the store's secrets table`), create.stderr);
  assertRefused(await runCli(['tenants', 'show', id, ...flags], { env: other }), recorded);
  // The store's own secret, kept in it, is another secret too.
  assertRefused(await runCli(['tenants', 'list', ...flags], { env: { LOGWARDEN_LOG_ORIGIN_PREFIX: prefix } }), recorded);
  // Nothing was signed under the other key: the server's secret signs every tenant's log under the prefix.
  const ids = await runCli(['tenants', 'list', '--json', ...flags], { env: server });
  assert.equal(ids.code, 0, ids.stderr);
  assert.deepEqual(
    (JSON.parse(ids.stdout) as { id: string }[]).map((t) => t.id),
    [id],
  );
  const show = await runCli(['tenants', 'show', id, '--json', ...flags], { env: server });
  assert.equal(show.code, 0, show.stderr);
  assert.equal(JSON.parse(show.stdout).log.origin, `${prefix}/${id}`);
}

/**
 * A deployment that set its own prefix and secret from the start; a command run without them (a
 * shell without the servers' settings) is refused instead of signing, and printing keys, under
 * the default prefix no server serves. Given explicitly, the default prefix begins a new series.
 */
async function refusesTheDefaultPrefixBesideAConfiguredOne(flags: string[]): Promise<void> {
  const server = { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET, LOGWARDEN_LOG_ORIGIN_PREFIX: 'audit.example.com/logs' };
  const made = await runCli(['tenants', 'create', '--name', 'acme', '--json', ...flags], { env: server });
  assert.equal(made.code, 0, made.stderr);
  const id = (JSON.parse(made.stdout) as { id: string }).id;
  for (const env of [{}, { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET }] as Record<string, string>[]) {
    assertRefused(
      await runCli(['tenants', 'show', id, ...flags], { env }),
      /^logwarden: the logs of this store are signed under the origin prefix audit\.example\.com\/logs, and this runs under the default prefix (logwarden\/[0-9a-f]+), under which nothing is signed\. .*LOGWARDEN_LOG_ORIGIN_PREFIX=\1\)/m,
    );
  }
  const show = await runCli(['tenants', 'show', id, ...flags], { env: server });
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /audit\.example\.com\/logs\//);
  const defaultPrefix = /LOGWARDEN_LOG_ORIGIN_PREFIX=(logwarden\/[0-9a-f]+)\)/.exec((await runCli(['tenants', 'show', id, ...flags])).stderr)![1]!;
  const explicit = await runCli(['tenants', 'show', id, ...flags], { env: { LOGWARDEN_LOG_ORIGIN_PREFIX: defaultPrefix } });
  assert.equal(explicit.code, 0, explicit.stderr);
  // Once begun, the default prefix's series is the store's like the other: no longer refused.
  assert.equal((await runCli(['tenants', 'show', id, ...flags])).code, 0);
}

describe('commands that open the store: a log signing secret other than the store’s is refused, as serve refuses it', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-log-secret-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('SQLite: tenants list, tenants create and keys list exit 1 and create no tenant', { timeout: 60_000 }, async () => {
    await refusesAnotherSecret(['--data-dir', join(dir, 'data')]);
  });

  it('SQLite: under a new prefix, before any tenant has a checkpoint there, another secret than the first one is refused', {
    timeout: 60_000,
  }, async () => {
    await refusesAnotherSecretUnderANewPrefix(['--data-dir', join(dir, 'new-prefix')]);
  });

  it('SQLite: a command run without the prefix the store signs under is refused, not signed under the default prefix', {
    timeout: 60_000,
  }, async () => {
    await refusesTheDefaultPrefixBesideAConfiguredOne(['--data-dir', join(dir, 'configured-prefix')]);
  });

  it('SQLite: serve --demo with another secret stores and signs nothing before it is refused', { timeout: 120_000 }, async () => {
    const data = join(dir, 'demo');
    const made = await runCli(['tenants', 'create', '--name', 'acme', '--json', '--data-dir', data]);
    assert.equal(made.code, 0, made.stderr);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    const prefix = 'audit.example.com/demo';
    const server = { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET, LOGWARDEN_LOG_ORIGIN_PREFIX: prefix };
    assert.equal((await runCli(['tenants', 'list', '--data-dir', data], { env: server })).code, 0);
    const other = { LOGWARDEN_LOG_SIGNING_SECRET: OTHER_SECRET, LOGWARDEN_LOG_ORIGIN_PREFIX: prefix };
    const r = await runCli(['serve', '--demo', '--data-dir', data, '--port', '0'], { env: other });
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^logwarden: the logs of the origin prefix audit\.example\.com\/demo in this store are signed with another log signing secret/m,
    );
    assert.doesNotMatch(r.stderr, /demo data for tenant/);
    // The server's secret still signs the tenant's log, which holds no demo entry.
    const show = await runCli(['tenants', 'show', id, '--json', '--data-dir', data], { env: server });
    assert.equal(show.code, 0, show.stderr);
    assert.ok(JSON.parse(show.stdout).log.treeSize < 10, show.stdout);
  });

  it('SQLite: a store put back to an earlier state than was signed is refused by every command', { timeout: 60_000 }, async () => {
    const data = join(dir, 'restored');
    const made = await runCli(['tenants', 'create', '--name', 'acme', '--data-dir', data, '--json']);
    assert.equal(made.code, 0, made.stderr);
    const id = (JSON.parse(made.stdout) as { id: string }).id;
    copyFileSync(join(data, 'logwarden.db'), join(dir, 'backup.db'));
    // A key created appends to the tenant's log (its admin trail) and signs a larger checkpoint.
    assert.equal((await runCli(['keys', 'create', '--tenant', id, '--scope', 'read', '--data-dir', data])).code, 0);
    copyFileSync(join(dir, 'backup.db'), join(data, 'logwarden.db'));
    const rolledBack = /^logwarden: the store holds an earlier state of the log of \S+ than it signed/m;
    assertRefused(await runCli(['tenants', 'list', '--data-dir', data]), rolledBack);
    assertRefused(await runCli(['tenants', 'create', '--name', 'beta', '--data-dir', data]), rolledBack);
  });
});

describe('commands that open a PostgreSQL store: a log signing secret other than the store’s is refused', () => {
  let pg: PostgresStart;
  before(async () => {
    pg = await startPostgres();
  });
  after(() => pg.cluster?.stop());

  it('tenants list, tenants create and keys list exit 1 and create no tenant', { timeout: 120_000 }, async (t) => {
    if (!pg.cluster) return t.skip(pg.skip);
    const url = await pg.cluster.createDatabase({ migrated: true });
    await refusesAnotherSecret(['--database-url', url]);
    // As a user runs it, the command says only what it has to say: the settings of PostgreSQL's
    // connections are made before each is used, not by a statement queued beside its first.
    const list = await runCliProcess(['tenants', 'list', '--database-url', url], { env: { LOGWARDEN_LOG_SIGNING_SECRET: SERVER_SECRET } });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stderr, '');
  });

  it('under a new prefix, before any tenant has a checkpoint there, another secret than the first one is refused', {
    timeout: 120_000,
  }, async (t) => {
    if (!pg.cluster) return t.skip(pg.skip);
    const url = await pg.cluster.createDatabase({ migrated: true });
    await refusesAnotherSecretUnderANewPrefix(['--database-url', url]);
  });

  it('a command run without the prefix the store signs under is refused, not signed under the default prefix', {
    timeout: 120_000,
  }, async (t) => {
    if (!pg.cluster) return t.skip(pg.skip);
    const url = await pg.cluster.createDatabase({ migrated: true });
    await refusesTheDefaultPrefixBesideAConfiguredOne(['--database-url', url]);
  });
});
