import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Config } from '../config.ts';
import type { CursorCodec } from '../logs/cursor.ts';
import type { LogTypes } from '../logs/log-types.ts';
import type { Scope, Store } from '../store/store.ts';
import type { Authenticator, Principal } from './auth.ts';
import type { LimiterStore } from './limiter/limiter.ts';
import type { Metrics } from './metrics.ts';
import type { LimitKind, RateLimits } from './rate-limits.ts';
import type { TokenService } from './tokens.ts';

/** What the routes share: built once per app by buildApp. */
export interface AppContext {
  readonly config: Config;
  readonly store: Store;
  readonly types: LogTypes;
  readonly cursors: CursorCodec;
  readonly tokens: TokenService;
  readonly auth: Authenticator;
  readonly limits: RateLimits;
  /** Where the rate limits count (this process's memory, or Redis); /readyz asks it too. */
  readonly limiter: LimiterStore;
  readonly metrics: Metrics;
  /** The app's clock, in milliseconds since the epoch (BuildAppOptions.now). */
  readonly now: () => number;
  /** An onRequest hook: authenticates, checks `scope`, then counts the request against the tenant's `kind` limit. */
  guard(scope: Scope, kind: LimitKind): onRequestAsyncHookHandler;
  /** The two halves of `guard`, for a route that refuses requests between them (ingest's slots). */
  authorize(scope: Scope): (request: FastifyRequest) => Promise<void>;
  limit(kind: LimitKind): (request: FastifyRequest) => Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}
