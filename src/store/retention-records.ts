/**
 * Retention settings and legal holds as both stores keep them: the checks made before
 * anything is stored and the mapping between rows and the Store's types.
 */
import { randomBytes } from 'node:crypto';
import { isRetentionDays, MAX_RETENTION_DAYS } from './retention-policy.ts';
import { InvalidRetentionError, type NewLegalHold, type RetentionDays, type RetentionSettings } from './store.ts';

/** The `log_type` a tenant-wide setting is stored under (no log type is empty). */
export const TENANT_DEFAULT = '';

/** A new hold id: `hold_` and 20 random base32 characters (100 bits), never reused. */
export function newHoldId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(20);
  let out = 'hold_';
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

/** Refuses days that are neither forever (null), removal (undefined) nor 1 to MAX_RETENTION_DAYS. */
export function checkRetentionDays(days: RetentionDays | undefined): void {
  if (days === undefined || days === null) return;
  if (!isRetentionDays(days)) throw new InvalidRetentionError(`retention days must be a whole number from 1 to ${MAX_RETENTION_DAYS}, not ${days}`);
}

/** Refuses a log type setting named '' (that name stores the tenant's default). */
export function checkRetentionType(logType: string | null): void {
  if (logType === TENANT_DEFAULT) throw new InvalidRetentionError('a log type name is not empty');
}

/** Refuses a hold with an empty range, a blank reason or creator, or times that are not whole ms. */
export function checkHold(hold: NewLegalHold): void {
  for (const [name, t] of [
    ['from', hold.fromMs],
    ['to', hold.toMs],
  ] as const) {
    if (t !== null && !Number.isSafeInteger(t)) throw new InvalidRetentionError(`a hold's ${name} time must be whole milliseconds`);
  }
  if (hold.fromMs !== null && hold.toMs !== null && hold.fromMs >= hold.toMs) {
    throw new InvalidRetentionError("a hold's time range must not be empty (from before to)");
  }
  if (hold.logType === TENANT_DEFAULT) throw new InvalidRetentionError('a log type name is not empty');
  if (hold.reason.trim() === '') throw new InvalidRetentionError('a hold needs a reason');
  if (hold.createdBy.trim() === '') throw new InvalidRetentionError('a hold needs who created it');
}

/** Settings from stored (log type, days) rows. */
export function settingsOf(rows: readonly { log_type: string; days: number | null }[]): RetentionSettings {
  const perType: Record<string, RetentionDays> = {};
  let tenantDays: RetentionDays | undefined;
  for (const r of rows) {
    if (r.log_type === TENANT_DEFAULT) tenantDays = r.days;
    else perType[r.log_type] = r.days;
  }
  return tenantDays === undefined ? { perType } : { tenantDays, perType };
}
