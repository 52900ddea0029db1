import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateDemoEntries } from '../../src/demo/demo-data.ts';
import { isDemoTenant } from '../../src/demo/demo-tenant.ts';
import { entryKey } from '../../src/logs/entry.ts';
import { ADMIN_LOG_TYPE, GONG_LOG_TYPES } from '../../src/logs/log-types.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCli } from '../support/cli.ts';
import { entriesOf } from '../support/page-entries.ts';

/** Runs `logwarden` from source in a child process, with stdout and stderr as pipes (not a terminal). */
const logwarden = (args: string[]) => runCli(args);

describe('logwarden seed', () => {
  let dir: string;
  const tenant = '4242424242';
  const until = '2026-03-01T00:00:00Z';
  const toMs = Date.parse(until);
  const fromMs = toMs - 2 * 86_400_000;
  const seedArgs = (...more: string[]) => [
    'seed',
    '--tenant',
    tenant,
    '--entries',
    '3000',
    '--days',
    '2',
    '--until',
    until,
    '--data-dir',
    dir,
    ...more,
  ];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-seed-'));
    const store = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: tenant, name: 'Seeded' });
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('stores the generated entries, deterministically, and a second run stores nothing new', async () => {
    const first = await logwarden(seedArgs('--seed', '9', '--json'));
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '', 'no progress bar when stderr is not a terminal');
    const summary = JSON.parse(first.stdout);
    assert.deepEqual(
      { ...summary, seconds: 0, entriesPerSecond: 0 },
      {
        tenant,
        entries: 3000,
        stored: 3000,
        duplicates: 0,
        seconds: 0,
        entriesPerSecond: 0,
        from: '2026-02-27T00:00:00.000Z',
        to: '2026-03-01T00:00:00.000Z',
        seed: 9,
      },
    );
    assert.ok(summary.seconds > 0 && summary.entriesPerSecond > 0);

    const expected = [...generateDemoEntries({ seed: 9, count: 3000, fromMs, toMs })];
    const store = openSqliteStore({ dataDir: dir });
    try {
      let total = 0;
      for (const logType of GONG_LOG_TYPES) {
        const page = await store.firstPage({ tenantId: tenant, logType, fromMs, toMs }, 50);
        const mine = expected.filter((e) => e.logType === logType);
        assert.equal(page.total, mine.length, logType);
        assert.deepEqual(
          entriesOf(page).map((e) => e.body),
          mine.slice(0, 50).map((e) => e.body),
          `${logType}: the generator's entries, in order`,
        );
        total += page.total;
      }
      assert.equal(total, 3000);
    } finally {
      await store.close();
    }

    const again = await logwarden(seedArgs('--seed', '9', '--json'));
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual([JSON.parse(again.stdout).stored, JSON.parse(again.stdout).duplicates], [0, 3000]);
    assert.match(again.stderr, /^logwarden: 3,000 of 3,000 generated entries were already stored: .* change --seed \(e\.g\. --seed 10\)\n$/);
  });

  it('prints a one-line summary without --json; another seed gives other entries', async () => {
    const r = await logwarden(seedArgs('--seed', '10'));
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^stored 3,000 entries, 0 duplicates skipped, in [\d.]+ s \([\d,]+ entries\/s\); 2026-02-27T00:00:00.000Z to 2026-03-01T00:00:00.000Z, seed 10\n$/,
    );
  });

  it('takes --until in the forms of every time flag: a day (UTC midnight) or a time ago', async () => {
    const day = await logwarden(
      [...seedArgs('--entries', '5', '--days', '1', '--seed', '31'), '--json'].map((a) => (a === until ? '2026-02-10' : a)),
    );
    assert.equal(day.code, 0, day.stderr);
    assert.equal(JSON.parse(day.stdout).to, '2026-02-10T00:00:00.000Z');
  });

  it('seeds only the log types given with --types', async () => {
    const other = '4343434343';
    const setup = openSqliteStore({ dataDir: dir });
    await setup.createTenant({ id: other, name: 'One type' });
    await setup.close();
    const r = await logwarden([
      'seed',
      '--tenant',
      other,
      '--entries',
      '800',
      '--days',
      '2',
      '--until',
      until,
      '--types',
      'UserCallPlay,AccessLog',
      '--data-dir',
      dir,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).stored, 800);
    const store = openSqliteStore({ dataDir: dir });
    try {
      const totals = await Promise.all(
        GONG_LOG_TYPES.map(async (logType) => (await store.firstPage({ tenantId: other, logType, fromMs, toMs }, 1)).total),
      );
      assert.deepEqual(Object.fromEntries(GONG_LOG_TYPES.map((t, i) => [t, totals[i]! > 0])), {
        AccessLog: true,
        UserActivityLog: false,
        UserCallPlay: true,
        ExternallySharedCallAccess: false,
        ExternallySharedCallPlay: false,
      });
      assert.equal(
        totals.reduce((a, b) => a + b, 0),
        800,
      );
    } finally {
      await store.close();
    }
  });

  it('marks the tenant it seeds a demo tenant; refuses a tenant with entries of its own, writing nothing', async () => {
    const real = '4444444444';
    const body = `{"userId":"7","eventTime":"2026-02-28T10:00:00.000Z","logRecord":{"real":true}}`;
    const setup = openSqliteStore({ dataDir: dir });
    await setup.createTenant({ id: real, name: 'Real' });
    await setup.append(real, [{ logType: 'AccessLog', eventTimeMs: Date.parse('2026-02-28T10:00:00Z'), body, key: entryKey('AccessLog', body) }]);
    await setup.close();

    const r = await logwarden(['seed', '--tenant', real, '--entries', '10', '--days', '2', '--until', until, '--data-dir', dir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^logwarden: seed refused: tenant 4444444444 holds entries of its own and is not a demo tenant\. .*Nothing was written\. .*tenants create --name NAME/,
    );
    assert.equal(r.stdout, '');

    const store = openSqliteStore({ dataDir: dir });
    try {
      const range = { fromMs: 0, toMs: null };
      assert.deepEqual(
        entriesOf(await store.firstPage({ tenantId: real, logType: 'AccessLog', ...range }, 10)).map((e) => e.body),
        [body],
      );
      assert.deepEqual(await store.logTypes(real), ['AccessLog'], 'no entry of any other type, no admin act');
      assert.equal(await isDemoTenant(store, real), false);
      // The tenant seeded above was marked before its first entry, by the operator at the command line.
      assert.equal(await isDemoTenant(store, tenant), true);
      const trail = entriesOf(await store.firstPage({ tenantId: tenant, logType: ADMIN_LOG_TYPE, ...range }, 10)).map(
        (e) => JSON.parse(e.body) as { logRecord: { action: string; actor: { kind: string } } },
      );
      assert.deepEqual(
        trail.map((e) => [e.logRecord.action, e.logRecord.actor.kind]),
        [['tenant.demo', 'cli']],
      );
    } finally {
      await store.close();
    }
  });

  it('fails with exit 1 for an unknown tenant, and exit 2 for bad flags', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['seed', '--tenant', '99', '--entries', '10', '--data-dir', dir], 1, /no tenant 99/],
      [seedArgs('--entries', '0'), 2, /--entries must be an integer from 1/],
      [seedArgs('--entries', '1e6'), 2, /--entries must be an integer/],
      [seedArgs('--days', '-3'), 2, /--days must be an integer/],
      [seedArgs('--types', 'AccessLog,Nope'), 2, /--types must list log types among AccessLog/],
      [seedArgs('--seed', '4294967296'), 2, /--seed must be an integer from 0 to 4294967295/],
      [seedArgs('--until', '2026-03-01T00:00:00'), 2, /--until must include a UTC offset.*; use ISO-8601 with offset, YYYY-MM-DD/],
      [seedArgs('--until', 'tomorrow'), 2, /^logwarden: --until .*; use ISO-8601 with offset, YYYY-MM-DD \(UTC midnight\), a time ago like 2w, 7d/],
      [seedArgs('--until', '0001-01-01T00:00:00Z', '--days', '3000'), 2, /--until and --days/],
      [['seed', '--tenant', 'acme', '--entries', '10', '--data-dir', dir], 2, /--tenant must be a tenant id/],
      [['seed', '--tenant', tenant, '--data-dir', dir], 2, /required option '--entries <n>'/],
    ];
    const runs = await Promise.all(cases.map(([args]) => logwarden(args)));
    runs.forEach((r, i) => {
      const [args, code, message] = cases[i]!;
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  });

  it('documents itself with an example', async () => {
    const r = await logwarden(['seed', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--entries <n>/);
    assert.match(r.stdout, /Examples:\n {2}logwarden seed --tenant \d+ --entries \d+/);
  });
});
