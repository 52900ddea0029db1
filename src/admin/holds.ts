/** Legal holds as administrative acts: creating and releasing one is written to its tenant's admin trail, with the reason. */
import type { LegalHold, NewLegalHold, Store } from '../store/store.ts';
import { type Actor, actorName } from './actor.ts';
import { recordAdminAct } from './trail.ts';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A hold as the CLI prints it and the trail records it: times as ISO text, null = unbounded. */
export function holdJson(h: LegalHold) {
  return {
    id: h.id,
    tenantId: h.tenantId,
    logType: h.logType,
    from: iso(h.fromMs),
    to: iso(h.toMs),
    reason: h.reason,
    createdAt: h.createdAt,
    createdBy: h.createdBy,
    releasedAt: h.releasedAt,
    releasedBy: h.releasedBy,
    releaseReason: h.releaseReason,
  };
}

/** Creates an active hold in the name of `actor`. */
export async function createHoldAct(store: Store, hold: Omit<NewLegalHold, 'createdBy'>, actor: Actor, clock: () => number): Promise<LegalHold> {
  const created = await store.createHold({ ...hold, createdBy: actorName(actor) });
  await recordAdminAct(
    store,
    created.tenantId,
    { action: 'hold.created', actor, target: { holdId: created.id }, before: null, after: holdJson(created), reason: created.reason },
    clock,
  );
  return created;
}

/** Releases an active hold; undefined when it is unknown or already released (no act). */
export async function releaseHoldAct(store: Store, id: string, reason: string, actor: Actor, clock: () => number): Promise<LegalHold | undefined> {
  const released = await store.releaseHold(id, { reason, releasedBy: actorName(actor) });
  if (!released) return undefined;
  const after = holdJson(released);
  const before = { ...after, releasedAt: null, releasedBy: null, releaseReason: null };
  await recordAdminAct(store, released.tenantId, { action: 'hold.released', actor, target: { holdId: released.id }, before, after, reason }, clock);
  return released;
}
