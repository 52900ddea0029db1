/**
 * Bearer tokens from `POST /oauth2/token` (OAuth 2.0 client credentials). Token requests are
 * POSTs and so never retried; `tokenSource` caches a token and fetches a new one shortly
 * before it expires.
 */
import { basicAuthorization, type RenewableTokenProvider } from './logs.ts';
import { Transport, type TransportOptions } from './transport.ts';

export interface TokenRequest extends Omit<TransportOptions, 'retry' | 'requestsPerSecond'> {
  accessKey: string;
  secret: string;
  /** Space-separated subset of the key's scopes, e.g. `api:logs:read`. */
  scope?: string;
  signal?: AbortSignal;
}

export interface Token {
  readonly accessToken: string;
  readonly tokenType: string;
  /** Lifetime in seconds as the server granted it. */
  readonly expiresIn: number;
  readonly scope: string | undefined;
  /** When the token stops working, ms since the epoch (by this machine's clock). */
  readonly expiresAtMs: number;
}

export async function fetchToken(request: TokenRequest): Promise<Token> {
  const transport = new Transport({ ...request, requestsPerSecond: 0, retry: { retries: 0 } });
  const form = new URLSearchParams({ grant_type: 'client_credentials' });
  if (request.scope !== undefined) form.set('scope', request.scope);
  const startedMs = Date.now();
  return transport.request(
    {
      method: 'POST',
      path: 'oauth2/token',
      body: form.toString(),
      contentType: 'application/x-www-form-urlencoded',
      authorization: basicAuthorization(request.accessKey, request.secret),
      signal: request.signal,
    },
    (res) => {
      const doc = JSON.parse(res.text) as Record<string, unknown>;
      if (typeof doc.access_token !== 'string' || typeof doc.expires_in !== 'number') throw new TypeError('not a token response');
      return {
        accessToken: doc.access_token,
        tokenType: typeof doc.token_type === 'string' ? doc.token_type : 'Bearer',
        expiresIn: doc.expires_in,
        scope: typeof doc.scope === 'string' ? doc.scope : undefined,
        expiresAtMs: startedMs + doc.expires_in * 1000,
      };
    },
  );
}

/**
 * A token provider for `new LogsClient({ token })` that fetches a token on first use and a
 * fresh one `refreshBeforeMs` (default 60 s) before the current one expires. The token's
 * lifetime is counted on a monotonic clock (`now`, default `performance.now`), not this
 * machine's date: a date put back (NTP, a VM resumed) would have kept an expired token in use,
 * every request refused, for as long as the step. A token the server refuses (the client is
 * told with `refused`: `LogsClient` does on a 401) is replaced at the next call, whatever its
 * lifetime: revoked, or expired by a server clock ahead of this one.
 */
export function tokenSource(request: TokenRequest & { refreshBeforeMs?: number; now?: () => number }): RenewableTokenProvider {
  const margin = request.refreshBeforeMs ?? 60_000;
  const now = request.now ?? (() => performance.now());
  let current: Promise<{ token: Token; refreshAtMs: number }> | undefined;
  let refused: string | undefined;
  const provider = async (): Promise<string> => {
    const asked = current;
    const held = asked && (await asked.catch(() => undefined));
    // Another call fetched meanwhile (requests refused together): take its token rather than fetch again.
    if (asked !== current) return (await current!).token.accessToken;
    if (held && held.refreshAtMs > now() && held.token.accessToken !== refused) return held.token.accessToken;
    const startedMs = now();
    current = fetchToken(request).then((token) => ({ token, refreshAtMs: startedMs + token.expiresIn * 1000 - margin }));
    return (await current).token.accessToken;
  };
  return Object.assign(provider, {
    refused(token: string): void {
      refused = token;
    },
  });
}
