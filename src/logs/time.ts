/**
 * Strict ISO-8601 date-times, as the contract accepts them: a full date, a time of at least
 * hours and minutes, optional seconds and fraction, and a mandatory offset (`Z`, ±hh:mm, ±hhmm
 * or ±hh, ISO-8601's three forms).
 * Anything else, including impossible calendar dates, is refused.
 */

/**
 * How far ahead of this server's clock the issue time of a token or a cursor may be: the
 * clocks of servers sharing a store differ by this much at most. One issued further ahead was
 * issued while a clock ran ahead and was put back since: its expiry, on that clock, lies as far
 * ahead as the clock was wrong (a year's clock error would give a one-hour token a year).
 */
export const ISSUED_AHEAD_TOLERANCE_MS = 60_000;

/** An instant with arbitrary sub-millisecond precision: `ms` plus the digits after the millisecond. */
export interface Instant {
  /** Milliseconds since the epoch, truncated toward negative infinity. */
  readonly ms: number;
  /** Fraction digits beyond the third, trailing zeros removed ('' when the instant is whole ms). */
  readonly sub: string;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export type ParseResult = { ok: true; instant: Instant } | { ok: false; problem: string };

/** Parses a date-time; on failure, `problem` says what is wrong, for a message naming the field. */
export function parseDateTime(text: string): ParseResult {
  if (text.length > 64) return { ok: false, problem: 'is not an ISO-8601 date-time' };
  const m = ISO.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?$/.test(text)) {
      return { ok: false, problem: 'must include a UTC offset or Z (e.g. 2024-01-31T08:00:00Z)' };
    }
    return { ok: false, problem: 'is not an ISO-8601 date-time with offset (e.g. 2024-01-31T08:00:00Z)' };
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const fraction = m[7] ?? '';
  if (month < 1 || month > 12) return { ok: false, problem: `has an impossible month (${m[2]})` };
  const maxDay = month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day < 1 || day > maxDay) return { ok: false, problem: `is an impossible date (${m[1]}-${m[2]}-${m[3]})` };
  if (hour > 23) return { ok: false, problem: `has an impossible hour (${m[4]})` };
  if (minute > 59) return { ok: false, problem: `has an impossible minute (${m[5]})` };
  if (second > 59) return { ok: false, problem: `has an impossible second (${m[6]})` };
  let offsetMinutes = 0;
  if (m[8] === undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return { ok: false, problem: `has an impossible UTC offset (${m[9]}${m[10]}:${m[11] ?? '00'})` };
    offsetMinutes = (oh * 60 + om) * (m[9] === '-' ? -1 : 1);
  }
  const millisText = (fraction + '000').slice(0, 3);
  const sub = fraction.slice(3).replace(/0+$/, '');
  const days = daysFromCivil(year, month, day);
  const ms = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + Number(millisText);
  return { ok: true, instant: { ms, sub } };
}

/** Compares two instants: negative, zero or positive. */
export function compareInstants(a: Instant, b: Instant): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  const len = Math.max(a.sub.length, b.sub.length);
  const as = a.sub.padEnd(len, '0');
  const bs = b.sub.padEnd(len, '0');
  return as < bs ? -1 : as > bs ? 1 : 0;
}

/**
 * The first whole millisecond at or after the instant. Stored event times are whole
 * milliseconds, so `eventTime >= x` and `eventTime < x` are exact with this bound.
 */
export function ceilMs(i: Instant): number {
  return i.sub === '' ? i.ms : i.ms + 1;
}

/** The earliest event time an entry can have (0000-01-01T00:00:00.000Z): every stored time renders. */
export const MIN_MS = daysFromCivil(0, 1, 1) * 86_400_000;
const MAX_MS = daysFromCivil(10000, 1, 1) * 86_400_000 - 1;

const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
/** The day last rendered and its `YYYY-MM-DDT`: a batch's entries mostly share a few days. */
let lastDay = Number.NaN;
let lastDayText = '';

/**
 * Renders milliseconds since the epoch as Gong does: UTC with exactly three fraction digits,
 * as Date's toISOString does for years 0000-9999, which costs about 1 µs a call; every entry
 * ingested is rendered, so the date is kept from the previous call and the time is put
 * together from digit tables.
 */
export function formatEventTime(ms: number): string {
  if (ms < MIN_MS || ms > MAX_MS) throw new RangeError('event time outside years 0000-9999');
  if (!Number.isInteger(ms)) return new Date(ms).toISOString();
  const day = Math.floor(ms / 86_400_000);
  if (day !== lastDay) {
    lastDayText = new Date(day * 86_400_000).toISOString().slice(0, 11);
    lastDay = day;
  }
  let rest = ms - day * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return `${lastDayText}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[seconds]}.${THREE_DIGITS[rest - seconds * 1000]}Z`;
}

/** True when the instant can be rendered as a four-digit-year UTC time. */
export function isRenderable(ms: number): boolean {
  return ms >= MIN_MS && ms <= MAX_MS;
}
