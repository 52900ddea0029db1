/** Legal holds as administrative acts: creating and releasing one is written to its tenant's admin trail, with the reason. */
import type { LegalHold, NewLegalHold, Store } from '../store/store.ts';
import { type Actor, actorName } from './actor.ts';
import { actTrail } from './trail.ts';

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

/** Creates an active hold in the name of `actor`, with its trail entry in the same transaction. */
export async function createHoldAct(store: Store, hold: Omit<NewLegalHold, 'createdBy'>, actor: Actor, clock: () => number): Promise<LegalHold> {
  return store.createHold(
    { ...hold, createdBy: actorName(actor) },
    actTrail(
      (h) => h.tenantId,
      (_, created) => ({
        action: 'hold.created',
        actor,
        target: { holdId: created.id },
        before: null,
        after: holdJson(created),
        reason: created.reason,
      }),
      clock,
    ),
  );
}

/** Releases an active hold (with its trail entry, in one transaction); undefined when it is unknown or already released (no act). */
export async function releaseHoldAct(store: Store, id: string, reason: string, actor: Actor, clock: () => number): Promise<LegalHold | undefined> {
  return store.releaseHold(
    id,
    { reason, releasedBy: actorName(actor) },
    actTrail(
      (h) => h.tenantId,
      (before, released) => ({
        action: 'hold.released',
        actor,
        target: { holdId: released.id },
        before: before ? holdJson(before) : null,
        after: holdJson(released),
        reason,
      }),
      clock,
    ),
  );
}
