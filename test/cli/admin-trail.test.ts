/**
 * The admin trail of the existing administrative acts: each act at the command line (and the
 * server's first start) writes exactly one LogwardenAdminLog entry into the tenant's own log,
 * which the tenant's read keys read over HTTP with the act's before and after, timed by the
 * injected clock, and never holding a secret or its hash.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prepareStore } from '../../src/server/start.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { basic, startTestApp, type TestApp, testConfig } from '../support/app.ts';
import { runCliInProcess } from '../support/cli.ts';

const T0 = Date.parse('2026-06-01T09:00:00.000Z');
const at = (i: number) => T0 + i * 60_000;

interface TrailEntry {
  userId?: string;
  userFullName: string;
  eventTime: string;
  logRecord: {
    action: string;
    actId: string;
    tenantId: string;
    actor: Record<string, string>;
    target: unknown;
    before: unknown;
    after: unknown;
    reason?: string;
  };
}

async function trail(t: TestApp, key: { accessKey: string; secret: string }): Promise<{ status: number; body: string; entries: TrailEntry[] }> {
  const res = await t.inject({
    method: 'GET',
    url: '/v2/logs',
    query: { logType: 'LogwardenAdminLog', fromDateTime: '2000-01-01T00:00:00Z' },
    headers: { authorization: basic(key) },
  });
  return { status: res.statusCode, body: res.body, entries: res.statusCode === 200 ? res.json().logEntries : [] };
}

describe('the admin trail of tenants and keys', () => {
  let dir: string;
  const flags = () => ['--data-dir', dir];
  const cli = async (i: number, args: string[]) => {
    const r = await runCliInProcess([...args, ...flags()], { now: () => at(i) });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-trail-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one entry per act with who, when, before and after, readable by the tenant read key', async () => {
    const tenant = JSON.parse(await cli(0, ['tenants', 'create', '--name', 'Acme Corp', '--json'])) as { id: string };
    const reader = JSON.parse(await cli(1, ['keys', 'create', '--tenant', tenant.id, '--scope', 'read', '--json'])) as {
      accessKey: string;
      secret: string;
    };
    await cli(2, ['tenants', 'limits', tenant.id, '--per-second', '7']);
    await cli(3, ['tenants', 'limits', tenant.id]); // only shows: no act
    const writer = JSON.parse(await cli(4, ['keys', 'create', '--tenant', tenant.id, '--scope', 'write', '--json'])) as {
      accessKey: string;
      secret: string;
    };
    await cli(5, ['keys', 'revoke', writer.accessKey]);
    await cli(6, ['keys', 'revoke', writer.accessKey]); // already revoked: no act
    await cli(7, ['tenants', 'limits', tenant.id, '--reset']);
    const other = JSON.parse(await cli(8, ['tenants', 'create', '--name', 'Other', '--json'])) as { id: string };

    const store = openSqliteStore({ dataDir: dir });
    const t = await startTestApp({ store });
    try {
      const { status, body, entries } = await trail(t, reader);
      assert.equal(status, 200, body);
      const me = { kind: 'cli', user: userInfo().username, host: hostname() };
      const who = `${me.user}@${me.host}`;
      assert.deepEqual(
        entries.map((e) => [e.eventTime, e.userFullName, e.logRecord.action, e.logRecord.tenantId, e.logRecord.actor]),
        [
          [new Date(at(0)).toISOString(), who, 'tenant.created', tenant.id, me],
          [new Date(at(1)).toISOString(), who, 'key.created', tenant.id, me],
          [new Date(at(2)).toISOString(), who, 'tenant.limits.changed', tenant.id, me],
          [new Date(at(4)).toISOString(), who, 'key.created', tenant.id, me],
          [new Date(at(5)).toISOString(), who, 'key.revoked', tenant.id, me],
          [new Date(at(7)).toISOString(), who, 'tenant.limits.changed', tenant.id, me],
        ],
      );
      const [created, keyCreated, limits, writerCreated, revoked, reset] = entries.map((e) => e.logRecord);
      assert.deepEqual([created!.target, created!.before, created!.after], [null, null, { id: tenant.id, name: 'Acme Corp' }]);
      assert.deepEqual(
        [keyCreated!.target, keyCreated!.before, keyCreated!.after],
        [{ accessKey: reader.accessKey }, null, { accessKey: reader.accessKey, scopes: ['api:logs:read'] }],
      );
      assert.deepEqual(limits!.before, { readPerSecond: null, readPerDay: null, ingestPerSecond: null });
      assert.deepEqual(limits!.after, { readPerSecond: 7, readPerDay: null, ingestPerSecond: null });
      assert.deepEqual(writerCreated!.after, { accessKey: writer.accessKey, scopes: ['api:logs:write'] });
      assert.deepEqual(revoked!.target, { accessKey: writer.accessKey });
      assert.deepEqual(revoked!.before, { accessKey: writer.accessKey, scopes: ['api:logs:write'], revokedAt: null });
      const after = revoked!.after as { revokedAt: string };
      assert.ok(typeof after.revokedAt === 'string' && after.revokedAt.length > 0);
      assert.deepEqual(
        [reset!.before, reset!.after],
        [
          { readPerSecond: 7, readPerDay: null, ingestPerSecond: null },
          { readPerSecond: null, readPerDay: null, ingestPerSecond: null },
        ],
      );
      assert.equal(new Set(entries.map((e) => e.logRecord.actId)).size, entries.length);
      for (const e of entries) assert.match(e.logRecord.actId, /^act_[0-9a-f]{24}$/);

      // Never a secret nor its hash, in any encoding.
      const record = await store.getAccessKey(writer.accessKey);
      for (const secret of [reader.secret, writer.secret]) assert.ok(!body.includes(secret));
      for (const enc of ['hex', 'base64', 'base64url'] as const) assert.ok(!body.includes(record!.secretHash.toString(enc)));

      // Each entry is a leaf of the tenant's log.
      assert.equal((await store.log!(tenant.id))!.checkpoint.size, 6);
      // The other tenant's trail holds only its own creation; this tenant's key sees none of it.
      assert.equal((await store.log!(other.id))!.checkpoint.size, 1);
      assert.ok(!body.includes(other.id));
      // A key of yet another tenant finds no trail at all.
      assert.equal((await trail(t, t.readKey)).status, 404);
    } finally {
      await t.close();
      await store.close();
    }
  });

  it('gives no key to a tenant an operator named default, nor --demo data: only the tenant a first start made is resumed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-trail-own-default-'));
    try {
      const config = testConfig({ dataDir: dir });
      const made = await runCliInProcess(['tenants', 'create', '--name', 'default', '--data-dir', dir, '--json'], { now: () => at(39) });
      assert.equal(made.code, 0, made.stderr);
      const tenantId = (JSON.parse(made.stdout) as { id: string }).id;
      const prepared = await prepareStore(config, { now: () => at(40) });
      try {
        assert.equal(prepared.bootstrap, undefined, 'no key made');
        assert.deepEqual(await prepared.store.listAccessKeys(tenantId), []);
      } finally {
        await prepared.store.close();
      }
      await assert.rejects(prepareStore(config, { demo: true, now: () => at(41) }), (err: Error) => err.name === 'DemoRefusedError');
      const again = openSqliteStore({ dataDir: dir });
      try {
        assert.equal((await again.firstPage({ tenantId, logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, 0, 'no demo entry');
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("records the server's first start: the default tenant and its key, by the server", async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'logwarden-trail-boot-'));
    try {
      const config = testConfig({ dataDir: fresh });
      const prepared = await prepareStore(config, { now: () => at(30) });
      const boot = prepared.bootstrap!;
      const t = await startTestApp({ store: prepared.store });
      try {
        const { entries, body } = await trail(t, boot.key);
        assert.deepEqual(
          entries.map((e) => [e.eventTime, e.userFullName, e.logRecord.action, e.logRecord.actor]),
          [
            [new Date(at(30)).toISOString(), 'logwarden server', 'tenant.created', { kind: 'server' }],
            [new Date(at(30)).toISOString(), 'logwarden server', 'key.created', { kind: 'server' }],
          ],
        );
        assert.deepEqual(entries[1]!.logRecord.after, { accessKey: boot.key.accessKey, scopes: ['api:logs:read', 'api:logs:write'] });
        assert.ok(!body.includes(boot.key.secret));
      } finally {
        await t.close();
        await prepared.store.close();
      }
    } finally {
      rmSync(fresh, { recursive: true, force: true });
    }
  });
});
