/**
 * The histogram's bars: the server's hourly counts over the range, per hour for ranges up to
 * three days, per (local or UTC) day beyond. Hours at or after the range's end are not drawn but
 * counted apart: a range open to the latest entry ends now, and entries dated later (a clock
 * ahead, an event time in the future) are still in its list.
 */
import type { HourCount } from './newest-first.ts';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface Bar {
  readonly startMs: number;
  readonly count: number;
}

/** Buckets of `hours` for [fromMs, toMs): hourly, or per (local or UTC) day when the range is long; `later`, the count of hours from `toMs` on. */
export function bars(hours: readonly HourCount[], fromMs: number, toMs: number, utc: boolean): { unit: 'hour' | 'day'; bars: Bar[]; later: number } {
  const unit = toMs - fromMs > 3 * DAY_MS ? 'day' : 'hour';
  const start = (ms: number) => {
    if (unit === 'hour') return Math.floor(ms / HOUR_MS) * HOUR_MS;
    const d = new Date(ms);
    return utc ? Math.floor(ms / DAY_MS) * DAY_MS : new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  };
  const next = (ms: number) => {
    if (unit === 'hour') return ms + HOUR_MS;
    if (utc) return ms + DAY_MS;
    const d = new Date(ms);
    return new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  };
  const counts = new Map<number, number>();
  let later = 0;
  for (const h of hours) {
    const hourMs = Date.parse(h.start);
    if (hourMs >= toMs) {
      later += h.count;
      continue;
    }
    const k = start(hourMs);
    counts.set(k, (counts.get(k) ?? 0) + h.count);
  }
  const out: Bar[] = [];
  for (let t = start(fromMs); t < toMs; t = next(t)) out.push({ startMs: t, count: counts.get(t) ?? 0 });
  return { unit, bars: out, later };
}
