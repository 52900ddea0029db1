/**
 * The documented token form (server/schemas.ts `TokenRequest`) says what POST /oauth2/token
 * takes: a scope parameter the reference's pattern admits is granted to a key holding every
 * scope, and one it refuses is answered invalid_scope (or, when empty of scopes, with all of
 * the key's scopes, as the description says).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { TOKEN_GRANT_TYPE, TokenRequest } from '../../src/server/schemas.ts';
import { SCOPES } from '../../src/store/store.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';

describe('the documented token form and POST /oauth2/token', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  const token = (form: string) =>
    t.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { authorization: basic(t.key), 'content-type': 'application/x-www-form-urlencoded' },
      payload: form,
    });

  it('documents the one grant type the route takes', async () => {
    assert.deepEqual((TokenRequest.properties.grant_type as { enum?: unknown }).enum, [TOKEN_GRANT_TYPE]);
    assert.equal((await token(`grant_type=${TOKEN_GRANT_TYPE}`)).statusCode, 200);
    const other = await token('grant_type=password');
    assert.equal(other.statusCode, 400);
    assert.equal(other.json().error, 'unsupported_grant_type');
  });

  it('admits in its scope pattern exactly the scope values the route grants', async () => {
    const pattern = new RegExp((TokenRequest.properties.scope as { pattern?: string }).pattern!, 'u');
    const piece = fc.oneof(fc.constantFrom(...SCOPES), fc.constantFrom(' ', '  ', 'api:logs:admin', 'api:logs', 'x'));
    await fc.assert(
      fc.asyncProperty(fc.array(piece, { maxLength: 5 }), async (pieces) => {
        const scope = pieces.join('');
        const r = await token(new URLSearchParams({ grant_type: TOKEN_GRANT_TYPE, scope }).toString());
        if (pattern.test(scope)) {
          assert.equal(r.statusCode, 200, `${JSON.stringify(scope)}: ${r.body}`);
          const asked = scope.split(' ').filter(Boolean);
          assert.deepEqual(r.json().scope.split(' ').sort(), (asked.length > 0 ? [...new Set(asked)] : [...SCOPES]).sort());
        } else {
          assert.equal(r.statusCode, 400, JSON.stringify(scope));
          assert.equal(r.json().error, 'invalid_scope', JSON.stringify(scope));
        }
      }),
      { numRuns: 200 },
    );
  });
});
