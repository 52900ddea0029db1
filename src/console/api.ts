/**
 * The console's calls to `GET /v2/logs` with the session's Bearer token. Every path the console
 * asks for is relative to its page (`console`, at the server's base), so that a path prefix a
 * reverse proxy serves the server under (`/audit/console`) is kept.
 */
import { histogramParts } from './histogram-parts.ts';
import type { HourCount } from './newest-first.ts';
import { type Page, parsePage } from './page.ts';
import { ConsoleError, EXPIRED_MESSAGE, envelopeErrors, type Session, sessionEnded } from './session.ts';
import { readLimitMessage } from './time.ts';

/** The server-side user filter (a logwarden extension of `GET /v2/logs`): one field, exact. */
export interface UserFilter {
  readonly field: 'userId' | 'userEmailAddress';
  readonly value: string;
}

export interface LogsQuery {
  readonly logType: string;
  readonly fromDateTime: string;
  readonly toDateTime?: string | undefined;
  readonly user?: UserFilter | undefined;
}

const NO_RECORDS = 'No log records found';

/**
 * The longest Retry-After a read waits out by itself: a per-second limit asks for a second or
 * two, and the console goes on where it was; a daily limit (until midnight UTC) is reported.
 */
const MAX_RETRY_AFTER_MS = 30_000;

/** Waits `ms`, or rejects with the AbortError when `signal` fires first. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('aborted', 'AbortError'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    const stop = () => {
      clearTimeout(timer);
      reject(new DOMException('aborted', 'AbortError'));
    };
    signal?.addEventListener('abort', stop, { once: true });
  });
}

/** A 429's Retry-After in ms (seconds or an HTTP date; 1 s when absent or unreadable). */
function retryAfterMs(res: Response): number {
  const v = res.headers.get('retry-after') ?? '';
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - Date.now());
}

/**
 * `fetch` that waits out a 429 for its Retry-After and asks again (the tenant's read limit, 3 per
 * second by default, is met by any quick scrolling or an export), up to MAX_RETRY_AFTER_MS per
 * wait; a longer one is an error that says when reading can go on.
 */
async function fetchPaced(url: string, init: RequestInit, signal: AbortSignal | undefined): Promise<Response> {
  for (;;) {
    const res = await fetch(url, init);
    if (res.status !== 429) return res;
    const wait = retryAfterMs(res);
    if (wait > MAX_RETRY_AFTER_MS) {
      throw new ConsoleError(readLimitMessage(Date.now() + wait));
    }
    await pause(wait, signal);
  }
}

/** One page: the first of `query`, or the one `cursor` points at. An empty range is an empty page, not an error. */
export async function fetchPage(
  session: Session,
  query: LogsQuery,
  options: { cursor?: string | undefined; limit?: number; signal?: AbortSignal; leafIndexes?: boolean } = {},
): Promise<Page> {
  if (Date.now() >= session.expiresAt) throw new ConsoleError(EXPIRED_MESSAGE, true);
  const q = new URLSearchParams();
  if (options.cursor !== undefined) {
    q.set('cursor', options.cursor);
  } else {
    q.set('logType', query.logType);
    q.set('fromDateTime', query.fromDateTime);
    if (query.toDateTime !== undefined) q.set('toDateTime', query.toDateTime);
    // Later pages carry the filter in their cursor.
    if (query.user !== undefined) q.set(query.user.field, query.user.value);
    if (options.limit !== undefined) q.set('limit', String(options.limit));
  }
  let res: Response;
  try {
    // credentials 'omit': the token is the only credential; and a 401 carrying a Basic
    // challenge must come back to the page, not open the browser's password prompt.
    res = await fetchPaced(
      `v2/logs?${q}`,
      {
        headers: { authorization: `Bearer ${session.token}`, ...(options.leafIndexes && { 'x-logwarden-leaf-index': '1' }) },
        credentials: 'omit',
        ...(options.signal && { signal: options.signal }),
      },
      options.signal,
    );
  } catch (err) {
    if ((err instanceof DOMException && err.name === 'AbortError') || err instanceof ConsoleError) throw err;
    throw new ConsoleError('The server could not be reached.');
  }
  const text = await res.text();
  if (res.ok) {
    const page = parsePage(text);
    const leaves = res.headers.get('x-logwarden-leaf-index');
    return leaves === null || leaves === '' ? page : { ...page, leaves: leaves.split(',').map(Number) };
  }
  if (res.status === 401) throw sessionEnded(text);
  // Not the error envelope: the status alone is reported.
  const errors = envelopeErrors(text);
  if (res.status === 404 && errors.some((e) => e.startsWith(NO_RECORDS))) return { total: 0, rows: [] };
  if (res.status === 403) throw new ConsoleError('This access key cannot read logs.');
  throw new ConsoleError(errors.length > 0 ? errors.join('; ') : `The server answered HTTP ${res.status}.`);
}

/** The log types this server accepts: the list-logs `logType` enum of its OpenAPI document. */
export async function fetchLogTypes(): Promise<string[]> {
  const fallback = ['AccessLog', 'UserActivityLog', 'UserCallPlay', 'ExternallySharedCallAccess', 'ExternallySharedCallPlay'];
  try {
    const doc = (await (await fetch('openapi.json')).json()) as {
      paths?: Record<string, { get?: { parameters?: Array<{ name?: string; schema?: { enum?: unknown[] } }> } }>;
    };
    const param = doc.paths?.['/v2/logs']?.get?.parameters?.find((p) => p.name === 'logType');
    const names = param?.schema?.enum?.filter((n): n is string => typeof n === 'string');
    return names && names.length > 0 ? names : fallback;
  } catch {
    return fallback;
  }
}

export type { HourCount } from './newest-first.ts';

/**
 * Entries per hour over the query's range, of its user when it has one (`GET /v2/logs/histogram`,
 * a logwarden extension); a range of more than a year a year at a time (histogram-parts.ts).
 */
export async function fetchHistogram(session: Session, query: LogsQuery, signal?: AbortSignal): Promise<HourCount[]> {
  const buckets: HourCount[] = [];
  for (const part of histogramParts(query, Date.now())) {
    buckets.push(...(await fetchHistogramPart(session, { ...query, ...part }, signal)));
  }
  return buckets;
}

async function fetchHistogramPart(session: Session, query: LogsQuery, signal?: AbortSignal): Promise<HourCount[]> {
  if (Date.now() >= session.expiresAt) throw new ConsoleError(EXPIRED_MESSAGE, true);
  const q = new URLSearchParams({ logType: query.logType, fromDateTime: query.fromDateTime });
  if (query.toDateTime !== undefined) q.set('toDateTime', query.toDateTime);
  if (query.user !== undefined) q.set(query.user.field, query.user.value);
  // Hours this zone's local midnights fall in come split there, so that local day bars add up
  // exactly in zones whose offset is not whole hours (+05:30, +05:45, …); whole hours elsewhere.
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (zone) q.set('timeZone', zone);
  const res = await fetchPaced(
    `v2/logs/histogram?${q}`,
    { headers: { authorization: `Bearer ${session.token}` }, credentials: 'omit', ...(signal && { signal }) },
    signal,
  );
  if (res.status === 401) throw sessionEnded(await res.text());
  if (!res.ok) throw new ConsoleError(`The histogram could not be read (HTTP ${res.status}).`);
  return ((await res.json()) as { buckets: HourCount[] }).buckets;
}
