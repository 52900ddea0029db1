/** Issuing access keys and creating tenants in a store, with ids and secrets from ../logs/access-keys.ts. */
import { hashSecret, newAccessKeyId, newSecret, newTenantId } from '../logs/access-keys.ts';
import type { AccessKeyRecord, NewAccessKey, Scope, Store, Tenant, TrailOf } from '../store/store.ts';

export interface IssuedKey {
  readonly accessKey: string;
  /** Shown once; only its hash is stored. */
  readonly secret: string;
  readonly tenant: string;
  readonly scopes: readonly Scope[];
}

/**
 * Creates an access key for a tenant; `preset` supplies a chosen key id and secret (automated
 * set-ups); `trail` is written in the same transaction as the key.
 */
export async function issueAccessKey(
  store: Store,
  tenantId: string,
  scopes: readonly Scope[],
  preset?: { accessKey: string; secret: string },
  trail?: TrailOf<AccessKeyRecord>,
): Promise<IssuedKey> {
  return (await issue((key) => store.createAccessKey(key, trail), tenantId, scopes, preset))!;
}

/** Like issueAccessKey, but only as the tenant's first key (Store.createFirstAccessKey): undefined when it has one. */
export async function issueFirstAccessKey(
  store: Store,
  tenantId: string,
  scopes: readonly Scope[],
  preset?: { accessKey: string; secret: string },
  trail?: TrailOf<AccessKeyRecord>,
): Promise<IssuedKey | undefined> {
  return issue((key) => store.createFirstAccessKey(key, trail), tenantId, scopes, preset);
}

/** A key id and secret (or the preset ones), stored by `create` as the secret's hash; undefined when `create` stored nothing. */
async function issue(
  create: (key: NewAccessKey) => Promise<AccessKeyRecord | undefined>,
  tenantId: string,
  scopes: readonly Scope[],
  preset: { accessKey: string; secret: string } | undefined,
): Promise<IssuedKey | undefined> {
  const accessKey = preset?.accessKey ?? newAccessKeyId();
  const secret = preset?.secret ?? newSecret();
  const made = await create({ accessKey, tenantId, secretHash: hashSecret(secret), scopes });
  return made && { accessKey, secret, tenant: tenantId, scopes };
}

/**
 * Creates a tenant with a fresh numeric id, retrying in the unlikely case of a collision, or
 * with `id` when given; `trail` is written in the same transaction as the tenant.
 */
export async function createTenant(store: Store, name: string, trail?: TrailOf<Tenant>, id?: string): Promise<Tenant> {
  if (id !== undefined) return store.createTenant({ id, name }, trail);
  for (let attempt = 0; ; attempt++) {
    const id = newTenantId();
    if (await store.getTenant(id)) {
      if (attempt > 5) throw new Error('could not allocate a tenant id');
      continue;
    }
    return store.createTenant({ id, name }, trail);
  }
}
