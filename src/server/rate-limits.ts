/**
 * Per-tenant rate limits. Reads (`GET /v2/logs`) count against a per-second and a per-day
 * window; ingest requests against a per-second window, and token requests against one of the
 * same size but their own (a key that may only read cannot use up the tenant's ingest). A tenant's limits
 * come from the store (changed with `logwarden tenants limits`) and are re-read every
 * `refreshMs`, so a running server picks up a change within seconds.
 */
import { LogwardenError, RATE_LIMITED_MESSAGE } from '../errors.ts';
import type { Store, TenantLimits } from '../store/store.ts';
import { DAY_MS, type LimiterStore, type LimitWindow, SECOND_MS } from './limiter/limiter.ts';

export type LimitKind = 'read' | 'write' | 'token';

export interface DefaultLimits {
  readonly readPerSecond: number;
  readonly readPerDay: number;
  readonly ingestPerSecond: number;
}

interface Cached {
  read: LimitWindow[];
  write: LimitWindow[];
  token: LimitWindow[];
  at: number;
}

export class RateLimits {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly store: Store,
    private readonly limiter: LimiterStore,
    private readonly defaults: DefaultLimits,
    private readonly refreshMs: number,
    private readonly onReject: (kind: LimitKind) => void = () => {},
    private readonly now: () => number = Date.now,
  ) {}

  private async windows(tenantId: string, kind: LimitKind): Promise<LimitWindow[]> {
    const now = this.now();
    let c = this.cache.get(tenantId);
    // Re-read after `refreshMs`, and at once when the clock was put back since (its age unknown).
    if (!c || now - c.at >= this.refreshMs || now < c.at) {
      const tenant = await this.store.getTenant(tenantId);
      const l: TenantLimits = tenant?.limits ?? { readPerSecond: null, readPerDay: null, ingestPerSecond: null };
      c = {
        read: [
          { limit: l.readPerSecond ?? this.defaults.readPerSecond, windowMs: SECOND_MS },
          { limit: l.readPerDay ?? this.defaults.readPerDay, windowMs: DAY_MS },
        ],
        write: [{ limit: l.ingestPerSecond ?? this.defaults.ingestPerSecond, windowMs: SECOND_MS }],
        token: [{ limit: l.ingestPerSecond ?? this.defaults.ingestPerSecond, windowMs: SECOND_MS }],
        at: now,
      };
      this.cache.set(tenantId, c);
    }
    return c[kind];
  }

  /** Counts one request of `kind` for the tenant, or throws a 429 with a truthful Retry-After. */
  async check(kind: LimitKind, tenantId: string): Promise<void> {
    const windows = await this.windows(tenantId, kind);
    const d = await this.limiter.hit(`${kind}:${tenantId}`, windows, this.now());
    if (d.allowed) return;
    this.onReject(kind);
    const seconds = Math.max(1, Math.ceil(d.retryAfterMs / 1000));
    throw new LogwardenError('rate_limited', [RATE_LIMITED_MESSAGE], { 'retry-after': String(seconds) });
  }
}
