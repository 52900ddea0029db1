import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { agoText } from '../../src/cli/mirrors.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCli } from '../support/cli.ts';
import { type TempDir, tempDir } from '../support/live-source.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 5, 15, 12, 0, 0);
const GONG = 'https://us-12345.api.gong.io/';
const PEER = 'http://10.0.0.5:8080/';
const A = '100000000000000001';
const B = '200000000000000002';

describe('agoText', () => {
  it('says how long ago, to the minute', () => {
    assert.equal(agoText(0), '0m');
    assert.equal(agoText(-5 * MINUTE), '0m', 'a checkpoint ahead of the clock is not behind');
    assert.equal(agoText(59_999), '0m');
    assert.equal(agoText(12 * MINUTE), '12m');
    assert.equal(agoText(5 * HOUR + 2 * MINUTE), '5h 02m');
    assert.equal(agoText(3 * DAY + 4 * HOUR + 59 * MINUTE), '3d 04h');
  });
});

describe('logwarden tenants mirrors', () => {
  let dir: TempDir;
  let empty: TempDir;
  const run = (args: string[], d = dir) => runCli(['tenants', 'mirrors', ...args, '--data-dir', d.path], { now: () => NOW });

  before(async () => {
    dir = tempDir('logwarden-mirrors-');
    empty = tempDir('logwarden-mirrors-empty-');
    const store = openSqliteStore({ dataDir: dir.path });
    await store.createTenant({ id: A, name: 'A' });
    await store.createTenant({ id: B, name: 'B' });
    await store.createTenant({ id: '300000000000000003', name: 'no mirror' });
    await store.setCheckpoint({ source: GONG, tenantId: A, logType: 'AccessLog', throughMs: NOW - 70 * MINUTE, entriesSeen: 1200 });
    await store.setCheckpoint({ source: GONG, tenantId: A, logType: 'UserActivityLog', throughMs: NOW - 3 * DAY - 4 * HOUR, entriesSeen: 7 });
    await store.setCheckpoint({ source: PEER, tenantId: B, logType: 'AccessLog', throughMs: NOW - 10 * MINUTE, entriesSeen: 0 });
    await store.close();
    const e = openSqliteStore({ dataDir: empty.path });
    await e.createTenant({ id: A, name: 'A' });
    await e.close();
  });
  after(() => {
    dir.remove();
    empty.remove();
  });

  it('lists every mirror with the time it is complete through and how far behind that is', async () => {
    const r = await run([]);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s{2,}/));
    assert.deepEqual(rows[0], ['TENANT', 'SOURCE', 'TYPE', 'COMPLETE THROUGH', 'BEHIND', 'LAST SAVED', 'ENTRIES']);
    assert.deepEqual(
      rows.slice(1).map((row) => [row[0], row[1], row[2], row[3], row[4], row[6]]),
      [
        [A, GONG, 'AccessLog', '2026-06-15T10:50:00.000Z', '1h 10m', '1200'],
        [A, GONG, 'UserActivityLog', '2026-06-12T08:00:00.000Z', '3d 04h', '7'],
        [B, PEER, 'AccessLog', '2026-06-15T11:50:00.000Z', '10m', '0'],
      ],
    );
    assert.equal(r.stderr, '');
  });

  it("lists one tenant's mirrors as JSON", async () => {
    const r = await run([A, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const list = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      list.map(({ lastSaved, ...rest }) => {
        assert.ok(!Number.isNaN(Date.parse(String(lastSaved))));
        return rest;
      }),
      [
        {
          tenantId: A,
          source: GONG,
          logType: 'AccessLog',
          completeThrough: '2026-06-15T10:50:00.000Z',
          behindSeconds: 4200,
          entriesMirrored: 1200,
          pastSourceRetention: false,
        },
        {
          tenantId: A,
          source: GONG,
          logType: 'UserActivityLog',
          completeThrough: '2026-06-12T08:00:00.000Z',
          behindSeconds: 273_600,
          entriesMirrored: 7,
          pastSourceRetention: false,
        },
      ],
    );
  });

  it('--stale-after fails, naming each mirror that lags by more, and passes when none does', async () => {
    const lagging = await run(['--stale-after', '2d']);
    assert.equal(lagging.code, 1);
    const lines = lagging.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, lagging.stderr);
    assert.match(
      lines[0]!,
      /^logwarden: the mirror of UserActivityLog from https:\/\/us-12345\.api\.gong\.io\/ into tenant 100000000000000001 is complete only through 2026-06-12T08:00:00\.000Z \(3d 04h ago; its last run saved it at .+\)$/,
    );
    assert.match(lines[1]!, /1 of 3 mirrors lag by more than --stale-after 2d: run `logwarden sync` for them/);
    assert.match(lagging.stdout, /3d 04h \(stale\)/);
    const json = await run([A, '--stale-after', '2d', '--json']);
    assert.equal(json.code, 1);
    assert.deepEqual(
      (JSON.parse(json.stdout) as Array<{ logType: string; stale: boolean }>).map((m) => [m.logType, m.stale]),
      [
        ['AccessLog', false],
        ['UserActivityLog', true],
      ],
    );

    const fine = await run([B, '--stale-after', '1h']);
    assert.equal(fine.code, 0, fine.stderr);
    assert.equal(fine.stderr, '');
    assert.equal((await run(['--stale-after', '4d'])).code, 0);
  });

  it('--stale-after fails when there is no mirror to check; without it, says there is none', async () => {
    const none = await run(['300000000000000003', '--stale-after', '2d']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /there is no mirror into tenant 300000000000000003 to check/);
    const store = await run(['--stale-after', '2d'], empty);
    assert.equal(store.code, 1);
    assert.match(store.stderr, /there is no mirror in this store to check/);
    const listed = await run([], empty);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^no mirrors in this store yet: see `logwarden sync --help`\n$/);
    assert.equal((await run(['--json'], empty)).stdout, '[]\n');
  });

  it("marks a mirror behind by more than its source keeps the type's entries (Gong: AccessLog 14 days)", async () => {
    const late = tempDir('logwarden-mirrors-late-');
    try {
      const store = openSqliteStore({ dataDir: late.path });
      await store.createTenant({ id: A, name: 'A' });
      await store.setCheckpoint({ source: GONG, tenantId: A, logType: 'AccessLog', throughMs: NOW - 15 * DAY, entriesSeen: 1 });
      await store.setCheckpoint({ source: GONG, tenantId: A, logType: 'UserActivityLog', throughMs: NOW - 15 * DAY, entriesSeen: 1 });
      await store.setCheckpoint({ source: PEER, tenantId: A, logType: 'AccessLog', throughMs: NOW - 15 * DAY, entriesSeen: 1 });
      await store.close();
      const r = await run(['--stale-after', '2d'], late);
      assert.equal(r.code, 1);
      assert.deepEqual(
        r.stdout
          .trimEnd()
          .split('\n')
          .slice(1)
          .map((l) => l.split(/\s{2,}/)[4]),
        // By source: the peer (http://…) before Gong.
        ['15d 00h (stale)', "15d 00h (stale, past the source's retention)", '15d 00h (stale)'],
      );
      const json = JSON.parse((await run(['--json'], late)).stdout) as Array<{ pastSourceRetention: boolean }>;
      assert.deepEqual(
        json.map((m) => m.pastSourceRetention),
        [false, true, false],
      );
    } finally {
      late.remove();
    }
  });

  it('--forget deletes the checkpoints of a source given up (of one --type), so that --stale-after passes again', async () => {
    const d = tempDir('logwarden-mirrors-forget-');
    try {
      const store = openSqliteStore({ dataDir: d.path });
      await store.createTenant({ id: A, name: 'A' });
      await store.createTenant({ id: B, name: 'B' });
      for (const logType of ['AccessLog', 'UserActivityLog']) {
        await store.setCheckpoint({ source: GONG, tenantId: A, logType, throughMs: NOW - 10 * MINUTE, entriesSeen: 1 });
        await store.setCheckpoint({ source: PEER, tenantId: A, logType, throughMs: NOW - 9 * DAY, entriesSeen: 1 });
        await store.setCheckpoint({ source: PEER, tenantId: B, logType, throughMs: NOW - 10 * MINUTE, entriesSeen: 1 });
      }
      await store.close();
      assert.equal((await run(['--stale-after', '2d'], d)).code, 1);

      // One type, the URL as a user types it (no trailing slash).
      const one = await run([A, '--forget', 'http://10.0.0.5:8080', '--type', 'UserActivityLog'], d);
      assert.equal(one.code, 0, one.stderr);
      assert.equal(
        one.stdout,
        `forgot the mirror of UserActivityLog from ${PEER} into tenant ${A}; its entries stay, and a later sync from it starts again at its --since\n`,
      );
      const rest = await run([A, '--forget', PEER, '--json'], d);
      assert.deepEqual(JSON.parse(rest.stdout), { tenantId: A, source: PEER, forgotten: ['AccessLog'] });
      const left = JSON.parse((await run(['--json'], d)).stdout) as Array<{ tenantId: string; source: string }>;
      assert.deepEqual(
        left.map((m) => `${m.tenantId} ${m.source}`),
        [`${A} ${GONG}`, `${A} ${GONG}`, `${B} ${PEER}`, `${B} ${PEER}`],
        "tenant B's mirror from the same source stays",
      );
      assert.equal((await run(['--stale-after', '2d'], d)).code, 0);

      const none = await run([A, '--forget', PEER], d);
      assert.equal(none.code, 1);
      assert.match(
        none.stderr,
        new RegExp(`tenant ${A} has no mirror from http://10\\.0\\.0\\.5:8080/; its mirrors: https://us-12345\\.api\\.gong\\.io/\\n`),
      );
      assert.equal((await run(['--forget', PEER], d)).code, 2, 'the tenant is required');
      assert.equal((await run([A, '--type', 'AccessLog'], d)).code, 2, '--type goes with --forget');
      assert.equal((await run([A, '--forget', PEER, '--stale-after', '1d'], d)).code, 2);
      assert.match((await run([A, '--forget', 'ftp://x'], d)).stderr, /--forget: base URL must be http\(s\)/);
    } finally {
      d.remove();
    }
  });

  it('tenants show counts the mirrors into the tenant', async () => {
    const show = (id: string, json: string[] = []) => runCli(['tenants', 'show', id, ...json, '--data-dir', dir.path]);
    assert.match(
      (await show(A)).stdout,
      /\nmirrors +2, all complete through 2026-06-12T08:00:00\.000Z \(logwarden tenants mirrors 100000000000000001\)\n/,
    );
    assert.match((await show('300000000000000003')).stdout, /\nmirrors +none\n/);
    const b = JSON.parse((await show(B, ['--json'])).stdout) as { mirrors: number; mirrorsCompleteThrough: string | null };
    assert.deepEqual([b.mirrors, b.mirrorsCompleteThrough], [1, '2026-06-15T11:50:00.000Z']);
    const none = JSON.parse((await show('300000000000000003', ['--json'])).stdout) as { mirrorsCompleteThrough: string | null };
    assert.equal(none.mirrorsCompleteThrough, null);
  });

  it('refuses an unknown tenant and a --stale-after that is not a duration', async () => {
    const unknown = await run(['42']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no tenant 42/);
    const bad = await run(['--stale-after', 'two days']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--stale-after must be a duration like 30s, 15m, 12h, 7d or 2w \(got "two days"\)/);
  });
});
