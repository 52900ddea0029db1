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

export class TokenService {
  private readonly sign: (payload: Record<string, unknown>) => string;
  private readonly verify: (token: string) => Record<string, unknown>;

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

  issue(claims: TokenClaims): string {
    // iat in seconds, unrounded: the signer rounds it down and counts expiresIn from the millisecond, as it does by default.
    return this.sign({ sub: claims.accessKey, tid: claims.tenantId, scope: claims.scopes.join(' '), iat: this.now() / 1000 });
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
    const now = this.now();
    const named = { ...(typeof sub === 'string' && { accessKey: sub }), ...(typeof tid === 'string' && { tenantId: tid }) };
    if (now > exp * 1000) return { ok: false, reason: 'expired', ...named };
    if (iat * 1000 > now + ISSUED_AHEAD_TOLERANCE_MS) return { ok: false, reason: 'issued-ahead', ...named };
    if (typeof sub !== 'string' || typeof tid !== 'string' || typeof scope !== 'string') return { ok: false, reason: 'invalid' };
    const scopes = scope.split(' ').filter((s): s is Scope => (SCOPES as readonly string[]).includes(s));
    return { ok: true, claims: { accessKey: sub, tenantId: tid, scopes } };
  }
}
