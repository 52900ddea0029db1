/**
 * Typed operations on `GET /v2/logs`: one page (`listLogs`), every page (`pages`) and every
 * entry (`entries`) of a query. Works against logwarden and any server speaking Gong's
 * contract, including `https://api.gong.io`. And on logwarden's `POST /v2/logs`: `ingest`
 * (JSON batches of one type) and `ingestNdjson` (lines that each carry their type).
 */
import type { Readable } from 'node:stream';
import { isLogsApiError, LogsApiError } from './errors.ts';
import { type IngestEntry, type IngestLine, type IngestOptions, type IngestResult, ingestBatches, ingestLines, type LogEntryLine } from './ingest.ts';
import { emptyPage, emptyTextPage, type LogEntry, type LogsPage, type PageRecords, parsePage, type TextPage } from './page.ts';
import { parseTextPageChunks, peekCursor } from './page-bytes.ts';
import { type GetPage, Readahead } from './readahead.ts';
import { type HttpRequest, type HttpResponse, Transport, type TransportOptions } from './transport.ts';

/** Returns a current bearer token; called before every request, so it may refresh (see `tokenSource`). */
export type TokenProvider = () => string | Promise<string>;

/**
 * A token provider that can be told the server refused its token (401): the next call returns
 * another one. `tokenSource` is one; with it, a request answered 401 is sent once more with a
 * new token.
 */
export type RenewableTokenProvider = TokenProvider & { refused(token: string): void };

function isRenewable(token: TokenProvider): token is RenewableTokenProvider {
  return typeof (token as Partial<RenewableTokenProvider>).refused === 'function';
}

export interface LogsClientOptions extends TransportOptions {
  /** Basic credentials: the access key and secret from Gong's API page (or `logwarden keys create`). */
  accessKey?: string;
  secret?: string;
  /** Bearer credentials instead: a token, or a function returning the current one. */
  token?: string | TokenProvider;
}

export interface ListLogsParams {
  /** `AccessLog`, `UserActivityLog`, `UserCallPlay`, `ExternallySharedCallAccess`, `ExternallySharedCallPlay`. */
  logType: string;
  /** Inclusive. An ISO-8601 string with offset (sent unchanged) or a Date. */
  fromDateTime: string | Date;
  /** Exclusive; omitted: up to the latest entry. */
  toDateTime?: string | Date | undefined;
  /** `records.cursor` of the previous page; the other parameters must stay the same. */
  cursor?: string | undefined;
  /** Page size 1..1000 (a logwarden extension; other servers ignore it). */
  limit?: number | undefined;
  signal?: AbortSignal | undefined;
}

/** Pages with no entries but a cursor followed in a row before a query is given up as looping. */
export const MAX_EMPTY_PAGES = 20;

function dateParam(v: string | Date | undefined): string | undefined {
  return v instanceof Date ? v.toISOString() : v;
}

export function basicAuthorization(accessKey: string, secret: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secret}`, 'utf8').toString('base64')}`;
}

export class LogsClient {
  readonly transport: Transport;
  /** The Authorization header for the next request (subclasses reading other endpoints use it). */
  protected readonly authorization: () => Promise<string | undefined>;
  /** Tells a renewable token provider that the server refused its token. */
  private readonly refused: ((token: string) => void) | undefined;

  constructor(options: LogsClientOptions = {}) {
    this.transport = new Transport(options);
    const { accessKey, secret, token } = options;
    if ((accessKey === undefined) !== (secret === undefined)) throw new TypeError('accessKey and secret go together');
    if (accessKey !== undefined && token !== undefined) throw new TypeError('give accessKey/secret or token, not both');
    if (accessKey !== undefined && secret !== undefined) {
      const header = basicAuthorization(accessKey, secret);
      this.authorization = async () => header;
    } else if (typeof token === 'function') {
      this.authorization = async () => `Bearer ${await token()}`;
      if (isRenewable(token)) this.refused = (t) => token.refused(t);
    } else {
      const header = token === undefined ? undefined : `Bearer ${token}`;
      this.authorization = async () => header;
    }
  }

  /**
   * Sends `req` with the current Authorization header. A 401 to a token of a renewable provider
   * (`tokenSource`: revoked, or expired by the server's clock) is answered by one new token and
   * one more try; a second 401 is thrown. A fixed token or Basic credentials are not retried.
   */
  protected async send<T>(req: Omit<HttpRequest, 'authorization'>, parse: (res: HttpResponse) => T): Promise<T> {
    const authorization = await this.authorization();
    try {
      return await this.transport.request({ ...req, authorization }, parse);
    } catch (err) {
      if (!this.refused || authorization === undefined || !(err instanceof LogsApiError) || err.status !== 401) throw err;
      this.refused(authorization.slice('Bearer '.length));
      return this.transport.request({ ...req, authorization: await this.authorization() }, parse);
    }
  }

  get baseUrl(): string {
    return this.transport.baseUrl.href;
  }

  /** One page. The contract's 404 "no records" answer comes back as an empty page. */
  async listLogs(params: ListLogsParams): Promise<LogsPage> {
    return this.getPage(params, {}, (res) => parsePage(res.text, res.requestId), emptyPage);
  }

  /**
   * One page with each entry as its exact text (and eventTime) only, checked as `listLogs`
   * checks it: for passing the texts through (an export) without building entry objects.
   * `onCursor` gets the cursor the body seems to carry as soon as it has arrived, before the
   * page is checked (to ask for the next page early; the page's own cursor has the last word).
   */
  async listLogTexts(params: ListLogsParams, onCursor?: (cursor: string) => void): Promise<TextPage> {
    return this.getPage(
      params,
      {
        chunks: true,
        onChunks: onCursor
          ? (chunks) => {
              const cursor = peekCursor(chunks);
              if (cursor !== undefined) onCursor(cursor);
            }
          : undefined,
      },
      (res) => parseTextPageChunks(res.chunks ?? [], res.requestId),
      emptyTextPage,
    );
  }

  protected async getPage<T>(
    params: ListLogsParams,
    how: Pick<HttpRequest, 'chunks' | 'onChunks' | 'headers'>,
    parse: (res: HttpResponse) => T,
    empty: (requestId: string | undefined) => T,
  ): Promise<T> {
    const query = {
      logType: params.logType,
      fromDateTime: dateParam(params.fromDateTime),
      toDateTime: dateParam(params.toDateTime),
      cursor: params.cursor,
      limit: params.limit === undefined ? undefined : String(params.limit),
    };
    try {
      return await this.send({ method: 'GET', path: 'v2/logs', query, signal: params.signal, ...how }, parse);
    } catch (err) {
      if (isLogsApiError(err, 'no_records')) return empty(err.requestId);
      throw err;
    }
  }

  /** Every page of the query, following cursors until the last page. */
  async *pages(params: ListLogsParams): AsyncGenerator<LogsPage, void, undefined> {
    yield* this.follow(
      params,
      (cursor, signal) => this.listLogs({ ...params, cursor, signal }),
      (page) => page.logEntries.length,
    );
  }

  /** Every page of the query as entry texts (see `listLogTexts`). */
  async *textPages(params: ListLogsParams): AsyncGenerator<TextPage, void, undefined> {
    yield* this.follow(
      params,
      (cursor, signal, onCursor) => this.listLogTexts({ ...params, cursor, signal }, onCursor),
      (page) => page.texts.length,
    );
  }

  /**
   * Follows the cursors, asking for pages ahead of the caller (see Readahead), to the page
   * without a cursor. A page with no entries but a cursor is followed too (at most
   * MAX_EMPTY_PAGES in a row). A cursor page that ends the query with no entries ("no records",
   * or an empty last page) while fewer entries were read than the source counted
   * (`totalRecords`) is an error, not the end: the source stopped early (an expired cursor?),
   * and a caller taking it for the end would skip the rest without a word.
   */
  protected async *follow<T extends { readonly records: PageRecords; readonly requestId: string | undefined }>(
    params: ListLogsParams,
    get: GetPage<T>,
    count: (page: T) => number,
  ): AsyncGenerator<T, void, undefined> {
    const readahead = new Readahead(get, params.signal);
    let at = readahead.start(params.cursor, 0);
    let read = 0;
    let total = 0;
    let empties = 0;
    try {
      for (;;) {
        const page = await at.page;
        const n = count(page);
        const next = page.records.cursor;
        const last = next === undefined;
        if (n > 0) {
          read += n;
          total = page.records.totalRecords;
          empties = 0;
        } else if (!last && ++empties > MAX_EMPTY_PAGES) {
          throw new LogsApiError('invalid_response', `the server answered ${MAX_EMPTY_PAGES} pages in a row with no entries but a cursor`, {
            requestId: page.requestId,
          });
        } else if (last && at.cursor !== undefined && read < total) {
          throw new LogsApiError(
            'invalid_response',
            `the server ended the query after ${read} of the ${total} entries it counted: a page asked for with a cursor came back ` +
              'with no entries and no cursor (an expired cursor?); the entries read before it are whole, the rest were not read',
            { requestId: page.requestId },
          );
        }
        // A server handing back the cursor it was given would keep us on one page forever.
        const repeated = !last && next === at.cursor;
        // The next page is on its way while the caller works on this one.
        const following = last || repeated ? undefined : readahead.after(at, next);
        yield page;
        if (last) return;
        if (!following) {
          throw new LogsApiError('invalid_response', 'the server returned the same cursor again', { requestId: page.requestId });
        }
        at = following;
      }
    } finally {
      readahead.stop(at);
    }
  }

  /**
   * Stores entries of one log type (scope `api:logs:write`), in JSON batches of at most
   * 10,000 entries and 32 MiB, two requests in flight at once (`concurrency`). Each batch is
   * retried on 429, 5xx and network failures: ingest is idempotent, so a batch sent twice is
   * stored once and the second answer counts it as duplicates. Resolves to the totals over
   * every batch; the first batch that fails stops the call (see IngestOptions.concurrency).
   */
  async ingest(
    logType: string,
    entries: Iterable<IngestEntry | LogEntry> | AsyncIterable<IngestEntry | LogEntry>,
    options: IngestOptions = {},
  ): Promise<IngestResult> {
    return ingestBatches((body, contentType, signal) => this.post(body, contentType, signal), logType, entries, options);
  }

  /**
   * Stores NDJSON: the lines of a Readable (a file or stdin, sent as they are), or entries
   * that each carry a `logType`. Read as it goes, in memory a request per request in flight
   * (8 MiB by default, two in flight); each request is stored all or nothing and retried like `ingest`.
   */
  async ingestNdjson(
    source: Readable | Iterable<IngestLine | LogEntryLine> | AsyncIterable<IngestLine | LogEntryLine>,
    options: IngestOptions = {},
  ): Promise<IngestResult> {
    return ingestLines((body, contentType, signal) => this.post(body, contentType, signal), source, options);
  }

  private async post(body: string, contentType: string, signal: AbortSignal | undefined): Promise<{ accepted: number; duplicates: number }> {
    return this.send({ method: 'POST', path: 'v2/logs', body, contentType, signal, idempotent: true, paced: false }, (res) => {
      const doc = JSON.parse(res.text) as Record<string, unknown>;
      if (typeof doc.accepted !== 'number' || typeof doc.duplicates !== 'number') throw new TypeError('not an ingest answer');
      return { accepted: doc.accepted, duplicates: doc.duplicates };
    });
  }

  /** Every entry of the query, in ascending eventTime. */
  async *entries(params: ListLogsParams): AsyncGenerator<LogEntry, void, undefined> {
    for await (const page of this.pages(params)) yield* page.logEntries;
  }
}
