/** Time ranges and how times are shown: local time by default, UTC on request. */
export const PRESETS = [
  { id: '1h', label: 'Last hour', ms: 3_600_000 },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000 },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000 },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000 },
] as const;
export type PresetId = (typeof PRESETS)[number]['id'];

export type Range = { readonly preset: PresetId } | { readonly preset: 'custom'; readonly from: string; readonly to: string };

/** The API bounds of a range: presets end open (up to the latest entry), so a tail can follow them. */
export function rangeBounds(range: Range, now: number): { fromDateTime: string; toDateTime?: string } {
  if (range.preset === 'custom') return { fromDateTime: range.from, toDateTime: range.to };
  const p = PRESETS.find((x) => x.id === range.preset)!;
  return { fromDateTime: new Date(now - p.ms).toISOString() };
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A year as ISO-8601 writes it: four digits, or a sign and six beyond 0000-9999 (a far-past time in a zone west of UTC). */
function yearText(year: number): string {
  return year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
}

/**
 * The local zone's offset at `d`, in seconds east of UTC, from the local fields themselves:
 * `getTimezoneOffset()` drops the seconds of an offset, and before zones kept standard time
 * their local mean time had some (Kathmandu +05:41:16 until 1920), so the time shown and the
 * offset shown would not add up to the instant.
 */
function offsetSeconds(d: Date): number {
  const asUtc = new Date(0);
  asUtc.setUTCFullYear(d.getFullYear(), d.getMonth(), d.getDate());
  asUtc.setUTCHours(d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds());
  return Math.round((asUtc.getTime() - d.getTime()) / 1000);
}

/** `2026-03-01 10:00:00.000` in local time (with its offset, to the second when it has seconds) or UTC. */
export function formatTime(ms: number, utc: boolean): string {
  const d = new Date(ms);
  if (utc) return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  const off = offsetSeconds(d);
  const abs = Math.abs(off);
  const seconds = abs % 60 === 0 ? '' : `:${pad(abs % 60)}`;
  return (
    `${yearText(d.getFullYear())}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
    ` ${off >= 0 ? '+' : '-'}${pad(Math.floor(abs / 3600))}:${pad(Math.floor(abs / 60) % 60)}${seconds}`
  );
}

/**
 * A histogram bar's start: the day, or the hour to the minute with its offset (or UTC). An hour
 * needs the offset: where clocks go back, two hours in a row start at the same local time
 * (`2026-11-01 01:00 -04:00`, then `-05:00`), and in zones off the whole hour a UTC hour starts
 * at :30 or :45.
 */
export function barLabel(ms: number, unit: 'hour' | 'day', utc: boolean): string {
  const [day, time, zone] = formatTime(ms, utc).split(' ') as [string, string, string];
  return unit === 'day' ? day : `${day} ${time.slice(0, 5)} ${zone}`;
}

/**
 * What the console says when the tenant's read limit is used up until `untilMs`: the time with
 * its offset, to the second, since the daily limit turns over at midnight UTC, no midnight here.
 */
export function readLimitMessage(untilMs: number): string {
  const when = formatTime(Math.ceil(untilMs / 1000) * 1000, false).replace(/\.\d{3} /, ' ');
  return `This tenant's read limit is used up until ${when} (the server answered 429). Reading goes on after that.`;
}

/**
 * The value of a `datetime-local` input for `ms`, in local time or UTC: to the minute, with
 * seconds and milliseconds only when they are not zero.
 */
export function toInputValue(ms: number, utc: boolean): string {
  const d = new Date(ms);
  const [year, month, day, hour, minute, second, milli] = utc
    ? [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
    : [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
  const rest = milli !== 0 ? `:${pad(second)}.${pad(milli, 3)}` : second !== 0 ? `:${pad(second)}` : '';
  return `${pad(year, 4)}-${pad(month + 1)}-${pad(day)}T${pad(hour)}:${pad(minute)}${rest}`;
}

/** A date and time as a `datetime-local` input writes it: to the minute, or to the second or millisecond. */
const WALL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/**
 * The fields of a `datetime-local` value counted as if in UTC; undefined when it is not one, or
 * names no real time (February 30, 24:00), which the browser's parser would roll over.
 */
function wallMs(value: string): number | undefined {
  const m = WALL.exec(value);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, Number((m[7] ?? '0').padEnd(3, '0')));
  const real =
    d.getUTCFullYear() === year &&
    d.getUTCMonth() === month - 1 &&
    d.getUTCDate() === day &&
    d.getUTCHours() === hour &&
    d.getUTCMinutes() === minute &&
    d.getUTCSeconds() === second;
  return real ? d.getTime() : undefined;
}

/**
 * The instants a `datetime-local` value denotes as local time, earliest first: one, none where
 * the clocks skipped it, two where they showed it twice (the hour repeated when they go back).
 */
export function localInstants(value: string): number[] {
  const wall = wallMs(value);
  if (wall === undefined) return [];
  // The offsets in force a day either side (clocks change at most once a day) and at the time.
  const offsets = new Set([wall - 86_400_000, wall, wall + 86_400_000].map((ms) => offsetSeconds(new Date(ms))));
  const out = new Set<number>();
  for (const off of offsets) {
    const ms = wall - off * 1000;
    if (offsetSeconds(new Date(ms)) === off) out.add(ms);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * How a `datetime-local` value reads as local time where the clocks change: `missing` when the
 * clocks skipped it, `twice` when they showed it twice (localInstants gives both); `once`
 * otherwise, and for values that are no date (fromInputValue says so).
 */
export function localReading(value: string): 'once' | 'twice' | 'missing' {
  if (wallMs(value) === undefined) return 'once';
  const n = localInstants(value).length;
  return n === 0 ? 'missing' : n === 2 ? 'twice' : 'once';
}

/**
 * An API date-time from a `datetime-local` value read as local time or UTC; undefined when not a
 * date. A local time shown twice is the first unless `later`; one the clocks skipped is the
 * browser's reading (a time an offset change later: localReading tells it apart).
 */
export function fromInputValue(value: string, utc: boolean, later = false): string | undefined {
  const wall = wallMs(value);
  if (wall === undefined) return undefined;
  const local = utc ? [wall] : localInstants(value);
  const ms = local.length === 0 ? new Date(value).getTime() : local[later ? local.length - 1 : 0]!;
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}

/** Whether instant `ms` is the second reading of its local time (in the hour repeated when clocks go back). */
export function isLaterReading(ms: number): boolean {
  const both = localInstants(toInputValue(ms, false));
  return both.length === 2 && both[1] === ms;
}

/**
 * A bound of a linked range (`from=`, `to=`): a date and time as the inputs take it, with `Z` or
 * an offset (`+05:45`), so that it names one instant wherever the link is opened. Undefined
 * when it is anything else.
 */
export function parseLinkTime(value: string): number | undefined {
  const m = /^(.*?)(Z|([+-])(\d{2}):(\d{2}))$/.exec(value);
  if (!m) return undefined;
  const wall = wallMs(m[1]!);
  if (wall === undefined) return undefined;
  if (m[2] === 'Z') return wall;
  const [hours, minutes] = [Number(m[4]), Number(m[5])];
  if (hours > 23 || minutes > 59) return undefined;
  return wall - (m[3] === '-' ? -1 : 1) * (hours * 60 + minutes) * 60_000;
}
