import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pageSizeFor, sourceRetentionOf } from '../../src/cli/remote.ts';
import { LogsClient } from '../../src/client/index.ts';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { GONG_LOG_TYPES } from '../../src/logs/log-types.ts';
import { RECENT_CHECK_MS } from '../../src/service/mirror-check.ts';
import { checkWarning, isIncomplete, type MirrorTarget, mirrorType, mirrorTypes } from '../../src/service/mirror-logs.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT, runCli } from '../support/cli.ts';
import { entryText, entryTexts } from '../support/entries.ts';
import { type FaultServer, startFaultServer } from '../support/fault-server.ts';
import { allBodies, type LiveSource, seed, startLiveSource, type TempDir, tempDir } from '../support/live-source.ts';

const MINUTE = 60_000;

async function localStore(): Promise<{ store: Store; dir: TempDir; tenantId: string }> {
  const dir = tempDir('logwarden-mirror-');
  const store = openSqliteStore({ dataDir: dir.path });
  const tenantId = '900000000000000001';
  await store.createTenant({ id: tenantId, name: 'mirror' });
  return { store, dir, tenantId };
}

describe('the mirror of one log type', () => {
  let server: FaultServer;
  let client: LogsClient;
  before(async () => {
    server = await startFaultServer({ pageSize: 6 });
    client = new LogsClient({ baseUrl: server.url, requestsPerSecond: 0, retry: { retries: 0 } });
  });
  after(() => server.close());

  it('moves the checkpoint only past entries durably stored, so a failed run resumes and ends identical', async () => {
    const { store, dir, tenantId } = await localStore();
    const now = Date.now();
    const texts = entryTexts('AccessLog', 40, now - 60 * MINUTE, 30_000);
    server.setEntries('AccessLog', texts);
    let appends = 0;
    const failing: Store = Object.create(store, {
      append: {
        value: (t: string, e: Parameters<Store['append']>[1]) => (++appends === 3 ? Promise.reject(new Error('disk full')) : store.append(t, e)),
      },
    });
    const target: MirrorTarget = { store: failing, tenantId, source: server.url };
    const req = { logType: 'AccessLog', sinceMs: now - 2 * 60 * MINUTE, overlapMs: 5 * MINUTE, untilMs: now };
    await assert.rejects(mirrorType(target, client, req), /disk full/);
    const stored = await allBodies(store, tenantId, 'AccessLog');
    assert.deepEqual(stored, texts.slice(0, 12), 'two pages of six');
    const cp = await store.getCheckpoint(server.url, tenantId, 'AccessLog');
    assert.equal(cp?.throughMs, Date.parse(JSON.parse(texts[11]!).eventTime), 'the checkpoint is the last stored instant');
    assert.equal(cp?.entriesSeen, 12);

    const report = await mirrorType(target, client, { ...req, untilMs: Date.now() });
    assert.deepEqual(await allBodies(store, tenantId, 'AccessLog'), texts);
    assert.equal(report.stored, 28);
    assert.ok(report.duplicates > 0, 'the overlap is re-read');
    assert.equal((await store.getCheckpoint(server.url, tenantId, 'AccessLog'))?.entriesSeen, 40);
    await store.close();
    dir.remove();
  });

  it('picks up entries that reach the source late exactly once: within the overlap by the pass, before it by the completeness check', async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.now();
    server.setEntries('UserActivityLog', entryTexts('UserActivityLog', 10, now - 30 * MINUTE, MINUTE));
    const req = { logType: 'UserActivityLog', sinceMs: now - 60 * MINUTE, overlapMs: 10 * MINUTE };
    const first = await mirrorType(target, client, { ...req, untilMs: now });
    assert.equal(first.stored, 10);
    const late = entryText('UserActivityLog', 500, now - 4 * MINUTE);
    // Dated before the window, and before every entry mirrored so far (but after --since).
    const tooLate = entryText('UserActivityLog', 501, now - 40 * MINUTE);
    server.addEntries('UserActivityLog', [late, tooLate]);
    const second = await mirrorType(target, client, { ...req, untilMs: Date.now() });
    assert.equal(second.fromMs, now - 10 * MINUTE);
    assert.equal(second.stored, 1, 'the late entry inside the overlap is stored by the pass');
    // The one dated before the window: the range [--since, window) counted 11 at the source, 10 here; read again.
    assert.deepEqual(second.check, {
      fromMs: now - 60 * MINUTE,
      toMs: now - 10 * MINUTE,
      sourceCount: 11,
      mirrorCount: 10,
      missing: 1,
      recovered: 1,
      identical: 0,
      stillMissing: 0,
      requests: 4,
    });
    assert.match(
      checkWarning('UserActivityLog', second.check!, now) ?? '',
      /^UserActivityLog: 1 entry from .* reached the source after earlier runs/,
    );
    const bodies = await allBodies(store, tenantId, 'UserActivityLog');
    assert.ok(bodies.includes(late) && bodies.includes(tooLate));
    assert.equal(bodies.length, 12);
    assert.equal((await store.getCheckpoint(server.url, tenantId, 'UserActivityLog'))?.entriesSeen, 12, 'recovered entries count as seen');
    const third = await mirrorType(target, client, { ...req, untilMs: Date.now() });
    assert.equal(third.stored, 0);
    assert.equal(third.duplicates, third.fetched);
    assert.equal(third.check?.missing, 0);
    assert.equal(third.check?.requests, 1, 'a complete mirror costs one request to check');
    assert.equal(checkWarning('UserActivityLog', third.check!, now), undefined);
    // A later run given a later --since (the default 14d of a cron line, say) still checks back
    // to the mirror's oldest entry.
    const lateAgain = entryText('UserActivityLog', 503, now - 20 * MINUTE);
    server.addEntries('UserActivityLog', [lateAgain]);
    const later = await mirrorType(target, client, { ...req, sinceMs: now - 15 * MINUTE, untilMs: Date.now() });
    assert.equal(later.check?.fromMs, now - 40 * MINUTE, 'from the oldest entry mirrored');
    assert.equal(later.check?.recovered, 1);
    assert.ok((await allBodies(store, tenantId, 'UserActivityLog')).includes(lateAgain));
    // The local retention's cutoff bounds the check: it never reads purged entries back.
    server.addEntries('UserActivityLog', [entryText('UserActivityLog', 502, now - 25 * MINUTE)]);
    const retained = await mirrorType(target, client, { ...req, untilMs: Date.now(), retainedFromMs: now - 24 * MINUTE });
    assert.equal(retained.check?.fromMs, now - 24 * MINUTE, 'the cutoff, later than --since and the oldest entry');
    assert.equal(retained.check?.missing, 0);
    await store.close();
    dir.remove();
  });

  it('narrows a gap down by counts and reads again only the stretches that differ; copies in the source are not missing', async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.now();
    const texts = entryTexts('ExternallySharedCallPlay', 300, now - 300 * MINUTE, MINUTE);
    server.setEntries('ExternallySharedCallPlay', texts);
    const req = { logType: 'ExternallySharedCallPlay', sinceMs: now - 400 * MINUTE, overlapMs: 10 * MINUTE, pageSize: 2 };
    await mirrorType(target, client, { ...req, pageSize: 100, untilMs: now });
    // Two late entries far apart, and a copy of a mirrored one (stored once, as ingest would).
    server.addEntries('ExternallySharedCallPlay', [
      entryText('ExternallySharedCallPlay', 900, now - 250 * MINUTE),
      entryText('ExternallySharedCallPlay', 901, now - 60 * MINUTE),
      texts[100]!,
    ]);
    const sent = server.requests.length;
    const second = await mirrorType(target, client, { ...req, untilMs: Date.now() });
    assert.equal(second.check?.missing, 3);
    assert.equal(second.check?.recovered, 2);
    assert.equal(second.check?.identical, 1);
    assert.equal(second.check?.stillMissing, 0);
    assert.equal(checkWarning('ExternallySharedCallPlay', second.check!, now)?.startsWith('ExternallySharedCallPlay: 2 entries from '), true);
    // Reading the 250 entries before the window again would take 126 pages of two.
    const used = server.requests.length - sent;
    assert.ok(second.check!.requests < 60, `${second.check!.requests} requests for the check`);
    assert.ok(used < 70, `${used} requests in all`);
    assert.equal((await allBodies(store, tenantId, 'ExternallySharedCallPlay')).length, 302);
    await store.close();
    dir.remove();
  });

  it("finds a late entry near the window when the source has deleted its old entries (a retention like Gong's)", async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.now();
    const HOUR = 60 * MINUTE;
    const texts = entryTexts('ExternallySharedCallAccess', 400, now - 400 * HOUR, HOUR);
    server.setEntries('ExternallySharedCallAccess', texts);
    const req = { logType: 'ExternallySharedCallAccess', sinceMs: now - 410 * HOUR, overlapMs: 10 * MINUTE, pageSize: 100 };
    await mirrorType(target, client, { ...req, untilMs: now });
    // The source keeps its last 200 hours only (more than the week judged alone), and an entry two days old reaches it late.
    server.setEntries('ExternallySharedCallAccess', [...texts.slice(200), entryText('ExternallySharedCallAccess', 950, now - 48 * HOUR)]);
    const second = await mirrorType(target, client, { ...req, untilMs: Date.now() });
    assert.equal(second.check?.missing, 1, JSON.stringify(second.check));
    assert.equal(second.check?.recovered, 1);
    assert.equal(second.check?.stillMissing, 0);
    assert.equal(second.check!.toMs - second.check!.fromMs, RECENT_CHECK_MS, 'the recent week was judged on its own');
    assert.equal((await allBodies(store, tenantId, 'ExternallySharedCallAccess')).length, 401);
    await store.close();
    dir.remove();
  });

  it('says the mirror is incomplete, with what to do, when entries stay missing after reading them again', async () => {
    const { store, dir, tenantId } = await localStore();
    const now = Date.now();
    const texts = entryTexts('UserCallPlay', 8, now - 40 * MINUTE, MINUTE);
    server.setEntries('UserCallPlay', texts);
    // A store that loses one entry whenever it is given (as a broken mirror would).
    const lossy: Store = Object.create(store, {
      append: {
        value: (t: string, e: Parameters<Store['append']>[1]) =>
          store.append(
            t,
            [...e].filter((x) => x.body !== texts[3]),
          ),
      },
    });
    const target: MirrorTarget = { store: lossy, tenantId, source: server.url };
    const req = { types: ['UserCallPlay'], sinceMs: now - 60 * MINUTE, overlapMs: 10 * MINUTE };
    const first = await mirrorTypes(target, client, { ...req, untilMs: now }, new Set());
    assert.deepEqual(first.warnings, [], 'a first run has nothing mirrored before its window to check');
    const at = Date.now();
    const second = await mirrorTypes(target, client, { ...req, untilMs: at }, new Set());
    const report = second.outcomes[0]!.report!;
    assert.equal(report.check?.stillMissing, 1);
    assert.ok(isIncomplete(report));
    assert.equal(second.warnings.length, 1);
    assert.match(
      second.warnings[0]!,
      /^UserCallPlay: the mirror is incomplete: from (\S+) to \S+ the source holds more entries than the mirror \(8 against 7\), and 1 entry is still missing after reading the range again; run sync again with --overlap 3h to read back to \1, and if they stay missing compare that range of the source and the mirror \(logwarden fetch\)$/,
    );
    await store.close();
    dir.remove();
  });

  it('flags a type silent only when its newest entry is older than silentAfterMs, and stores ids a sloppy source sends as numbers as strings', async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.now();
    const t = new Date(now - 30 * MINUTE).toISOString();
    server.setEntries('UserCallPlay', [`{"userId":7301845529017364821,"eventTime":"${t}","logRecord":{"n":1.0}}`]);
    const req = { logType: 'UserCallPlay', sinceMs: now - 60 * MINUTE, overlapMs: MINUTE };
    const first = await mirrorType(target, client, { ...req, untilMs: now });
    assert.equal(first.silent, false);
    assert.deepEqual(await allBodies(store, tenantId, 'UserCallPlay'), [`{"userId":"7301845529017364821","eventTime":"${t}","logRecord":{"n":1.0}}`]);
    // Nothing new for 30 minutes is an ordinary quiet window under the default of 72 hours.
    const quiet = await mirrorType(target, client, { ...req, untilMs: Date.now() });
    assert.equal(quiet.fetched, 0);
    assert.equal(quiet.silentAfterMs, 72 * 60 * MINUTE);
    assert.equal(quiet.silent, false);
    // Judged against 20 minutes, the same 30 minutes without an entry is a silence.
    const silent = await mirrorType(target, client, { ...req, untilMs: Date.now(), silentAfterMs: 20 * MINUTE });
    assert.equal(silent.fetched, 0);
    assert.equal(silent.silent, true);
    await store.close();
    dir.remove();
  });

  it('warns when the earlier runs left the mirror behind by more than the source keeps the type (Gong: AccessLog 14 days)', async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const DAY = 24 * 60 * MINUTE;
    const now = Date.now();
    server.setEntries('AccessLog', entryTexts('AccessLog', 3, now - 2 * DAY, MINUTE));
    const req = { types: ['AccessLog'], sinceMs: now - 3 * DAY, overlapMs: 10 * MINUTE, untilMs: now, sourceRetention: () => 14 * DAY };
    // A first run: nothing was mirrored before, so nothing can have been missed.
    const first = await mirrorTypes(target, client, req, new Set());
    assert.equal(first.outcomes[0]!.report!.pastSourceRetention, undefined);
    assert.deepEqual(first.warnings, []);
    // Within the source's retention.
    await store.setCheckpoint({ source: server.url, tenantId, logType: 'AccessLog', throughMs: now - 13 * DAY, entriesSeen: 3 });
    assert.deepEqual((await mirrorTypes(target, client, req, new Set())).warnings, []);
    // Twenty days behind: the six oldest may be gone at the source.
    await store.setCheckpoint({ source: server.url, tenantId, logType: 'AccessLog', throughMs: now - 20 * DAY, entriesSeen: 3 });
    const late = await mirrorTypes(target, client, req, new Set());
    assert.deepEqual(late.outcomes[0]!.report!.pastSourceRetention, { fromMs: now - 20 * DAY, toMs: now - 14 * DAY, retentionMs: 14 * DAY });
    assert.deepEqual(late.warnings, [
      `AccessLog: the earlier runs left the mirror complete only through ${new Date(now - 20 * DAY).toISOString()}, and the source keeps AccessLog 14 days: ` +
        `entries it held from ${new Date(now - 20 * DAY).toISOString()} to ${new Date(now - 14 * DAY).toISOString()} may have been deleted there before this run read them, ` +
        'and are then lost to the mirror. Run sync more often than that, and check that it runs (logwarden tenants mirrors --stale-after)',
    ]);
    // A first run asked to start further back than the source keeps the type is told where the source's entries begin.
    assert.equal(await store.forgetCheckpoints(tenantId, server.url), 1);
    const first30 = await mirrorTypes(target, client, { ...req, sinceMs: now - 30 * DAY }, new Set());
    assert.deepEqual(first30.outcomes[0]!.report!.sinceBeforeSourceRetention, { fromMs: now - 14 * DAY, retentionMs: 14 * DAY });
    assert.deepEqual(first30.warnings, [
      `AccessLog: the source keeps AccessLog 14 days, so it no longer holds what --since asks for before ${new Date(now - 14 * DAY).toISOString()}: ` +
        'the mirror begins there, with what the source still has',
    ]);
    // Of a source whose retention is not known, nothing is said.
    await store.setCheckpoint({ source: server.url, tenantId, logType: 'AccessLog', throughMs: now - 20 * DAY, entriesSeen: 3 });
    assert.deepEqual((await mirrorTypes(target, client, { ...req, sourceRetention: undefined }, new Set())).warnings, []);
    await store.close();
    dir.remove();
  });

  it("knows Gong keeps AccessLog 14 days, and no other source's or type's retention", () => {
    assert.equal(sourceRetentionOf('https://us-12345.api.gong.io/')('AccessLog'), 14 * 86_400_000);
    assert.equal(sourceRetentionOf('https://api.gong.io/')('AccessLog'), 14 * 86_400_000);
    assert.equal(sourceRetentionOf('https://api.gong.io/')('UserActivityLog'), undefined);
    assert.equal(sourceRetentionOf('http://10.0.0.5:8080/')('AccessLog'), undefined);
    assert.equal(sourceRetentionOf('https://gong.io.example.com/')('AccessLog'), undefined);
  });

  it('follows a page with no entries but a cursor; a cursor page that ends the query early fails the type and keeps the checkpoint', async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.now();
    const texts = entryTexts('AccessLog', 20, now - 50 * MINUTE, MINUTE);
    server.setEntries('AccessLog', texts);
    const req = { logType: 'AccessLog', sinceMs: now - 60 * MINUTE, overlapMs: MINUTE, untilMs: now };
    // The second page comes back empty, with a cursor to the entries it would have held.
    server.faults.push({ kind: 'empty' }, { kind: 'empty' });
    const report = await mirrorType(target, client, req);
    assert.equal(report.fetched, 20);
    assert.deepEqual(await allBodies(store, tenantId, 'AccessLog'), texts);

    // A cursor answered "no records" (an expired cursor, as Gong can say it) after the first page.
    const other = await localStore();
    const target2: MirrorTarget = { store: other.store, tenantId: other.tenantId, source: server.url };
    const noRecords = JSON.stringify({ requestId: 'r1', errors: [NO_RECORDS_MESSAGE] });
    server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'status', status: 404, body: noRecords });
    await assert.rejects(mirrorType(target2, client, req), /ended the query after 6 of the 20 entries it counted/);
    assert.deepEqual(await allBodies(other.store, other.tenantId, 'AccessLog'), texts.slice(0, 6));
    const cp = await other.store.getCheckpoint(server.url, other.tenantId, 'AccessLog');
    assert.equal(cp?.throughMs, Date.parse(JSON.parse(texts[5]!).eventTime), 'not past what was read');
    const again = await mirrorType(target2, client, { ...req, untilMs: Date.now() });
    assert.equal(again.stored, 14);
    assert.deepEqual(await allBodies(other.store, other.tenantId, 'AccessLog'), texts);
    for (const s of [store, other.store]) await s.close();
    dir.remove();
    other.dir.remove();
  });

  it('keeps what a newer source adds: fields the contract does not name, user fields longer than ingest takes or empty', async () => {
    const { store, dir, tenantId } = await localStore();
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.now();
    const t = (m: number) => new Date(now - m * MINUTE).toISOString();
    const long = 'N'.repeat(1500);
    const texts = [
      `{"userId":"1","eventTime":"${t(30)}","logRecord":{"a":1.0},"workspaceId":12345678901234567890123,"newField":{"x":[1,"y"]}}`,
      `{"userId":"2","userFullName":"${long}","eventTime":"${t(29)}","logRecord":{}}`,
      `{"region":"eu","userId":"3","eventTime":"${t(28)}","logRecord":{"b":null}}`,
      `{"userId":"","userEmailAddress":"","eventTime":"${t(27)}","logRecord":{}}`,
    ];
    server.setEntries('UserActivityLog', texts);
    const report = await mirrorType(target, client, { logType: 'UserActivityLog', sinceMs: now - 60 * MINUTE, overlapMs: MINUTE, untilMs: now });
    assert.equal(report.stored, 4);
    assert.deepEqual(await allBodies(store, tenantId, 'UserActivityLog'), [
      texts[0],
      texts[1],
      // An added field is kept after logRecord, its text as the source sent it.
      `{"userId":"3","eventTime":"${t(28)}","logRecord":{"b":null},"region":"eu"}`,
      texts[3],
    ]);
    await store.close();
    dir.remove();
  });

  it('asks for pages of 1000 from a source that is not Gong, unless --page-size says otherwise', () => {
    assert.equal(pageSizeFor({ url: 'x' }, 'http://127.0.0.1:8080/'), 1000);
    assert.equal(pageSizeFor({ url: 'x' }, 'https://api.gong.io/'), undefined);
    assert.equal(pageSizeFor({ url: 'x' }, 'https://us-12345.api.gong.io/'), undefined);
    assert.equal(pageSizeFor({ url: 'x', pageSize: '250' }, 'http://127.0.0.1:8080/'), 250);
    assert.equal(pageSizeFor({ url: 'x', pageSize: '250' }, 'https://api.gong.io/'), 250);
  });
});

describe('logwarden sync from one logwarden into another', () => {
  let source: LiveSource;
  let dest: { store: Store; dir: TempDir; tenantId: string };
  const counts = new Map<string, number>();
  let env: Record<string, string>;
  const syncArgs = (...more: string[]) => [
    'sync',
    '--url',
    source.url,
    '--tenant',
    dest.tenantId,
    '--data-dir',
    dest.dir.path,
    '--since',
    '3h',
    ...more,
  ];

  before(async () => {
    source = await startLiveSource();
    env = { LOGWARDEN_ACCESS_KEY: source.key.accessKey, LOGWARDEN_SECRET: source.key.secret };
    const now = Date.now();
    for (const [i, t] of GONG_LOG_TYPES.entries()) {
      // The last hour, so the overlap of a second run holds entries to skip.
      const texts = entryTexts(t, 50 + 13 * i, now - 45 * MINUTE, 30_000);
      await seed(source.store, source.tenantId, t, texts);
      counts.set(t, texts.length);
    }
    dest = await localStore();
  });
  after(async () => {
    await source.close();
    await dest.store.close();
    dest.dir.remove();
  });

  async function assertIdentical(): Promise<void> {
    for (const t of GONG_LOG_TYPES) {
      const want = await allBodies(source.store, source.tenantId, t);
      assert.equal(want.length, counts.get(t));
      assert.deepEqual(await allBodies(dest.store, dest.tenantId, t), want, t);
    }
  }

  it('a run killed midway (SIGKILL) and restarted ends identical, for all five types', async () => {
    const total = [...counts.values()].reduce((a, b) => a + b);
    const child = spawn(process.execPath, [...CLI_ARGS, ...syncArgs('--page-size', '5', '--rate', '50')], {
      cwd: ROOT,
      env: cleanEnv(env),
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    let closed = false;
    const exited = new Promise<NodeJS.Signals | null>((r) =>
      child.on('close', (_code, signal) => {
        closed = true;
        r(signal);
      }),
    );
    let have = 0;
    while (have < total / 3) {
      assert.ok(!closed, `sync ended before it could be killed midway: ${stderr}`);
      await new Promise((r) => setTimeout(r, 15));
      have = 0;
      for (const t of GONG_LOG_TYPES) have += (await allBodies(dest.store, dest.tenantId, t)).length;
    }
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', stderr);
    let afterKill = 0;
    for (const t of GONG_LOG_TYPES) afterKill += (await allBodies(dest.store, dest.tenantId, t)).length;
    assert.ok(afterKill < total, `killed midway: ${afterKill} of ${total} stored`);

    const r = await runCli(syncArgs('--page-size', '7', '--rate', '0', '--json'), { env });
    assert.equal(r.code, 0, r.stderr);
    await assertIdentical();
    const report = JSON.parse(r.stdout) as { types: Array<{ logType: string; stored: number; fetched: number; check: { missing: number } | null }> };
    assert.ok(
      report.types.some((x) => x.check !== null),
      'types mirrored in part before the kill are checked',
    );
    for (const x of report.types) assert.equal(x.check?.missing ?? 0, 0, x.logType);
    assert.equal(
      report.types.reduce((n, x) => n + x.stored, 0),
      total - afterKill,
      'each entry stored exactly once',
    );
  });

  it('a second run adds nothing: the overlap is read again and counted as duplicates', async () => {
    const r = await runCli(syncArgs('--rate', '0'), { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'a complete mirror: no warning');
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/\s+/));
    assert.deepEqual(rows[0], ['TYPE', 'FETCHED', 'STORED', 'DUPLICATES', 'RECOVERED', 'CHECKPOINT']);
    assert.deepEqual(
      rows.slice(1).map((row) => row[0]),
      [...GONG_LOG_TYPES],
    );
    for (const row of rows.slice(1)) {
      assert.equal(row[2], '0', `${row[0]} stored nothing new`);
      assert.equal(row[4], '0', `${row[0]} recovered nothing`);
      assert.equal(row[1], row[3], 'everything fetched was a duplicate');
    }
    assert.ok(
      rows.slice(1).some((row) => Number(row[1]) > 0),
      'the overlap window held entries',
    );
    await assertIdentical();

    // What the runs left, as a check from cron would read it.
    const mirrors = await runCli(['tenants', 'mirrors', dest.tenantId, '--stale-after', '1h', '--json', '--data-dir', dest.dir.path]);
    assert.equal(mirrors.code, 0, mirrors.stderr);
    const list = JSON.parse(mirrors.stdout) as Array<{
      source: string;
      logType: string;
      behindSeconds: number;
      entriesMirrored: number;
      stale: boolean;
    }>;
    assert.deepEqual(list.map((m) => [m.source, m.logType, m.stale]).sort(), GONG_LOG_TYPES.map((t) => [new URL(source.url).href, t, false]).sort());
    // Counted as each run saves its checkpoint: a page stored just before the kill above is counted by no run.
    for (const m of list) assert.ok(m.entriesMirrored > 0 && m.entriesMirrored <= counts.get(m.logType)!, m.logType);
  });

  it('entries that reach the source later than the overlap, dated before it, are found by the check, read, and reported', async () => {
    const now = Date.now();
    const late = [entryText('AccessLog', 7001, now - 40 * MINUTE), entryText('AccessLog', 7002, now - 30 * MINUTE)];
    await seed(source.store, source.tenantId, 'AccessLog', late);
    counts.set('AccessLog', counts.get('AccessLog')! + 2);
    const r = await runCli(syncArgs('--types', 'AccessLog', '--rate', '0', '--json'), { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^logwarden: warning: AccessLog: 2 entries from \S+Z to \S+Z reached the source after earlier runs had read past them \(later than --overlap allows for\); read again and stored now, so the mirror holds all that the source holds there\. If entries often arrive this late, raise --overlap\n$/,
    );
    const type = (JSON.parse(r.stdout) as { types: Array<{ stored: number; check: Record<string, unknown> }> }).types[0]!;
    assert.equal(type.stored, 0, 'the pass itself does not read before its window');
    assert.deepEqual(
      { ...type.check, from: undefined, to: undefined },
      {
        from: undefined,
        to: undefined,
        source: counts.get('AccessLog')!,
        mirror: counts.get('AccessLog')! - 2,
        missing: 2,
        recovered: 2,
        identical: 0,
        stillMissing: 0,
        complete: true,
      },
    );
    await assertIdentical();
    const again = await runCli(syncArgs('--types', 'AccessLog', '--rate', '0'), { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stderr, '');
  });

  it('--follow polls at the interval, mirrors new entries, and stops cleanly on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [...CLI_ARGS, ...syncArgs('--types', 'AccessLog', '--follow', '--interval', '1s', '--json', '--rate', '0')],
      {
        cwd: ROOT,
        env: cleanEnv(env),
      },
    );
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    let closed = false;
    const exited = new Promise<number | null>((r) =>
      child.on('close', (code) => {
        closed = true;
        r(code);
      }),
    );
    const rounds = () =>
      stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { types: Array<{ stored: number }> });
    const waitFor = async (done: () => boolean) => {
      while (!done()) {
        assert.ok(!closed, 'sync --follow ended on its own');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await waitFor(() => rounds().length >= 1);
    const fresh = entryText('AccessLog', 9999, Date.now() - 1000);
    await seed(source.store, source.tenantId, 'AccessLog', [fresh]);
    counts.set('AccessLog', counts.get('AccessLog')! + 1);
    await waitFor(() => rounds().some((r) => r.types[0]!.stored === 1));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    await assertIdentical();
  });

  it('refuses an unknown local tenant and unknown types', async () => {
    const r = await runCli(['sync', '--url', source.url, '--tenant', '12345', '--data-dir', dest.dir.path], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no local tenant 12345/);
    const bad = await runCli(syncArgs('--types', 'AccessLog,Nope'), { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown log type "Nope"/);
    const busy = await runCli(syncArgs('--types', 'AccessLog', '--follow', '--interval', '0s'), { env });
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, /--interval must be at least 1s: the time between runs \(got "0s"\)/);
    // Past what a timer can wait, a wait would end at once: sync would run back to back.
    const long = await runCli(syncArgs('--types', 'AccessLog', '--follow', '--interval', '5w'), { env });
    assert.equal(long.code, 2);
    assert.match(long.stderr, /--interval must be at most 24d \(got "5w"\)/);
    // A --since that reaches back before the year 1 is a usage error, not "Invalid time value".
    const far = await runCli(syncArgs('--types', 'AccessLog', '--since', '999999999w'), { env });
    assert.equal(far.code, 2);
    assert.match(far.stderr, /^logwarden: --since 999999999w reaches back before the year 1; give a shorter time ago, or a date$/m);
    const future = await runCli(syncArgs('--types', 'AccessLog', '--since', '2099-01-01'), { env });
    assert.equal(future.code, 2);
    assert.match(future.stderr, /^logwarden: --since 2099-01-01 is in the future/m);
    const all = await runCli(syncArgs('--types', 'all,AccessLog'), { env });
    assert.equal(all.code, 2);
    assert.match(all.stderr, /--types: "all" stands alone/);
    const both = await runCli([...syncArgs('--types', 'AccessLog'), '--token', 't', '--access-key', 'k', '--secret', 's'], { env });
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --token, or --access-key and --secret, not both/);
    const once = await runCli(syncArgs('--types', 'AccessLog', '--interval', '5m'), { env });
    assert.equal(once.code, 2);
    assert.match(once.stderr, /--interval goes with --follow/);
    // A mistyped --data-dir makes no store.
    const typo = join(dest.dir.path, 'typo');
    const nowhere = await runCli(['sync', '--url', source.url, '--tenant', '12345', '--data-dir', typo], { env });
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /no store at/);
    assert.ok(!existsSync(typo), 'no data directory was made');
  });

  it('says once that the source refused the credentials of every type', async () => {
    const wrong = { ...env, LOGWARDEN_SECRET: 'w'.repeat(40) };
    const r = await runCli(syncArgs('--rate', '0', '--json'), { env: wrong });
    assert.equal(r.code, 1);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('logwarden: warning:'));
    assert.deepEqual(warnings, [
      `logwarden: warning: ${GONG_LOG_TYPES.join(', ')}: the source refused the credentials (${JSON.parse(r.stdout).types[0].error}); check the access key and secret (or token) and their scopes`,
    ]);
    assert.match(warnings[0]!, /HTTP 401/);
  });
});

describe('logwarden sync when a source fails for one type', () => {
  it('reports the failure, still mirrors the other types, exits 1, and warns about a type silent for over three days but not about a quiet day', async () => {
    const server = await startFaultServer();
    const dest = await localStore();
    const now = Date.now();
    server.setEntries('AccessLog', entryTexts('AccessLog', 3, now - 10 * MINUTE));
    server.setEntries('UserCallPlay', entryTexts('UserCallPlay', 4, now - 80 * 60 * MINUTE));
    server.setEntries('UserActivityLog', entryTexts('UserActivityLog', 2, now - 30 * 60 * MINUTE));
    await dest.store.close();
    const args = [
      'sync',
      '--url',
      server.url,
      '--tenant',
      dest.tenantId,
      '--data-dir',
      dest.dir.path,
      '--types',
      'AccessLog,UserCallPlay,UserActivityLog',
      '--rate',
      '0',
      '--since',
      '4d',
    ];
    const env = { LOGWARDEN_ACCESS_KEY: 'k', LOGWARDEN_SECRET: 's' };
    const ok = await runCli(args, { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stderr, '', 'a first run warns about nothing');
    assert.equal(server.requests[0]!.url.searchParams.get('limit'), '1000', 'pages of 1000 from a source that is not Gong');

    server.setEntries('UserCallPlay', []);
    server.setEntries('UserActivityLog', []);
    server.faults.push({ kind: 'status', status: 403, body: '{"requestId":"x","errors":["Access denied: missing scope api:logs:read"]}' });
    const r = await runCli([...args, '--overlap', '1m'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^AccessLog\s+-\s+-\s+-\s+-\s+failed$/m);
    assert.match(r.stdout, /^UserCallPlay\s+0\s+0\s+0\s/m);
    assert.match(r.stderr, /warning: AccessLog: HTTP 403: Access denied: missing scope api:logs:read/);
    assert.match(r.stderr, /warning: UserCallPlay: no new entry for more than 72 h \(none since .*\), although 4 were mirrored before/);
    assert.doesNotMatch(r.stderr, /UserActivityLog/, 'a day without entries is an ordinary quiet window');
    assert.match(r.stderr, /sync failed for AccessLog$/m);

    const shorter = await runCli([...args, '--types', 'UserActivityLog', '--silent-after', '20h'], { env });
    assert.equal(shorter.code, 0, shorter.stderr);
    assert.match(shorter.stderr, /warning: UserActivityLog: no new entry for more than 20 h/);
    await server.close();
    dest.dir.remove();
  });
});

describe('logwarden sync stopped by Ctrl-C', () => {
  it('exits 130 and says that the next run resumes from the checkpoints', async () => {
    const server = await startFaultServer({ pageSize: 2 });
    const dest = await localStore();
    await dest.store.close();
    server.setEntries('AccessLog', entryTexts('AccessLog', 6, Date.now() - 10 * MINUTE));
    server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'slow', ms: 20_000 });
    const args = [
      'sync',
      '--url',
      server.url,
      '--tenant',
      dest.tenantId,
      '--data-dir',
      dest.dir.path,
      '--types',
      'AccessLog',
      '--rate',
      '0',
      '--page-size',
      '2',
      '--json',
    ];
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      cwd: ROOT,
      env: cleanEnv({ LOGWARDEN_ACCESS_KEY: 'k', LOGWARDEN_SECRET: 's' }),
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    while (server.requests.length < 2) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /interrupted; run the same command again to resume from the checkpoints/);
    // The type cut short is reported with what it stored by then (a cron log must not read "nothing").
    const store = openSqliteStore({ dataDir: dest.dir.path });
    const held = (await allBodies(store, dest.tenantId, 'AccessLog')).length;
    await store.close();
    const round = JSON.parse(stdout) as { types: { logType: string; stored: number; interrupted?: boolean }[] };
    assert.deepEqual(
      round.types.map((t) => [t.logType, t.stored, t.interrupted]),
      [['AccessLog', held, true]],
    );
    await server.close();
    dest.dir.remove();
  });
});
