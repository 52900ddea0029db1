/**
 * Gong's published retention, for `serve --demo --gong-retention`: Gong keeps AccessLog 14
 * days (its other log types have no published limit), so a demo tenant set up this way shows
 * integration developers what Gong's API shows them.
 */
import { typeSetting } from '../store/retention-policy.ts';
import type { Store } from '../store/store.ts';
import { SERVER_ACTOR } from './actor.ts';
import { type DaysJson, daysJson, setRetentionAct } from './retention.ts';

export const GONG_RETENTION_DAYS: Readonly<Record<string, number>> = Object.freeze({ AccessLog: 14 });

/** A type whose own retention setting `--gong-retention` left as the operator set it. */
export interface KeptRetention {
  readonly logType: string;
  readonly days: DaysJson;
}

/**
 * Gives the tenant Gong's retention for each type that has no setting of its own, as the
 * server's act. A type with one (Gong's, or an operator's: `tenants retention --forever`, say)
 * is left alone, with no trail entry: a restart never overrides a choice, which could delete
 * what it keeps. Returns the types whose own setting differs from Gong's.
 */
export async function applyGongRetention(store: Store, tenantId: string, clock: () => number): Promise<KeptRetention[]> {
  const kept: KeptRetention[] = [];
  for (const [logType, days] of Object.entries(GONG_RETENTION_DAYS)) {
    const own = typeSetting(await store.getRetention(tenantId), logType);
    if (own === undefined) await setRetentionAct(store, tenantId, logType, days, SERVER_ACTOR, clock);
    else if (own !== days) kept.push({ logType, days: daysJson(own) });
  }
  return kept;
}

/** The banner's sentence: "AccessLog 14 days" (without the types in `except`; '' when none is left). */
export function gongRetentionText(except: readonly string[] = []): string {
  return Object.entries(GONG_RETENTION_DAYS)
    .filter(([type]) => !except.includes(type))
    .map(([type, days]) => `${type} ${days} days`)
    .join(', ');
}
