/**
 * Retention as operators see and change it: a tenant's own settings, the retention in effect
 * for each log type and where it comes from, and the act of changing a setting (written to the
 * admin trail). Which entries a retention deletes is the store's policy
 * (../store/retention-policy.ts); this module only shows it.
 *
 * In JSON, days are a number, "forever", or null for "no setting of its own" (the next level
 * applies: type, then tenant, then server).
 */
import type { Config } from '../config.ts';
import { ADMIN_LOG_TYPE, LogTypes } from '../logs/log-types.ts';
import { MIN_MS } from '../logs/time.ts';
import { effectiveRetention, purgeableRanges, retentionCutoff, typeSetting } from '../store/retention-policy.ts';
import type { RetentionDays, RetentionSettings, Store } from '../store/store.ts';
import type { Actor } from './actor.ts';
import { actTrail } from './trail.ts';

export type DaysJson = number | 'forever';

export const daysJson = (days: RetentionDays): DaysJson => (days === null ? 'forever' : days);
/** A setting: its days, or null when there is none (undefined in the store's terms). */
export const settingJson = (days: RetentionDays | undefined): DaysJson | null => (days === undefined ? null : daysJson(days));

/** Where a type's retention comes from. */
export type RetentionSource = 'type' | 'tenant' | 'server' | 'other types';

export interface TypeRetention {
  readonly logType: string;
  /** The type's own setting. */
  readonly days: DaysJson | null;
  readonly effectiveDays: DaysJson;
  readonly from: RetentionSource;
}

export interface RetentionView {
  readonly tenantDays: DaysJson | null;
  readonly serverDays: DaysJson;
  readonly types: readonly TypeRetention[];
}

/** The server's default retention (`LOGWARDEN_RETENTION_DAYS`; null: forever). */
export function serverRetention(config: Pick<Config, 'retentionDays'>): RetentionDays {
  return config.retentionDays;
}

/**
 * The types worth showing for a tenant: the configured ones (the admin trail last) and any
 * other the tenant holds entries of or has a setting for.
 */
export function typesToShow(configured: readonly string[], held: readonly string[]): string[] {
  const out = configured.filter((t) => t !== ADMIN_LOG_TYPE);
  for (const t of held) if (t !== ADMIN_LOG_TYPE && !out.includes(t)) out.push(t);
  return [...out, ADMIN_LOG_TYPE];
}

/** Whether retention or a hold may name `logType` for this tenant: a configured type, or one it holds entries of. */
export async function isTenantLogType(store: Store, extraLogTypes: readonly string[], tenantId: string, logType: string): Promise<boolean> {
  return new LogTypes(extraLogTypes).has(logType) || (await store.logTypes(tenantId)).includes(logType);
}

export function retentionView(settings: RetentionSettings, serverDays: RetentionDays, types: readonly string[]): RetentionView {
  const others = types.filter((t) => t !== ADMIN_LOG_TYPE);
  return {
    tenantDays: settingJson(settings.tenantDays),
    serverDays: daysJson(serverDays),
    types: types.map((logType) => {
      const own = typeSetting(settings, logType);
      const base = own !== undefined ? own : settings.tenantDays !== undefined ? settings.tenantDays : serverDays;
      const from: RetentionSource = own !== undefined ? 'type' : settings.tenantDays !== undefined ? 'tenant' : 'server';
      const effective = effectiveRetention(settings, logType, serverDays, others);
      return { logType, days: settingJson(own), effectiveDays: daysJson(effective), from: effective === base ? from : 'other types' };
    }),
  };
}

/** "14 days", "forever". */
export function daysText(days: DaysJson): string {
  return days === 'forever' ? 'forever' : `${days} day${days === 1 ? '' : 's'}`;
}

const SOURCE_TEXT: Record<RetentionSource, string> = {
  type: "the type's setting",
  tenant: "the tenant's default",
  server: 'the server default',
  'other types': 'as long as the longest of the other types',
};

/** One line per type: "AccessLog  14 days (the type's setting)". */
export function retentionRows(view: RetentionView): string[][] {
  return view.types.map((t) => [t.logType, `${daysText(t.effectiveDays)} (${SOURCE_TEXT[t.from]})`]);
}

/**
 * Sets (days: a number, or null for forever) or removes (undefined) the tenant's default
 * (logType null) or one type's retention, and records the setting before and after. Undefined
 * for an unknown tenant.
 */
export async function setRetentionAct(
  store: Store,
  tenantId: string,
  logType: string | null,
  days: RetentionDays | undefined,
  actor: Actor,
  clock: () => number,
): Promise<{ before: RetentionSettings; after: RetentionSettings } | undefined> {
  let before = await store.getRetention(tenantId);
  if (!before) return undefined;
  const setting = (s: RetentionSettings | undefined) => {
    const d = s === undefined ? undefined : logType === null ? s.tenantDays : typeSetting(s, logType);
    return d === undefined ? null : { days: daysJson(d) };
  };
  // The act and its trail entry in one transaction; the settings before as the transaction saw them.
  const after = await store.setRetention(
    tenantId,
    logType,
    days,
    actTrail(
      () => tenantId,
      (b, a) => {
        before = b ?? before;
        // A setting made what it already was (or cleared when unset) changes nothing: no act to record.
        if (JSON.stringify(setting(b)) === JSON.stringify(setting(a))) return undefined;
        return { action: 'retention.changed', actor, target: { logType }, before: setting(b), after: setting(a) };
      },
      clock,
    ),
  );
  return { before, after };
}

/** The settings as `setRetentionAct` would leave them: one type's (or the tenant default's) days set or removed. */
export function withRetention(settings: RetentionSettings, logType: string | null, days: RetentionDays | undefined): RetentionSettings {
  if (logType === null) return { perType: settings.perType, ...(days === undefined ? {} : { tenantDays: days }) };
  const perType = { ...settings.perType };
  if (days === undefined) delete perType[logType];
  else perType[logType] = days;
  return { ...settings, perType };
}

/** What the purge would do to one log type at a given time. */
export interface PurgePreview {
  readonly logType: string;
  readonly effectiveDays: DaysJson;
  /** Entries with an event time before this are expired; null when kept forever or nothing may be deleted (no entry to measure the clock by). */
  readonly before: string | null;
  /** Expired entries no active hold keeps: the purge deletes them. */
  readonly deleted: number;
  /** Expired entries an active legal hold keeps. */
  readonly keptByHolds: number;
}

/**
 * What the background purge would delete at `asOfMs` (its time, ../store/purge-clock.ts; null:
 * nothing may be deleted) under `settings`, for each type the tenant holds entries of (the
 * types the purge goes through, with the same effective retention and the same holds). Each
 * count is exact in its own snapshot; nothing is changed.
 */
export async function purgePreview(
  store: Store,
  tenantId: string,
  settings: RetentionSettings,
  serverDays: RetentionDays,
  asOfMs: number | null,
): Promise<PurgePreview[]> {
  const types = await store.logTypes(tenantId);
  const holds = await store.listHolds({ tenantId });
  // Every stored event time renders (years 0000-9999): counting from the first of them counts all.
  const count = async (logType: string, fromMs: number, toMs: number) =>
    toMs <= MIN_MS ? 0 : (await store.firstPage({ tenantId, logType, fromMs: Math.max(fromMs, MIN_MS), toMs }, 1)).total;
  const out: PurgePreview[] = [];
  for (const logType of types) {
    const days = effectiveRetention(settings, logType, serverDays, types);
    const cutoff = asOfMs === null ? null : retentionCutoff(days, asOfMs);
    if (cutoff === null) {
      out.push({ logType, effectiveDays: daysJson(days), before: null, deleted: 0, keptByHolds: 0 });
      continue;
    }
    let deleted = 0;
    for (const range of purgeableRanges(holds, logType, cutoff)) deleted += await count(logType, range.fromMs, range.toMs);
    const expired = await count(logType, MIN_MS, cutoff);
    out.push({
      logType,
      effectiveDays: daysJson(days),
      before: new Date(cutoff).toISOString(),
      deleted,
      keptByHolds: Math.max(0, expired - deleted),
    });
  }
  return out;
}
