import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LogsClient } from '../../src/client/index.ts';
import { type MirrorTarget, mirrorType, mirrorTypes } from '../../src/service/mirror-logs.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import { entryTexts } from '../support/entries.ts';
import { type FaultServer, startFaultServer } from '../support/fault-server.ts';
import { allBodies, tempDir } from '../support/live-source.ts';

const MINUTE = 60_000;

describe('a mirror round over several log types', () => {
  let server: FaultServer;
  let client: LogsClient;
  before(async () => {
    server = await startFaultServer({ pageSize: 5 });
    client = new LogsClient({ baseUrl: server.url, requestsPerSecond: 0, retry: { retries: 0 } });
  });
  after(() => server.close());

  it('reports a failing type and still mirrors the others, with progress per type', async () => {
    const dir = tempDir('logwarden-mirror-round-');
    const store = openSqliteStore({ dataDir: dir.path });
    const tenantId = '900000000000000002';
    await store.createTenant({ id: tenantId, name: 'mirror' });
    const now = Date.now();
    const access = entryTexts('AccessLog', 12, now - 30 * MINUTE, MINUTE);
    server.setEntries('AccessLog', access);
    server.setEntries('UserCallPlay', entryTexts('UserCallPlay', 3, now - 30 * MINUTE, MINUTE));
    const failing: Store = Object.create(store, {
      append: {
        value: (t: string, e: Parameters<Store['append']>[1]) => {
          const entries = [...e];
          return entries[0]?.logType === 'UserCallPlay' ? Promise.reject(new Error('disk full')) : store.append(t, entries);
        },
      },
    });
    const target: MirrorTarget = { store: failing, tenantId, source: server.url };
    const seen: string[] = [];
    const round = await mirrorTypes(
      target,
      client,
      {
        types: ['UserCallPlay', 'AccessLog'],
        sinceMs: now - 60 * MINUTE,
        overlapMs: MINUTE,
        untilMs: now,
        progress: (logType) => ({ update: (done) => seen.push(`${logType} ${done}`), stop: () => seen.push(`${logType} stop`) }),
      },
      new Set(),
    );
    assert.equal(round.startedAt, new Date(now).toISOString());
    assert.deepEqual(round.outcomes[0], { logType: 'UserCallPlay', error: 'disk full' });
    assert.equal(round.outcomes[1]?.report?.stored, 12);
    assert.deepEqual(round.warnings, ['UserCallPlay: disk full']);
    assert.deepEqual(seen, ['UserCallPlay stop', 'AccessLog 5', 'AccessLog 10', 'AccessLog 12', 'AccessLog stop']);
    assert.deepEqual(await allBodies(store, tenantId, 'AccessLog'), access);
    await store.close();
    dir.remove();
  });

  it('checks what it mirrored before 1970 too: an entry that reached the source late, dated 1965, is found and stored', async () => {
    const dir = tempDir('logwarden-mirror-past-');
    const store = openSqliteStore({ dataDir: dir.path });
    const tenantId = '900000000000000004';
    await store.createTenant({ id: tenantId, name: 'mirror' });
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const since = Date.parse('1965-01-01T00:00:00.000Z');
    const early = entryTexts('UserActivityLog', 6, since + 60 * MINUTE, MINUTE);
    server.setEntries('UserActivityLog', early);
    const req = { logType: 'UserActivityLog', sinceMs: since, overlapMs: 10 * MINUTE, untilMs: since + 365 * 24 * 60 * MINUTE };
    assert.equal((await mirrorType(target, client, req)).stored, 6);
    // Logged at the source after that run, dated within what it mirrored, long before its overlap window.
    const late = entryTexts('UserActivityLog', 1, since + 3 * 60 * MINUTE, MINUTE).map((t) =>
      t.replace('"logRecord":{', '"logRecord":{"late":true,'),
    );
    server.setEntries('UserActivityLog', [...early, ...late]);
    const second = await mirrorType(target, client, { ...req, untilMs: req.untilMs + 60 * MINUTE });
    assert.equal(second.check?.fromMs, since, 'the check starts where the mirror does');
    assert.equal(second.check?.missing, 1);
    assert.equal(second.check?.recovered, 1);
    assert.deepEqual(await allBodies(store, tenantId, 'UserActivityLog'), [...early, ...late]);
    await store.close();
    dir.remove();
  });

  it('reads on from its end when the checkpoint is later than it (saved by a clock that ran ahead, since put back)', async () => {
    const dir = tempDir('logwarden-mirror-clock-');
    const store = openSqliteStore({ dataDir: dir.path });
    const tenantId = '900000000000000005';
    await store.createTenant({ id: tenantId, name: 'mirror' });
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const now = Date.parse('2026-06-01T12:00:00.000Z');
    const early = entryTexts('UserActivityLog', 3, now - 30 * MINUTE, MINUTE);
    server.setEntries('UserActivityLog', early);
    const req = { logType: 'UserActivityLog', sinceMs: now - 60 * MINUTE, overlapMs: 10 * MINUTE };
    const ahead = await mirrorType(target, client, { ...req, untilMs: now + 365 * 24 * 60 * MINUTE }); // a clock a year ahead
    assert.equal(ahead.stored, 3);
    const later = entryTexts('UserActivityLog', 2, now + 5 * MINUTE, MINUTE).map((t) => t.replace('"logRecord":{', '"logRecord":{"later":true,'));
    server.setEntries('UserActivityLog', [...early, ...later]);
    // The clock put right: the run reads its overlap before its end, as if the checkpoint were there.
    const right = await mirrorType(target, client, { ...req, untilMs: now + 10 * MINUTE });
    assert.equal(right.fromMs, now);
    assert.equal(right.stored, 2, 'read as new entries, not found missing by the check');
    assert.equal(right.check?.missing, 0);
    assert.equal(right.throughMs, now + 10 * MINUTE, 'the checkpoint is no longer ahead');
    assert.equal((await store.getCheckpoint(server.url, tenantId, 'UserActivityLog'))?.throughMs, now + 10 * MINUTE);
    assert.deepEqual(await allBodies(store, tenantId, 'UserActivityLog'), [...early, ...later]);
    await store.close();
    dir.remove();
  });

  it('warns of a silent type once per silence, not every round', async () => {
    const dir = tempDir('logwarden-mirror-round-');
    const store = openSqliteStore({ dataDir: dir.path });
    const tenantId = '900000000000000003';
    await store.createTenant({ id: tenantId, name: 'mirror' });
    const now = Date.now();
    server.setEntries('UserActivityLog', entryTexts('UserActivityLog', 2, now - 40 * MINUTE, MINUTE));
    const target: MirrorTarget = { store, tenantId, source: server.url };
    const req = { types: ['UserActivityLog'], sinceMs: now - 60 * MINUTE, overlapMs: MINUTE, silentAfterMs: 20 * MINUTE };
    const silent = new Set<string>();
    const first = await mirrorTypes(target, client, { ...req, untilMs: now }, silent);
    assert.deepEqual(first.warnings, []);
    const second = await mirrorTypes(target, client, { ...req, untilMs: now + 1 }, silent);
    assert.equal(second.warnings.length, 1);
    assert.match(second.warnings[0]!, /^UserActivityLog: no new entry for more than 20 min /);
    const third = await mirrorTypes(target, client, { ...req, untilMs: now + 2 }, silent);
    assert.deepEqual(third.warnings, []);
    assert.ok(silent.has('UserActivityLog'));
    await store.close();
    dir.remove();
  });
});
