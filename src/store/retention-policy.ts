/**
 * Which entries retention deletes (issue 12), as pure functions of the settings: the store only
 * stores settings and holds and deletes what it is told to (Store.purge).
 *
 * Effective retention of a log type: the type's own setting, else the tenant's default, else
 * the server's default (`LOGWARDEN_RETENTION_DAYS`), else forever. The reserved admin trail
 * type is kept at least as long as the longest effective retention of the tenant's other types
 * (forever when any of them is kept forever), so the record of what operators did to a log
 * outlives the log.
 */
import { ADMIN_LOG_TYPE } from '../logs/log-types.ts';
import type { LegalHold, RetentionDays, RetentionSettings } from './store.ts';

export const DAY_MS = 86_400_000;
/** The most days a retention may be set to (about 1,000 years: event times stay safe integers). */
export const MAX_RETENTION_DAYS = 365_000;

/**
 * A log type's own setting; undefined without one. Own properties only: a type may be named
 * like a member every object inherits (`toString`, `constructor`), which is no setting.
 */
export function typeSetting(settings: RetentionSettings | undefined, logType: string): RetentionDays | undefined {
  return settings !== undefined && Object.hasOwn(settings.perType, logType) ? settings.perType[logType] : undefined;
}

/** Days by the usual precedence: the type's setting, the tenant's, the server's, forever. */
function ownRetention(settings: RetentionSettings | undefined, logType: string, serverDays: RetentionDays): RetentionDays {
  const perType = typeSetting(settings, logType);
  if (perType !== undefined) return perType;
  if (settings?.tenantDays !== undefined) return settings.tenantDays;
  return serverDays;
}

/** The longer of two retentions (null, forever, is the longest). */
export function longerRetention(a: RetentionDays, b: RetentionDays): RetentionDays {
  return a === null || b === null ? null : Math.max(a, b);
}

/**
 * The effective retention of `logType` for a tenant holding `tenantTypes` (the admin trail's
 * depends on the others'): days, or null for forever.
 */
export function effectiveRetention(
  settings: RetentionSettings | undefined,
  logType: string,
  serverDays: RetentionDays,
  tenantTypes: Iterable<string>,
): RetentionDays {
  const own = ownRetention(settings, logType, serverDays);
  if (logType !== ADMIN_LOG_TYPE) return own;
  let days = own;
  const others = new Set([...tenantTypes, ...Object.keys(settings?.perType ?? {})]);
  others.delete(ADMIN_LOG_TYPE);
  for (const other of others) days = longerRetention(days, ownRetention(settings, other, serverDays));
  return days;
}

/** Entries with an event time before this are older than `days` at `nowMs`; null for forever. */
export function retentionCutoff(days: RetentionDays, nowMs: number): number | null {
  return days === null ? null : nowMs - days * DAY_MS;
}

/** Whether a number of days is a valid retention (a whole number from 1 to MAX_RETENTION_DAYS). */
export function isRetentionDays(days: unknown): days is number {
  return typeof days === 'number' && Number.isInteger(days) && days >= 1 && days <= MAX_RETENTION_DAYS;
}

/** Whether an active hold keeps an entry of this log type and event time. */
export function holdCovers(hold: LegalHold, logType: string, timeMs: number): boolean {
  return (
    hold.releasedAt === null &&
    (hold.logType === null || hold.logType === logType) &&
    (hold.fromMs === null || timeMs >= hold.fromMs) &&
    (hold.toMs === null || timeMs < hold.toMs)
  );
}

/**
 * The event time ranges `[fromMs, toMs)` before `beforeMs` that no active hold of this log
 * type covers, ascending and disjoint: where a purge of the type may delete.
 */
export function purgeableRanges(holds: readonly LegalHold[], logType: string, beforeMs: number): { fromMs: number; toMs: number }[] {
  const covering = holds
    .filter((h) => h.releasedAt === null && (h.logType === null || h.logType === logType))
    .map((h) => ({ from: h.fromMs ?? Number.MIN_SAFE_INTEGER, to: h.toMs ?? Number.MAX_SAFE_INTEGER }))
    .filter((h) => h.from < h.to)
    .sort((a, b) => a.from - b.from);
  const out: { fromMs: number; toMs: number }[] = [];
  let at = Number.MIN_SAFE_INTEGER;
  for (const h of covering) {
    if (at >= beforeMs) break;
    if (h.from > at) out.push({ fromMs: at, toMs: Math.min(h.from, beforeMs) });
    at = Math.max(at, h.to);
  }
  if (at < beforeMs) out.push({ fromMs: at, toMs: beforeMs });
  return out;
}
