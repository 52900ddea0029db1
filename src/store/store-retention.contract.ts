/**
 * The store conformance suite's cases for retention (issue 12): settings, legal holds, and
 * purge with its deletion receipts in the tenant's tree. Run by store.contract.ts for every
 * store, through the Store interface alone.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NewEntry } from '../logs/entry.ts';
import type { StoreFixture } from './store.contract.ts';
import { InvalidRetentionError, type Store, UnknownTenantError } from './store.ts';

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

  describe('legal holds', () => {
    it('creates, lists and releases holds, keeping who and why', async () => {
      const { store, tenant, other, t0, open } = ctx();
      await store.createTenant({ id: other, name: 'Other' });
      const a = await store.createHold({ tenantId: tenant, logType: 'AccessLog', fromMs: t0, toMs: t0 + 1000, ...by });
      assert.match(a.id, /^hold_[a-z2-7]{20}$/);
      assert.deepEqual({ ...a, id: '', createdAt: '' }, {
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
      });
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
      assert.deepEqual((await again.listHolds({ tenantId: tenant })).map((h) => h.id), [b.id], 'active only');
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
      await assert.rejects(store.createHold({ tenantId: tenant, logType: null, fromMs: null, toMs: null, createdBy: 'x', reason: ' ' }), InvalidRetentionError);
      assert.deepEqual(await store.listHolds({ includeReleased: true }), []);
    });
  });
}
