/**
 * Administrative acts on access keys, each written to the key's tenant's admin trail. The
 * trail names the key and its scopes, never its secret nor the secret's hash.
 */
import { type IssuedKey, issueAccessKey, issueFirstAccessKey } from '../service/access-keys.ts';
import type { AccessKeyRecord, Scope, Store, TrailOf } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { actTrail } from './trail.ts';

export async function createKeyAct(
  store: Store,
  tenantId: string,
  scopes: readonly Scope[],
  actor: Actor,
  clock: () => number,
  preset?: { accessKey: string; secret: string },
): Promise<IssuedKey> {
  // The key and its trail entry in one transaction.
  return issueAccessKey(store, tenantId, scopes, preset, keyCreatedTrail(actor, clock));
}

/** Like createKeyAct, but only as the tenant's first key: undefined (no key, no act) when it has one. */
export async function createFirstKeyAct(
  store: Store,
  tenantId: string,
  scopes: readonly Scope[],
  actor: Actor,
  clock: () => number,
  preset?: { accessKey: string; secret: string },
): Promise<IssuedKey | undefined> {
  return issueFirstAccessKey(store, tenantId, scopes, preset, keyCreatedTrail(actor, clock));
}

/** The trail entry of a key's creation: the key and its scopes. */
function keyCreatedTrail(actor: Actor, clock: () => number): TrailOf<AccessKeyRecord> {
  return actTrail<AccessKeyRecord>(
    (k) => k.tenantId,
    (_, k) => ({
      action: 'key.created',
      actor,
      target: { accessKey: k.accessKey },
      before: null,
      after: { accessKey: k.accessKey, scopes: [...k.scopes] },
    }),
    clock,
  );
}

/**
 * Revokes a key, with its trail entry in the same transaction. `revoked` is false when it was
 * revoked already (no act, nothing recorded); undefined when there is no such key.
 */
export async function revokeKeyAct(
  store: Store,
  accessKey: string,
  actor: Actor,
  clock: () => number,
): Promise<{ key: AccessKeyRecord; revoked: boolean } | undefined> {
  const known = await store.getAccessKey(accessKey);
  if (!known) return undefined;
  const revoked = await store.revokeAccessKey(
    accessKey,
    actTrail(
      (k) => k.tenantId,
      (before, after) => ({
        action: 'key.revoked',
        actor,
        target: { accessKey },
        before: { accessKey, scopes: [...(before ?? after).scopes], revokedAt: before ? before.revokedAt : null },
        after: { accessKey, scopes: [...after.scopes], revokedAt: after.revokedAt },
      }),
      clock,
    ),
  );
  if (!revoked) return { key: known, revoked: false };
  return { key: (await store.getAccessKey(accessKey)) ?? known, revoked: true };
}
