/**
 * The store conformance suite's cases for retention (issue 12): settings, legal holds, and
 * purge with its deletion receipts in the tenant's tree. Run by store.contract.ts for every
 * store, through the Store interface alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { recordPurgeRun } from '../../../src/admin/purge-trail.ts';
import { purgePreview, withRetention } from '../../../src/admin/retention.ts';
import type { NewEntry } from '../../../src/logs/entry.ts';
import { formatEventTime } from '../../../src/logs/time.ts';
import {
  type EntryQuery,
  InvalidRetentionError,
  type PurgeReceipt,
  type Store,
  type StoredPage,
  UnknownTenantError,
} from '../../../src/store/store.ts';
import { openCheckpoint } from '../../../src/tlog/checkpoint.ts';
import { type DeletionReceipt, deletedLeavesDigest, isDeletionReceipt, parseDeletionReceipt } from '../../../src/tlog/deletion-receipt.ts';
import { buildEntryLeaf, parseEntryLeaf } from '../../../src/tlog/entry-leaf.ts';
import { hashesEqual, leafHash } from '../../../src/tlog/hash.ts';
import { MemoryTree } from '../../../src/tlog/memory-tree.ts';
import { parseVerifierKey } from '../../../src/tlog/note-key.ts';
import { entriesOf } from '../../support/page-entries.ts';
import type { StoreFixture } from './store.contract.ts';

export interface RetentionCaseContext {
  store: Store;
  fixture: StoreFixture;
  open(f?: StoreFixture): Promise<Store>;
  tenant: string;
  other: string;
  t0: number;
  makeEntry(logType: string, timeMs: number, logRecordText?: string): NewEntry;
}

const by = { createdBy: 'ops@host', reason: 'litigation 42' };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Every entry of a query, paged as the API pages, with the total of its first page. */
export async function readBodies(store: Store, query: EntryQuery, pageSize = 7): Promise<{ total: number; bodies: string[] }> {
  const first = await store.firstPage(query, pageSize);
  const bodies = entriesOf(first).map((e) => e.body);
  // A cursor that does not advance would loop for ever: more pages than the total allows is a failure.
  let pages = 1;
  for (let page: StoredPage = first; page.next !== null; pages++) {
    assert.ok(pages <= first.total + 2, `paging does not end: page ${pages} of ${first.total} entries, cursor ${JSON.stringify(page.next)}`);
    page = await store.nextPage(query, page.next, first.watermark, pageSize);
    bodies.push(...entriesOf(page).map((e) => e.body));
  }
  return { total: first.total, bodies };
}

/**
 * A purge's `onPurged` that records each receipt's trail entry, but refuses the first one of
 * `tenantId` (as a write of the trail entry failing would).
 */
export function refusingFirstTrailOf(store: Store, tenantId: string, now: () => number): (tenant: string, receipt: PurgeReceipt) => Promise<void> {
  let refused = false;
  return async (tenant, receipt) => {
    if (tenant === tenantId && !refused) {
      refused = true;
      throw new Error('the trail entry was refused');
    }
    await recordPurgeRun(store, tenant, receipt, now);
  };
}

/**
 * The receipt leaves a tenant's admin trail names in its purge.run entries, in the trail's order
 * (its entries written at one instant: their append order).
 */
export async function trailedReceiptLeaves(store: Store, tenantId: string): Promise<number[]> {
  const { bodies } = await readBodies(store, { tenantId, logType: 'LogwardenAdminLog', fromMs: 0, toMs: null }, 100);
  return bodies
    .map((b) => JSON.parse(b) as { logRecord: { action: string; after: { receiptLeafIndex: number } } })
    .filter((e) => e.logRecord.action === 'purge.run')
    .map((e) => e.logRecord.after.receiptLeafIndex);
}

/**
 * Checks a tenant's whole log as a verifier holding every leaf would: the signed checkpoint is
 * the root of the served leaves, and each deletion receipt names earlier entry leaves of its
 * type (none named twice) whose hashes give its count and digest. Returns the receipts by leaf
 * index and the deleted leaves.
 */
export async function auditLog(
  store: Store,
  tenantId: string,
): Promise<{ receipts: Map<number, DeletionReceipt>; deleted: Set<number>; leaves: string[] }> {
  const log = await store.log!(tenantId);
  assert.ok(log);
  const { checkpoint } = openCheckpoint(log.checkpoint.note, parseVerifierKey(log.verifierKey));
  const leaves = checkpoint.size === 0 ? [] : await log.leaves(0, checkpoint.size);
  const tree = new MemoryTree();
  for (const leaf of leaves) await tree.append(leaf);
  assert.ok(hashesEqual(await tree.root(), checkpoint.rootHash), 'the checkpoint signs the served leaves');
  const receipts = new Map<number, DeletionReceipt>();
  const deleted = new Set<number>();
  leaves.forEach((leaf, index) => {
    if (!isDeletionReceipt(leaf)) return;
    const r = parseDeletionReceipt(leaf);
    for (const i of r.leaves) {
      assert.ok(i < index, `receipt ${index} names leaf ${i}, not an earlier one`);
      assert.equal(parseEntryLeaf(leaves[i]!).logType, r.logType, `receipt ${index} names leaf ${i} of its type`);
      assert.ok(!deleted.has(i), `leaf ${i} deleted twice`);
      deleted.add(i);
    }
    assert.ok(hashesEqual(deletedLeavesDigest(r.leaves.map((i) => leafHash(leaves[i]!))), r.digest), `receipt ${index}'s digest`);
    receipts.set(index, r);
  });
  return { receipts, deleted, leaves };
}

function leafOf(e: NewEntry): string {
  return buildEntryLeaf({ logType: e.logType, eventTime: formatEventTime(e.eventTimeMs), wireText: e.body });
}

export function retentionContractCases(ctx: () => RetentionCaseContext): void {
  describe('retention settings', () => {
    it('sets, changes and removes the tenant default and per-type days, null meaning forever', async () => {
      const { store, tenant, open } = ctx();
      assert.deepEqual(await store.getRetention(tenant), { perType: {} });
      assert.deepEqual(await store.setRetention(tenant, null, 30), { tenantDays: 30, perType: {} });
      assert.deepEqual(await store.setRetention(tenant, 'AccessLog', 14), { tenantDays: 30, perType: { AccessLog: 14 } });
      assert.deepEqual(await store.setRetention(tenant, 'UserCallPlay', null), { tenantDays: 30, perType: { AccessLog: 14, UserCallPlay: null } });
      assert.deepEqual(await store.setRetention(tenant, 'AccessLog', 90), { tenantDays: 30, perType: { AccessLog: 90, UserCallPlay: null } });
      assert.deepEqual(await store.setRetention(tenant, null, undefined), { perType: { AccessLog: 90, UserCallPlay: null } });
      assert.deepEqual(await (await open()).getRetention(tenant), { perType: { AccessLog: 90, UserCallPlay: null } }, 'seen by another store');
      assert.deepEqual(await store.setRetention(tenant, 'UserCallPlay', undefined), { perType: { AccessLog: 90 } });
      assert.deepEqual(await store.logTypes(tenant), ['AccessLog'], 'a type with a setting is listed');
    });

    it('keeps tenants apart and refuses unknown tenants and bad days', async () => {
      const { store, tenant, other } = ctx();
      await store.createTenant({ id: other, name: 'Other' });
      await store.setRetention(other, null, 7);
      assert.deepEqual(await store.getRetention(tenant), { perType: {} });
      assert.equal(await store.getRetention('404'), undefined);
      await assert.rejects(store.setRetention('404', null, 1), UnknownTenantError);
      for (const days of [0, -1, 1.5, 365_001, Number.NaN]) {
        await assert.rejects(store.setRetention(tenant, null, days), InvalidRetentionError, String(days));
      }
      await assert.rejects(store.setRetention(tenant, '', 3), InvalidRetentionError);
      assert.deepEqual(await store.getRetention(other), { tenantDays: 7, perType: {} });
    });

    it('lists the log types a tenant holds entries of', async () => {
      const { store, tenant, other, t0, makeEntry } = ctx();
      await store.createTenant({ id: other, name: 'Other' });
      await store.append(tenant, [makeEntry('UserCallPlay', t0), makeEntry('AccessLog', t0 + 1)]);
      await store.append(other, [makeEntry('CallRecordingDownload', t0)]);
      assert.deepEqual(await store.logTypes(tenant), ['AccessLog', 'UserCallPlay']);
      assert.deepEqual(await store.logTypes('404'), []);
    });
  });

  describe('purge lease', () => {
    it('lets one holder at a time hold it, across stores, until released or expired', async () => {
      const { store, open } = ctx();
      const other = await open();
      assert.equal(await store.takePurgeLease('a', 60_000), true);
      assert.equal(await other.takePurgeLease('b', 60_000), false, 'held by a');
      assert.equal(await store.takePurgeLease('a', 60_000), true, 'renewed');
      await other.releasePurgeLease('b');
      assert.equal(await other.takePurgeLease('b', 60_000), false, 'only the holder releases');
      await store.releasePurgeLease('a');
      assert.equal(await other.takePurgeLease('b', 1), true);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(await store.takePurgeLease('a', 60_000), true, "b's lease expired");
    });
  });

  describe('legal holds', () => {
    it('creates, lists and releases holds, keeping who and why', async () => {
      const { store, tenant, other, t0, open } = ctx();
      await store.createTenant({ id: other, name: 'Other' });
      const a = await store.createHold({ tenantId: tenant, logType: 'AccessLog', fromMs: t0, toMs: t0 + 1000, ...by });
      assert.match(a.id, /^hold_[a-z2-7]{20}$/);
      assert.deepEqual(
        { ...a, id: '', createdAt: '' },
        {
          id: '',
          tenantId: tenant,
          logType: 'AccessLog',
          fromMs: t0,
          toMs: t0 + 1000,
          reason: by.reason,
          createdAt: '',
          createdBy: by.createdBy,
          releasedAt: null,
          releasedBy: null,
          releaseReason: null,
        },
      );
      assert.ok(!Number.isNaN(Date.parse(a.createdAt)));
      const b = await store.createHold({ tenantId: tenant, logType: null, fromMs: null, toMs: null, ...by });
      const c = await store.createHold({ tenantId: other, logType: null, fromMs: null, toMs: t0, ...by });
      assert.notEqual(a.id, b.id);
      assert.deepEqual((await store.listHolds()).map((h) => h.id).sort(), [a.id, b.id, c.id].sort());
      assert.deepEqual((await store.listHolds({ tenantId: tenant })).map((h) => h.id).sort(), [a.id, b.id].sort());

      const released = await store.releaseHold(a.id, { reason: 'settled', releasedBy: 'legal@host' });
      assert.equal(released?.id, a.id);
      assert.equal(released?.releasedBy, 'legal@host');
      assert.equal(released?.releaseReason, 'settled');
      assert.ok(released?.releasedAt && !Number.isNaN(Date.parse(released.releasedAt)));
      assert.equal(await store.releaseHold(a.id, { reason: 'again', releasedBy: 'x' }), undefined, 'already released');
      assert.equal(await store.releaseHold('hold_unknown', { reason: 'x', releasedBy: 'x' }), undefined);
      const again = await open();
      assert.deepEqual(
        (await again.listHolds({ tenantId: tenant })).map((h) => h.id),
        [b.id],
        'active only',
      );
      assert.deepEqual(
        (await again.listHolds({ tenantId: tenant, includeReleased: true })).find((h) => h.id === a.id),
        released,
        'a released hold is kept as released',
      );
    });

    it('refuses holds of unknown tenants, empty ranges and blank reasons', async () => {
      const { store, tenant, t0 } = ctx();
      await assert.rejects(store.createHold({ tenantId: '404', logType: null, fromMs: null, toMs: null, ...by }), UnknownTenantError);
      await assert.rejects(store.createHold({ tenantId: tenant, logType: null, fromMs: t0, toMs: t0, ...by }), InvalidRetentionError);
      await assert.rejects(store.createHold({ tenantId: tenant, logType: null, fromMs: 1.5, toMs: null, ...by }), InvalidRetentionError);
      await assert.rejects(
        store.createHold({ tenantId: tenant, logType: null, fromMs: null, toMs: null, createdBy: 'x', reason: ' ' }),
        InvalidRetentionError,
      );
      assert.deepEqual(await store.listHolds({ includeReleased: true }), []);
    });
  });

  describe('purge', () => {
    /** Six hours of AccessLog (3 an hour) and of UserCallPlay, from t0. */
    const seed = async (store: Store, tenant: string, t0: number, makeEntry: RetentionCaseContext['makeEntry']) => {
      const entries: NewEntry[] = [];
      for (let h = 0; h < 6; h++) {
        for (let k = 0; k < 3; k++) {
          entries.push(makeEntry('AccessLog', t0 + h * HOUR + k * 1000, `{"h":${h},"k":${k}}`));
          entries.push(makeEntry('UserCallPlay', t0 + h * HOUR + k * 1000, `{"h":${h},"k":${k}}`));
        }
      }
      await store.append(tenant, entries);
      return entries;
    };
    const q = (tenantId: string, logType: string, fromMs: number, toMs: number | null): EntryQuery => ({ tenantId, logType, fromMs, toMs });
    /**
     * The context with the same entries seeded for the tenant and the other one, sealed when
     * `sealed`; undefined when the store has no segments to seal into.
     */
    const seededTwice = async (sealed: boolean) => {
      const c = ctx();
      await c.store.createTenant({ id: c.other, name: 'Other' });
      const entries = await seed(c.store, c.tenant, c.t0, c.makeEntry);
      await seed(c.store, c.other, c.t0, c.makeEntry);
      if (sealed) {
        if (!c.fixture.segments) return undefined;
        await c.fixture.segments.settle(c.store);
      }
      return { ...c, entries };
    };

    for (const sealed of [false, true]) {
      it(`deletes the oldest entries before the cutoff, ${sealed ? 'sealed' : 'hot'}, with one receipt leaf per step`, async () => {
        const seeded = await seededTwice(sealed);
        if (!seeded) return;
        const { store, tenant, other, t0, entries } = seeded;
        const before = (await store.log!(tenant))!.checkpoint.size;
        const cutoff = t0 + 2 * HOUR + 500; // 7 AccessLog entries older
        const access = entries.filter((e) => e.logType === 'AccessLog');

        const r1 = await store.purge(tenant, 'AccessLog', cutoff, 4);
        assert.equal(r1.count, 4);
        assert.equal(r1.logType, 'AccessLog');
        assert.equal(r1.fromMs, access[0]!.eventTimeMs);
        assert.equal(r1.toMs, access[3]!.eventTimeMs);
        assert.equal(r1.leafIndex, before, 'the receipt is the next leaf');
        const r2 = await store.purge(tenant, 'AccessLog', cutoff, 4);
        assert.equal(r2.count, 3);
        assert.equal(r2.leafIndex, before + 1);
        const r3 = await store.purge(tenant, 'AccessLog', cutoff, 4);
        assert.equal(r3.count, 0, 'nothing left to delete');
        assert.equal(r3.leafIndex, null);
        assert.equal((await store.log!(tenant))!.checkpoint.size, before + 2, 'no leaf for an empty step');

        // Reads: exactly the rest, exact totals for any range, paged.
        const rest = access.slice(7).map((e) => e.body);
        assert.deepEqual(await readBodies(store, q(tenant, 'AccessLog', 0, null)), { total: rest.length, bodies: rest });
        assert.equal((await store.firstPage(q(tenant, 'AccessLog', t0, t0 + 2 * HOUR + 1), 5)).total, 0, 'nothing left in range');
        assert.equal((await store.firstPage(q(tenant, 'AccessLog', t0 + HOUR, t0 + 3 * HOUR), 5)).total, 2);
        const tallies = await store.hourlyTallies(q(tenant, 'AccessLog', 0, null));
        assert.deepEqual(
          tallies.map((t) => t.count),
          [2, 3, 3, 3],
          'hourly tallies exact, empty hours gone',
        );
        // Other types and tenants untouched.
        assert.equal((await store.firstPage(q(tenant, 'UserCallPlay', 0, null), 1)).total, 18);
        assert.equal((await store.firstPage(q(other, 'AccessLog', 0, null), 1)).total, 18);

        // The tree: the receipts name exactly the deleted entries' leaves; every leaf still verifies.
        const audit = await auditLog(store, tenant);
        assert.equal(audit.receipts.size, 2);
        assert.equal(audit.receipts.get(before)!.count, 4);
        assert.equal(audit.receipts.get(before)!.firstEventTime, formatEventTime(access[0]!.eventTimeMs));
        assert.equal(audit.receipts.get(before)!.deletedAt, r1.purgedAt);
        const deletedLeaves = new Set(access.slice(0, 7).map(leafOf));
        assert.deepEqual(new Set([...audit.deleted].map((i) => audit.leaves[i])), deletedLeaves);
        // The remaining entries keep their leaves.
        const first = await store.firstPage(q(tenant, 'AccessLog', 0, null), 100);
        const indexes = await store.leafIndexes!(tenant, first.seqs!);
        assert.deepEqual(
          indexes.map((i) => audit.leaves[i]),
          access.slice(7).map(leafOf),
        );
      });
    }

    for (const sealed of [false, true]) {
      it(`keeps tenants apart: a purge takes none of another tenant's identical entries nor their idempotency, a hold keeps its own tenant's only (${sealed ? 'sealed' : 'hot'})`, async () => {
        const seeded = await seededTwice(sealed);
        if (!seeded) return;
        const { store, tenant, other, t0, entries } = seeded;
        const cutoff = t0 + 10 * HOUR;
        const otherHold = await store.createHold({ tenantId: other, logType: null, fromMs: null, toMs: null, ...by });
        // The other tenant's hold keeps nothing of this one's.
        assert.equal((await store.purge(tenant, 'AccessLog', cutoff, 100)).count, 18);
        assert.equal((await store.purge(other, 'AccessLog', cutoff, 100)).count, 0, 'its own hold');
        const access = entries.filter((e) => e.logType === 'AccessLog').map((e) => e.body);
        assert.deepEqual(await readBodies(store, q(other, 'AccessLog', 0, null)), { total: 18, bodies: access });
        // The other tenant's idempotency keys stay: its identical entries are still duplicates,
        // while this tenant's purged ones are stored again.
        assert.deepEqual(await store.append(other, entries), { accepted: 0, duplicates: 36 });
        assert.deepEqual(await store.append(tenant, entries), { accepted: 18, duplicates: 18 });
        // This tenant's hold keeps nothing of the other's.
        await store.createHold({ tenantId: tenant, logType: null, fromMs: null, toMs: null, ...by });
        await store.releaseHold(otherHold.id, { reason: 'done', releasedBy: 'legal@host' });
        assert.equal((await store.purge(other, 'AccessLog', cutoff, 100)).count, 18);
        assert.equal((await store.purge(tenant, 'AccessLog', cutoff, 100)).count, 0, 'its own hold');
        assert.equal((await store.firstPage(q(tenant, 'AccessLog', 0, null), 1)).total, 18);
        assert.equal((await store.firstPage(q(other, 'AccessLog', 0, null), 1)).total, 0);
        assert.equal((await auditLog(store, tenant)).deleted.size, 18);
        assert.equal((await auditLog(store, other)).deleted.size, 18);
      });
    }

    it('rewrites a partly deleted segment and drops wholly deleted ones', async () => {
      const { store, fixture, tenant, t0, makeEntry } = ctx();
      if (!fixture.segments) return;
      const entries = Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', t0 + i * 60_000, `{"i":${i}}`));
      await store.append(tenant, entries);
      await fixture.segments.settle(store);
      assert.equal(await fixture.segments.sealedEntries(), 300);
      const r = await store.purge(tenant, 'AccessLog', t0 + 123 * 60_000, 1000);
      assert.equal(r.count, 123);
      assert.equal(await fixture.segments.sealedEntries(), 177);
      assert.deepEqual(await readBodies(store, q(tenant, 'AccessLog', 0, null), 50), { total: 177, bodies: entries.slice(123).map((e) => e.body) });
      await auditLog(store, tenant);
    });

    it('forgets the latest hour of entries once they are all deleted', async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      await store.append(tenant, [makeEntry('AccessLog', t0, '{"i":0}'), makeEntry('AccessLog', t0 + 2 * HOUR + 5, '{"i":1}')]);
      assert.equal(await store.latestEntryHour(tenant, 'AccessLog'), t0 - (t0 % HOUR) + 2 * HOUR);
      assert.equal((await store.purge(tenant, 'AccessLog', t0 + 3 * HOUR, 1000)).count, 2);
      assert.equal(await store.latestEntryHour(tenant, 'AccessLog'), undefined);
    });

    it("goes by the cutoff of the tenant's settings as the step reads them, when given, and by the earlier of that and its own", async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      await seed(store, tenant, t0, makeEntry);
      const seen: { settings: unknown; types: readonly string[] }[] = [];
      // The settings say: AccessLog kept forever, UserCallPlay by a cutoff two hours in.
      await store.setRetention(tenant, 'AccessLog', null);
      await store.setRetention(tenant, 'UserCallPlay', 1);
      const cutoffOf = (logType: string) => (settings: { perType: Record<string, number | null> }, types: readonly string[]) => {
        seen.push({ settings: settings.perType, types });
        return settings.perType[logType] === null ? null : t0 + 2 * HOUR;
      };
      const late = t0 + 10 * HOUR;
      assert.equal((await store.purge(tenant, 'AccessLog', late, 100, cutoffOf('AccessLog'))).count, 0, 'kept forever by the settings');
      assert.equal((await store.purge(tenant, 'UserCallPlay', late, 100, cutoffOf('UserCallPlay'))).count, 6, 'the first two hours');
      assert.equal((await store.purge(tenant, 'UserCallPlay', t0 + HOUR, 100, () => late)).count, 0, 'the earlier of the two');
      assert.deepEqual(seen[0], { settings: { AccessLog: null, UserCallPlay: 1 }, types: ['AccessLog', 'UserCallPlay'] });
      assert.equal((await store.firstPage(q(tenant, 'AccessLog', 0, null), 1)).total, 18);
      assert.equal((await store.firstPage(q(tenant, 'UserCallPlay', 0, null), 1)).total, 12);
    });

    it('never deletes what an active hold covers; a released hold lets retention proceed', async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      const entries = await seed(store, tenant, t0, makeEntry);
      const access = entries.filter((e) => e.logType === 'AccessLog');
      const h1 = await store.createHold({ tenantId: tenant, logType: 'AccessLog', fromMs: t0 + HOUR, toMs: t0 + 2 * HOUR, ...by });
      await store.createHold({ tenantId: tenant, logType: 'UserCallPlay', fromMs: null, toMs: null, ...by });
      const h3 = await store.createHold({ tenantId: tenant, logType: null, fromMs: t0 + 4 * HOUR + 1000, toMs: t0 + 4 * HOUR + 1001, ...by });
      const cutoff = t0 + 10 * HOUR;
      let deleted = 0;
      for (let r = await store.purge(tenant, 'AccessLog', cutoff, 2); r.count > 0; r = await store.purge(tenant, 'AccessLog', cutoff, 2))
        deleted += r.count;
      assert.equal(deleted, 18 - 3 - 1);
      const held = access.filter((e) => (e.eventTimeMs >= t0 + HOUR && e.eventTimeMs < t0 + 2 * HOUR) || e.eventTimeMs === t0 + 4 * HOUR + 1000);
      assert.deepEqual(
        (await readBodies(store, q(tenant, 'AccessLog', 0, null))).bodies,
        held.map((e) => e.body),
      );
      assert.equal((await store.purge(tenant, 'UserCallPlay', cutoff, 100)).count, 0, 'a hold of every time of the type');
      await store.releaseHold(h1.id, { reason: 'done', releasedBy: 'legal@host' });
      assert.equal((await store.purge(tenant, 'AccessLog', cutoff, 100)).count, 3);
      await store.releaseHold(h3.id, { reason: 'done', releasedBy: 'legal@host' });
      assert.equal((await store.purge(tenant, 'AccessLog', cutoff, 100)).count, 1);
      assert.equal((await store.firstPage(q(tenant, 'AccessLog', 0, null), 1)).total, 0);
      assert.equal((await auditLog(store, tenant)).deleted.size, 18);
    });

    it('previews exactly what the purge then deletes and what holds keep, changing nothing', async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      const other = (await store.createTenant({ id: '222222222222222222', name: 'Other' })).id;
      await seed(store, tenant, t0, makeEntry);
      await seed(store, other, t0, makeEntry);
      // Long before any partition or hour of the others: the preview counts from the earliest time.
      await store.append(tenant, [makeEntry('AccessLog', Date.UTC(1969, 5, 1), '{"old":true}')]);
      await store.createHold({ tenantId: tenant, logType: 'AccessLog', fromMs: t0 + HOUR, toMs: t0 + 2 * HOUR, ...by });
      await store.createHold({ tenantId: tenant, logType: null, fromMs: t0 + 4 * HOUR + 1000, toMs: t0 + 4 * HOUR + 1001, ...by });
      const days = 30;
      const now = t0 + days * DAY + 3.5 * HOUR; // AccessLog expires before t0 + 3.5 h
      const before = await store.getRetention(tenant);
      const preview = await purgePreview(store, tenant, withRetention(before ?? { perType: {} }, 'AccessLog', days), null, now);
      assert.deepEqual(preview, [
        { logType: 'AccessLog', effectiveDays: 30, before: new Date(t0 + 3.5 * HOUR).toISOString(), deleted: 1 + 12 - 3, keptByHolds: 3 },
        { logType: 'UserCallPlay', effectiveDays: 'forever', before: null, deleted: 0, keptByHolds: 0 },
      ]);
      assert.deepEqual(await store.getRetention(tenant), before, 'a preview stores no setting');
      let deleted = 0;
      for (
        let r = await store.purge(tenant, 'AccessLog', t0 + 3.5 * HOUR, 4);
        r.count > 0;
        r = await store.purge(tenant, 'AccessLog', t0 + 3.5 * HOUR, 4)
      )
        deleted += r.count;
      assert.equal(deleted, preview[0]!.deleted);
      const after = await purgePreview(store, tenant, withRetention(before ?? { perType: {} }, 'AccessLog', days), null, now);
      assert.deepEqual(
        after.map((p) => [p.deleted, p.keptByHolds]),
        [
          [0, 3],
          [0, 0],
        ],
      );
      assert.equal((await store.firstPage(q(other, 'AccessLog', 0, null), 1)).total, 18, 'the other tenant untouched');
    });

    it("lists a receipt as untrailed until its trail entry is recorded, which happens once, in the tenant's log", async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      await store.append(tenant, [makeEntry('AccessLog', t0, '{"a":1}'), makeEntry('AccessLog', t0 + 1, '{"a":2}')]);
      const receipt = await store.purge(tenant, 'AccessLog', t0 + 10, 10);
      assert.equal(receipt.count, 2);
      const untrailed = await store.untrailedReceipts();
      assert.deepEqual(
        untrailed.map((r) => [r.tenantId, r.leafIndex]),
        [[tenant, receipt.leafIndex]],
      );
      assert.equal(parseDeletionReceipt(untrailed[0]!.text).count, 2);
      const trail = makeEntry('LogwardenAdminLog', t0 + 5, '{"action":"purge.run"}');
      assert.equal(await store.recordPurgeTrail(tenant, receipt.leafIndex!, trail), true);
      assert.equal(await store.recordPurgeTrail(tenant, receipt.leafIndex!, trail), false);
      assert.deepEqual(await store.untrailedReceipts(), []);
      assert.deepEqual(await readBodies(store, q(tenant, 'LogwardenAdminLog', 0, null)), { total: 1, bodies: [trail.body] });
      // The entry is a leaf after the receipt's.
      const audit = await auditLog(store, tenant);
      assert.equal(audit.leaves.length, receipt.leafIndex! + 2);
    });

    it('forgets a purged entry: ingesting it again stores it again (a new leaf)', async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      const e = makeEntry('AccessLog', t0, '{"again":true}');
      assert.equal((await store.append(tenant, [e])).accepted, 1);
      assert.equal((await store.append(tenant, [e])).duplicates, 1);
      assert.equal((await store.purge(tenant, 'AccessLog', t0 + 1, 10)).count, 1);
      assert.deepEqual(await store.append(tenant, [e]), { accepted: 1, duplicates: 0 });
      assert.deepEqual(await readBodies(store, q(tenant, 'AccessLog', 0, null)), { total: 1, bodies: [e.body] });
      const audit = await auditLog(store, tenant);
      assert.deepEqual([...audit.deleted], [0]);
      assert.equal(audit.leaves.length, 3, 'entry, receipt, the entry again');
      assert.equal(audit.leaves[2], audit.leaves[0]);
    });

    it('ends a cursor cleanly when the entries it had left were purged', async () => {
      const { store, tenant, t0, makeEntry } = ctx();
      const entries = Array.from({ length: 6 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"i":${i}}`));
      await store.append(tenant, entries);
      const query = q(tenant, 'AccessLog', t0, null);
      const first = await store.firstPage(query, 2);
      assert.ok(first.next);
      assert.equal((await store.purge(tenant, 'AccessLog', t0 + 10_000, 100)).count, 6);
      const next = await store.nextPage(query, first.next, first.watermark, 2);
      assert.deepEqual({ count: next.count, next: next.next }, { count: 0, next: null });
      assert.equal((await store.firstPage(query, 2)).total, 0);
      assert.deepEqual(await store.hourlyTallies(query), []);
    });

    it('refuses unknown tenants and bad limits; an unknown type has nothing to delete', async () => {
      const { store, tenant, t0 } = ctx();
      await assert.rejects(store.purge('404', 'AccessLog', t0, 10), UnknownTenantError);
      await assert.rejects(store.purge(tenant, 'AccessLog', t0, 0), RangeError);
      assert.equal((await store.purge(tenant, 'NeverSeen', t0, 10)).count, 0);
    });
  });
}
