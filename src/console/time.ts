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

/** `2026-03-01 10:00:00.000` in local time (with its offset) or UTC. */
export function formatTime(ms: number, utc: boolean): string {
  const d = new Date(ms);
  if (utc) return d.toISOString().replace('T', ' ').replace('Z', ' UTC');
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}` +
    ` ${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`
  );
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

/** An API date-time from a `datetime-local` value read as local time or UTC; undefined when not a date. */
export function fromInputValue(value: string, utc: boolean): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?$/.test(value)) return undefined;
  const ms = utc ? Date.parse(`${value}Z`) : new Date(value).getTime();
  return Number.isFinite(ms) ? new Date(ms).toISOString() : undefined;
}
