/**
 * Administrative acts on access keys, each written to the key's tenant's admin trail. The
 * trail names the key and its scopes, never its secret nor the secret's hash.
 */
import { type IssuedKey, issueAccessKey } from '../service/access-keys.ts';
import type { AccessKeyRecord, Scope, Store } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { recordAdminAct } from './trail.ts';

export async function createKeyAct(
  store: Store,
  tenantId: string,
  scopes: readonly Scope[],
  actor: Actor,
  clock: () => number,
  preset?: { accessKey: string; secret: string },
): Promise<IssuedKey> {
  const key = await issueAccessKey(store, tenantId, scopes, preset);
  await recordAdminAct(
    store,
    tenantId,
    {
      action: 'key.created',
      actor,
      target: { accessKey: key.accessKey },
      before: null,
      after: { accessKey: key.accessKey, scopes: [...key.scopes] },
    },
    clock,
  );
  return key;
}

/**
 * Revokes a key. `revoked` is false when it was revoked already (no act, nothing recorded);
 * undefined when there is no such key.
 */
export async function revokeKeyAct(
  store: Store,
  accessKey: string,
  actor: Actor,
  clock: () => number,
): Promise<{ key: AccessKeyRecord; revoked: boolean } | undefined> {
  const before = await store.getAccessKey(accessKey);
  if (!before) return undefined;
  if (!(await store.revokeAccessKey(accessKey))) return { key: before, revoked: false };
  const after = (await store.getAccessKey(accessKey)) ?? before;
  await recordAdminAct(
    store,
    before.tenantId,
    {
      action: 'key.revoked',
      actor,
      target: { accessKey },
      before: { accessKey, scopes: [...before.scopes], revokedAt: before.revokedAt },
      after: { accessKey, scopes: [...after.scopes], revokedAt: after.revokedAt },
    },
    clock,
  );
  return { key: after, revoked: true };
}
