import { Redis } from 'ioredis';
import { type LimitDecision, type LimiterStore, type LimitWindow, untilWindowEnds } from './limiter.ts';

/**
 * Checks every window and counts the request only if none is full, in one step: Redis runs a
 * script without interleaving other commands, so processes sharing a limit can never
 * overshoot it together, and rejected requests leave no trace.
 *
 * KEYS: one counter per window. ARGV: for each window, its limit and the counter's time to live.
 * Returns the (1-based) indexes of the full windows; empty when the request was counted.
 */
const HIT_SCRIPT = `
local full = {}
for i = 1, #KEYS do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  if count >= tonumber(ARGV[2 * i - 1]) then full[#full + 1] = i end
end
if #full > 0 then return full end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
end
return full
`;

/** Counters outlive their window by this much, so clocks a little apart still read the same one. */
const EXPIRY_SLACK_MS = 60_000;

type ScriptedRedis = Redis & {
  logwardenHit(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
};

export interface RedisLimiterOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prefix of every key this limiter writes (default `logwarden:limit:`). */
  keyPrefix?: string;
  /**
   * How long a command may wait for Redis's answer before it fails (default 2000 ms): a Redis
   * that holds its connections open but does not answer (stalled, paused, swapping) makes the
   * requests that need the limits, and `/readyz`, answer 503 instead of waiting as long as it does.
   */
  commandTimeoutMs?: number;
}

/** How long a command waits for Redis's answer by default. */
const COMMAND_TIMEOUT_MS = 2000;

const CAUSES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'unknown host',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

/** Where a Redis URL points, without its user name or password. */
function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || '6379'}`;
  } catch {
    return 'the address of LOGWARDEN_REDIS_URL';
  }
}

/** Counts in Redis, so that several server processes share one limit per tenant. */
export class RedisLimiter implements LimiterStore {
  private constructor(
    private readonly redis: ScriptedRedis,
    private readonly prefix: string,
  ) {}

  /** Connects and checks that Redis answers, so a bad URL fails at start-up rather than on the first request. */
  static async connect(options: RedisLimiterOptions): Promise<RedisLimiter> {
    const redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: 5000,
      // A request waits for a reconnection this many times, then fails instead of hanging.
      maxRetriesPerRequest: 2,
      // A connected Redis that does not answer fails the command instead of holding the request.
      commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    }) as ScriptedRedis;
    redis.defineCommand('logwardenHit', { lua: HIT_SCRIPT });
    // Connection trouble is reported through the failing commands; unhandled, this event would crash the process.
    // The first connection's own error is kept: the failing command only says "Connection is closed."
    let connectionError: (Error & { code?: string }) | undefined;
    redis.on('error', (err: Error) => {
      connectionError ??= err;
    });
    try {
      await redis.connect();
      await redis.ping();
      // A database the server does not have (`/99` of 16) fails the SELECT sent on connecting,
      // reported only as an error event: the limiter would count in another database.
      if (connectionError) throw connectionError;
    } catch (err) {
      redis.disconnect();
      const cause = connectionError ?? (err as Error & { code?: string });
      // Another service on that port: ioredis calls it a protocol error and asks for a bug report.
      const why = /^Protocol error/.test(cause.message)
        ? 'it does not answer as Redis: another service on that port?'
        : ((cause.code && CAUSES[cause.code]) ?? cause.message);
      throw new Error(
        `cannot use Redis at ${redisAddress(options.url)} for the shared rate limits (${why}); start it, or check --redis-url (LOGWARDEN_REDIS_URL)`,
        {
          cause,
        },
      );
    }
    return new RedisLimiter(redis, options.keyPrefix ?? 'logwarden:limit:');
  }

  async hit(key: string, windows: readonly LimitWindow[], nowMs: number): Promise<LimitDecision> {
    if (windows.length === 0) return { allowed: true, retryAfterMs: 0 };
    // The braces make every counter of one key hash to the same Redis Cluster slot, as a script requires.
    const keys = windows.map((w) => `${this.prefix}{${key}}:${w.windowMs}:${Math.floor(nowMs / w.windowMs)}`);
    const args = windows.flatMap((w) => [w.limit, untilWindowEnds(w.windowMs, nowMs) + EXPIRY_SLACK_MS]);
    const full = await this.redis.logwardenHit(keys.length, ...keys, ...args);
    if (full.length === 0) return { allowed: true, retryAfterMs: 0 };
    const retryAfterMs = Math.max(...full.map((i) => untilWindowEnds(windows[i - 1]!.windowMs, nowMs)));
    return { allowed: false, retryAfterMs };
  }

  async health(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
