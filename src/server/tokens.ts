/**
 * Bearer tokens for the client-credentials grant: short-lived JWTs (HS256) signed with a key
 * derived from the server's signing secret, so every process sharing the store accepts the
 * tokens of every other. A token names its access key; the key is looked up on use, so
 * revoking the key ends its tokens at once.
 */
import { createHash } from 'node:crypto';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { ISSUED_AHEAD_TOLERANCE_MS } from '../logs/time.ts';
import { SCOPES, type Scope } from '../store/store.ts';

export interface TokenClaims {
  readonly accessKey: string;
  readonly tenantId: string;
  readonly scopes: readonly Scope[];
}

/**
 * A refused token. An expired one was signed by this server, so the access key and tenant it
 * names are known (for the server's log; the client is told only that it expired).
 */
export type TokenRefusal =
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'expired' | 'issued-ahead'; accessKey?: string; tenantId?: string };

export type TokenCheck = { ok: true; claims: TokenClaims } | TokenRefusal;

const ISSUER = 'logwarden';

/**
 * A step back of the clock this process saw: from `fromMs` (the latest time it had read) to
 * `toMs`. A token expired before `fromMs` and issued before `toMs` expired before the step.
 */
interface StepBack {
  readonly fromMs: number;
  toMs: number;
}

/** Steps back remembered at most (the oldest forgotten first). */
const MAX_STEPS_BACK = 16;

export class TokenService {
  private readonly sign: (payload: Record<string, unknown>) => string;
  private readonly verify: (token: string) => Record<string, unknown>;
  /** The latest time read from the clock, and the steps back seen whose `fromMs` it has not reached again. */
  private lastMs = Number.NEGATIVE_INFINITY;
  private readonly stepsBack: StepBack[] = [];

  constructor(
    secret: string,
    readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    const key = createHash('sha256').update('logwarden token v1\0').update(secret).digest();
    this.sign = createSigner({ key, algorithm: 'HS256', expiresIn: ttlSeconds * 1000, iss: ISSUER });
    // Expiry is checked below against the injected clock, as fast-jwt would against Date.now
    // (a token is good up to and including its exp second).
    this.verify = createVerifier({ key, algorithms: ['HS256'], allowedIss: ISSUER, cache: 10_000, ignoreExpiration: true });
  }

  /**
   * Reads the clock, noting a step back: a token that expired before it must not become good
   * again while the clock makes up the step. Called for every token issued or checked, and by
   * every authenticated request, so the steps seen are those of the clock while this process
   * served.
   */
  observe(): number {
    const now = this.now();
    if (now < this.lastMs) {
      // A token issued after this step has an issue time from `now` on, so no earlier step may
      // count one issued later than `now` as issued before it.
      for (const step of this.stepsBack) step.toMs = Math.min(step.toMs, now);
      this.stepsBack.push({ fromMs: this.lastMs, toMs: now });
      if (this.stepsBack.length > MAX_STEPS_BACK) this.stepsBack.shift();
    }
    this.lastMs = now;
    // Once the clock is past where a step began, a token expired before it is expired by the clock.
    for (let i = this.stepsBack.length - 1; i >= 0; i--) if (this.stepsBack[i]!.fromMs <= now) this.stepsBack.splice(i, 1);
    return now;
  }

  /** Whether a token issued at `iatMs` and expiring at `expMs` expired before a step back this process saw. */
  private expiredBeforeStep(iatMs: number, expMs: number): boolean {
    // The issue time of a token another process issued after the step may be behind by as much as the clocks differ.
    return this.stepsBack.some((step) => expMs < step.fromMs && iatMs < step.toMs - ISSUED_AHEAD_TOLERANCE_MS);
  }

  issue(claims: TokenClaims): string {
    // iat in seconds, unrounded: the signer rounds it down and counts expiresIn from the millisecond, as it does by default.
    return this.sign({ sub: claims.accessKey, tid: claims.tenantId, scope: claims.scopes.join(' '), iat: this.observe() / 1000 });
  }

  check(token: string): TokenCheck {
    let payload: Record<string, unknown>;
    try {
      payload = this.verify(token);
    } catch (err) {
      if (err instanceof TokenError && err.code === TokenError.codes.expired) return { ok: false, reason: 'expired' };
      return { ok: false, reason: 'invalid' };
    }
    const { sub, tid, scope, exp, iat } = payload;
    if (typeof exp !== 'number' || typeof iat !== 'number') return { ok: false, reason: 'invalid' };
    const now = this.observe();
    const named = { ...(typeof sub === 'string' && { accessKey: sub }), ...(typeof tid === 'string' && { tenantId: tid }) };
    if (now > exp * 1000 || this.expiredBeforeStep(iat * 1000, exp * 1000)) return { ok: false, reason: 'expired', ...named };
    // A token living longer than this server issues them (issued under a longer
    // LOGWARDEN_TOKEN_TTL_SECONDS, since lowered) is past the lifetime now in force: expired.
    if (exp - iat > this.ttlSeconds + 1) return { ok: false, reason: 'expired', ...named };
    if (iat * 1000 > now + ISSUED_AHEAD_TOLERANCE_MS) return { ok: false, reason: 'issued-ahead', ...named };
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof scope !== 'string') return { ok: false, reason: 'invalid' };
    const scopes = scope.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
    return { ok: true, claims: { accessKey: sub, tenantId: tid, scopes } };
  }
}
