/**
 * Request authentication: HTTP Basic (access key : secret) or a Bearer token from
 * `/oauth2/token`. Every failure is a 401 whose reason never reveals whether an access key
 * exists: unknown, revoked and wrong-secret all read the same.
 */
import { LogwardenError } from '../errors.ts';
import { ACCESS_KEY_PATTERN, hashSecret, secretMatches } from '../logs/access-keys.ts';
import type { AccessKeyRecord, Scope, Store } from '../store/store.ts';
import type { KeyUseRecorder } from './key-use.ts';
import type { TokenService } from './tokens.ts';

export interface Principal {
  readonly tenantId: string;
  readonly accessKey: string;
  readonly scopes: readonly Scope[];
}

/** `context` is for the server's log only: the client never learns whether a key exists. */
export function denied(reason: string, context: Readonly<Record<string, string>> = {}): LogwardenError {
  return new LogwardenError(
    'unauthorized',
    [`Access denied: ${reason}`],
    { 'www-authenticate': 'Basic realm="logwarden", Bearer realm="logwarden"' },
    context,
  );
}

/** Which key failed and why, for the log; an unknown key's id is not logged (it may be a mistyped secret). */
function failedKey(record: AccessKeyRecord | undefined, detail: string): Record<string, string> {
  return record ? { accessKey: record.accessKey, tenant: record.tenantId, detail } : { detail: 'unknown access key' };
}

const BAD_CREDENTIALS = 'invalid access key or secret';
/** Compared against when the key is unknown, so the failure costs the same as a wrong secret. */
const DUMMY_HASH = hashSecret('logwarden: no such key');

/**
 * Checks credentials. Access key lookups may be kept for `cacheMs` (a store shared by several
 * processes costs a round trip per lookup); when the store tells of every key created or revoked
 * (watchAccessKeys), a change drops what was kept at once, so a revocation holds immediately in
 * every process, and nothing is kept while changes might be missed. Each success is noted in
 * `uses` (when each key was last used).
 */
export class Authenticator {
  private readonly cache = new Map<string, { record: AccessKeyRecord | undefined; at: number }>();
  /** Whether lookups may be kept now. */
  private keeping: boolean;
  /** Counts changes heard: a lookup that overlapped one is not kept (it may predate it). */
  private changes = 0;

  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly cacheMs: number,
    private readonly now: () => number = Date.now,
    private readonly uses?: KeyUseRecorder,
  ) {
    this.keeping = cacheMs > 0;
    if (this.keeping && store.watchAccessKeys) {
      store.watchAccessKeys({
        changed: (accessKey) => {
          this.changes++;
          this.cache.delete(accessKey);
        },
        live: (heard) => {
          this.changes++;
          this.cache.clear();
          this.keeping = heard;
        },
      });
    }
  }

  private async lookup(accessKey: string): Promise<AccessKeyRecord | undefined> {
    if (!this.keeping) return this.store.getAccessKey(accessKey);
    const now = this.now();
    const hit = this.cache.get(accessKey);
    // Kept `cacheMs`; not at all once the clock was put back since (its age unknown): a revoked
    // key's lookup is never kept longer than the cache's time.
    if (hit && now >= hit.at && now - hit.at < this.cacheMs) return hit.record;
    const changes = this.changes;
    const record = await this.store.getAccessKey(accessKey);
    if (!this.keeping || changes !== this.changes) return record;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(accessKey, { record, at: now });
    return record;
  }

  /** Checks an access key and secret (Basic auth and the token endpoint). */
  async verifyKey(accessKey: string, secret: string): Promise<AccessKeyRecord> {
    // Anything that cannot be an access key is never sent to the store.
    const record = ACCESS_KEY_PATTERN.test(accessKey) ? await this.lookup(accessKey) : undefined;
    const ok = secretMatches(secret, record ? record.secretHash : DUMMY_HASH);
    if (!record || !ok || record.revokedAt !== null) {
      throw denied(BAD_CREDENTIALS, failedKey(record, !ok ? 'wrong secret' : 'revoked access key'));
    }
    this.uses?.note(record.accessKey);
    return record;
  }

  /** Authenticates a request from its Authorization header. */
  async authenticate(header: string | undefined): Promise<Principal> {
    this.tokens.observe();
    if (header === undefined || header === '') throw denied('missing credentials (use Basic access key:secret, or a Bearer token)');
    const space = header.indexOf(' ');
    const scheme = space < 0 ? header : header.slice(0, space);
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    switch (scheme.toLowerCase()) {
      case 'basic': {
        const creds = parseBasic(value);
        if (!creds) throw denied('malformed Basic credentials');
        const record = await this.verifyKey(creds.accessKey, creds.secret);
        return { tenantId: record.tenantId, accessKey: record.accessKey, scopes: record.scopes };
      }
      case 'bearer': {
        if (value === '' || value.length > 4096) throw denied('invalid token');
        const r = this.tokens.check(value);
        if (!r.ok) {
          if (r.reason === 'invalid') throw denied('invalid token');
          const named = { ...(r.accessKey !== undefined && { accessKey: r.accessKey }), ...(r.tenantId !== undefined && { tenant: r.tenantId }) };
          if (r.reason === 'issued-ahead') throw denied('invalid token', { ...named, detail: "token issued ahead of this server's clock" });
          throw denied('token expired', named);
        }
        const record = await this.lookup(r.claims.accessKey);
        if (!record || record.revokedAt !== null || record.tenantId !== r.claims.tenantId) {
          throw denied('invalid token', failedKey(record, record?.revokedAt != null ? 'token of a revoked access key' : 'token of another tenant'));
        }
        this.uses?.note(record.accessKey);
        const scopes = r.claims.scopes.filter((s) => record.scopes.includes(s));
        return { tenantId: record.tenantId, accessKey: record.accessKey, scopes };
      }
      default:
        throw denied('unsupported authorization scheme (use Basic or Bearer)');
    }
  }
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.includes(scope)) throw denied(`missing scope ${scope}`, { accessKey: principal.accessKey, tenant: principal.tenantId });
}

/** Splits `base64(accessKey:secret)`; undefined when it is not that. */
export function parseBasic(value: string): { accessKey: string; secret: string } | undefined {
  if (value === '' || value.length > 1024 || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { accessKey: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}
