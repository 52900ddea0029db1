import { Redis } from 'ioredis';
import type { LimitDecision, LimiterStore, LimitWindow } from './limiter.ts';

/** Counters outlive their window by this much, so clocks a little apart still read the same one. */
const EXPIRY_SLACK_MS = 60_000;

/**
 * Checks every window and counts the request only if none is full, in one step: Redis runs a
 * script without interleaving other commands, so processes sharing a limit can never
 * overshoot it together, and rejected requests leave no trace.
 *
 * KEYS: one counter per window, a hash of the latest window it counted in (`w`, its number
 * since the epoch) and its count there (`n`). ARGV: for each window, the number of the
 * clock's window, its limit, its length and the time (ms). A window chosen as countingWindow
 * does (limiter.ts): forward, the clock's, from zero; back by one, the latest still; back
 * further, the clock's, with the count carried (kept even when the request is rejected, as in
 * memory). A counter lives until its window has ended, plus EXPIRY_SLACK_MS.
 * Returns, for each full window, its (1-based) index and the number of the window it counts
 * in; empty when the request was counted.
 */
const HIT_SCRIPT = `
local full = {}
local windows = {}
local counts = {}
for i = 1, #KEYS do
  local index = tonumber(ARGV[4 * i - 3])
  local state = redis.call('HMGET', KEYS[i], 'w', 'n')
  local w = tonumber(state[1])
  local n = tonumber(state[2]) or 0
  if w == nil or index > w then
    w = index
    n = 0
  elseif index ~= w - 1 and index ~= w then
    -- Far back: the count moves to the clock's window, even if this request is rejected.
    w = index
    redis.call('HSET', KEYS[i], 'w', w)
    redis.call('PEXPIRE', KEYS[i], (w + 1) * tonumber(ARGV[4 * i - 1]) - tonumber(ARGV[4 * i]) + ${EXPIRY_SLACK_MS})
  end
  windows[i] = w
  counts[i] = n
  if n >= tonumber(ARGV[4 * i - 2]) then
    full[#full + 1] = i
    full[#full + 1] = w
  end
end
if #full > 0 then return full end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'w', windows[i], 'n', counts[i] + 1)
  redis.call('PEXPIRE', KEYS[i], (windows[i] + 1) * tonumber(ARGV[4 * i - 1]) - tonumber(ARGV[4 * i]) + ${EXPIRY_SLACK_MS})
end
return full
`;

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
    const keys = windows.map((w) => `${this.prefix}{${key}}:${w.windowMs}`);
    const args = windows.flatMap((w) => [Math.floor(nowMs / w.windowMs), w.limit, w.windowMs, Math.floor(nowMs)]);
    const full = await this.redis.logwardenHit(keys.length, ...keys, ...args);
    if (full.length === 0) return { allowed: true, retryAfterMs: 0 };
    let retryAfterMs = 0;
    for (let i = 0; i < full.length; i += 2) {
      retryAfterMs = Math.max(retryAfterMs, (full[i + 1]! + 1) * windows[full[i]! - 1]!.windowMs - nowMs);
    }
    return { allowed: false, retryAfterMs };
  }

  /** A write with a short expiry: a Redis that answers PING but refuses writes (out of memory, a replica) cannot count. */
  async health(): Promise<void> {
    await this.redis.set(`${this.prefix}health`, '1', 'PX', 10_000);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
