/**
 * The SDK's request core: every call to a server goes through `Transport.request`. It paces
 * requests under the source's per-second limit, bounds each attempt with a timeout, and
 * retries what is safe to retry — GET requests, and writes the caller marks idempotent
 * (ingest), that met a 429 (after `Retry-After`), a 5xx, a network failure, a timeout or a
 * cut-short body — with jittered exponential backoff.
 * Everything else fails at once with a typed LogsApiError.
 */
import { setTimeout as sleep, setImmediate as turn } from 'node:timers/promises';
import { type ClientErrorCode, codeForStatus, LogsApiError } from './errors.ts';

/**
 * `maxBodyBytes`: the most bytes of body (after decoding gzip or deflate) the caller accepts; a
 * fetch that honours it (node-http-fetch.ts) fails a larger answer with ResponseTooLargeError
 * as soon as it is, instead of holding it. Others ignore it.
 */
export type FetchInit = RequestInit & { maxBodyBytes?: number | undefined };
export type FetchLike = (input: string, init: FetchInit) => Promise<Response>;

/**
 * The most bytes of body (decoded) any answer may hold when its request names no smaller
 * bound: far above a page of the largest size of entries any server sends, and below the
 * longest string Node can make. A source that sends without end, or a gzip bomb, fails at
 * this point instead of taking all the memory.
 */
export const MAX_ANSWER_BYTES = 512 * 1024 * 1024;

/** The body's chunks, failing with ResponseTooLargeError as soon as they pass `max` bytes. */
async function readBody(res: Response, max: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!res.body) return chunks;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    // Leaving the loop cancels the rest of the body.
    if (total > max) throw new ResponseTooLargeError(max);
    chunks.push(chunk);
  }
  return chunks;
}

/** Where a redirect points, as a message may show it: no user or password, query or fragment (a token could be in any). */
function redirectTarget(location: string, base: URL): string {
  try {
    const u = new URL(location, base);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return 'an address that is no URL';
  }
}

/** A response body larger than the request's `maxBodyBytes` (what a server sends, not a network failure). */
export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
  constructor(readonly maxBodyBytes: number) {
    super(`the answer's body is larger than the ${maxBodyBytes} bytes such an answer can hold`);
  }
}

export interface RetryOptions {
  /** Retries after the first attempt (default 5; 0 disables retrying). */
  retries?: number;
  /** First backoff delay; doubles per retry, jittered (default 500 ms). */
  baseDelayMs?: number;
  /** Longest backoff delay (default 30 s). */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the client waits out (default 15 min). A longer one — after a
   * daily limit it can be hours — fails at once with code `rate_limited` and `retryAfterMs`.
   * 429s with a `Retry-After` do not count as retries; their waits for one call together are
   * bounded by this too.
   */
  maxRetryAfterMs?: number;
  /** Called before each wait for a retry, with why and how long: to tell a user why nothing seems to happen. */
  onRetry?: (retry: { readonly attempt: number; readonly delayMs: number; readonly error: LogsApiError }) => void;
}

export interface TransportOptions {
  /** Default `https://api.gong.io`. Gong customers often have their own host, e.g. `https://us-12345.api.gong.io`. */
  baseUrl?: string | URL;
  /** Default: the global fetch. Inject one for tests or proxies. */
  fetch?: FetchLike;
  /** Limit per attempt, headers and body included (default 30 s). */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** Client-side pacing, shared by all calls of this client (default 3; 0 or Infinity: unpaced). */
  requestsPerSecond?: number;
  userAgent?: string;
  /** The most bytes of body (decoded) an answer may hold (default MAX_ANSWER_BYTES, 512 MiB); a larger one fails, not retried. */
  maxAnswerBytes?: number;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  query?: Readonly<Record<string, string | undefined>>;
  body?: string;
  contentType?: string;
  authorization?: string | undefined;
  signal?: AbortSignal | undefined;
  /** A POST that may be sent again with the same effect (ingest: SPEC §4); GETs always are. */
  idempotent?: boolean;
  /** False: not held to `requestsPerSecond`, which exists for reads (writes have their own server limit). */
  paced?: boolean;
  /** Extra request headers (e.g. logwarden's opt-in `X-Logwarden-Leaf-Index`). */
  headers?: Readonly<Record<string, string>>;
  /** The body is binary (tlog tiles): hand it over as `bytes`, with `text` empty. */
  binary?: boolean;
  /** The most bytes of body this answer can hold (see FetchInit); a larger one fails at once, not retried. */
  maxBodyBytes?: number;
  /**
   * Hand a 2xx body over as the chunks it arrived in (`chunks`, `text` empty), for a reader
   * that passes the entries' bytes on as they are instead of decoding and encoding them again.
   */
  chunks?: boolean;
  /**
   * With `chunks`: called with a 2xx body as soon as it is complete, before `parse`; the event
   * loop then turns once, so that a request it starts (the next page) is on its way while
   * `parse` works.
   */
  onChunks?: ((chunks: readonly Uint8Array[]) => void) | undefined;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body's bytes, for a request marked `binary`. */
  readonly bytes?: Uint8Array;
  /** The body's bytes as they arrived, for a request marked `chunks`. */
  readonly chunks?: readonly Uint8Array[];
  readonly requestId: string | undefined;
}

export const DEFAULT_BASE_URL = 'https://api.gong.io';

/** Normalises a base URL so that relative paths resolve below it, whatever its path prefix. */
export function normaliseBaseUrl(value: string | URL): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Whatever stands before an @ after the scheme may be a password: never repeated.
    throw new TypeError(`invalid base URL ${JSON.stringify(String(value).replace(/^([^/]*\/\/)[^/]*@/, '$1…@'))}`);
  }
  if (url.username || url.password) throw new TypeError('pass credentials as accessKey/secret, not in the base URL');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`base URL must be http(s): ${url.href}`);
  url.search = '';
  url.hash = '';
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** `Retry-After` in milliseconds (delta-seconds or an HTTP date), or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Spaces request starts evenly so that no second holds more than the allowed number. */
class Pacer {
  private next = 0;
  constructor(private readonly intervalMs: number) {}

  async wait(signal: AbortSignal | undefined): Promise<void> {
    if (this.intervalMs <= 0) return;
    const now = Date.now();
    const at = Math.max(now, this.next);
    this.next = at + this.intervalMs; // reserved synchronously, so concurrent callers queue up
    if (at > now) await sleep(at - now, undefined, { signal });
  }
}

interface ErrorBody {
  messages: string[];
  requestId: string | undefined;
  oauthError: string | undefined;
}

/** Reads either envelope: logwarden/Gong `{requestId, errors: [...]}` or RFC 6749 `{error, error_description}`. */
function readErrorBody(text: string): ErrorBody {
  const out: ErrorBody = { messages: [], requestId: undefined, oauthError: undefined };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return out;
  }
  if (typeof doc !== 'object' || doc === null) return out;
  const o = doc as Record<string, unknown>;
  if (Array.isArray(o.errors)) out.messages = o.errors.filter((m): m is string => typeof m === 'string');
  if (typeof o.error === 'string') {
    out.oauthError = o.error;
    out.messages.push(typeof o.error_description === 'string' ? o.error_description : o.error);
  }
  if (typeof o.requestId === 'string') out.requestId = o.requestId;
  return out;
}

type Attempt<T> = { ok: true; value: T } | { ok: false; error: LogsApiError; retryable: boolean; delayMs?: number | undefined };

export class Transport {
  readonly baseUrl: URL;
  private readonly fetchFn: FetchLike;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly retry: Required<Omit<RetryOptions, 'onRetry'>>;
  private readonly onRetry: RetryOptions['onRetry'];
  private readonly pacer: Pacer;
  private readonly userAgent: string;

  constructor(options: TransportOptions = {}) {
    this.baseUrl = normaliseBaseUrl(options.baseUrl ?? DEFAULT_BASE_URL);
    this.fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
    this.retry = {
      retries: options.retry?.retries ?? 5,
      baseDelayMs: options.retry?.baseDelayMs ?? 500,
      maxDelayMs: options.retry?.maxDelayMs ?? 30_000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 15 * 60_000,
    };
    this.onRetry = options.retry?.onRetry;
    const rps = options.requestsPerSecond ?? 3;
    if (!(rps >= 0)) throw new TypeError('requestsPerSecond must be a non-negative number');
    // 5% slack: requests spaced exactly 1/rps apart can still arrive bunched by network jitter
    // and land in one of the server's one-second windows together.
    this.pacer = new Pacer(rps === 0 || rps === Infinity ? 0 : Math.ceil(1050 / rps));
    this.userAgent = options.userAgent ?? 'logwarden-client';
  }

  url(path: string, query: HttpRequest['query'] = {}): string {
    const url = new URL(path.replace(/^\/+/, ''), this.baseUrl);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
    return url.href;
  }

  /**
   * Sends the request and hands a 2xx body to `parse`. A `parse` that throws on a GET is
   * treated like a cut-short response and retried (a truncated body is transient).
   */
  async request<T>(req: HttpRequest, parse: (res: HttpResponse) => T): Promise<T> {
    const idempotent = req.method === 'GET' || req.idempotent === true;
    // A 429 that says when to come back (Retry-After) is waited out without using up the
    // retries, which are for failures: a limit shared with other clients can answer many in a
    // row. Their waits together stay within the ceiling.
    let failures = 0;
    let rateWaitMs = 0;
    for (let attempt = 1; ; attempt++) {
      if (req.paced !== false) await this.pace(req.signal, attempt);
      else if (req.signal?.aborted) throw abortedError(req.signal.reason, attempt - 1);
      const result = await this.attempt(req, parse, attempt);
      if (result.ok) return result.value;
      const { error } = result;
      const told = error.code === 'rate_limited' && result.delayMs !== undefined;
      if (!idempotent || !result.retryable) throw error;
      if (!told && ++failures > this.retry.retries) {
        // Said, so that a failure read later (a cron job's mail) is not taken for a first refusal.
        if (failures > 1) error.message = `${error.message}; gave up after ${attempt} attempts`;
        throw error;
      }
      // The ceiling bounds what the server asks for (Retry-After); the backoff is this client's own.
      if (result.delayMs !== undefined && result.delayMs > this.retry.maxRetryAfterMs)
        throw beyondCeiling(error, result.delayMs, this.retry.maxRetryAfterMs);
      if (told) {
        rateWaitMs += result.delayMs!;
        if (rateWaitMs > this.retry.maxRetryAfterMs) throw rateLimitedTooLong(error, rateWaitMs - result.delayMs!, this.retry.maxRetryAfterMs);
      }
      const delayMs = result.delayMs ?? this.backoff(failures);
      this.onRetry?.({ attempt, delayMs, error });
      await this.sleep(delayMs, req.signal, attempt);
    }
  }

  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  private async pace(signal: AbortSignal | undefined, attempt: number): Promise<void> {
    try {
      await this.pacer.wait(signal);
    } catch (err) {
      throw abortedError(err, attempt - 1);
    }
  }

  private async sleep(ms: number, signal: AbortSignal | undefined, attempt: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal });
    } catch (err) {
      throw abortedError(err, attempt);
    }
  }

  private async attempt<T>(req: HttpRequest, parse: (res: HttpResponse) => T, attempt: number): Promise<Attempt<T>> {
    if (req.signal?.aborted) throw abortedError(req.signal.reason, attempt - 1);
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent, ...req.headers };
    if (req.authorization) headers.authorization = req.authorization;
    if (req.contentType) headers['content-type'] = req.contentType;
    let status: number;
    let resHeaders: Headers;
    let text: string;
    let bytes: Uint8Array | undefined;
    let chunks: Uint8Array[] | undefined;
    try {
      const res = await this.fetchFn(this.url(req.path, req.query), {
        method: req.method,
        headers,
        body: req.body,
        signal,
        maxBodyBytes: req.maxBodyBytes ?? this.maxAnswerBytes,
        // A redirect is an answer, not followed: the credentials go to the base URL only.
        redirect: 'manual',
      });
      status = res.status;
      resHeaders = res.headers;
      // The timeout covers the body too: a stalled body is a timeout.
      if (req.binary && res.status >= 200 && res.status < 300) {
        bytes = Buffer.concat(await readBody(res, req.maxBodyBytes ?? this.maxAnswerBytes));
        text = '';
      } else if (req.chunks && res.status >= 200 && res.status < 300) {
        chunks = await readBody(res, req.maxBodyBytes ?? this.maxAnswerBytes);
        text = '';
        if (req.onChunks) {
          req.onChunks(chunks);
          await turn();
        }
      } else {
        text = Buffer.concat(await readBody(res, req.maxBodyBytes ?? this.maxAnswerBytes)).toString('utf8');
      }
    } catch (err) {
      if (req.signal?.aborted) throw abortedError(err, attempt);
      // The same answer again would be as large: not retried.
      if (err instanceof ResponseTooLargeError) {
        return { ok: false, retryable: false, error: new LogsApiError('invalid_response', err.message, { attempts: attempt, cause: err }) };
      }
      if (timeout.aborted) {
        return {
          ok: false,
          retryable: true,
          error: new LogsApiError('timeout', `no complete answer within ${this.timeoutMs} ms`, { attempts: attempt, cause: err }),
        };
      }
      // A TLS handshake with a server that does not speak TLS there fails the same way every time.
      if (notTls(err)) {
        const error = new LogsApiError('network', 'TLS handshake failed: the server does not speak HTTPS on this port (is the URL http://?)', {
          attempts: attempt,
          cause: err,
        });
        return { ok: false, retryable: false, error };
      }
      return { ok: false, retryable: true, error: new LogsApiError('network', `network error: ${describe(err)}`, { attempts: attempt, cause: err }) };
    }
    const headerRequestId = resHeaders.get('x-traceid') ?? undefined;
    if (status >= 200 && status < 300) {
      try {
        return { ok: true, value: parse({ status, headers: resHeaders, text, bytes, chunks, requestId: headerRequestId }) };
      } catch (err) {
        const error = new LogsApiError('invalid_response', `unexpected response body: ${describe(err)}`, {
          status,
          requestId: headerRequestId,
          attempts: attempt,
          cause: err,
        });
        return { ok: false, retryable: true, error };
      }
    }
    const body = readErrorBody(text);
    const code: ClientErrorCode = codeForStatus(status, body.messages);
    const retryAfterMs = parseRetryAfter(resHeaders.get('retry-after'));
    // An answer in no part Gong's (no requestId, no errors): most often a base URL that leads elsewhere.
    const bare = body.requestId === undefined && headerRequestId === undefined && body.messages.length === 0;
    const foreign = status === 404 && bare;
    // Neither Gong nor logwarden answers a body too large without its envelope: a proxy in front did (nginx's default is 1 MiB).
    const proxyLimit = status === 413 && bare;
    const location = status >= 300 && status < 400 ? resHeaders.get('location') : null;
    const what = foreign
      ? `HTTP ${status}, not an answer of Gong's API (no requestId, no errors): is the base URL that of Gong's API or of a logwarden?`
      : proxyLimit
        ? `HTTP ${status}, the request's body refused by something in front of the server (no requestId, no errors): raise that proxy's limit on bodies (nginx: client_max_body_size) or send smaller requests (ingest's maxBytes)`
        : location !== null
          ? // Never followed: credentials would go wherever it points. The URL is shown without any query (a token could be in it).
            `HTTP ${status}: a redirect to ${redirectTarget(location, this.baseUrl)}, not followed (credentials are sent only to the base URL); give that URL as the base URL if it is the server's`
          : `HTTP ${status}`;
    const error = new LogsApiError(code, what, {
      status,
      requestId: body.requestId ?? headerRequestId,
      messages: body.messages,
      oauthError: body.oauthError,
      retryAfterMs,
      attempts: attempt,
    });
    const retryable = status === 429 || status >= 500;
    return { ok: false, retryable, error, delayMs: status === 429 || status === 503 ? retryAfterMs : undefined };
  }
}

/** Whether a failure is OpenSSL's answer to a peer that is not TLS ("wrong version number", "packet length too long"). */
function notTls(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (/wrong version number|packet length too long|ERR_SSL_WRONG_VERSION_NUMBER/i.test(`${(e as { code?: unknown }).code ?? ''} ${e.message}`))
      return true;
  }
  return false;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}

/** "40 s", "25 min", "21 h 56 min". */
function durationText(ms: number): string {
  const secs = Math.ceil(ms / 1000);
  if (secs < 120) return `${secs} s`;
  const mins = Math.ceil(secs / 60);
  return mins < 60 ? `${mins} min` : `${Math.floor(mins / 60)} h ${mins % 60} min`;
}

/** A wait the server asks for; past an hour (a daily limit), the time it ends too: "until 2026-12-03T00:00:00Z (21 h 56 min)". */
function waitText(ms: number, nowMs: number): string {
  if (ms < 3_600_000) return durationText(ms);
  return `until ${new Date(Math.ceil((nowMs + ms) / 1000) * 1000).toISOString().replace('.000Z', 'Z')} (${durationText(ms)})`;
}

function beyondCeiling(error: LogsApiError, delayMs: number, ceilingMs: number): LogsApiError {
  return new LogsApiError(
    error.code,
    `HTTP ${error.status}: the server asks to wait ${waitText(delayMs, Date.now())}, longer than the ${durationText(ceilingMs)} this client waits`,
    {
      status: error.status,
      requestId: error.requestId,
      messages: error.messages,
      retryAfterMs: delayMs,
      attempts: error.attempts,
    },
  );
}

function rateLimitedTooLong(error: LogsApiError, waitedMs: number, ceilingMs: number): LogsApiError {
  return new LogsApiError(
    error.code,
    `HTTP ${error.status}: still rate limited after waiting ${durationText(waitedMs)} in all as the server asked (${error.attempts} requests); ` +
      `this client waits at most ${durationText(ceilingMs)} in all`,
    { status: error.status, requestId: error.requestId, messages: error.messages, retryAfterMs: error.retryAfterMs, attempts: error.attempts },
  );
}

function abortedError(cause: unknown, attempts: number): LogsApiError {
  return new LogsApiError('aborted', 'request aborted', { attempts, cause });
}
