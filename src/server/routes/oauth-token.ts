/**
 * `POST /oauth2/token` — the OAuth 2.0 client-credentials grant (RFC 6749 §4.4). The client
 * authenticates with HTTP Basic (access key : secret); errors use the RFC's §5.2 shape.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_STATUS, LogwardenError } from '../../errors.ts';
import { type AccessKeyRecord, SCOPES, type Scope } from '../../store/store.ts';
import { parseBasic } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { classify } from '../error-handler.ts';
import { loggableMessage, noteFailure } from '../request-log.ts';
import { OAuthError, TOKEN_GRANT_TYPE, TokenRequest, TokenResponse } from '../schemas.ts';

class OAuthFailure extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly context?: Readonly<Record<string, string>>,
  ) {
    super(description);
  }
}

export function oauthTokenRoute(app: FastifyInstance, ctx: AppContext): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) =>
      done(null, new URLSearchParams(body as string)),
    );

    scope.setErrorHandler(renderOAuthError);

    scope.post(
      '/oauth2/token',
      {
        // The form is checked in the handler, after the client's credentials (a bad client is 401
        // before any 400), and with the RFC's error codes; the schema below documents it.
        validatorCompiler: () => () => true,
        schema: {
          summary: 'Get a Bearer token',
          description:
            'Client-credentials grant: authenticate with HTTP Basic (access key : secret), send grant_type=client_credentials ' +
            'and optionally scope (a space-separated subset of the key scopes). Tokens are short-lived and stop working ' +
            'when their key is revoked.',
          tags: ['auth'],
          consumes: ['application/x-www-form-urlencoded'],
          body: TokenRequest,
          response: { 200: TokenResponse, 400: OAuthError, 401: OAuthError, 429: OAuthError, 500: OAuthError, 503: OAuthError },
          security: [{ basic: [] }],
        },
      },
      async (request, reply) => {
        const key = await authenticateClient(ctx, request.headers.authorization);
        // From here on the request's line names the client, as a /v2/logs line does (a 429, a bad form, the 200).
        request.principal = { tenantId: key.tenantId, accessKey: key.accessKey, scopes: key.scopes };
        await ctx.limits.check('token', key.tenantId);
        const scopes = grantedScopes(request.body instanceof URLSearchParams ? request.body : new URLSearchParams(), key);
        const token = ctx.tokens.issue({ accessKey: key.accessKey, tenantId: key.tenantId, scopes });
        return reply
          .headers({ 'cache-control': 'no-store', pragma: 'no-cache' })
          .send({ access_token: token, token_type: 'Bearer', expires_in: ctx.tokens.ttlSeconds, scope: scopes.join(' '), requestId: request.id });
      },
    );
  });
}

/** The client's access key, from HTTP Basic; a missing or bad one is the RFC's invalid_client. */
async function authenticateClient(ctx: AppContext, authorization: string | undefined): Promise<AccessKeyRecord> {
  const header = authorization ?? '';
  const basic = /^basic /i.test(header) ? parseBasic(header.slice(6).trim()) : undefined;
  if (!basic) throw new OAuthFailure(401, 'invalid_client', 'authenticate with HTTP Basic: access key and secret');
  return ctx.auth.verifyKey(basic.accessKey, basic.secret).catch((err: unknown) => {
    if (err instanceof LogwardenError) throw new OAuthFailure(401, 'invalid_client', 'invalid access key or secret', err.context);
    throw err;
  });
}

/** The scopes the token carries: the key's, or the subset the form asks for (grant_type checked first). */
function grantedScopes(form: URLSearchParams, key: AccessKeyRecord): readonly Scope[] {
  const grant = form.getAll('grant_type');
  if (grant.length !== 1) throw new OAuthFailure(400, 'invalid_request', 'grant_type is required, once');
  // The client authenticated with HTTP Basic; a client_id in the form may only repeat that (RFC 6749 §2.3).
  const clientIds = form.getAll('client_id');
  if (clientIds.some((id) => id !== key.accessKey)) {
    throw new OAuthFailure(400, 'invalid_request', 'client_id differs from the access key given with HTTP Basic: send one client, once');
  }
  if (grant[0] !== TOKEN_GRANT_TYPE) {
    throw new OAuthFailure(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
  }
  const scopeParams = form.getAll('scope');
  if (scopeParams.length > 1) throw new OAuthFailure(400, 'invalid_request', 'scope may be given once');
  let scopes: readonly Scope[] = key.scopes;
  if (scopeParams.length === 1) {
    const asked = scopeParams[0]!.split(' ').filter(Boolean);
    const bad = asked.find((s) => !(SCOPES as readonly string[]).includes(s) || !key.scopes.includes(s as Scope));
    if (bad !== undefined && bad.includes(',') && bad.split(',').every((s) => (SCOPES as readonly string[]).includes(s.trim()))) {
      throw new OAuthFailure(400, 'invalid_scope', 'scopes are separated by spaces, not commas (RFC 6749 §3.3): scope=api:logs:read api:logs:write');
    }
    if (bad !== undefined) {
      const unknown = !(SCOPES as readonly string[]).includes(bad);
      throw new OAuthFailure(
        400,
        'invalid_scope',
        `scope ${JSON.stringify(bad.slice(0, 64))} ${unknown ? `is no scope (${SCOPES.join(', ')})` : 'is not granted to this access key'}`,
      );
    }
    if (asked.length > 0) scopes = [...new Set(asked)] as Scope[];
  }
  return scopes;
}

/** Every failure of the route in the RFC's §5.2 shape (`error`, `error_description`), never cached. */
function renderOAuthError(err: Error, request: FastifyRequest, reply: FastifyReply): void {
  let status: number;
  let error: string;
  let description: string;
  const headers: Record<string, string> = { 'cache-control': 'no-store', pragma: 'no-cache' };
  if (err instanceof OAuthFailure) {
    ({ status, error, description } = err);
    // RFC 6749 §5.2: a 401 invalid_client names the scheme the client is to authenticate with.
    if (status === 401) headers['www-authenticate'] = 'Basic realm="logwarden"';
  } else {
    const c = classify(err);
    Object.assign(headers, c.headers);
    if (c.code === 'unauthorized') {
      status = 401;
      error = 'invalid_client';
      headers['www-authenticate'] = 'Basic realm="logwarden"';
    } else if (c.code === 'rate_limited') {
      // RFC 6749 §5.2 has no code for it; invalid_request would read as a malformed request that
      // OAuth libraries do not retry. temporarily_unavailable (its §4.1.2.1) says: try later.
      status = 429;
      error = 'temporarily_unavailable';
    } else if (c.code === 'unavailable') {
      // The store or Redis cannot be reached: §4.1.2.1's temporarily_unavailable, with Retry-After.
      status = 503;
      error = 'temporarily_unavailable';
    } else if (ERROR_STATUS[c.code] >= 500) {
      status = ERROR_STATUS[c.code];
      error = 'server_error';
    } else {
      status = 400;
      error = 'invalid_request';
    }
    description = c.code === 'unsupported_media_type' ? 'send the request as application/x-www-form-urlencoded' : c.messages.join('; ');
  }
  noteFailure(request, {
    code: error,
    message: loggableMessage([description]),
    ...(status >= 500 && { err }),
    ...(err instanceof OAuthFailure && err.context && { context: err.context }),
  });
  void reply.code(status).headers(headers).send({ error, error_description: description, requestId: request.id });
}
