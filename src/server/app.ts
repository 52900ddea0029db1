/**
 * The app factory: builds the Fastify app around an opened store without listening, so tests
 * drive it with `inject()` and `serve` adds the socket.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import AjvCompiler from '@fastify/ajv-compiler';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { invalid, LogwardenError } from '../errors.ts';
import { CursorCodec } from '../logs/cursor.ts';
import { LogTypes } from '../logs/log-types.ts';
import { newRequestId } from '../logs/request-id.ts';
import type { Scope, Store } from '../store/store.ts';
import { Authenticator, requireScope } from './auth.ts';
import { limitSlowBodies } from './body-timeout.ts';
import { clusterMetricsReader } from './cluster-metrics.ts';
import type { AppContext } from './context.ts';
import { registerDocs } from './docs.ts';
import { clientErrorHandler, errorHandler, type UnparsedAnswer } from './error-handler.ts';
import { KeyUseRecorder, keyUseWarning } from './key-use.ts';
import type { LimiterStore } from './limiter/limiter.ts';
import { MemoryLimiter } from './limiter/memory-limiter.ts';
import { Metrics } from './metrics.ts';
import { FIRST_REQUEST_GRACE_MS, NewConnections } from './new-connections.ts';
import { type LimitKind, RateLimits } from './rate-limits.ts';
import { CLIENT_CLOSED, logRequest, logUnparsed } from './request-log.ts';
import { requestLogger } from './request-logger.ts';
import { RouteMethods } from './route-methods.ts';
import { consoleRoutes } from './routes/console.ts';
import { ingestLogsRoute } from './routes/ingest-logs.ts';
import { listLogsRoute } from './routes/list-logs.ts';
import { logsHistogramRoute } from './routes/logs-histogram.ts';
import { oauthTokenRoute } from './routes/oauth-token.ts';
import { markStopping, operationsRoutes } from './routes/operations.ts';
import { tlogRoutes } from './routes/tlog.ts';
import { TokenService } from './tokens.ts';

export interface BuildAppOptions {
  config: Config;
  store: Store;
  /** A pino logger; omitted, the app logs nothing. */
  logger?: Logger;
  /** Where rate-limit counters live; defaults to this process's memory. */
  limiter?: LimiterStore;
  /**
   * The clock (milliseconds since the epoch) behind rate-limit windows, token and cursor expiry
   * and the limits and key caches; defaults to Date.now. Tests pass one they advance.
   */
  now?: () => number;
  /**
   * Notes when access keys are used and writes it to the store (key-use.ts); defaults to one
   * that writes about once a minute. Closing the app writes what is left.
   */
  keyUses?: KeyUseRecorder;
  /** A worker of `serve --workers N`: /metrics answers for every worker (cluster-metrics.ts). */
  clusterMetrics?: boolean;
}

/** The secret behind tokens and cursors: from the configuration, else generated once and kept in the store. */
export async function signingSecret(config: Config, store: Store): Promise<string> {
  return config.signingKey ?? store.getOrCreateSecret('signing-key', () => randomBytes(32).toString('base64url'));
}

export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const keyUses =
    options.keyUses ?? new KeyUseRecorder(options.store, { ...(options.now && { now: options.now }), warn: keyUseWarning(options.logger) });
  const { ctx, limiter } = await appContext(options, keyUses);
  const record = answerRecorder(ctx.metrics);
  const app = createFastify(options.logger, record);
  app.decorateRequest('principal', null);
  app.decorateRequest('failure', null);
  app.decorateRequest('recorded', false);
  addRequestHooks(app, record);
  refuseWhatNodeWouldAnswerBare(app);
  limitSlowBodies(app, ctx.config.requestTimeoutMs);
  // Sent as `Keep-Alive: timeout=N` in every answer that keeps its connection.
  app.server.keepAliveTimeout = ctx.config.keepAliveTimeoutMs;
  app.setErrorHandler(errorHandler);
  answerUnknownRoutes(app);

  await registerDocs(app, { types: ctx.types, pageSizes: ctx.config, now: new Date(ctx.now()) });
  registerRoutes(app, ctx);
  closeGracefully(app, Math.min(FIRST_REQUEST_GRACE_MS, ctx.config.requestTimeoutMs, ctx.config.drainTimeoutMs), {
    ownLimiter: options.limiter ? undefined : limiter,
    keyUses,
  });
  return app;
}

/**
 * The compiler of request validators, one per process: Fastify makes one per app, and each new
 * one compiles JSON Schema's meta-schema again before the routes' schemas (about a fifth of the
 * CPU an app costs to build). Apps built in one process with the same options share it.
 */
const VALIDATORS = AjvCompiler();

/** The Fastify instance and its framework settings, without hooks or routes. */
function createFastify(logger: Logger | undefined, record: RecordAnswer): FastifyInstance {
  return Fastify({
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    genReqId: () => newRequestId(),
    // A request's logger is made only when something other than its one line is logged.
    childLoggerFactory: requestLogger,
    // One line per request, written by the onResponse hook (addRequestHooks, request-log.ts): no headers, no bodies.
    logController: new LogController({ requestIdLogLabel: 'requestId', disableRequestLogging: true }),
    trustProxy: false,
    // A request that reaches a stopping server on a connection it already had (a proxy's
    // keep-alive connection, busy when the stop began) is answered as usual, with
    // `Connection: close`, while the store is still open: refused, a proxy could not send a
    // POST elsewhere. `/readyz` says not ready meanwhile (markStopping).
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // An HTTP/1.1 request without Host is refused by refuseWhatNodeWouldAnswerBare, with the envelope.
    http: { requireHostHeader: false },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // verbose: a schema problem carries the value it refused, so a message can quote it.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false, verbose: true } },
    schemaController: { compilersFactory: { buildValidator: VALIDATORS } },
    // Failures Fastify answers before routing (an undecodable URL) and those Node's HTTP parser
    // raises (oversized headers, malformed requests) get the same envelope as every other error,
    // and are counted and logged like every other answer. No route's onResponse hook runs for
    // the former, so the answer's end is watched here.
    frameworkErrors: (err, request, reply) => {
      reply.header('x-traceid', request.id);
      reply.raw.once('finish', () => record(request, reply));
      errorHandler(err, request, reply);
    },
    clientErrorHandler: clientErrorHandler((answer, log) => {
      record.unparsed(answer);
      logUnparsed(log, answer);
    }),
  });
}

/** Counts an answer in the metrics and writes its one log line; `aborted`: its connection closed before it was sent. */
interface RecordAnswer {
  (request: FastifyRequest, reply: FastifyReply, aborted?: boolean): void;
  /** An answer Node's HTTP parser forced before any request existed (logged by the caller). */
  unparsed(answer: UnparsedAnswer): void;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the request was counted and logged (answerRecorder). */
    recorded: boolean;
  }
}

/** Each request is recorded once, whichever of its answer's end and its connection's close comes first. */
function answerRecorder(metrics: Metrics): RecordAnswer {
  const record = (request: FastifyRequest, reply: FastifyReply, aborted = false): void => {
    if (request.recorded === true) return;
    request.recorded = true;
    const route = request.routeOptions.url ?? 'unmatched';
    const status = aborted ? CLIENT_CLOSED : reply.statusCode;
    metrics.requests.inc({ route, method: request.method, status });
    if (!aborted) metrics.latency.observe({ route, method: request.method }, reply.elapsedTime / 1000);
    logRequest(request, reply, status);
  };
  return Object.assign(record, {
    unparsed(answer: UnparsedAnswer) {
      metrics.requests.inc({ route: 'unmatched', method: 'unknown', status: answer.status });
    },
  });
}

/** What the routes share (tokens, authentication, rate limits, metrics), and the rate limiter it counts in. */
async function appContext(options: BuildAppOptions, keyUses: KeyUseRecorder): Promise<{ ctx: AppContext; limiter: LimiterStore }> {
  const { config, store } = options;
  const now = options.now ?? Date.now;
  const secret = await signingSecret(config, store);
  const tokens = new TokenService(secret, config.tokenTtlSeconds, now);
  const metrics = new Metrics(options.clusterMetrics ? { reader: clusterMetricsReader } : {});
  const limiter = options.limiter ?? new MemoryLimiter();
  const limits = new RateLimits(store, limiter, config, config.limitsRefreshMs, (kind) => metrics.rateLimited.inc({ kind }), now);
  const auth = new Authenticator(store, tokens, config.authCacheMs, now, keyUses);
  const authorize = async (request: FastifyRequest, scope: Scope): Promise<void> => {
    const principal = await auth.authenticate(request.headers.authorization);
    requireScope(principal, scope);
    request.principal = principal;
  };

  const ctx: AppContext = {
    config,
    store,
    types: new LogTypes(config.extraLogTypes),
    cursors: new CursorCodec(secret),
    tokens,
    auth,
    limits,
    limiter,
    metrics,
    now,
    guard(scope: Scope, kind: LimitKind) {
      return async (request: FastifyRequest) => {
        await authorize(request, scope);
        await limits.check(kind, request.principal!.tenantId);
      };
    },
    authorize: (scope: Scope) => (request: FastifyRequest) => authorize(request, scope),
    limit: (kind: LimitKind) => (request: FastifyRequest) => limits.check(kind, request.principal!.tenantId),
  };
  return { ctx, limiter };
}

/**
 * The trace id header on every answer; after it, the request's metrics and its one log line.
 * A connection closed before the answer went out in full (a client that gave up mid-upload)
 * is recorded then, with the status CLIENT_CLOSED.
 */
function addRequestHooks(app: FastifyInstance, record: RecordAnswer): void {
  // Callback-style hooks: on the hot path they cost less than async ones.
  app.addHook('onRequest', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    reply.header('x-traceid', request.id);
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) record(request, reply, true);
    });
    done();
  });
  app.addHook('onResponse', (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    record(request, reply);
    done();
  });
}

/**
 * Two requests Node's HTTP server would answer by itself, with an empty body, no requestId, no
 * log line and no count: an HTTP/1.1 request without Host (a bare 400, RFC 9112 §3.2) and an
 * `Expect` other than 100-continue (a bare 417). They reach the app instead (createFastify turns
 * Node's Host check off; the checkExpectation event is handed on as a request) and are refused
 * here, before any route or body is looked at, as every malformed request is: 400 in the
 * route's error shape.
 */
function refuseWhatNodeWouldAnswerBare(app: FastifyInstance): void {
  // `Expect: 100-continue` is met once the request has passed its onRequest hooks (credentials,
  // scope, rate limit, ingest slot): a request refused there gets its answer before it sends the
  // body it would have sent for nothing. Node closes such a connection, whose body was never read.
  const awaitingContinue = new WeakSet<IncomingMessage>();
  app.server.on('checkContinue', (req: IncomingMessage, res) => {
    awaitingContinue.add(req);
    app.server.emit('request', req, res);
  });
  app.addHook('preParsing', (request, reply, payload, done) => {
    if (awaitingContinue.delete(request.raw) && !reply.raw.headersSent) reply.raw.writeContinue();
    done(null, payload);
  });
  const unmetExpectations = new WeakSet<IncomingMessage>();
  app.server.on('checkExpectation', (req: IncomingMessage, res) => {
    unmetExpectations.add(req);
    app.server.emit('request', req, res);
  });
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    const raw = request.raw;
    if (unmetExpectations.has(raw)) {
      const expect = String(raw.headers.expect);
      return done(invalid(`Expect: ${JSON.stringify(expect.slice(0, 40))} is not supported; the only expectation this server meets is 100-continue`));
    }
    if (raw.httpVersionMajor === 1 && raw.httpVersionMinor === 1 && raw.headers.host === undefined) {
      return done(invalid('Host: the header is required in an HTTP/1.1 request'));
    }
    done();
  });
}

/**
 * A path no route has is 404 `no route …`; a path that exists, asked with a method it does not
 * answer, is 405 with `Allow`. Both are told in onRequest, before a body is read: what the body
 * holds (too large, not JSON) does not decide the answer to a request no route takes. A route
 * that finds nothing at its path (a docs asset that does not exist) is a 404 too.
 */
function answerUnknownRoutes(app: FastifyInstance): void {
  const routes = new RouteMethods();
  routes.watch(app);
  const unknownRoute = (request: FastifyRequest): LogwardenError => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = routes.allowed(path);
    if (allowed.length > 0 && !allowed.includes(request.method)) {
      return new LogwardenError(
        'method_not_allowed',
        [`${request.method} is not a method of ${path.slice(0, 100)}; it answers ${allowed.join(', ')}`],
        {
          allow: allowed.join(', '),
        },
      );
    }
    return new LogwardenError('route_not_found', [`no route ${request.method} ${path.slice(0, 100)}`]);
  };
  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) => {
    done(request.is404 ? unknownRoute(request) : undefined);
  });
  app.setNotFoundHandler(async (request) => {
    throw unknownRoute(request);
  });
}

function registerRoutes(app: FastifyInstance, ctx: AppContext): void {
  operationsRoutes(app, ctx);
  listLogsRoute(app, ctx);
  ingestLogsRoute(app, ctx);
  logsHistogramRoute(app, ctx);
  oauthTokenRoute(app, ctx);
  tlogRoutes(app, ctx);
  consoleRoutes(app);
}

/**
 * While closing, keep-alive connections are closed as soon as their in-flight answer is sent,
 * so a graceful stop does not wait for them to time out; a connection opened just before the
 * stop is waited for `firstRequestGraceMs` to send its first request (new-connections.ts).
 * `ownLimiter`, made by buildApp, is closed with the app.
 */
function closeGracefully(
  app: FastifyInstance,
  firstRequestGraceMs: number,
  { ownLimiter, keyUses }: { ownLimiter: LimiterStore | undefined; keyUses: KeyUseRecorder },
): void {
  let idleSweep: NodeJS.Timeout | undefined;
  const newConnections = new NewConnections(app.server);
  app.addHook('preClose', async () => {
    markStopping(app.server);
    idleSweep = setInterval(() => app.server.closeIdleConnections(), 50);
    // Fastify closes the listener once this hook is done.
    await newConnections.stopping(firstRequestGraceMs);
  });
  app.addHook('onClose', async () => {
    clearInterval(idleSweep);
    newConnections.stopped();
    // Before the store closes (serve closes the app first): the last uses are not lost.
    await keyUses.stop();
    if (ownLimiter) await ownLimiter.close();
  });
}
