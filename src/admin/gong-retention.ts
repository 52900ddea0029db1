/**
 * Gong's published retention, for `serve --demo --gong-retention`: Gong keeps AccessLog 14
 * days (its other log types have no published limit), so a demo tenant set up this way shows
 * integration developers what Gong's API shows them.
 */
import type { Store } from '../store/store.ts';
import { SERVER_ACTOR } from './actor.ts';
import { setRetentionAct } from './retention.ts';

export const GONG_RETENTION_DAYS: Readonly<Record<string, number>> = Object.freeze({ AccessLog: 14 });

/** Gives the tenant Gong's retention, as the server's act; a type already set so is left alone (no trail entry). */
export async function applyGongRetention(store: Store, tenantId: string, clock: () => number): Promise<void> {
  for (const [logType, days] of Object.entries(GONG_RETENTION_DAYS)) {
    const settings = await store.getRetention(tenantId);
    if (settings?.perType[logType] === days) continue;
    await setRetentionAct(store, tenantId, logType, days, SERVER_ACTOR, clock);
  }
}

/** The banner's sentence: "AccessLog 14 days". */
export function gongRetentionText(): string {
  return Object.entries(GONG_RETENTION_DAYS)
    .map(([type, days]) => `${type} ${days} days`)
    .join(', ');
}
