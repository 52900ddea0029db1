/**
 * One log line per request, written when the answer has gone out: method, URL (credential
 * parameters masked), status, time taken, requestId, tenant and access key where known, and for
 * a rejected or failed request, why. Error handlers only note the failure on the request; this
 * line carries it, so a rejection is never logged twice.
 */
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { pino } from 'pino';
import { RequestLogger } from './request-logger.ts';

export interface Failure {
  /** The error code of the catalogue (or the OAuth error of the token endpoint). */
  readonly code: string;
  /** What the client was told, as it may be logged (see `loggableMessage`). */
  readonly message: string;
  /** The cause of a 5xx, with its stack: logged, never sent. */
  readonly err?: unknown;
  /** Facts for the operator that the client is not told (e.g. which known access key failed). */
  readonly context?: Readonly<Record<string, string>>;
}

declare module 'fastify' {
  interface FastifyRequest {
    failure: Failure | null;
  }
}

const MAX_MESSAGE = 300;
const MAX_URL = 400;

/**
 * An error message as it may go to the server's log: quoted input values are elided (in an
 * ingest request they can be audit payload, and JSON.parse's messages quote the body), and the
 * text is bounded.
 */
export function loggableMessage(messages: readonly string[]): string {
  const text = messages.join('; ').replace(/"(?:[^"\\]|\\.)*"/g, '"…"');
  return text.length > MAX_MESSAGE ? text.slice(0, MAX_MESSAGE) + '…' : text;
}

/**
 * Query parameters whose values are logged: the API's own, which hold neither a credential nor
 * audit data. Any other value is masked: a credential pasted into a URL (`?token=`, `?auth=`,
 * whatever its name), and the user filter's `userId` and `userEmailAddress`, which are people.
 */
const LOGGED_PARAMS = /^(logType|fromDateTime|toDateTime|limit|cursor|index|size|from|to)$/;

/** The request URL as it may be logged: query values other than the API's plain ones masked, the length bounded. */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  let out = url;
  if (q >= 0) {
    const pairs = url.slice(q + 1).split('&');
    let masked = false;
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!;
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (LOGGED_PARAMS.test(name.includes('%') ? decodedName(name) : name)) continue;
      pairs[i] = eq >= 0 ? `${name}=[redacted]` : '[redacted]';
      masked = true;
    }
    // A URL of the API's plain parameters only is logged as it came.
    if (masked) out = `${url.slice(0, q)}?${pairs.join('&')}`;
  }
  return out.length > MAX_URL ? out.slice(0, MAX_URL) + '…' : out;
}

/** A parameter name percent-decoded; an undecodable one as sent. */
function decodedName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

export function noteFailure(request: FastifyRequest, failure: Failure): void {
  request.failure = failure;
}

/**
 * The status logged (and counted) for a request whose connection closed before its answer went
 * out in full: a client that gave up in the middle of an ingest body or while waiting, or a stop
 * that cut a request it could not wait for (nginx's "client closed request").
 */
export const CLIENT_CLOSED = 499;

/**
 * The request's line, once its answer has gone out (or its client has left: `status` is
 * CLIENT_CLOSED). 5xx at error level with the cause (warn for the server's own refusals);
 * everything else at info.
 */
export function logRequest(request: FastifyRequest, reply: FastifyReply, status = reply.statusCode): void {
  const failure = request.failure;
  const fields: Record<string, unknown> = {
    method: request.method,
    url: loggableUrl(request.url),
    route: request.routeOptions.url ?? 'unmatched',
    status,
    ms: Math.round(reply.elapsedTime * 10) / 10,
  };
  const tenant = request.principal?.tenantId ?? failure?.context?.tenant;
  const accessKey = request.principal?.accessKey ?? failure?.context?.accessKey;
  if (tenant !== undefined) fields.tenant = tenant;
  if (accessKey !== undefined) fields.accessKey = accessKey;
  if (status === CLIENT_CLOSED) {
    // What the server made of a cut body, if it got that far, is not what happened.
    request.log.info(fields, 'request aborted: the connection closed before the answer was sent');
    return;
  }
  if (failure) {
    fields.code = failure.code;
    fields.reason = failure.message;
    if (failure.context?.detail !== undefined) fields.detail = failure.context.detail;
  }
  if (status >= 500 && failure?.err !== undefined) {
    fields.err = failure.err;
    request.log.error(fields, 'request failed');
  } else if (status >= 500) {
    // A refusal of the server's own (a full ingest queue): no fault, but the operator may want to know.
    request.log.warn(fields, 'request refused');
  } else {
    const message = status >= 400 ? 'request rejected' : 'request completed';
    if (!writeInfoLine(request.log, fields as Record<string, string | number>, message)) request.log.info(fields, message);
  }
}

const { chindingsSym, streamSym } = pino.symbols;
const INFO = pino.levels.values.info!;

/**
 * Writes pino's info line for `fields` (strings and finite numbers, none a credential, so there
 * is nothing to redact) and `message` straight to `log`'s stream, as `log.info(fields,
 * message)` would for a logger made as logger.ts makes it (pino's default time, level and
 * message key; no formatters, mixin or hooks): the level, the time in milliseconds, the
 * logger's bindings (the service, the process, the requestId), the fields in order, the
 * message. Field names are written as given: they are the fixed names logRequest uses. false,
 * and nothing written, when `log` is not a pino logger, nor a RequestLogger of one (the caller
 * then logs through it).
 * Every request writes one such line; through pino's general path (each value looked at,
 * redaction applied) it cost a page of `GET /v2/logs` about 8 µs of CPU more, 4 %
 * (docs/benchmarks.md).
 */
export function writeInfoLine(log: FastifyBaseLogger, fields: Readonly<Record<string, string | number>>, message: string): boolean {
  // A request's logger not made yet: its parent's, with the request's bindings after the parent's.
  const { log: target, bound } = log instanceof RequestLogger ? log.lineTarget() : { log, bound: '' };
  const pinoLog = target as unknown as Record<symbol, unknown> & { levelVal?: unknown };
  const stream = pinoLog[streamSym] as { write(line: string): unknown } | undefined;
  const bindings = pinoLog[chindingsSym];
  if (stream === undefined || typeof bindings !== 'string' || typeof pinoLog.levelVal !== 'number') return false;
  if (pinoLog.levelVal > INFO) return true;
  let line = `{"level":${INFO},"time":${Date.now()}${bindings}${bound}`;
  for (const key in fields) {
    const value = fields[key]!;
    // A number that is not finite is null, as pino writes it.
    line += `,"${key}":${typeof value === 'number' ? (Number.isFinite(value) ? value : null) : JSON.stringify(value)}`;
  }
  stream.write(`${line},"msg":${JSON.stringify(message)}}\n`);
  return true;
}

/**
 * The line of an answer Node's HTTP parser forced before any request existed (headers too
 * large, a malformed request line): no method, URL or route is known, only what was answered.
 */
export function logUnparsed(log: FastifyBaseLogger, answer: { requestId: string; status: number; code: string; message: string }): void {
  log.info({ requestId: answer.requestId, route: 'unmatched', status: answer.status, code: answer.code, reason: answer.message }, 'request rejected');
}
