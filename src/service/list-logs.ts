/**
 * The read operation behind `GET /v2/logs`: validates the query, resolves the cursor, reads
 * one page from the store and renders the Gong page. The page body is the stored wire texts of
 * the entries, as the store returns them in one buffer; nothing is re-serialised.
 */
import { invalid, LogwardenError, NO_RECORDS_MESSAGE } from '../errors.ts';
import { type CursorCodec, CursorError, type CursorState, RetiredCursorError } from '../logs/cursor.ts';
import { MAX_USER_FIELD_LENGTH } from '../logs/entry.ts';
import type { LogTypes } from '../logs/log-types.ts';
import { ceilMs, compareInstants, type Instant, ISSUED_AHEAD_TOLERANCE_MS, parseDateTime } from '../logs/time.ts';
import type { EntryQuery, Store, StoredPage, UserMatch } from '../store/store.ts';

export interface ListLogsParams {
  logType?: string | undefined;
  fromDateTime?: string | undefined;
  toDateTime?: string | undefined;
  cursor?: string | undefined;
  limit?: string | undefined;
  /** Extensions: the user filter, one of the two at most. */
  userId?: string | undefined;
  userEmailAddress?: string | undefined;
}

export interface ListLogsContext {
  readonly store: Store;
  readonly cursors: CursorCodec;
  readonly types: LogTypes;
  readonly pageSize: number;
  readonly cursorTtlMs: number;
  readonly now: () => number;
}

interface Query {
  logType: string;
  from: Instant;
  to: Instant | null;
  limit: number;
  user: UserMatch | null;
}

/** The user filter of the request, if any (an extension; absent, the answer is Gong's). */
export function parseUser(p: Pick<ListLogsParams, 'userId' | 'userEmailAddress'>): UserMatch | null {
  if (p.userId !== undefined && p.userEmailAddress !== undefined) throw invalid('userId, userEmailAddress: give one of them, not both');
  const field = p.userId !== undefined ? 'userId' : p.userEmailAddress !== undefined ? 'userEmailAddress' : undefined;
  if (field === undefined) return null;
  const value = p[field]!;
  if (value === '' || value.length > MAX_USER_FIELD_LENGTH) throw invalid(`${field}: must be 1 to ${MAX_USER_FIELD_LENGTH} characters`);
  return { field, value };
}

function sameUser(a: UserMatch | null, b: UserMatch | null): boolean {
  return a === null || b === null ? a === b : a.field === b.field && a.value === b.value;
}

/** A time of day followed by a space and offset digits: what `+01:00` becomes when a URL's `+` is read as a space. */
const PLUS_AS_SPACE = /T\d\d:\d\d(:\d\d(\.\d+)?)? \d\d(:?\d\d)?$/;

/** A date-time query parameter, or a 400 quoting it, saying what is wrong and, for an offset's `+` lost to URL decoding, how to send it. */
export function parseInstant(name: string, value: string): Instant {
  const r = parseDateTime(value);
  if (!r.ok) {
    const shown = JSON.stringify(value.length > 64 ? value.slice(0, 64) + '…' : value);
    const hint = PLUS_AS_SPACE.test(value) ? " (a + in a URL query reads as a space: send the offset's + as %2B)" : '';
    throw invalid(`${name}: ${shown} ${r.problem}${hint}`);
  }
  return r.instant;
}

/** The page size; its range (1 to maxPageSize) is the route's schema's to check (server/schemas.ts). */
function parseLimit(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}

/** The answer to a logType that is not one of `types` (the route's schema and a restated query say the same). */
export function unknownLogType(value: string, types: LogTypes): string {
  const shown = JSON.stringify(value.length > 64 ? value.slice(0, 64) + '…' : value);
  return `logType: unknown log type ${shown} (expected one of ${types.describe()})`;
}

function checkType(value: string, ctx: ListLogsContext): string {
  if (!ctx.types.has(value)) throw invalid(unknownLogType(value, ctx.types));
  return value;
}

/** Validates a query given without a cursor. */
function parseQuery(p: ListLogsParams, ctx: ListLogsContext): Query {
  if (p.logType === undefined || p.logType === '') throw invalid('logType: is required');
  const logType = checkType(p.logType, ctx);
  if (p.fromDateTime === undefined || p.fromDateTime === '') throw invalid('fromDateTime: is required');
  const from = parseInstant('fromDateTime', p.fromDateTime);
  const to = p.toDateTime === undefined ? null : parseInstant('toDateTime', p.toDateTime);
  if (to && compareInstants(from, to) >= 0) throw invalid('toDateTime: must be later than fromDateTime');
  return { logType, from, to, limit: parseLimit(p.limit) ?? ctx.pageSize, user: parseUser(p) };
}

const MISMATCH = 'cursor: does not match the request (resend the parameters of the first page unchanged, or the cursor alone)';

function sameInstant(a: Instant | null, b: Instant | null): boolean {
  return a === null || b === null ? a === b : compareInstants(a, b) === 0;
}

/** Decodes the cursor and checks it against the tenant and any parameters sent with it. */
function resolveCursor(p: ListLogsParams, tenantId: string, ctx: ListLogsContext): CursorState {
  let c: CursorState;
  try {
    c = ctx.cursors.decode(p.cursor!);
  } catch (err) {
    if (err instanceof RetiredCursorError)
      throw invalid(
        'cursor: was issued by an earlier version of this server, whose cursors it no longer takes; start the query again without a cursor',
      );
    if (err instanceof CursorError || err instanceof SyntaxError) throw invalid('cursor: is not a valid cursor');
    throw err;
  }
  if (c.tenantId !== tenantId) throw invalid('cursor: is not a valid cursor');
  const now = ctx.now();
  if (c.expiresMs <= now) throw invalid('cursor: has expired; start the query again without a cursor');
  // A cursor carries its expiry, issue time plus the lifetime: one expiring later than a cursor
  // issued now would (past the tolerance) was issued while the clock ran ahead, or under a longer
  // lifetime, and would otherwise stay good for as long as the clock was wrong.
  if (c.expiresMs > now + ctx.cursorTtlMs + ISSUED_AHEAD_TOLERANCE_MS) {
    throw invalid('cursor: expires later than this server allows (issued while its clock ran ahead); start the query again without a cursor');
  }
  const restated = p.logType !== undefined || p.fromDateTime !== undefined || p.toDateTime !== undefined;
  if (restated) {
    const q = parseQuery(p, ctx);
    if (q.logType !== c.logType || !sameInstant(q.from, c.from) || !sameInstant(q.to, c.to)) throw invalid(MISMATCH);
  }
  // A filter sent with a cursor, or a restated query without one, must be the cursor's.
  if ((restated || p.userId !== undefined || p.userEmailAddress !== undefined) && !sameUser(parseUser(p), c.user ?? null)) throw invalid(MISMATCH);
  const limit = parseLimit(p.limit);
  if (limit !== undefined && limit !== c.limit) throw invalid(MISMATCH);
  return c;
}

const PAGE_END = Buffer.from(']}');
const COMMA = Buffer.from(',');

/** Where a rendered page is copied: a buffer of at least `bytes` (the default, a new one). */
export type PageMemory = (bytes: number) => Buffer;

const newMemory: PageMemory = (bytes) => Buffer.allocUnsafe(bytes);

/**
 * A page's JSON as UTF-8 in parts, to be sent one after another: the records head, the stored
 * texts as the store gave them with a comma between each two, and the end. The texts are the
 * store's buffers, never written again (store.ts), so they go to the socket uncopied; a page of
 * many short stretches (a user's entries, one by one) is copied into one part instead, which
 * costs less than a write for each.
 */
export interface PageAnswer {
  readonly parts: readonly Buffer[];
  /** The parts' length in all. */
  readonly bytes: number;
}

/** The most stretches a page's texts may come in to be sent without being copied. */
const MAX_UNCOPIED_STRETCHES = 8;

/** The page as UTF-8 JSON: the records head, then the stored texts as they are. */
function render(requestId: string, total: number, pageNumber: number, page: StoredPage, cursor: string | undefined, memory: PageMemory): PageAnswer {
  let head = `{"requestId":"${requestId}","records":{"totalRecords":${total},"currentPageSize":${page.count},"currentPageNumber":${pageNumber}`;
  if (cursor !== undefined) head += `,"cursor":"${cursor}"`;
  head += '},"logEntries":[';
  const stretches = page.stretches ?? [page.text];
  let bytes = Buffer.byteLength(head) + PAGE_END.length + Math.max(0, stretches.length - 1);
  for (const s of stretches) bytes += s.length;
  if (stretches.length <= MAX_UNCOPIED_STRETCHES) {
    const parts: Buffer[] = [Buffer.from(head)];
    for (let i = 0; i < stretches.length; i++) {
      if (i > 0) parts.push(COMMA);
      if (stretches[i]!.length > 0) parts.push(stretches[i]!);
    }
    parts.push(PAGE_END);
    return { parts, bytes };
  }
  // The stored texts are copied once, into the answer; the page's joined text is not made.
  const out = memory(bytes);
  let at = out.write(head, 0);
  for (let i = 0; i < stretches.length; i++) {
    if (i > 0) out[at++] = 0x2c; // ,
    at += stretches[i]!.copy(out, at);
  }
  at += PAGE_END.copy(out, at);
  return { parts: [out.subarray(0, at)], bytes };
}

/**
 * Answers one `GET /v2/logs` request for `tenantId` with the page's JSON, as UTF-8 in parts.
 * `onPage`, when given, is shown the stored page (for the entries' leaf indexes); `memory`, when
 * given, provides the buffer a page that is copied is written to.
 */
export async function listLogs(
  ctx: ListLogsContext,
  tenantId: string,
  p: ListLogsParams,
  requestId: string,
  onPage?: (page: StoredPage) => void,
  memory: PageMemory = newMemory,
): Promise<PageAnswer> {
  let state: Omit<CursorState, 'afterTimeMs' | 'afterSeq' | 'expiresMs'>;
  let page: StoredPage;
  if (p.cursor !== undefined) {
    const c = resolveCursor(p, tenantId, ctx);
    const query: EntryQuery = { tenantId, logType: c.logType, fromMs: ceilMs(c.from), toMs: c.to && ceilMs(c.to), user: c.user ?? undefined };
    page = await ctx.store.nextPage(query, { timeMs: c.afterTimeMs, seq: c.afterSeq }, c.watermark, c.limit);
    state = c;
  } else {
    const q = parseQuery(p, ctx);
    const query: EntryQuery = { tenantId, logType: q.logType, fromMs: ceilMs(q.from), toMs: q.to && ceilMs(q.to), user: q.user ?? undefined };
    const first = await ctx.store.firstPage(query, q.limit);
    if (first.total === 0) throw new LogwardenError('no_records', [NO_RECORDS_MESSAGE]);
    page = first;
    state = {
      tenantId,
      logType: q.logType,
      from: q.from,
      to: q.to,
      limit: q.limit,
      user: q.user,
      watermark: first.watermark,
      page: 0,
      total: first.total,
    };
  }
  let cursor: string | undefined;
  if (page.next !== null) {
    cursor = ctx.cursors.encode({
      ...state,
      afterTimeMs: page.next.timeMs,
      afterSeq: page.next.seq,
      page: state.page + 1,
      expiresMs: ctx.now() + ctx.cursorTtlMs,
    });
  }
  onPage?.(page);
  return render(requestId, state.total, state.page, page, cursor, memory);
}
