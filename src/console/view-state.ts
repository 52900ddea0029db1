/**
 * What the address bar's fragment holds, so a view or one entry can be linked to:
 * `#type=AccessLog&range=24h&utc=1`, or a custom range `range=custom&from=…&to=…`, and
 * `entry=N` for the N-th entry (from 0) of that view; `userId=…` or `userEmailAddress=…` for a
 * view filtered to one user; `order=newest` for the table newest first (ascending is the default).
 */
import type { UserFilter } from './api.ts';
import { PRESETS, type Range } from './time.ts';

export interface ViewState {
  readonly logType: string | undefined;
  readonly range: Range;
  readonly utc: boolean;
  readonly entry: number | undefined;
  readonly user?: UserFilter | undefined;
  /** The table newest first (else ascending, as the API pages). */
  readonly newestFirst?: boolean | undefined;
}

export function parseHash(hash: string): ViewState {
  const q = new URLSearchParams(hash.replace(/^#/, ''));
  const r = q.get('range');
  const from = q.get('from');
  const to = q.get('to');
  let range: Range = { preset: '24h' };
  if (r === 'custom' && from && to && Date.parse(from) < Date.parse(to)) range = { preset: 'custom', from, to };
  else if (PRESETS.some((p) => p.id === r)) range = { preset: r as (typeof PRESETS)[number]['id'] };
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
    entry: Number.isInteger(entry) && entry >= 0 ? entry : undefined,
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
