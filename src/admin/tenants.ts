/** Administrative acts on tenants, each written to the tenant's admin trail. */
import { createTenant } from '../service/access-keys.ts';
import type { Store, Tenant, TenantLimits } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { recordAdminAct } from './trail.ts';

/** Creates a tenant; its trail opens with the act that created it. */
export async function createTenantAct(store: Store, name: string, actor: Actor, clock: () => number): Promise<Tenant> {
  const tenant = await createTenant(store, name);
  await recordAdminAct(
    store,
    tenant.id,
    { action: 'tenant.created', actor, target: null, before: null, after: { id: tenant.id, name: tenant.name } },
    clock,
  );
  return tenant;
}

const ownLimits = (t: Tenant): TenantLimits => ({
  readPerSecond: t.limits.readPerSecond,
  readPerDay: t.limits.readPerDay,
  ingestPerSecond: t.limits.ingestPerSecond,
});

/**
 * Changes the given limits (null: back to the server default) and records the tenant's own
 * settings before and after; undefined for an unknown tenant. An empty change is no act.
 */
export async function changeLimitsAct(
  store: Store,
  tenantId: string,
  change: Partial<TenantLimits>,
  actor: Actor,
  clock: () => number,
): Promise<Tenant | undefined> {
  const before = await store.getTenant(tenantId);
  if (!before || Object.keys(change).length === 0) return before;
  const after = await store.setTenantLimits(tenantId, change);
  if (!after) return undefined;
  await recordAdminAct(
    store,
    tenantId,
    { action: 'tenant.limits.changed', actor, target: null, before: { ...ownLimits(before) }, after: { ...ownLimits(after) } },
    clock,
  );
  return after;
}
