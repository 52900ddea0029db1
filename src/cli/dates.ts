/**
 * Dates and durations as people type them on a command line: ISO-8601 with an offset
 * (`2026-03-04T09:00:00-07:00`, or `-0700`, or `-07`), a UTC day (`2026-03-04`), or a time ago
 * (`7d`, `12h`, `30m`, or whole calendar years: `3y`).
 * Relative forms are resolved once, against the moment the command started, so every request
 * of one run uses the same bounds.
 */
import { compareInstants, type Instant, parseDateTime } from '../logs/time.ts';
import { UsageError } from './exit-codes.ts';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const DURATION = /^(\d{1,9})(s|m|h|d|w)$/;
const DAY = /^\d{4}-\d{2}-\d{2}$/;
/** Whole calendar years ago: a time ago only, never a duration (`--interval 1y` means nothing useful). */
const YEARS = /^(\d{1,4})y$/;
/** A date-time whose offset is written without its colon (`+0530`) or as hours only (`+05`, ISO-8601's ±hh). */
const SHORT_OFFSET = /^(\d{4}-\d{2}-\d{2}[Tt][\d:.,]+)([+-]\d{2})(\d{2})?$/;

/** A point in time as given and as it will be sent. */
export interface When {
  /** What goes on the wire: the ISO-8601 text as given (its offset written ±hh:mm), or a resolved UTC time. */
  readonly iso: string;
  /** Milliseconds since the epoch (truncated to the millisecond). */
  readonly ms: number;
  /** The instant at the precision given (digits past the millisecond included), as the server compares it. */
  readonly instant: Instant;
}

export const WHEN_HELP = 'ISO-8601 with offset, YYYY-MM-DD (UTC midnight), a time ago like 2w, 7d, 12h, 30m, 45s, or 3y (calendar years), or now';

/** Parses a duration like `15m`, `10m`, `14d`, `45s`, `2w`. */
export function parseDuration(text: string, flag: string): number {
  const m = DURATION.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration like 30s, 15m, 12h, 7d or 2w (got ${JSON.stringify(text)})`);
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** 0001-01-01T00:00:00Z, the first instant a four-digit year writes (Date.UTC reads years 0-99 as 1900-1999). */
const FIRST_MS = -62_135_596_800_000;

export function parseWhen(text: string, flag: string, nowMs: number): When {
  const t = text.trim();
  if (t === 'now') return { iso: new Date(nowMs).toISOString(), ms: nowMs, instant: { ms: nowMs, sub: '' } };
  const years = YEARS.exec(t);
  if (years) {
    const ms = yearsBefore(nowMs, Number(years[1]));
    if (ms < FIRST_MS) throw new UsageError(`${flag} ${t} reaches back before the year 1; give fewer years, or a date`);
    return { iso: new Date(ms).toISOString(), ms, instant: { ms, sub: '' } };
  }
  if (DURATION.test(t)) {
    const ms = nowMs - parseDuration(t, flag);
    if (ms < FIRST_MS) throw new UsageError(`${flag} ${t} reaches back before the year 1; give a shorter time ago, or a date`);
    return { iso: new Date(ms).toISOString(), ms, instant: { ms, sub: '' } };
  }
  // Sent as ±hh:mm, the offset every Gong-compatible source reads (the contract's own examples).
  const short = SHORT_OFFSET.exec(t);
  const iso = DAY.test(t) ? `${t}T00:00:00Z` : short ? `${short[1]}${short[2]}:${short[3] ?? '00'}` : t;
  const parsed = parseDateTime(iso);
  if (!parsed.ok) throw new UsageError(`${flag} ${parsed.problem}; use ${WHEN_HELP}`);
  return { iso, ms: parsed.instant.ms, instant: parsed.instant };
}

/**
 * The same UTC date and time `n` years before `ms` (so `3y` on 2026-12-02 is 2023-12-02, whatever
 * leap days lie between); February 29 goes to February 28 in a year that has none.
 */
function yearsBefore(ms: number, n: number): number {
  const d = new Date(ms);
  const year = d.getUTCFullYear() - n;
  const month = d.getUTCMonth();
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month + 1, 0);
  const out = new Date(ms);
  out.setUTCFullYear(year, month, Math.min(d.getUTCDate(), lastDay.getUTCDate()));
  return out.getTime();
}

/**
 * Refuses a range whose end is not later than its start, compared as the server compares them:
 * at the precision given, so `…T00:00:00.0001Z` to `…T00:00:00.0005Z` is a range (of no whole
 * millisecond) and not an error.
 */
export function checkLater(from: When, to: When): void {
  if (compareInstants(to.instant, from.instant) <= 0) throw new UsageError('--to must be later than --from');
}
