/**
 * What the address bar's fragment holds, so a view or one entry can be linked to:
 * `#type=AccessLog&range=24h&utc=1`, or a custom range `range=custom&from=…&to=…`, and
 * `entry=N` for the N-th entry (from 0) of that view; `userId=…` or `userEmailAddress=…` for a
 * view filtered to one user; `order=newest` for the table newest first (ascending is the default).
 */
import type { UserFilter } from './api.ts';
import { PRESETS, parseLinkTime, type Range } from './time.ts';

export interface ViewState {
  readonly logType: string | undefined;
  readonly range: Range;
  readonly utc: boolean;
  readonly entry: number | undefined;
  readonly user?: UserFilter | undefined;
  /** The table newest first (else ascending, as the API pages). */
  readonly newestFirst?: boolean | undefined;
  /** Why the link's custom range was not taken (a bound that is no date and time, or an empty range). */
  readonly problem?: string | undefined;
}

const LINK_TIME_EXAMPLE = '2026-03-01T10:00:00.000Z (or with an offset, 2026-03-01T05:00:00.000-05:00)';

/** A link's custom range, read by the strict parser of its bounds; or what is wrong with it. */
function linkRange(from: string | null, to: string | null): Range | string {
  const bad = (name: string, value: string | null) =>
    value === null || value === ''
      ? `it gives no ${name}`
      : `its ${name}, ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)}, is not a date and time such as ${LINK_TIME_EXAMPLE}`;
  const [fromMs, toMs] = [from === null ? undefined : parseLinkTime(from), to === null ? undefined : parseLinkTime(to)];
  if (fromMs === undefined) return bad('from', from);
  if (toMs === undefined) return bad('to', to);
  if (fromMs >= toMs) return `its from, ${from}, is not before its to, ${to}`;
  return { preset: 'custom', from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
}

export function parseHash(hash: string): ViewState {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const r = q.get('range');
  const from = q.get('from');
  const to = q.get('to');
  let range: Range = { preset: '24h' };
  let problem: string | undefined;
  if (r === 'custom') {
    const custom = linkRange(from, to);
    if (typeof custom === 'string') problem = `The link's time range was not used: ${custom}. The last 24 hours are shown.`;
    else range = custom;
  } else if (PRESETS.some((p) => p.id === r)) range = { preset: r as (typeof PRESETS)[number]['id'] };
  const entry = Number(q.get('entry') ?? NaN);
  const userId = q.get('userId');
  const email = q.get('userEmailAddress');
  const user: UserFilter | undefined = userId ? { field: 'userId', value: userId } : email ? { field: 'userEmailAddress', value: email } : undefined;
  return {
    user,
    logType: q.get('type') ?? undefined,
    range,
    utc: q.get('utc') === '1',
    newestFirst: q.get('order') === 'newest',
    // An entry's place counts in the linked range only.
    entry: Number.isInteger(entry) && entry >= 0 && problem === undefined ? entry : undefined,
    problem,
  };
}

export function formatHash(v: ViewState): string {
  const q = new URLSearchParams();
  if (v.logType) q.set('type', v.logType);
  q.set('range', v.range.preset);
  if (v.range.preset === 'custom') {
    q.set('from', v.range.from);
    q.set('to', v.range.to);
  }
  if (v.utc) q.set('utc', '1');
  if (v.user) q.set(v.user.field, v.user.value);
  if (v.newestFirst) q.set('order', 'newest');
  if (v.entry !== undefined) q.set('entry', String(v.entry));
  return `#${q}`;
}

/**
 * A link to one entry: the millisecond it happened in, the user filter of the view it was found
 * in, and its place among that view's entries of that millisecond.
 */
export function entryLink(logType: string, ms: number, place: number, utc: boolean, user?: UserFilter): string {
  return formatHash({
    logType,
    range: { preset: 'custom', from: new Date(ms).toISOString(), to: new Date(ms + 1).toISOString() },
    utc,
    user,
    entry: place,
  });
}
