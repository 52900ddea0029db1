/**
 * Property (issue 12): random retention settings, legal holds (some released) and clock
 * advances, with a purge cycle after each advance, on a store that seals in the background.
 * After every cycle: nothing under an active hold was deleted, nothing younger than its
 * retention at the purge's time (the clock, held back to a day after the latest entry dated
 * no later than the clock), everything older is gone; totals are exact; the tree verifies with
 * its receipts, which name exactly the entries deleted.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { ADMIN_LOG_TYPE } from '../../src/logs/log-types.ts';
import { formatEventTime } from '../../src/logs/time.ts';
import { BackgroundPurge } from '../../src/store/background-purge.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { DAY_MS, effectiveRetention, holdCovers, retentionCutoff } from '../../src/store/retention-policy.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { LegalHold, RetentionDays, Store } from '../../src/store/store.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { startPostgres } from '../support/postgres.ts';
import { makeEntry } from './contract/store.contract.ts';
import { auditLog, readBodies } from './contract/store-retention.contract.ts';

const T0 = Date.UTC(2025, 0, 1);
const TYPES = ['AccessLog', 'UserCallPlay', ADMIN_LOG_TYPE] as const;
const TENANT = '7';

const days = fc.option(fc.integer({ min: 1, max: 25 }), { nil: null });
const scenario = fc.record({
  entries: fc.array(fc.record({ type: fc.constantFrom(...TYPES), hour: fc.integer({ min: 0, max: 50 * 24 }) }), { minLength: 1, maxLength: 120 }),
  serverDays: days,
  tenantDays: fc.option(days, { nil: undefined }),
  perType: fc.dictionary(fc.constantFrom(...TYPES), days, { maxKeys: 3 }),
  holds: fc.array(
    fc.record({
      type: fc.option(fc.constantFrom(...TYPES), { nil: null }),
      from: fc.option(fc.integer({ min: 0, max: 30 * 24 }), { nil: null }),
      span: fc.integer({ min: 1, max: 10 * 24 }),
      open: fc.boolean(),
      releaseAfter: fc.option(fc.integer({ min: 0, max: 3 }), { nil: null }),
    }),
    { maxLength: 3 },
  ),
  advances: fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 4 }),
  stepEntries: fc.integer({ min: 1, max: 40 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

async function check(open: () => Promise<{ store: Store; dispose(): Promise<void> }>, s: Scenario, watch?: (store: Store) => { disarm(): void }) {
  const { store, dispose } = await open();
  const watchdog = watch?.(store);
  try {
    await store.createTenant({ id: TENANT, name: 't' });
    const entries = s.entries.map((e, i) => makeEntry(e.type, T0 + e.hour * 3_600_000 + i, `{"i":${i}}`));
    await store.append(TENANT, entries);
    if (s.tenantDays !== undefined) await store.setRetention(TENANT, null, s.tenantDays);
    for (const [type, d] of Object.entries(s.perType)) await store.setRetention(TENANT, type, d);
    const holds: LegalHold[] = [];
    for (const h of s.holds) {
      const fromMs = h.from === null ? null : T0 + h.from * 3_600_000;
      const toMs = h.open || fromMs === null ? null : fromMs + h.span * 3_600_000;
      holds.push(await store.createHold({ tenantId: TENANT, logType: h.type, fromMs, toMs, reason: 'r', createdBy: 'a@b' }));
    }
    const settings = await store.getRetention(TENANT);
    const alive = entries.map(() => true);
    let now = T0 + 30 * DAY_MS;
    for (const [round, advance] of s.advances.entries()) {
      // Holds released before this round's cycle.
      for (const [i, h] of s.holds.entries()) {
        if (h.releaseAfter !== round) continue;
        const released = await store.releaseHold(holds[i]!.id, { reason: 'done', releasedBy: 'a@b' });
        assert.ok(released);
        holds[i] = released;
      }
      now += advance * DAY_MS;
      const typesNow = await store.logTypes(TENANT);
      const purge = new BackgroundPurge({ store, serverDays: s.serverDays, intervalMs: 60_000, stepEntries: s.stepEntries, now: () => now });
      // The purge's time: the clock, held back to a day after the hour of the latest entry other
      // than the admin trail's, of those whose hour has begun by the clock (one dated ahead is no
      // evidence of the time); with none, nothing goes.
      const hourOf = (ms: number) => Math.floor(ms / 3_600_000);
      const latest = Math.max(
        ...entries.filter((e, i) => alive[i] && e.logType !== ADMIN_LOG_TYPE && hourOf(e.eventTimeMs) <= hourOf(now)).map((e) => e.eventTimeMs),
      );
      const asOf = latest === -Infinity ? null : Math.min(now, latest - (latest % 3_600_000) + 3_600_000 + DAY_MS);
      await purge.cycle();
      // The model: an entry goes when it is older than its type's retention and no active hold covers it.
      entries.forEach((e, i) => {
        if (!alive[i] || asOf === null) return;
        const cutoff = retentionCutoff(effectiveRetention(settings, e.logType, s.serverDays as RetentionDays, typesNow), asOf);
        if (cutoff !== null && e.eventTimeMs < cutoff && !holds.some((h) => holdCovers(h, e.logType, e.eventTimeMs))) alive[i] = false;
      });
      for (const type of TYPES) {
        const want = entries.filter((e, i) => alive[i] && e.logType === type).sort((a, b) => a.eventTimeMs - b.eventTimeMs);
        const got = await readBodies(store, { tenantId: TENANT, logType: type, fromMs: 0, toMs: null }, 9);
        assert.deepEqual(got, { total: want.length, bodies: want.map((e) => e.body) }, `round ${round}, ${type}`);
        const mid = T0 + 10 * DAY_MS + 1234;
        const part = (await store.firstPage({ tenantId: TENANT, logType: type, fromMs: mid, toMs: mid + 7 * DAY_MS }, 1)).total;
        assert.equal(
          part,
          want.filter((e) => e.eventTimeMs >= mid && e.eventTimeMs < mid + 7 * DAY_MS).length,
          `round ${round}, ${type} total of a range`,
        );
      }
    }
    const audit = await auditLog(store, TENANT);
    const deletedLeaves = [...audit.deleted].map((i) => audit.leaves[i]).sort();
    const wantDeleted = entries
      .filter((_, i) => !alive[i])
      .map((e) => buildEntryLeaf({ logType: e.logType, eventTime: formatEventTime(e.eventTimeMs), wireText: e.body }))
      .sort();
    assert.deepEqual(deletedLeaves, wantDeleted, 'the receipts name exactly the deleted entries');
  } finally {
    await dispose();
    watchdog?.disarm();
  }
}

describe('retention property', () => {
  it('sqlite, sealing in the background', { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(scenario, (s) =>
        check(async () => {
          const dir = mkdtempSync(join(tmpdir(), 'logwarden-retention-prop-'));
          const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 2 });
          return {
            store,
            async dispose() {
              await store.close();
              rmSync(dir, { recursive: true, force: true });
            },
          };
        }, s),
      ),
      { numRuns: 40 },
    );
  });

  describe('postgres', async () => {
    const { cluster, skip } = await startPostgres();
    after(() => cluster?.stop());
    it('postgres, sealing in the background', { skip, timeout: 300_000 }, async () => {
      await fc.assert(
        fc.asyncProperty(scenario, (s) =>
          check(
            async () => {
              const url = await cluster!.createDatabase();
              const store = await openPostgresStore({ url, poolSize: 3, sealAgeMs: 0, sealIntervalMs: 10 });
              return {
                store,
                async dispose() {
                  await store.close();
                  await cluster!.dropDatabase(url);
                },
              };
            },
            s,
            (store) => cluster!.watch('a retention scenario', 60_000, () => (store as PostgresStore).poolState()),
          ),
        ),
        { numRuns: 8 },
      );
    });
  });
});
