/**
 * The store conformance suite's cases for when access keys were last used (Store.recordKeyUse):
 * the latest time wins whatever order processes write in, revoked and unknown keys are left
 * alone, and the keys of a store from before uses were recorded read unknown (not never) until
 * their first recorded use. Run by
 * store.contract.ts for every store, through the Store interface alone.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Store } from '../../../src/store/store.ts';
import type { StoreFixture } from './store.contract.ts';

export interface KeyUseCaseContext {
  store: Store;
  fixture: StoreFixture;
  open(f?: StoreFixture): Promise<Store>;
  tenant: string;
}

const T = Date.UTC(2026, 2, 4, 9, 30, 15, 250);
const iso = (ms: number): string => new Date(ms).toISOString();

/** Closes the case's store, takes its database `steps` schema versions back with `rewind`, and opens it again: upgraded. */
async function upgradedFrom({ store, fixture, open }: KeyUseCaseContext, rewind: () => Promise<void>, steps: number): Promise<Store> {
  await store.close();
  const version = await fixture.schemaVersion();
  await rewind();
  assert.equal(await fixture.schemaVersion(), version - steps);
  const upgraded = await open();
  assert.equal(await fixture.schemaVersion(), version);
  return upgraded;
}

export function keyUseContractCases(context: () => KeyUseCaseContext): void {
  const newKey = (store: Store, tenant: string, accessKey: string) =>
    store.createAccessKey({ accessKey, tenantId: tenant, secretHash: Buffer.alloc(32, accessKey.length), scopes: ['api:logs:read'] });

  it('records when a key was last used: null until then, the latest time of those written, kept across a reopening', async () => {
    const { store, open, tenant } = context();
    const created = await newKey(store, tenant, 'LWUSED');
    await newKey(store, tenant, 'LWIDLE');
    assert.equal(created.lastUsedAt, null);
    await store.recordKeyUse([]);
    await store.recordKeyUse([{ accessKey: 'LWUSED', atMs: T }]);
    assert.equal((await store.getAccessKey('LWUSED'))?.lastUsedAt, iso(T));
    await store.recordKeyUse([
      { accessKey: 'LWUSED', atMs: T + 61_000 },
      { accessKey: 'LWNOSUCHKEY', atMs: T },
    ]);
    const again = await open();
    assert.deepEqual(Object.fromEntries((await again.listAccessKeys(tenant)).map((k) => [k.accessKey, k.lastUsedAt])), {
      LWUSED: iso(T + 61_000),
      LWIDLE: null,
    });
    assert.equal(await again.getAccessKey('LWNOSUCHKEY'), undefined, 'an unknown key is not created');
  });

  it('never moves a last use back: two stores writing their uses in either order keep the later', async () => {
    const { store, open, tenant } = context();
    await newKey(store, tenant, 'LWAAAA');
    await newKey(store, tenant, 'LWBBBB');
    const other = await open();
    // The other process saw A later and B earlier; it writes last.
    await store.recordKeyUse([
      { accessKey: 'LWAAAA', atMs: T },
      { accessKey: 'LWBBBB', atMs: T + 5_000 },
    ]);
    await other.recordKeyUse([
      { accessKey: 'LWBBBB', atMs: T + 4_999 },
      { accessKey: 'LWAAAA', atMs: T + 1 },
    ]);
    // At once, as processes flushing at the same moment would.
    await Promise.all([
      store.recordKeyUse([{ accessKey: 'LWAAAA', atMs: T + 90_000 }]),
      other.recordKeyUse([{ accessKey: 'LWAAAA', atMs: T + 30_000 }]),
    ]);
    for (const s of [store, other]) {
      assert.deepEqual(Object.fromEntries((await s.listAccessKeys(tenant)).map((k) => [k.accessKey, k.lastUsedAt])), {
        LWAAAA: iso(T + 90_000),
        LWBBBB: iso(T + 5_000),
      });
    }
  });

  it('records no use of a revoked key after its revocation (one before it stays known)', async () => {
    const { store, tenant } = context();
    await newKey(store, tenant, 'LWGONE');
    assert.equal(await store.revokeAccessKey('LWGONE'), true);
    const revokedAt = Date.parse((await store.getAccessKey('LWGONE'))!.revokedAt!);
    await store.recordKeyUse([{ accessKey: 'LWGONE', atMs: revokedAt + 1 }]);
    assert.equal((await store.getAccessKey('LWGONE'))?.lastUsedAt, null);
    await store.recordKeyUse([{ accessKey: 'LWGONE', atMs: revokedAt - 20_000 }]);
    assert.equal((await store.getAccessKey('LWGONE'))?.lastUsedAt, iso(revokedAt - 20_000));
  });

  it('upgrades a store from before uses were recorded: its keys read unknown until their first recorded use; keys made after, never', async () => {
    const { store, fixture, open, tenant } = context();
    const before = await newKey(store, tenant, 'LWOLDER');
    await newKey(store, tenant, 'LWOLDGONE');
    await store.revokeAccessKey('LWOLDGONE');
    const gone = await store.getAccessKey('LWOLDGONE');
    const upgraded = await upgradedFrom(context(), fixture.beforeKeyUses, 2);
    const openedAt = Date.now();
    const { usesRecordedSince, ...rest } = (await upgraded.getAccessKey('LWOLDER'))!;
    assert.deepEqual({ ...rest, usesRecordedSince: null }, before, 'the key is kept as it was');
    assert.ok(usesRecordedSince !== null, 'its uses before the upgrade are unknown');
    const since = Date.parse(usesRecordedSince);
    assert.ok(since >= Date.parse(before.createdAt) && since <= openedAt, `recorded from the upgrade (${usesRecordedSince})`);
    assert.equal(new Date(Date.parse(usesRecordedSince)).toISOString(), usesRecordedSince, 'an ISO time as the others');
    assert.equal((await upgraded.getAccessKey('LWOLDGONE'))?.usesRecordedSince, usesRecordedSince, 'a revoked key too');
    assert.equal((await upgraded.getAccessKey('LWOLDGONE'))?.revokedAt, gone?.revokedAt);
    const after = await newKey(upgraded, tenant, 'LWNEWER');
    assert.deepEqual([after.lastUsedAt, after.usesRecordedSince], [null, null], 'a key made after the upgrade: never used');

    await upgraded.recordKeyUse([{ accessKey: 'LWOLDER', atMs: T }]);
    const used = await (await open()).getAccessKey('LWOLDER');
    assert.deepEqual([used?.lastUsedAt, used?.usesRecordedSince], [iso(T), usesRecordedSince], 'its first use is known');
  });

  it('upgrades a store of the previous schema version: a key with a recorded use keeps it; one without reads unknown', async () => {
    const { store, fixture, tenant } = context();
    await newKey(store, tenant, 'LWSEEN');
    await newKey(store, tenant, 'LWUNSEEN');
    await store.recordKeyUse([{ accessKey: 'LWSEEN', atMs: T }]);
    const seen = await store.getAccessKey('LWSEEN');
    const upgraded = await upgradedFrom(context(), fixture.toPreviousSchema, 1);
    assert.deepEqual(await upgraded.getAccessKey('LWSEEN'), seen);
    const unseen = await upgraded.getAccessKey('LWUNSEEN');
    // Made after uses were recorded or before: the store cannot tell, so not "never".
    assert.equal(unseen?.lastUsedAt, null);
    assert.ok(unseen?.usesRecordedSince);
  });
}
