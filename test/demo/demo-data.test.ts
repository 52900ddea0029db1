import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Config } from '../../src/config.ts';
import { generateDemoEntries, generateSteadyDemoEntries, loadDemoData, toIngestLine } from '../../src/demo/demo-data.ts';
import { DemoRefusedError } from '../../src/demo/demo-tenant.ts';
import { ENTRY_FIELDS, type NewEntry } from '../../src/logs/entry.ts';
import { parseNdjsonLine } from '../../src/logs/ingest-parse.ts';
import { ADMIN_LOG_TYPE, GONG_LOG_TYPES, LogTypes } from '../../src/logs/log-types.ts';
import { type Prepared, prepareStore } from '../../src/server/start.ts';
import { openStore } from '../../src/store/open.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { testConfig } from '../support/app.ts';
import { leftByFirstStart } from '../support/first-start.ts';
import { goldenPages } from '../support/fixtures.ts';
import { startPostgres } from '../support/postgres.ts';

// Started before any suite is declared: suites declared after a top-level await would not run.
const postgres = await startPostgres();
if (postgres.cluster) after(() => postgres.cluster.stop());

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TO = Date.UTC(2026, 2, 1); // a Sunday, midnight UTC
const FROM = TO - 14 * DAY;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

function sample(seed: number, count = 6000, fromMs = FROM, toMs = TO): NewEntry[] {
  return [...generateDemoEntries({ seed, count, fromMs, toMs })];
}

/** For every object inside `value`, its path and its keys in order; for every leaf, its path and type. */
function shape(value: Json, path: string, keys: Map<string, Set<string>>, types: Map<string, Set<string>>): void {
  const add = (m: Map<string, Set<string>>, k: string, v: string) => {
    if (!m.has(k)) m.set(k, new Set());
    m.get(k)!.add(v);
  };
  if (Array.isArray(value)) {
    for (const v of value) shape(v, `${path}[]`, keys, types);
  } else if (value !== null && typeof value === 'object') {
    add(keys, path, Object.keys(value).join(','));
    for (const [k, v] of Object.entries(value)) shape(v, `${path}.${k}`, keys, types);
  } else {
    add(types, path, value === null ? 'null' : typeof value);
  }
}

function logRecordShapes(bodies: readonly string[]) {
  const keys = new Map<string, Set<string>>();
  const types = new Map<string, Set<string>>();
  for (const b of bodies) shape((JSON.parse(b) as Obj).logRecord!, 'logRecord', keys, types);
  return { keys, types };
}

function byType(entries: readonly NewEntry[]): Map<string, NewEntry[]> {
  const m = new Map<string, NewEntry[]>();
  for (const e of entries) {
    if (!m.has(e.logType)) m.set(e.logType, []);
    m.get(e.logType)!.push(e);
  }
  return m;
}

describe('demo data generator', () => {
  const entries = sample(42);
  const types = byType(entries);

  it('is deterministic: the same seed gives the same entries, another seed others', () => {
    const again = sample(42);
    assert.deepEqual(
      again.map((e) => e.body),
      entries.map((e) => e.body),
    );
    assert.deepEqual(
      again.map((e) => e.key.toString('hex')),
      entries.map((e) => e.key.toString('hex')),
    );
    const other = new Set(sample(43).map((e) => e.body));
    assert.equal(entries.filter((e) => other.has(e.body)).length, 0);
  });

  it('gives exactly the requested number of distinct entries, in the range, in time order', () => {
    assert.equal(entries.length, 6000);
    assert.equal(new Set(entries.map((e) => e.key.toString('hex'))).size, 6000);
    for (let i = 0; i < entries.length; i++) {
      const t = entries[i]!.eventTimeMs;
      assert.ok(t >= FROM && t < TO, `entry ${i} at ${t} outside the range`);
      if (i > 0) assert.ok(t >= entries[i - 1]!.eventTimeMs, `entry ${i} out of order`);
    }
    const narrow = sample(1, 5000, TO - 1000, TO);
    assert.equal(narrow.length, 5000);
    assert.ok(narrow.every((e) => e.eventTimeMs >= TO - 1000 && e.eventTimeMs < TO));
    assert.deepEqual(sample(1, 0), []);
  });

  it('passes ingest validation unchanged: each NDJSON line parses back to the same body and key', () => {
    const logTypes = new LogTypes();
    entries.forEach((e, i) => {
      const parsed = parseNdjsonLine(toIngestLine(e), i + 1, logTypes);
      assert.equal(parsed.logType, e.logType);
      assert.equal(parsed.eventTimeMs, e.eventTimeMs);
      assert.equal(parsed.body, e.body);
      assert.deepEqual(parsed.key, e.key);
    });
  });

  it('mixes all five log types in realistic proportions, AccessLog the most', () => {
    assert.deepEqual([...types.keys()].sort(), [...GONG_LOG_TYPES].sort());
    const share = (t: string) => types.get(t)!.length / entries.length;
    for (const t of GONG_LOG_TYPES) assert.ok(share(t) >= 0.01, `${t} is ${share(t)}`);
    for (const t of GONG_LOG_TYPES) if (t !== 'AccessLog') assert.ok(share('AccessLog') > 2 * share(t));
  });

  it('follows the golden pages: the same keys in the same order and the same value types, at every depth', () => {
    for (const page of goldenPages()) {
      const golden = logRecordShapes(page.entries);
      const made = logRecordShapes(types.get(page.logType)!.map((e) => e.body));
      for (const [path, orders] of made.keys) {
        assert.ok(golden.keys.has(path), `${page.logType}: ${path} is not in the golden page`);
        for (const order of orders) assert.ok(golden.keys.get(path)!.has(order), `${page.logType}: ${path} has keys ${order}`);
      }
      for (const path of golden.keys.keys()) assert.ok(made.keys.has(path), `${page.logType}: never generates ${path}`);
      for (const [path, kinds] of made.types) {
        // Shared-call plays carry sequence_num as a number or as a string: both occur in Gong data.
        const allowed = new Set(golden.types.get(path));
        if (path === 'logRecord.sequence_num') allowed.add('number').add('string');
        for (const kind of kinds) assert.ok(allowed.has(kind), `${page.logType}: ${path} is a ${kind}`);
      }
    }
  });

  it('renders entry fields in Gong order, with users, viewers and impersonators where they belong', () => {
    let impersonated = 0;
    for (const e of entries) {
      const entry = JSON.parse(e.body) as Obj;
      const keys = Object.keys(entry);
      assert.deepEqual(
        keys,
        ENTRY_FIELDS.filter((f) => keys.includes(f)),
        'Gong field order',
      );
      assert.equal(keys.at(-2), 'eventTime');
      const external = e.logType.startsWith('ExternallySharedCall');
      if (external) {
        assert.ok(!keys.includes('userId'), 'outside viewers have no user id');
        assert.match(String(entry.userEmailAddress), /^[a-z0-9.-]+@[a-z-]+\.example$/);
      } else {
        assert.match(String(entry.userId), /^[1-9]\d{18}$/);
        assert.ok(keys.includes('userEmailAddress') && keys.includes('userFullName'));
      }
      const impersonator = keys.filter((k) => k.startsWith('impersonator'));
      if (impersonator.length > 0) {
        impersonated++;
        assert.equal(e.logType, 'UserActivityLog');
        assert.equal(impersonator.length, 4);
        assert.match(String(entry.impersonatorUserId), /^[1-9]\d{18}$/);
        assert.match(String(entry.impersonatorCompanyId), /^\d+$/);
        const custom = (entry.logRecord as Obj).customData as Obj[];
        assert.ok(custom.some((c) => c.key === 'impersonator-company-id' && (c.values as string[])[0] === entry.impersonatorCompanyId));
      }
    }
    assert.ok(impersonated > 0, 'some activity is impersonated');
    const users = new Set(entries.filter((e) => e.logType === 'AccessLog').map((e) => (JSON.parse(e.body) as Obj).userEmailAddress));
    assert.equal(new Set([...users].map((u) => String(u).split('@')[1])).size, 1, 'one company domain');
  });

  it('keeps ids as digit strings and floats with their decimal point', () => {
    for (const e of entries) {
      const r = (JSON.parse(e.body) as Obj).logRecord as Obj;
      if ('call_id' in r) assert.match(String(r.call_id), /^[1-9]\d{18}$/);
      if (e.logType === 'UserActivityLog') {
        assert.match(String(r.auditId), /^[1-9]\d{18}$/);
        assert.ok(r.workspaceId === null || /^[1-9]\d{18}$/.test(String(r.workspaceId)));
      }
      if (e.logType.endsWith('CallPlay')) assert.match(e.body, /"play_speed":\d+\.\d+,.*"start_time":\d+\.\d+,"end_time":\d+\.\d+,/);
      if (e.logType === 'AccessLog') {
        assert.equal(typeof r.status, 'number');
        const headers = r.response_headers as Obj;
        assert.match(String(headers['x-traceid']), /^[0-9a-z]{19}$/);
        assert.equal((r.mdc as Obj).xtid, headers['x-traceid']);
      }
    }
  });

  it('plays calls in proper sequences: one player instance, numbered 1, 2, 3…, each segment continuing the last', () => {
    const sessions = new Map<string, Obj[]>();
    for (const e of [...types.get('UserCallPlay')!, ...types.get('ExternallySharedCallPlay')!]) {
      const entry = JSON.parse(e.body) as Obj;
      const id = String((entry.logRecord as Obj).video_player_instance_id);
      if (!sessions.has(id)) sessions.set(id, []);
      sessions.get(id)!.push(entry);
    }
    let multi = 0;
    for (const [id, list] of sessions) {
      if (list.length > 1) multi++;
      list.forEach((entry, i) => {
        const r = entry.logRecord as Obj;
        const first = list[0]!;
        assert.equal(Number(r.sequence_num), i + 1, `${id} is numbered in order`);
        assert.equal(r.call_id, (first.logRecord as Obj).call_id);
        assert.equal(entry.userEmailAddress, first.userEmailAddress);
        assert.equal(r.device, (first.logRecord as Obj).device);
        assert.ok(Number(r.end_time) > Number(r.start_time));
        if (i > 0) {
          const prev = list[i - 1]!;
          assert.equal(r.start_time, (prev.logRecord as Obj).end_time, `${id} continues where it stopped`);
          assert.ok(String(entry.eventTime) > String(prev.eventTime));
        }
      });
    }
    assert.ok(multi > sessions.size / 3, 'most sessions have several segments');
  });

  it('ties each shared call link to one call, viewed by outside people', () => {
    const callOf = new Map<string, string>();
    for (const t of ['ExternallySharedCallAccess', 'ExternallySharedCallPlay']) {
      for (const e of types.get(t)!) {
        const r = (JSON.parse(e.body) as Obj).logRecord as Obj;
        const sharing = String(r.time_based_secure_sharing_id);
        assert.match(sharing, /^tbs-[0-9a-f]{12}$/);
        assert.equal(callOf.get(sharing) ?? r.call_id, r.call_id);
        callOf.set(sharing, String(r.call_id));
      }
    }
  });

  it('is busier on working hours than at night', () => {
    const localHour = (ms: number) => new Date(ms - 5 * HOUR).getUTCHours();
    const workday = (ms: number) => ![0, 6].includes(new Date(ms - 5 * HOUR).getUTCDay());
    const busy = entries.filter((e) => workday(e.eventTimeMs) && localHour(e.eventTimeMs) >= 9 && localHour(e.eventTimeMs) < 17).length;
    const night = entries.filter((e) => localHour(e.eventTimeMs) < 6).length;
    assert.ok(busy > 3 * night, `${busy} working-hour entries, ${night} at night`);
  });

  it('generates only the log types asked for, as many as asked, in time order over the whole window', () => {
    const only = [...generateDemoEntries({ seed: 4, count: 3000, fromMs: FROM, toMs: TO, types: ['UserCallPlay', 'ExternallySharedCallAccess'] })];
    assert.equal(only.length, 3000);
    assert.deepEqual(new Set(only.map((e) => e.logType)), new Set(['UserCallPlay', 'ExternallySharedCallAccess']));
    assert.ok(only.every((e, i) => i === 0 || only[i - 1]!.eventTimeMs <= e.eventTimeMs));
    assert.ok(only[0]!.eventTimeMs < FROM + DAY && only[2999]!.eventTimeMs >= TO - DAY, 'spread over the window');
    const again = [...generateDemoEntries({ seed: 4, count: 3000, fromMs: FROM, toMs: TO, types: ['UserCallPlay', 'ExternallySharedCallAccess'] })];
    assert.deepEqual(
      again.map((e) => e.body),
      only.map((e) => e.body),
    );
    assert.throws(() => generateDemoEntries({ count: 1, fromMs: FROM, toMs: TO, types: ['NoSuchType'] }), RangeError);
    assert.throws(() => generateDemoEntries({ count: 1, fromMs: FROM, toMs: TO, types: [] }), RangeError);
  });

  it('refuses impossible windows and counts', () => {
    assert.throws(() => generateDemoEntries({ count: 1, fromMs: TO, toMs: TO }), RangeError);
    assert.throws(() => generateDemoEntries({ count: -1, fromMs: FROM, toMs: TO }), RangeError);
    assert.throws(() => generateDemoEntries({ count: 1, fromMs: -1e15, toMs: TO }), RangeError);
    assert.throws(() => generateSteadyDemoEntries({ perDay: Number.NaN, fromMs: FROM, toMs: TO }), RangeError);
  });

  it('at a steady rate, agrees with itself where two windows overlap', () => {
    const a = [...generateSteadyDemoEntries({ seed: 3, perDay: 2000, fromMs: FROM, toMs: FROM + 3 * DAY + 1234 })];
    const b = [...generateSteadyDemoEntries({ seed: 3, perDay: 2000, fromMs: FROM + DAY - 777, toMs: FROM + 5 * DAY })];
    const overlap = (e: NewEntry) => e.eventTimeMs >= FROM + DAY - 777 && e.eventTimeMs < FROM + 3 * DAY + 1234;
    const fromA = a.filter(overlap).map((e) => e.body);
    assert.ok(fromA.length > 3000);
    assert.deepEqual(
      b.filter(overlap).map((e) => e.body),
      fromA,
    );
  });
});

describe('loadDemoData', () => {
  let dir: string;
  let store: SqliteStore;
  const tenant = '7000000000000000001';
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-demo-'));
    store = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: tenant, name: 'Demo' });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // A Sunday night in the company's time zone: the quietest hour there is.
  const now = Date.UTC(2026, 2, 2, 8, 20, 0, 0);

  it('fills the last 30 days with all five types, the last hour included, and is idempotent', async () => {
    const first = await loadDemoData(store, tenant, { now });
    assert.ok(first.accepted > 30_000 && first.accepted < 50_000, `${first.accepted} entries`);
    assert.equal(first.duplicates, 0);
    for (const logType of GONG_LOG_TYPES) {
      const month = await store.firstPage({ tenantId: tenant, logType, fromMs: now - 30 * DAY, toMs: now }, 1);
      assert.ok(month.total > 100, `${logType}: ${month.total}`);
      const older = await store.firstPage({ tenantId: tenant, logType, fromMs: 0, toMs: now - 30 * DAY }, 1);
      assert.equal(older.total, 0);
    }
    const lastHour = await store.firstPage({ tenantId: tenant, logType: 'AccessLog', fromMs: now - HOUR, toMs: now }, 1);
    assert.ok(lastHour.total > 0, 'a query for the last hour finds something');
    const future = await store.firstPage({ tenantId: tenant, logType: 'AccessLog', fromMs: now, toMs: null }, 1);
    assert.equal(future.total, 0, 'nothing in the future');

    const second = await loadDemoData(store, tenant, { now });
    assert.deepEqual(second, { accepted: 0, duplicates: first.accepted });
  });

  it('later, adds only the entries of the time passed since', async () => {
    const later = now + 2 * HOUR;
    const expected = [...generateSteadyDemoEntries({ seed: 1, perDay: 40_000 / 30, fromMs: now, toMs: later })].length;
    assert.ok(expected > 0);
    const third = await loadDemoData(store, tenant, { now: later });
    assert.equal(third.accepted, expected);
  });
});

describe('a demo start (serve --demo)', () => {
  it("loads no entry older than its type's retention, so a restart never brings back what retention deleted", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-demo-retention-'));
    const now = Date.UTC(2026, 2, 2, 8, 20, 0, 0);
    try {
      const prepared = await prepareStore(testConfig({ dataDir: dir, retentionDays: 20 }), { demo: true, now: () => now });
      const { store, tenantId } = prepared;
      try {
        for (const logType of GONG_LOG_TYPES) {
          const older = await store.firstPage({ tenantId: tenantId!, logType, fromMs: 0, toMs: now - 20 * DAY }, 1);
          assert.equal(older.total, 0, `${logType}: nothing older than the server's 20 days`);
          const kept = await store.firstPage({ tenantId: tenantId!, logType, fromMs: now - 20 * DAY, toMs: now - 10 * DAY }, 1);
          assert.ok(kept.total > 0, `${logType}: the 20 days are filled`);
        }
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A store of each kind to start the demo on: SQLite always, PostgreSQL when a throwaway cluster can be started. */
const demoStores: Array<{ name: string; skip?: string; make(): Promise<{ config: Config; dispose(): Promise<void> }> }> = [
  {
    name: 'sqlite',
    async make() {
      const dir = mkdtempSync(join(tmpdir(), 'logwarden-demo-tenant-'));
      return { config: testConfig({ dataDir: dir }), dispose: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'postgres',
    ...(postgres.skip !== undefined && { skip: postgres.skip }),
    async make() {
      const url = await postgres.cluster!.createDatabase();
      return { config: testConfig({ databaseUrl: url }), dispose: () => postgres.cluster!.dropDatabase(url) };
    },
  },
];

/** The actions of the tenant's admin trail, in order. */
async function trailActions(store: Store, tenantId: string): Promise<string[]> {
  const page = await store.firstPage({ tenantId, logType: ADMIN_LOG_TYPE, fromMs: 0, toMs: null }, 1000);
  return (JSON.parse(`[${page.text}]`) as Array<{ logRecord: { action: string } }>).map((e) => e.logRecord.action);
}

/** Everything a refused demo start must leave as it was: tenants, keys, retention, and each type's entries. */
async function storeState(config: Config): Promise<unknown> {
  const store = await openStore(config);
  try {
    const tenants = await store.listTenants();
    const state: unknown[] = [];
    for (const t of tenants) {
      const totals: Record<string, number> = {};
      for (const logType of [...GONG_LOG_TYPES, ADMIN_LOG_TYPE]) {
        totals[logType] = (await store.firstPage({ tenantId: t.id, logType, fromMs: 0, toMs: null }, 1)).total;
      }
      const keys = (await store.listAccessKeys(t.id)).map((k) => k.accessKey);
      state.push({ tenant: t, keys, retention: await store.getRetention(t.id), totals, trail: await trailActions(store, t.id) });
    }
    return state;
  } finally {
    await store.close();
  }
}

for (const kind of demoStores) {
  describe(`the demo tenant of serve --demo (${kind.name})`, { skip: kind.skip }, () => {
    const now = Date.UTC(2026, 2, 2, 8, 20, 0, 0);

    it('on an empty store: creates the default tenant, marks it as the demo tenant, loads it; a later start loads into it again', async () => {
      const { config, dispose } = await kind.make();
      try {
        const first = await prepareStore(config, { demo: true, gongRetention: true, now: () => now });
        const tenantId = first.tenantId!;
        try {
          assert.equal(first.bootstrap?.tenantId, tenantId);
          assert.deepEqual(await trailActions(first.store, tenantId), ['tenant.created', 'tenant.demo', 'retention.changed', 'key.created']);
          assert.ok((await first.store.firstPage({ tenantId, logType: 'UserCallPlay', fromMs: 0, toMs: null }, 1)).total > 0);
          // An operator's own tenant beside it (a developer trying tenant isolation) changes nothing.
          await first.store.createTenant({ id: '1', name: 'acme' });
        } finally {
          await first.store.close();
        }
        const later = now + 2 * HOUR;
        const again = await prepareStore(config, { demo: true, gongRetention: true, now: () => later });
        try {
          assert.equal(again.tenantId, tenantId);
          assert.equal(again.bootstrap, undefined);
          const recent = await again.store.firstPage({ tenantId, logType: 'AccessLog', fromMs: now, toMs: later }, 1);
          assert.ok(recent.total > 0, 'the time passed since is loaded');
          assert.deepEqual(await trailActions(again.store, tenantId), ['tenant.created', 'tenant.demo', 'retention.changed', 'key.created']);
          assert.equal((await again.store.firstPage({ tenantId: '1', logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, 0);
        } finally {
          await again.store.close();
        }
      } finally {
        await dispose();
      }
    });

    it('finishes a demo first start stopped before it loaded: the tenant left without a key and entries is marked and loaded', async () => {
      const { config, dispose } = await kind.make();
      try {
        const store = await openStore(config);
        await leftByFirstStart(store, '424242424242424242');
        await store.close();
        const prepared = await prepareStore(config, { demo: true, now: () => now });
        try {
          assert.equal(prepared.tenantId, '424242424242424242');
          assert.equal(prepared.bootstrap?.tenantId, '424242424242424242');
          assert.deepEqual(await trailActions(prepared.store, '424242424242424242'), ['tenant.demo', 'key.created']);
        } finally {
          await prepared.store.close();
        }
      } finally {
        await dispose();
      }
    });

    // Each store a demo must never go into: made as a real one is, then offered to `--demo --gong-retention`.
    const refused: Array<{ what: string; make(config: Config): Promise<void> }> = [
      {
        what: 'a real store (first start without --demo, entries written)',
        async make(config) {
          const prepared = await prepareStore(config, { now: () => now - 40 * DAY });
          const tenantId = prepared.tenantId!;
          await prepared.store.append(tenantId, [makeEntry('AccessLog', now - 30 * DAY, '{"real":1}'), makeEntry('UserActivityLog', now - DAY)]);
          await prepared.store.close();
        },
      },
      {
        what: "a store whose only tenant, 'default' and without a key, holds entries (written by ingest)",
        async make(config) {
          const store = await openStore(config);
          await store.createTenant({ id: '515151515151515151', name: 'default' });
          await store.append('515151515151515151', [makeEntry('AccessLog', now - 20 * DAY, '{"real":2}')]);
          await store.close();
        },
      },
      {
        what: 'a demo store made before demo tenants were marked',
        async make(config) {
          const prepared = await prepareStore(config, { now: () => now - DAY });
          await loadDemoData(prepared.store, prepared.tenantId!, { now: now - DAY, count: 300 });
          await prepared.store.close();
        },
      },
      {
        what: "a store of tenants the operator made, none of them a first start's",
        async make(config) {
          const store = await openStore(config);
          await store.createTenant({ id: '2', name: 'acme' });
          await store.createTenant({ id: '3', name: 'globex' });
          await store.append('3', [makeEntry('AccessLog', now - 20 * DAY)]);
          await store.close();
        },
      },
    ];
    for (const r of refused) {
      it(`refuses ${r.what}, writing nothing: no entry, no admin-trail act, no retention`, async () => {
        const { config, dispose } = await kind.make();
        try {
          await r.make(config);
          const before = await storeState(config);
          await assert.rejects(
            prepareStore(config, { demo: true, gongRetention: true, now: () => now }),
            (err: Error) =>
              err instanceof DemoRefusedError &&
              err.code === 'usage' &&
              /^--demo refused: the (PostgreSQL )?store .*(is not|none of its \d+ tenants is) a demo tenant.*Nothing was written\. .*a new --data-dir.*start without --demo/.test(
                err.message,
              ) &&
              !err.message.includes('\n') &&
              !(config.databaseUrl && err.message.includes(config.databaseUrl)),
          );
          assert.deepEqual(await storeState(config), before);
        } finally {
          await dispose();
        }
      });
    }
  });
}

for (const kind of demoStores) {
  describe(`first starts at once (${kind.name})`, { skip: kind.skip }, () => {
    it('two starts on one empty store both start, with one default tenant between them', async () => {
      const { config, dispose } = await kind.make();
      try {
        const started = await Promise.allSettled([prepareStore(config), prepareStore(config)]);
        try {
          assert.deepEqual(
            started.map((s) => (s.status === 'fulfilled' ? 'started' : String(s.reason))),
            ['started', 'started'],
          );
          const store = (started[0] as PromiseFulfilledResult<Prepared>).value.store;
          assert.deepEqual(
            (await store.listTenants()).map((t) => t.name),
            ['default'],
          );
          assert.equal(
            started.filter((s) => s.status === 'fulfilled' && s.value.bootstrap !== undefined).length,
            1,
            'a key for it, shown by one start',
          );
          assert.equal((await store.listAccessKeys((await store.listTenants())[0]!.id)).length, 1);
        } finally {
          for (const s of started) if (s.status === 'fulfilled') await s.value.store.close();
        }
      } finally {
        await dispose();
      }
    });

    it('two starts at once on a store whose first start stopped before its key make one key between them', async () => {
      const { config, dispose } = await kind.make();
      try {
        const tenantId = '434343434343434343';
        const setup = await openStore(config);
        await leftByFirstStart(setup, tenantId);
        await setup.close();
        // Both find the default tenant without a key, so both go on to make it.
        const started = await Promise.all([prepareStore(config), prepareStore(config)]);
        try {
          const shown = started.flatMap((s) => (s.bootstrap ? [s.bootstrap.key.accessKey] : []));
          assert.equal(shown.length, 1, 'one start shows a key');
          const keys = await started[0]!.store.listAccessKeys(tenantId);
          assert.deepEqual(
            keys.map((k) => k.accessKey),
            shown,
          );
          assert.deepEqual(await trailActions(started[0]!.store, tenantId), ['key.created']);
        } finally {
          for (const s of started) await s.store.close();
        }
      } finally {
        await dispose();
      }
    });
  });
}
