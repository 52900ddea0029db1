/**
 * `tenants retention` and `holds create|list|release`, run in process with a fixed clock: what
 * they change, print and refuse (exit 2 for usage, 1 for other failures), and the admin-trail
 * entry each act writes, with its before and after.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { runCli, runCliInProcess } from '../support/cli.ts';

const NOW = Date.parse('2026-06-01T12:00:00.000Z');

interface TrailRecord {
  action: string;
  actor: Record<string, string>;
  target: unknown;
  before: unknown;
  after: unknown;
  reason?: string;
}

describe('logwarden tenants retention and holds', () => {
  let dir: string;
  let tenant: string;
  let other: string;
  let clock = NOW;
  const run = (args: string[]) => runCliInProcess([...args, '--data-dir', dir], { now: () => clock });
  const ok = async (args: string[]) => {
    const r = await run(args);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const refused = async (args: string[], code: number, message: RegExp) => {
    const r = await run(args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  };
  /** The tenant's admin trail, oldest first, and when each entry says it happened. */
  async function trail(tenantId: string): Promise<Array<{ eventTime: string; userFullName: string; logRecord: TrailRecord }>> {
    const store = openSqliteStore({ dataDir: dir });
    try {
      const page = await store.firstPage({ tenantId, logType: 'LogwardenAdminLog', fromMs: 0, toMs: null }, 1000);
      return JSON.parse(`[${page.text.toString('utf8')}]`);
    } finally {
      await store.close();
    }
  }

  /** A new tenant holding `entries`. */
  async function createTenantWith(entries: ReturnType<typeof makeEntry>[]): Promise<string> {
    const id = JSON.parse(await ok(['tenants', 'create', '--name', 'Dry', '--json'])).id;
    const store = openSqliteStore({ dataDir: dir });
    await store.append(id, entries);
    await store.close();
    return id;
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-retention-cli-'));
    tenant = JSON.parse(await ok(['tenants', 'create', '--name', 'Acme', '--json'])).id;
    other = JSON.parse(await ok(['tenants', 'create', '--name', 'Other', '--json'])).id;
    // A type of the tenant's own, not configured on this machine: retention and holds may name it.
    const store = openSqliteStore({ dataDir: dir });
    await store.append(tenant, [makeEntry('BadgeSwipe', NOW - 1000)]);
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sets, shows and clears retention per tenant and per type, recording each change', async () => {
    const shown = JSON.parse(await ok(['tenants', 'retention', tenant, '--json']));
    assert.deepEqual(shown.tenantDays, null);
    assert.equal(shown.serverDays, 'forever');
    assert.deepEqual(
      shown.types.map((t: { logType: string }) => t.logType),
      ['AccessLog', 'UserActivityLog', 'UserCallPlay', 'ExternallySharedCallAccess', 'ExternallySharedCallPlay', 'BadgeSwipe', 'LogwardenAdminLog'],
    );
    const trailBefore = (await trail(tenant)).length;

    clock = NOW + 1000;
    const typed = JSON.parse(await ok(['tenants', 'retention', tenant, '--type', 'AccessLog', '--days', '14', '--json']));
    assert.deepEqual(typed.types[0], { logType: 'AccessLog', days: 14, effectiveDays: 14, from: 'type' });
    clock = NOW + 2000;
    const wide = JSON.parse(await ok(['tenants', 'retention', tenant, '--days', '365', '--json']));
    assert.equal(wide.tenantDays, 365);
    const byType = Object.fromEntries(wide.types.map((t: { logType: string }) => [t.logType, t]));
    assert.deepEqual(byType.UserActivityLog, { logType: 'UserActivityLog', days: null, effectiveDays: 365, from: 'tenant' });
    assert.deepEqual(byType.AccessLog.effectiveDays, 14);
    clock = NOW + 3000;
    const forever = JSON.parse(await ok(['tenants', 'retention', tenant, '--type', 'BadgeSwipe', '--forever', '--json']));
    const admin = forever.types.find((t: { logType: string }) => t.logType === 'LogwardenAdminLog');
    // The admin trail outlives every other type: forever, since BadgeSwipe is kept forever.
    assert.deepEqual(admin, { logType: 'LogwardenAdminLog', days: null, effectiveDays: 'forever', from: 'other types' });
    clock = NOW + 4000;
    const cleared = JSON.parse(await ok(['tenants', 'retention', tenant, '--type', 'AccessLog', '--clear', '--json']));
    assert.deepEqual(cleared.types[0], { logType: 'AccessLog', days: null, effectiveDays: 365, from: 'tenant' });
    // Showing is no act.
    const table = await ok(['tenants', 'retention', tenant]);
    assert.match(table, /^AccessLog\s+365 days \(the tenant's default\)$/m);
    assert.match(table, /^LogwardenAdminLog\s+forever \(as long as the longest of the other types\)$/m);
    assert.match(
      table,
      /tenant default: 365 days; server default: forever \(LOGWARDEN_RETENTION_DAYS as this command reads it: a server started with another value purges by its own\)\n$/,
    );

    const acts = (await trail(tenant)).slice(trailBefore);
    const me = { kind: 'cli', user: userInfo().username, host: hostname() };
    assert.deepEqual(
      acts.map((e) => [e.eventTime, e.logRecord.action, e.logRecord.actor, e.logRecord.target, e.logRecord.before, e.logRecord.after]),
      [
        ['2026-06-01T12:00:01.000Z', 'retention.changed', me, { logType: 'AccessLog' }, null, { days: 14 }],
        ['2026-06-01T12:00:02.000Z', 'retention.changed', me, { logType: null }, null, { days: 365 }],
        ['2026-06-01T12:00:03.000Z', 'retention.changed', me, { logType: 'BadgeSwipe' }, null, { days: 'forever' }],
        ['2026-06-01T12:00:04.000Z', 'retention.changed', me, { logType: 'AccessLog' }, { days: 14 }, null],
      ],
    );
    // The other tenant is untouched.
    assert.equal(JSON.parse(await ok(['tenants', 'retention', other, '--json'])).tenantDays, null);
    assert.equal((await trail(other)).length, 1);
  });

  it('shows the retention in effect per type in tenants show', async () => {
    const shown = JSON.parse(await ok(['tenants', 'show', tenant, '--json']));
    assert.equal(shown.retention.tenantDays, 365);
    assert.deepEqual(
      shown.retention.types.find((t: { logType: string }) => t.logType === 'BadgeSwipe'),
      { logType: 'BadgeSwipe', days: 'forever', effectiveDays: 'forever', from: 'type' },
    );
    const table = await ok(['tenants', 'show', tenant]);
    assert.match(table, /^retention UserCallPlay\s+365 days \(the tenant's default\)$/m);
    assert.match(table, /^retention BadgeSwipe\s+forever \(the type's setting\)$/m);
  });

  it('shows the server default (LOGWARDEN_RETENTION_DAYS) where neither the type nor the tenant sets one', async () => {
    const r = await runCli(['tenants', 'show', other, '--json', '--data-dir', dir], { env: { LOGWARDEN_RETENTION_DAYS: '90' } });
    assert.equal(r.code, 0, r.stderr);
    const retention = JSON.parse(r.stdout).retention;
    assert.equal(retention.serverDays, 90);
    assert.deepEqual(retention.types[0], { logType: 'AccessLog', days: null, effectiveDays: 90, from: 'server' });
    const mine = await runCli(['tenants', 'retention', tenant, '--json', '--data-dir', dir], { env: { LOGWARDEN_RETENTION_DAYS: '90' } });
    assert.deepEqual(
      JSON.parse(mine.stdout).types.find((t: { logType: string }) => t.logType === 'UserCallPlay'),
      { logType: 'UserCallPlay', days: null, effectiveDays: 365, from: 'tenant' },
    );
  });

  it('refuses bad retention requests, changing nothing', async () => {
    const trailBefore = (await trail(tenant)).length;
    await refused(['tenants', 'retention', '42', '--days', '30'], 1, /^logwarden: no tenant 42 in the store at \/.+$/m);
    await refused(['tenants', 'retention', tenant, '--type', 'Nope', '--days', '30'], 2, /--type: unknown log type "Nope"/);
    for (const days of ['0', '365001', 'abc', '1.5', '-3', '']) {
      await refused(['tenants', 'retention', tenant, '--days', days], 2, /--days must be a whole number of days from 1 to 365000/);
    }
    await refused(['tenants', 'retention', tenant, '--days', '30', '--forever'], 2, /cannot be used with/);
    await refused(['tenants', 'retention', tenant, '--forever', '--clear'], 2, /cannot be used with/);
    await refused(
      ['tenants', 'retention', tenant, '--type', 'LogwardenAdminLog', '--days', '1'],
      2,
      /--type LogwardenAdminLog: the admin trail's retention is not set/,
    );
    assert.equal((await trail(tenant)).length, trailBefore);
  });

  it('records no act for a change that changes nothing (a setting made what it is, a clear of nothing, the same limits)', async () => {
    const trailBefore = (await trail(tenant)).length;
    await ok(['tenants', 'retention', tenant, '--type', 'UserCallPlay', '--clear']);
    await ok(['tenants', 'limits', tenant, '--per-second', '7']);
    await ok(['tenants', 'limits', tenant, '--per-second', '7']);
    await ok(['tenants', 'retention', tenant, '--type', 'UserCallPlay', '--days', '40']);
    await ok(['tenants', 'retention', tenant, '--type', 'UserCallPlay', '--days', '40']);
    const acts = (await trail(tenant)).slice(trailBefore).map((e) => e.logRecord.action);
    assert.deepEqual(acts, ['tenant.limits.changed', 'retention.changed']);
  });

  it('creates, lists and releases holds, recording who, why, before and after', async () => {
    const trailBefore = (await trail(tenant)).length;
    clock = NOW + 10_000;
    const hold = JSON.parse(
      await ok([
        'holds',
        'create',
        '--tenant',
        tenant,
        '--type',
        'AccessLog',
        '--from',
        '2026-01-01',
        '--to',
        '7d',
        '--reason',
        'Litigation 2026-114',
        '--json',
      ]),
    );
    assert.match(hold.id, /^hold_[a-z2-7]{20}$/);
    const who = `${userInfo().username}@${hostname()}`;
    assert.deepEqual(
      { ...hold, id: 'x', createdAt: 'x' },
      {
        id: 'x',
        tenantId: tenant,
        logType: 'AccessLog',
        from: '2026-01-01T00:00:00.000Z',
        to: '2026-05-25T12:00:10.000Z',
        reason: 'Litigation 2026-114',
        createdAt: 'x',
        createdBy: who,
        releasedAt: null,
        releasedBy: null,
        releaseReason: null,
      },
    );
    const wide = (await ok(['holds', 'create', '--tenant', tenant, '--reason', 'Audit'])).trim();
    const elsewhere = (await ok(['holds', 'create', '--tenant', other, '--type', 'UserCallPlay', '--reason', 'Other case'])).trim();

    const mine = JSON.parse(await ok(['holds', 'list', '--tenant', tenant, '--json']));
    assert.deepEqual(
      mine.map((h: { id: string }) => h.id),
      [hold.id, wide],
    );
    assert.equal(JSON.parse(await ok(['holds', 'list', '--json'])).length, 3);
    const table = await ok(['holds', 'list', '--tenant', tenant]);
    assert.match(table, new RegExp(`^${wide}\\s+${tenant}\\s+\\(all types\\)\\s+-\\s+-\\s`, 'm'));
    // tenants show counts the tenant's active holds.
    assert.equal(JSON.parse(await ok(['tenants', 'show', tenant, '--json'])).activeHolds, 2);
    assert.match(await ok(['tenants', 'show', tenant]), new RegExp(`^legal holds\\s+2 active \\(logwarden holds list --tenant ${tenant}\\)$`, 'm'));

    clock = NOW + 20_000;
    const released = JSON.parse(await ok(['holds', 'release', hold.id, '--reason', 'Case closed', '--json']));
    assert.equal(released.releaseReason, 'Case closed');
    assert.equal(released.releasedBy, who);
    assert.deepEqual(
      JSON.parse(await ok(['holds', 'list', '--tenant', tenant, '--json'])).map((h: { id: string }) => h.id),
      [wide],
    );
    const all = JSON.parse(await ok(['holds', 'list', '--tenant', tenant, '--all', '--json']));
    assert.deepEqual(
      all.map((h: { id: string; releasedAt: string | null }) => [h.id, h.releasedAt !== null]),
      [
        [hold.id, true],
        [wide, false],
      ],
    );

    const acts = (await trail(tenant)).slice(trailBefore);
    assert.deepEqual(
      acts.map((e) => [e.eventTime, e.userFullName, e.logRecord.action, e.logRecord.target, e.logRecord.reason]),
      [
        ['2026-06-01T12:00:10.000Z', who, 'hold.created', { holdId: hold.id }, 'Litigation 2026-114'],
        ['2026-06-01T12:00:10.000Z', who, 'hold.created', { holdId: wide }, 'Audit'],
        ['2026-06-01T12:00:20.000Z', who, 'hold.released', { holdId: hold.id }, 'Case closed'],
      ],
    );
    assert.equal(acts[0]!.logRecord.before, null);
    assert.deepEqual(acts[0]!.logRecord.after, hold);
    assert.deepEqual(acts[2]!.logRecord.before, hold);
    assert.deepEqual(acts[2]!.logRecord.after, released);
    // The other tenant's hold is in its own trail only.
    const theirs = await trail(other);
    assert.deepEqual(
      theirs.map((e) => [e.logRecord.action, e.logRecord.target]),
      [
        ['tenant.created', null],
        ['hold.created', { holdId: elsewhere }],
      ],
    );
  });

  it('refuses bad hold requests, changing nothing', async () => {
    const trailBefore = (await trail(tenant)).length;
    const holdsBefore = JSON.parse(await ok(['holds', 'list', '--all', '--json'])).length;
    await refused(['holds', 'create', '--tenant', '42', '--reason', 'x'], 1, /^logwarden: no tenant 42 in the store at \/.+$/m);
    await refused(['holds', 'create', '--tenant', tenant, '--type', 'Nope', '--reason', 'x'], 2, /--type: unknown log type "Nope"/);
    await refused(
      ['holds', 'create', '--tenant', tenant, '--from', '2026-02-01', '--to', '2026-02-01', '--reason', 'x'],
      2,
      /--to must be later than --from/,
    );
    await refused(['holds', 'create', '--tenant', tenant, '--from', '1d', '--to', '2d', '--reason', 'x'], 2, /--to must be later than --from/);
    await refused(['holds', 'create', '--tenant', tenant, '--from', '2026-02-30', '--reason', 'x'], 2, /--from /);
    await refused(['holds', 'create', '--tenant', tenant, '--reason', '   '], 2, /--reason is blank: say why/);
    await refused(['holds', 'create', '--tenant', tenant, '--reason', 'x'.repeat(1001)], 2, /--reason must be at most 1000 characters \(got 1001\)/);
    await refused(['holds', 'create', '--tenant', tenant], 2, /required option '--reason <text>'/);
    await refused(['holds', 'list', '--tenant', '42'], 1, /^logwarden: no tenant 42 in the store at \/.+$/m);
    await refused(['holds', 'release', 'hold_nosuchhold', '--reason', 'x'], 1, /^logwarden: no hold hold_nosuchhold$/m);
    const released = JSON.parse(await ok(['holds', 'list', '--tenant', tenant, '--all', '--json'])).find(
      (h: { releasedAt: string | null }) => h.releasedAt !== null,
    );
    await refused(
      ['holds', 'release', released.id, '--reason', 'again'],
      1,
      new RegExp(`^logwarden: hold ${released.id} was already released on \\S+ by \\S+$`, 'm'),
    );
    assert.equal((await trail(tenant)).length, trailBefore);
    assert.equal(JSON.parse(await ok(['holds', 'list', '--all', '--json'])).length, holdsBefore);
  });

  it('takes hold bounds at the precision given: an end past the millisecond keeps that millisecond, as a read of the window counts it', async () => {
    clock = NOW;
    const day = 86_400_000;
    const at = NOW - 10 * day;
    const held = await createTenantWith([makeEntry('AccessLog', at - 1), makeEntry('AccessLog', at), makeEntry('AccessLog', at + 1)]);
    const iso = new Date(at).toISOString();
    const sub = (digits: string) => iso.replace('Z', `${digits}Z`);
    // [at, at + 0.5 ms) holds one entry: the one at `at`; the end is not "before" the start.
    const hold = JSON.parse(
      await ok(['holds', 'create', '--tenant', held, '--type', 'AccessLog', '--from', iso, '--to', sub('5'), '--reason', 'x', '--json']),
    );
    assert.equal(hold.from, iso);
    assert.equal(hold.to, new Date(at + 1).toISOString());
    const preview = JSON.parse(await ok(['tenants', 'retention', held, '--type', 'AccessLog', '--days', '1', '--dry-run', '--json']));
    assert.deepEqual(preview.purge[0], {
      logType: 'AccessLog',
      effectiveDays: 1,
      before: new Date(NOW - day).toISOString(),
      deleted: 2,
      keptByHolds: 1,
    });
    // A range with no whole millisecond in it holds no entry: said, not stored.
    await refused(
      ['holds', 'create', '--tenant', held, '--from', sub('1'), '--to', sub('5'), '--reason', 'x'],
      2,
      /--from and --to hold no whole millisecond between them/,
    );
    await refused(['holds', 'create', '--tenant', held, '--from', sub('5'), '--to', sub('1'), '--reason', 'x'], 2, /--to must be later than --from/);
  });

  it('previews with --dry-run what the next purge would delete and what holds keep, changing nothing; a change says it too', async () => {
    clock = NOW;
    const day = 86_400_000;
    const dry = await createTenantWith(Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', NOW - i * day, `{"i":${i}}`)));
    await ok([
      'holds',
      'create',
      '--tenant',
      dry,
      '--type',
      'AccessLog',
      '--from',
      new Date(NOW - 8 * day).toISOString(),
      '--to',
      new Date(NOW - 6 * day).toISOString(),
      '--reason',
      'case 9',
    ]);
    const trailBefore = (await trail(dry)).length;
    const settingsBefore = await ok(['tenants', 'retention', dry, '--json']);
    // Expired with 3 days: the entries 4 to 9 days old; the hold keeps those 7 and 8 days old.
    const preview = JSON.parse(await ok(['tenants', 'retention', dry, '--type', 'AccessLog', '--days', '3', '--dry-run', '--json']));
    assert.deepEqual(preview, {
      id: dry,
      dryRun: true,
      at: new Date(NOW).toISOString(),
      purge: [
        { logType: 'AccessLog', effectiveDays: 3, before: new Date(NOW - 3 * day).toISOString(), deleted: 4, keptByHolds: 2 },
        { logType: 'LogwardenAdminLog', effectiveDays: 'forever', before: null, deleted: 0, keptByHolds: 0 },
      ],
    });
    const table = await ok(['tenants', 'retention', dry, '--type', 'AccessLog', '--days', '3', '--dry-run']);
    assert.match(table, /^dry run, nothing changed: what the next purge would delete after this change, counted now$/m);
    assert.match(table, /^AccessLog\s+3 days\s+\S+Z\s+4\s+2$/m);
    assert.match(await ok(['tenants', 'retention', dry, '--dry-run']), /^AccessLog\s+forever\s+never\s+0\s+0$/m);
    await refused(
      ['tenants', 'retention', dry, '--type', 'LogwardenAdminLog', '--days', '1', '--dry-run'],
      2,
      /the admin trail's retention is not set/,
    );
    assert.equal(await ok(['tenants', 'retention', dry, '--json']), settingsBefore, 'a dry run stores nothing');
    assert.equal((await trail(dry)).length, trailBefore, 'and records no act');

    const changed = await ok(['tenants', 'retention', dry, '--type', 'AccessLog', '--days', '3']);
    assert.match(changed, /^the server's next purge deletes 4 entries of AccessLog \(2 expired entries kept by legal holds\)$/m);
    // The same counts in JSON, after a change; a mere showing has none.
    const changedJson = JSON.parse(await ok(['tenants', 'retention', dry, '--type', 'AccessLog', '--days', '3', '--json']));
    assert.deepEqual(changedJson.purge[0], {
      logType: 'AccessLog',
      effectiveDays: 3,
      before: new Date(NOW - 3 * day).toISOString(),
      deleted: 4,
      keptByHolds: 2,
    });
    assert.equal(JSON.parse(await ok(['tenants', 'retention', dry, '--json'])).purge, undefined);
    assert.doesNotMatch(await ok(['tenants', 'retention', dry, '--type', 'AccessLog', '--forever']), /next purge/);
  });

  it('previews the purge at its own time: a clock more than a day ahead of the latest entry stored is held back to a day after it, and says so', async () => {
    const day = 86_400_000;
    clock = NOW + 365 * day;
    try {
      const ahead = await createTenantWith(Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', NOW - i * day, `{"i":${i}}`)));
      // Every entry stored is at NOW or before: the latest hour ends an hour after it.
      const asOf = NOW + 3_600_000 + day;
      const preview = JSON.parse(await ok(['tenants', 'retention', ahead, '--type', 'AccessLog', '--days', '3', '--dry-run', '--json']));
      assert.equal(preview.at, new Date(asOf).toISOString());
      assert.deepEqual(preview.purge[0], {
        logType: 'AccessLog',
        effectiveDays: 3,
        before: new Date(asOf - 3 * day).toISOString(),
        deleted: 8,
        keptByHolds: 0,
      });
      const table = await ok(['tenants', 'retention', ahead, '--type', 'AccessLog', '--days', '3', '--dry-run']);
      assert.match(
        table,
        new RegExp(
          `^this machine's clock \\(${new Date(clock).toISOString()}\\) is more than a day ahead of the latest entry stored .*: the purge measures retention as of ${new Date(asOf).toISOString()}$`,
          'm',
        ),
      );
      assert.match(table, /^AccessLog\s+3 days\s+\S+Z\s+8\s+0$/m);
    } finally {
      clock = NOW;
    }
  });
});
