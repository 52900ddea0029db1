/**
 * Entries per hour over a range, from the hourly tallies each store keeps for exact totals
 * (no entry is read). Each bucket is a whole UTC hour that overlaps the range: the first and
 * last may count entries just outside it, which is what a histogram's bars show anyway. With
 * the user filter of `GET /v2/logs` (`userId` or `userEmailAddress`), one user's entries per
 * hour, from the stores' per-segment user postings (their segments are decoded where they
 * straddle an hour).
 */
import { invalid } from '../errors.ts';
import type { LogTypes } from '../logs/log-types.ts';
import { ceilMs, compareInstants } from '../logs/time.ts';
import { BUCKET_MS } from '../store/count-plan.ts';
import type { Store } from '../store/store.ts';
import { parseInstant, parseUser } from './list-logs.ts';

/** A year and a day of hours: a histogram answer stays small (under 9,000 buckets). */
export const MAX_HISTOGRAM_HOURS = 366 * 24;

export interface HistogramParams {
  logType?: string | undefined;
  fromDateTime?: string | undefined;
  toDateTime?: string | undefined;
  /** Extensions, as for `GET /v2/logs`: one user's entries only (one of the two at most). */
  userId?: string | undefined;
  userEmailAddress?: string | undefined;
}

export interface Histogram {
  readonly logType: string;
  readonly interval: 'hour';
  /** Hours with at least one entry, ascending. */
  readonly buckets: Array<{ start: string; count: number }>;
}

function instant(name: string, value: string | undefined) {
  if (value === undefined || value === '') throw invalid(`${name}: is required`);
  return parseInstant(name, value);
}

export async function histogram(store: Store, types: LogTypes, tenantId: string, p: HistogramParams, now: number): Promise<Histogram> {
  if (p.logType === undefined || p.logType === '') throw invalid('logType: is required');
  if (!types.has(p.logType))
    throw invalid(`logType: unknown log type ${JSON.stringify(p.logType.slice(0, 64))} (expected one of ${types.describe()})`);
  const from = instant('fromDateTime', p.fromDateTime);
  const to = p.toDateTime === undefined ? undefined : instant('toDateTime', p.toDateTime);
  if (to && compareInstants(from, to) >= 0) throw invalid('toDateTime: must be later than fromDateTime');
  const fromMs = ceilMs(from);
  const toMs = to ? ceilMs(to) : null;
  const lastHour = Math.floor(((toMs ?? now) - 1) / BUCKET_MS);
  if (lastHour - Math.floor(fromMs / BUCKET_MS) >= MAX_HISTOGRAM_HOURS) {
    const days = MAX_HISTOGRAM_HOURS / 24;
    throw invalid(
      toMs === null
        ? `fromDateTime: a histogram covers at most ${days} days, and without toDateTime it runs from fromDateTime to now; give a later fromDateTime or a toDateTime`
        : `toDateTime: a histogram covers at most ${days} days`,
    );
  }
  const user = parseUser(p) ?? undefined;
  const tallies = await store.hourlyTallies({ tenantId, logType: p.logType, fromMs, toMs, ...(user && { user }) });
  return {
    logType: p.logType,
    interval: 'hour',
    buckets: tallies.map((t) => ({ start: new Date(t.hourMs).toISOString(), count: t.count })),
  };
}
