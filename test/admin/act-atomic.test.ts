/**
 * An administrative act and its admin-trail entry are one transaction, on both stores: a
 * failure between them (the entry cannot be made, or its append fails after the act's own
 * writes) leaves neither the change nor the entry, nor a leaf; a success leaves both.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Actor } from '../../src/admin/actor.ts';
import { createHoldAct, releaseHoldAct } from '../../src/admin/holds.ts';
import { createKeyAct, revokeKeyAct } from '../../src/admin/keys.ts';
import { setRetentionAct } from '../../src/admin/retention.ts';
import { changeLimitsAct, createTenantAct } from '../../src/admin/tenants.ts';
import type { NewEntry } from '../../src/logs/entry.ts';
import { ADMIN_LOG_TYPE } from '../../src/logs/log-types.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import type { Store } from '../../src/store/store.ts';
import { sqliteFactory } from '../support/app.ts';
import { startPostgres } from '../support/postgres.ts';

const actor: Actor = { kind: 'cli', user: 'ops', host: 'h' };
const AT = Date.UTC(2026, 5, 1);
const clock = () => AT;
/** A clock that fails: the trail entry is made inside the act's transaction, after the act's writes. */
const broken = (): number => {
  throw new Error('injected: no trail entry');
};

/** What a failed act must leave as it was: the admin entries and the tree of the tenant. */
async function trailState(store: Store, tenantId: string): Promise<{ admin: number; leaves: number }> {
  const page = await store.firstPage({ tenantId, logType: ADMIN_LOG_TYPE, fromMs: 0, toMs: null }, 1);
  const log = await store.log!(tenantId);
  return { admin: page.total, leaves: log ? Number(/\n(\d+)\n/.exec(log.checkpoint.note)![1]) : 0 };
}

function cases(open: () => Promise<{ store: Store; dispose(): Promise<void> }>): void {
  const withStore = async (fn: (store: Store, tenant: string) => Promise<void>): Promise<void> => {
    const { store, dispose } = await open();
    try {
      const tenant = (await createTenantAct(store, 'Acme', actor, clock)).id;
      await fn(store, tenant);
    } finally {
      await dispose();
    }
  };

  it('retention: a failed trail entry undoes the change; a recorded one keeps both', async () => {
    await withStore(async (store, tenant) => {
      const before = await trailState(store, tenant);
      await assert.rejects(setRetentionAct(store, tenant, 'AccessLog', 14, actor, broken), /injected/);
      assert.deepEqual(await store.getRetention(tenant), { perType: {} }, 'no setting without its record');
      assert.deepEqual(await trailState(store, tenant), before, 'no record, no leaf');
      await setRetentionAct(store, tenant, 'AccessLog', 14, actor, clock);
      assert.equal((await store.getRetention(tenant))!.perType.AccessLog, 14);
      assert.deepEqual(await trailState(store, tenant), { admin: before.admin + 1, leaves: before.leaves + 1 });
    });
  });

  it("an append that fails after the act's writes undoes the act too", async () => {
    await withStore(async (store, tenant) => {
      const before = await trailState(store, tenant);
      // An entry the append cannot store (no key): the failure is inside the append, after the act.
      const unstorable = () => ({ logType: ADMIN_LOG_TYPE, eventTimeMs: AT, body: '{}' }) as unknown as NewEntry;
      await assert.rejects(store.setRetention(tenant, null, 30, unstorable));
      assert.deepEqual(await store.getRetention(tenant), { perType: {} });
      await assert.rejects(store.setTenantLimits(tenant, { readPerSecond: 9 }, unstorable));
      assert.equal((await store.getTenant(tenant))!.limits.readPerSecond, null);
      await assert.rejects(store.createHold({ tenantId: tenant, logType: null, fromMs: null, toMs: null, reason: 'r', createdBy: 'x' }, unstorable));
      assert.deepEqual(await store.listHolds({ tenantId: tenant, includeReleased: true }), []);
      assert.deepEqual(await trailState(store, tenant), before);
      // The store is fine afterwards: the next act goes through, with its entry.
      await setRetentionAct(store, tenant, null, 30, actor, clock);
      assert.equal((await store.getRetention(tenant))!.tenantDays, 30);
      assert.deepEqual(await trailState(store, tenant), { admin: before.admin + 1, leaves: before.leaves + 1 });
    });
  });

  it('holds, limits and keys: neither the act nor its entry when the entry fails', async () => {
    await withStore(async (store, tenant) => {
      const start = await trailState(store, tenant);
      const hold = { tenantId: tenant, logType: null, fromMs: null, toMs: null, reason: 'case 1' };
      await assert.rejects(createHoldAct(store, hold, actor, broken), /injected/);
      assert.deepEqual(await store.listHolds({ tenantId: tenant, includeReleased: true }), []);
      const created = await createHoldAct(store, hold, actor, clock);
      await assert.rejects(releaseHoldAct(store, created.id, 'done', actor, broken), /injected/);
      assert.equal((await store.listHolds({ tenantId: tenant })).length, 1, 'still active');
      await releaseHoldAct(store, created.id, 'done', actor, clock);
      assert.equal((await store.listHolds({ tenantId: tenant })).length, 0);

      await assert.rejects(changeLimitsAct(store, tenant, { readPerDay: 5 }, actor, broken), /injected/);
      assert.equal((await store.getTenant(tenant))!.limits.readPerDay, null);

      await assert.rejects(createKeyAct(store, tenant, ['api:logs:read'], actor, broken), /injected/);
      assert.deepEqual(await store.listAccessKeys(tenant), []);
      const key = await createKeyAct(store, tenant, ['api:logs:read'], actor, clock);
      await assert.rejects(revokeKeyAct(store, key.accessKey, actor, broken), /injected/);
      assert.equal((await store.getAccessKey(key.accessKey))!.revokedAt, null, 'not revoked');
      await revokeKeyAct(store, key.accessKey, actor, clock);
      assert.notEqual((await store.getAccessKey(key.accessKey))!.revokedAt, null);
      // Four acts went through (hold created and released, key created and revoked), four entries and leaves.
      assert.deepEqual(await trailState(store, tenant), { admin: start.admin + 4, leaves: start.leaves + 4 });

      const tenants = (await store.listTenants()).length;
      await assert.rejects(createTenantAct(store, 'Never', actor, broken), /injected/);
      assert.equal((await store.listTenants()).length, tenants, 'no tenant without its first trail entry');
    });
  });
}

describe('admin acts with their trail entries, one transaction', () => {
  describe('sqlite', () => {
    cases(() => sqliteFactory.create());
  });

  describe('postgres', async () => {
    const { cluster, skip } = await startPostgres();
    after(() => cluster?.stop());
    if (skip) {
      it('postgres', { skip }, () => {});
      return;
    }
    cases(async () => {
      const url = await cluster!.createDatabase();
      const store = await openPostgresStore({ url, poolSize: 3 });
      return {
        store,
        async dispose() {
          await store.close();
          await cluster!.dropDatabase(url);
        },
      };
    });
  });
});
