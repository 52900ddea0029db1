/**
 * Entries per hour over a range, from the hourly tallies each store keeps for exact totals
 * (no entry is read). Each bucket is a whole UTC hour that overlaps the range: the first and
 * last may count entries just outside it, which is what a histogram's bars show anyway. With
 * the user filter of `GET /v2/logs` (`userId` or `userEmailAddress`), one user's entries per
 * hour, from the stores' per-segment user postings (their segments are decoded where they
 * straddle an hour).
 *
 * With `timeZone` (IANA), an hour in which a local midnight of that zone falls (zones whose
 * offset is not whole hours: +05:30, +05:45, -03:30, …) is two buckets split at that midnight,
 * the part before it counted exactly (a one-entry page's total), so that a day's entries can be
 * summed from the buckets that start in it. Whole-hour zones cost nothing more.
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
  /** An IANA time zone whose local midnights split the hours they fall in (see above). */
  timeZone?: string | undefined;
}

export interface Histogram {
  readonly logType: string;
  readonly interval: 'hour';
  /** Hours with at least one entry, ascending (with `timeZone`, split at its local midnights). */
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
  const zone = p.timeZone === undefined || p.timeZone === '' ? undefined : localClock(p.timeZone);
  const tallies = await store.hourlyTallies({ tenantId, logType: p.logType, fromMs, toMs, ...(user && { user }) });
  const buckets: Array<{ start: string; count: number }> = [];
  for (const t of tallies) {
    const midnight = zone?.(t.hourMs);
    if (midnight === undefined) {
      buckets.push({ start: new Date(t.hourMs).toISOString(), count: t.count });
      continue;
    }
    const query = { tenantId, logType: p.logType, fromMs: t.hourMs, toMs: midnight, ...(user && { user }) };
    // At most the hour's tally: entries stored since the tallies were read are not in it.
    const before = Math.min(t.count, (await store.firstPage(query, 1)).total);
    if (before > 0) buckets.push({ start: new Date(t.hourMs).toISOString(), count: before });
    if (t.count > before) buckets.push({ start: new Date(midnight).toISOString(), count: t.count - before });
  }
  return { logType: p.logType, interval: 'hour', buckets };
}

/**
 * For `timeZone`, a function giving the local midnight that falls strictly inside the UTC hour
 * starting at `hourMs`, or undefined when none does (always, in a zone whose offset is whole
 * hours). 400 for a zone the runtime does not know.
 */
function localClock(timeZone: string): (hourMs: number) => number | undefined {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
  } catch {
    throw invalid(`timeZone: unknown time zone ${JSON.stringify(timeZone.slice(0, 64))} (an IANA name such as Asia/Kathmandu)`);
  }
  return (hourMs) => {
    let hour = 0;
    let minute = 0;
    for (const part of format.formatToParts(hourMs)) {
      if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
    }
    // The hour starts at 23:mm local time (mm > 0): midnight comes 60 - mm minutes into it.
    return hour === 23 && minute > 0 ? hourMs + (60 - minute) * 60_000 : undefined;
  };
}
