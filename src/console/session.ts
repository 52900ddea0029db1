/**
 * Signing in: the access key and secret are exchanged once for a Bearer token at
 * `/oauth2/token`. Only the token (and when it expires) is kept, in sessionStorage, so it ends
 * with the tab; the secret is never stored.
 */
export interface Session {
  readonly token: string;
  /** ms since the epoch. */
  readonly expiresAt: number;
  readonly accessKey: string;
}

const KEY = 'logwarden.console.session';

export const EXPIRED_MESSAGE = 'Your session has expired. Sign in again to go on.';

export class ConsoleError extends Error {
  constructor(
    message: string,
    /** The token is no longer accepted: the session is over. */
    readonly expired = false,
  ) {
    super(message);
  }
}

/** The errors of an error envelope's text (none when it is not one). */
export function envelopeErrors(text: string): string[] {
  try {
    return ((JSON.parse(text) as { errors?: unknown[] }).errors ?? []).map(String);
  } catch {
    return [];
  }
}

/**
 * The session's end, from a 401's body: expired, or refused for another reason (its key
 * revoked, say), in the server's words.
 */
export function sessionEnded(text: string): ConsoleError {
  const why = envelopeErrors(text).join('; ');
  if (why === '' || /expired/i.test(why)) return new ConsoleError(EXPIRED_MESSAGE, true);
  return new ConsoleError(`The server no longer accepts this session (${why}): its access key may have been revoked. Sign in again to go on.`, true);
}

export function loadSession(): Session | undefined {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return s && typeof s.token === 'string' && typeof s.expiresAt === 'number' ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

function base64Utf8(text: string): string {
  let bin = '';
  for (const b of new TextEncoder().encode(text)) bin += String.fromCharCode(b);
  return btoa(bin);
}

interface TokenAnswer {
  access_token?: string;
  expires_in?: number;
  scope?: string;
  error?: string;
  error_description?: string;
}

export async function signIn(accessKey: string, secret: string): Promise<Session> {
  let res: Response;
  try {
    res = await fetch('oauth2/token', {
      method: 'POST',
      credentials: 'omit',
      headers: {
        authorization: `Basic ${base64Utf8(`${accessKey}:${secret}`)}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      // Only what the console does: a token of this page can read, never write, whatever the key may do.
      body: 'grant_type=client_credentials&scope=api%3Alogs%3Aread',
    });
  } catch {
    throw new ConsoleError('The server could not be reached.');
  }
  const body = (await res.json().catch(() => ({}))) as TokenAnswer;
  if (res.status === 401) throw new ConsoleError('That access key and secret were not accepted.');
  if (res.status === 400 && body.error === 'invalid_scope') {
    throw new ConsoleError('This access key cannot read logs: it lacks the api:logs:read scope.');
  }
  if (!res.ok || typeof body.access_token !== 'string') {
    throw new ConsoleError(body.error_description ? `Sign-in failed: ${body.error_description}` : `Sign-in failed (HTTP ${res.status}).`);
  }
  if (!(body.scope ?? '').split(' ').includes('api:logs:read')) {
    throw new ConsoleError('This access key cannot read logs: it lacks the api:logs:read scope.');
  }
  return { token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 0) * 1000, accessKey };
}
