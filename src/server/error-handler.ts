/**
 * The one place where failures become HTTP answers. Typed LogwardenErrors map through the
 * catalogue in ../errors.ts; Fastify's own request errors (validation, body size, media
 * type, bad JSON) map to their 4xx; anything else is a generic 500 whose cause is logged with
 * the requestId and never sent.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { CodedError, ERROR_STATUS, type ErrorCode, INTERNAL_MESSAGE, LogwardenError } from '../errors.ts';
import { newRequestId } from '../logs/request-id.ts';
import { loggableMessage, noteFailure } from './request-log.ts';

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_request',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_request',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_request',
  FST_ERR_VALIDATION: 'invalid_request',
  FST_ERR_BAD_URL: 'invalid_request',
};

interface ValidationItem {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** One problem a route's schema found (Ajv's error object; `data` is the value it refused). */
export interface SchemaProblem {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
  readonly data?: unknown;
}

/** The pattern of the whole numbers a route's parameters take (tree sizes, leaf indexes). */
export const WHOLE_NUMBER_PATTERN = '^(0|[1-9][0-9]{0,14})$';

/** The message of one schema problem: `field: what is wrong`. */
export function schemaMessage(v: ValidationItem): string {
  const name = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
  const field = name || (typeof v.params?.missingProperty === 'string' ? v.params.missingProperty : 'request');
  if (v.keyword === 'type' && v.params?.type === 'string') return `${field}: must be given once, as a single value`;
  if (v.keyword === 'pattern' && v.params?.pattern === WHOLE_NUMBER_PATTERN) return `${field}: must be a whole number (digits only, no sign)`;
  return `${field}: ${v.message ?? 'is invalid'}`;
}

/**
 * The messages of a refused request. A parameter that may take one of several shapes (anyOf:
 * one value or a repeated one) is told what was wrong with its value, not that it "must be
 * array" and "must match a schema in anyOf" besides.
 */
function validationMessages(items: readonly ValidationItem[]): string[] {
  const unions = new Set(items.filter((i) => i.keyword === 'anyOf').map((i) => i.instancePath ?? ''));
  if (unions.size === 0) return items.map(schemaMessage);
  const inUnion = (i: ValidationItem) => [...unions].some((u) => (i.instancePath ?? '') === u || (i.instancePath ?? '').startsWith(`${u}/`));
  const told = items.filter((i) => !(unions.has(i.instancePath ?? '') && (i.keyword === 'type' || i.keyword === 'anyOf')));
  // A union none of whose problems is left keeps its own.
  const bare = items.filter((i) => i.keyword === 'anyOf' && !told.some((t) => inUnion(t) && (t.instancePath ?? '').startsWith(i.instancePath ?? '')));
  return [...told, ...bare].map(schemaMessage);
}

/** Classifies any thrown value as [code, messages]; unknown failures are 'internal'. */
export function classify(err: unknown): {
  code: ErrorCode;
  messages: readonly string[];
  headers: Readonly<Record<string, string>>;
  context?: Readonly<Record<string, string>>;
  /** The messages as the log may hold them, when they differ (see invalidInput). */
  logged?: readonly string[] | undefined;
} {
  if (err instanceof LogwardenError)
    return { code: err.code, messages: err.messages, headers: err.headers, context: err.context, logged: err.logged };
  // Typed failures from below the routes (the store's) keep their code; a 5xx's message is
  // logged with the error, never sent.
  if (err instanceof CodedError) {
    return {
      code: err.code,
      messages: ERROR_STATUS[err.code] >= 500 ? [INTERNAL_MESSAGE] : [err.message],
      headers: {},
      ...(err.code === 'corrupt_segment' && { context: { detail: DAMAGED_STORE } }),
    };
  }
  const fe = err as Partial<FastifyError> & { validation?: ValidationItem[] };
  if (fe && typeof fe === 'object') {
    if (Array.isArray(fe.validation)) return { code: 'invalid_request', messages: validationMessages(fe.validation), headers: {} };
    const code = typeof fe.code === 'string' ? FASTIFY_CODES[fe.code] : undefined;
    if (code) {
      const messages =
        code === 'payload_too_large'
          ? ['request body is larger than this server accepts']
          : code === 'unsupported_media_type'
            ? ['unsupported Content-Type (use application/json, or application/x-ndjson for POST /v2/logs)']
            : [String(fe.message ?? 'malformed request')];
      return { code, messages, headers: {} };
    }
    // Errors raised by Node's HTTP layer or body reading with a client status (e.g. aborted requests).
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return { code: 'invalid_request', messages: ['malformed request'], headers: {} };
    }
  }
  // The database (or Redis) cannot be reached: an outage, not a bug; the client may retry.
  if (isUnreachable(err)) return { code: 'unavailable', messages: [UNREACHABLE_MESSAGE], headers: { 'retry-after': '1' } };
  // A statement ran out of time (a lock held elsewhere, an overloaded database): nothing of it
  // was kept (its transaction is rolled back); the client may retry.
  if (isTimedOut(err)) return { code: 'unavailable', messages: [TIMED_OUT_MESSAGE], headers: { 'retry-after': '1' } };
  // The disk under the store is full: nothing was stored; the client may retry once space is freed.
  if (isOutOfSpace(err)) {
    return {
      code: 'unavailable',
      messages: [OUT_OF_SPACE_MESSAGE],
      headers: { 'retry-after': '5' },
      ...(isWriteRefused(err) && { context: { detail: WRITE_REFUSED } }),
    };
  }
  // SQLite found the database file damaged: a 500 as any fault, and the operator is told what to do.
  if (isDamaged(err)) return { code: 'internal', messages: [INTERNAL_MESSAGE], headers: {}, context: { detail: DAMAGED_STORE } };
  return { code: 'internal', messages: [INTERNAL_MESSAGE], headers: {} };
}

/** What the log adds to a failure caused by stored data damaged on disk (its error says where). */
export const DAMAGED_STORE =
  'the store holds damaged data (a disk fault, or a file changed outside logwarden): nothing of it was served. ' +
  "Stop every logwarden process of the store, check it (SQLite: sqlite3 logwarden.db 'PRAGMA integrity_check'), " +
  'and restore the latest backup (logwarden restore; see README, Operations)';

/** Whether SQLite failed because the database file is damaged (SQLITE_CORRUPT and its extended codes, SQLITE_NOTADB). */
function isDamaged(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && /^SQLITE_(CORRUPT|NOTADB)(_|$)/.test(code);
}

/** What a client is told while the store's disk is full (`/readyz` says the same for a while after). */
export const OUT_OF_SPACE_MESSAGE = 'store out of disk space; nothing was stored; retry later';

/**
 * Whether a failure is the store's disk being full: SQLite's SQLITE_FULL, PostgreSQL's
 * disk_full (53100), or ENOSPC, EDQUOT or EFBIG (the file-size limit) writing an NDJSON body
 * spooled to a temporary file.
 */
export function isOutOfSpace(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return code === 'SQLITE_FULL' || code === '53100' || code === 'ENOSPC' || code === 'EDQUOT' || code === 'EFBIG' || isWriteRefused(err);
}

/**
 * Whether SQLite could not write to, or grow, a file of the store. It says SQLITE_FULL only
 * for ENOSPC: past a disk quota (EDQUOT) or the process's file-size limit (EFBIG) the same
 * refusal is SQLITE_IOERR_WRITE, and a -shm it cannot grow is SQLITE_IOERR_SHMSIZE. The
 * transaction did not commit (its frames are not all written), so nothing was stored.
 */
function isWriteRefused(err: unknown): boolean {
  const code = err instanceof Error ? (err as { code?: unknown }).code : undefined;
  return code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_SHMSIZE';
}

/** What the log adds when SQLite reported a refused write as an I/O error, not as a full disk. */
export const WRITE_REFUSED =
  'the store could not write to its files: the disk is full, a disk quota or the file-size limit (ulimit -f) is reached, or the disk fails; ' +
  'check df, quota and ulimit -f for the user running logwarden, and the kernel log';

/** When each app (by its HTTP server, shared by its plugins) last failed a request for lack of disk space (for `/readyz`). */
const outOfSpaceAt = new WeakMap<object, number>();

/** Whether `app` failed a request for lack of disk space in the last `withinMs`. */
export function outOfSpaceLately(app: object, withinMs: number, now = Date.now()): boolean {
  const at = outOfSpaceAt.get(app);
  return at !== undefined && now - at < withinMs;
}

/** What a client is told while the store cannot be reached (`/readyz` says the same). */
const UNREACHABLE_MESSAGE = 'store unreachable; retry later';

/** What a client is told when a statement of the store ran out of time. */
const TIMED_OUT_MESSAGE = 'store did not answer in time; retry later';

/**
 * Whether a failure is a statement that PostgreSQL cancelled (SQLSTATE 57014: it ran, or waited
 * for a lock, past the statement timeout; or an operator cancelled it), that did not get a lock
 * within a lock timeout (55P03), or that the server did not answer at all in time (stopped, or
 * the network to it gone: the pool gives up on it).
 */
function isTimedOut(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  // pg's query_timeout (src/store/postgres/pool.ts) fails a statement with this message alone.
  return code === '57014' || code === '55P03' || err.message === 'Query read timeout';
}

/**
 * Redis's refusals of a command it cannot serve now: out of memory under `noeviction`, a
 * replica (after a failover) refusing writes, still loading its data, writes stopped after a
 * failed save, a password wanted, a script running, a cluster or its primary down.
 */
const REDIS_UNAVAILABLE = /^(OOM|READONLY|LOADING|MISCONF|NOAUTH|BUSY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|NOREPLICAS)\b/;

/** Socket failures of a connection to the database or Redis. */
const UNREACHABLE_SYSCALLS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/**
 * Whether a failure is a store that cannot be reached: a refused or broken connection,
 * PostgreSQL's connection exceptions (SQLSTATE class 08), a server shutting down or starting
 * (57P01–57P03), too many connections (53300), the pool's connect timeout, a statement sent on
 * a connection that PostgreSQL ended while the transaction sat between two statements (pg then
 * refuses it: "not queryable"), a Redis command given up on while its connection is down
 * (ioredis: retries exhausted, or the connection closed) or unanswered past its timeout, or one
 * a Redis refused as unable to serve it now (REDIS_UNAVAILABLE).
 */
function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'ReplyError' && REDIS_UNAVAILABLE.test(err.message)) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    return UNREACHABLE_SYSCALLS.has(code) || /^08[0-9A-Z]{3}$/.test(code) || ['57P01', '57P02', '57P03', '53300'].includes(code);
  }
  if (err.name === 'MaxRetriesPerRequestError' || err.message === 'Connection is closed.' || err.message === 'Command timed out') return true;
  return /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable)/.test(
    err.message,
  );
}

/** Renders the envelope; the request's one log line (request-log.ts) then says why. */
export function errorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const { code, messages, headers, context, logged } = classify(err);
  if (messages[0] === OUT_OF_SPACE_MESSAGE) outOfSpaceAt.set(request.server.server, Date.now());
  const status = ERROR_STATUS[code];
  // A refusal of our own (LogwardenError: a full ingest queue, say) is no fault to trace; a 5xx from anything else is logged with its cause.
  const cause = status >= 500 && !(err instanceof LogwardenError);
  noteFailure(request, { code, message: loggableMessage(logged ?? messages), ...(cause && { err }), ...(context && { context }) });
  void reply
    .code(status)
    .headers(headers)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ requestId: request.id, errors: messages }));
}

/** An answer given before any request existed: what the log and the metrics are told of it. */
export interface UnparsedAnswer {
  readonly requestId: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * Answers what Node's HTTP parser rejects before any request exists (headers over the size
 * limit, a malformed request line or header): the usual envelope with a fresh requestId, then
 * the connection is closed. `answered` is told of each answer sent, with the app's logger.
 */
export function clientErrorHandler(
  answered: (answer: UnparsedAnswer, log: FastifyBaseLogger) => void,
): (this: FastifyInstance, err: Error & { code?: string }, socket: Socket) => void {
  return function onClientError(err, socket) {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    // The client ended the connection in the middle of a request that exists (a body cut short):
    // that request is answered, and logged as aborted, on its own; a second answer would race it.
    if (err.code === 'HPE_INVALID_EOF_STATE' && (socket as Socket & { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const [code, message]: [ErrorCode, string] =
      err.code === 'HPE_HEADER_OVERFLOW'
        ? ['headers_too_large', 'request headers (the URL included) are larger than this server accepts']
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? ['request_timeout', 'request timed out']
          : ['invalid_request', 'malformed HTTP request'];
    const status = ERROR_STATUS[code];
    const requestId = newRequestId();
    const body = JSON.stringify({ requestId, errors: [message] });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(body)}\r\nx-traceid: ${requestId}\r\nConnection: close\r\n\r\n${body}`,
      );
      answered({ requestId, status, code, message }, this.log);
    }
    socket.destroy();
  };
}
