/** Administrative acts on tenants, each written to the tenant's admin trail. */
import { createTenant } from '../service/access-keys.ts';
import type { Store, Tenant, TenantLimits } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { actTrail } from './trail.ts';

/**
 * Creates a tenant; its trail opens with the act that created it, in
 * the same transaction (a tenant never exists without it).
 */
export async function createTenantAct(store: Store, name: string, actor: Actor, clock: () => number, id?: string): Promise<Tenant> {
  const trail = actTrail<Tenant>(
    (t) => t.id,
    (_, t) => ({ action: 'tenant.created', actor, target: null, before: null, after: { id: t.id, name: t.name } }),
    clock,
  );
  return createTenant(store, name, trail, id);
}

const ownLimits = (t: Tenant): TenantLimits => ({
  readPerSecond: t.limits.readPerSecond,
  readPerDay: t.limits.readPerDay,
  ingestPerSecond: t.limits.ingestPerSecond,
});

/**
 * Changes the given limits (null: back to the server default) and records the tenant's own
 * settings before and after, in the same transaction; undefined for an unknown tenant. An
 * empty change is no act.
 */
export async function changeLimitsAct(
  store: Store,
  tenantId: string,
  change: Partial<TenantLimits>,
  actor: Actor,
  clock: () => number,
): Promise<Tenant | undefined> {
  if (Object.keys(change).length === 0) return store.getTenant(tenantId);
  return store.setTenantLimits(
    tenantId,
    change,
    actTrail(
      (t) => t.id,
      // Setting the limits a tenant already has changes nothing: no act to record.
      (before, after) =>
        before && JSON.stringify(ownLimits(before)) === JSON.stringify(ownLimits(after))
          ? undefined
          : {
              action: 'tenant.limits.changed',
              actor,
              target: null,
              before: before ? { ...ownLimits(before) } : null,
              after: { ...ownLimits(after) },
            },
      clock,
    ),
  );
}
