import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueAccessKey } from '../../src/service/access-keys.ts';
import { basic, requestToken, startTestApp, type TestApp, TestClock } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

const Q = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' };

const token = requestToken;

/** A client-credentials token for `key` (the app's own key by default), issued by `t`. */
async function accessToken(t: TestApp, key: { accessKey: string; secret: string } = t.key): Promise<string> {
  return (await token(t, key, 'grant_type=client_credentials')).json().access_token as string;
}

function bearer(t: TestApp, accessToken: string, query: Record<string, string> = Q) {
  return t.inject({ method: 'GET', url: '/v2/logs', query, headers: { authorization: `Bearer ${accessToken}` } });
}

for (const kind of await storeKinds()) {
  describe(`authentication (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
      await t.ingest('AccessLog', [{ userId: '1', eventTime: '2026-02-01T00:00:00Z', logRecord: {} }]);
    });
    after(async () => t.close());

    it('accepts Basic access key:secret', async () => {
      assert.equal((await t.list(Q)).statusCode, 200);
    });

    it('answers 401 with the same message for an unknown key, a wrong secret and a revoked key', async () => {
      const revoked = await issueAccessKey(t.store, t.tenantId, ['api:logs:read']);
      await t.store.revokeAccessKey(revoked.accessKey);
      const cases = [
        { accessKey: 'LWNOSUCHKEYAAAAAAAAAAA', secret: t.key.secret },
        { accessKey: t.key.accessKey, secret: t.key.secret + 'x' },
        { accessKey: t.key.accessKey, secret: '' },
        revoked,
      ];
      const messages = new Set<string>();
      for (const c of cases) {
        const r = await t.list(Q, { ...t.key, ...c });
        assert.equal(r.statusCode, 401);
        assert.match(r.headers['www-authenticate'] as string, /Basic/);
        messages.add(JSON.stringify(r.json().errors));
      }
      assert.deepEqual([...messages], [JSON.stringify(['Access denied: invalid access key or secret'])]);
    });

    it('answers 401 for missing or malformed credentials', async () => {
      for (const authorization of [
        undefined,
        '',
        'Basic',
        'Basic !!!',
        'Basic ' + Buffer.from('nocolon').toString('base64'),
        'Digest abc',
        'Bearer',
        'Bearer not.a.token',
      ]) {
        const r = await t.inject({ method: 'GET', url: '/v2/logs', query: Q, headers: authorization === undefined ? {} : { authorization } });
        assert.equal(r.statusCode, 401, String(authorization));
        assert.match(r.json().errors[0], /^Access denied: /);
      }
    });

    it('names the missing scope', async () => {
      const r = await t.list(Q, t.writeKey);
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json().errors, ['Access denied: missing scope api:logs:read']);
    });

    it('issues Bearer tokens by client credentials and honours them', async () => {
      const res = await token(t, t.key, 'grant_type=client_credentials');
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 3600);
      assert.equal(body.scope, 'api:logs:read api:logs:write');
      assert.match(body.requestId, /^[0-9a-z]{19}$/);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal((await bearer(t, body.access_token)).statusCode, 200);
    });

    it('narrows a token to the requested scope', async () => {
      const res = await token(t, t.key, 'grant_type=client_credentials&scope=api%3Alogs%3Awrite');
      assert.equal(res.json().scope, 'api:logs:write');
      const r = await bearer(t, res.json().access_token);
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json().errors, ['Access denied: missing scope api:logs:read']);
    });

    it('follows RFC 6749 §5.2 for token errors', async () => {
      const cases: Array<[string, string | undefined, number, string]> = [
        ['grant_type=client_credentials', 'Basic ' + Buffer.from(`${t.key.accessKey}:wrong`).toString('base64'), 401, 'invalid_client'],
        ['grant_type=client_credentials', '', 401, 'invalid_client'],
        ['grant_type=password&username=a&password=b', undefined, 400, 'unsupported_grant_type'],
        ['', undefined, 400, 'invalid_request'],
        ['grant_type=client_credentials&grant_type=client_credentials', undefined, 400, 'invalid_request'],
        ['grant_type=client_credentials&scope=api%3Aadmin', undefined, 400, 'invalid_scope'],
      ];
      for (const [form, auth, status, error] of cases) {
        const r = await token(t, t.key, form, auth ?? basic(t.key));
        assert.equal(r.statusCode, status, form);
        const body = r.json();
        assert.equal(body.error, error, form);
        assert.equal(typeof body.error_description, 'string');
        assert.match(body.requestId, /^[0-9a-z]{19}$/);
        // §5.2: a 401 says how to authenticate.
        assert.equal(r.headers['www-authenticate'], status === 401 ? 'Basic realm="logwarden"' : undefined, form);
      }
      const readOnly = await token(t, t.readKey, 'grant_type=client_credentials&scope=api%3Alogs%3Awrite');
      assert.equal(readOnly.json().error, 'invalid_scope');
      assert.equal(readOnly.json().error_description, 'scope "api:logs:write" is not granted to this access key');
      const unknown = await token(t, t.key, 'grant_type=client_credentials&scope=api%3Aadmin');
      assert.equal(unknown.json().error_description, 'scope "api:admin" is no scope (api:logs:read, api:logs:write)');
      // A client_id in the form may only repeat the HTTP Basic user (RFC 6749 §2.3).
      const same = await token(t, t.key, `grant_type=client_credentials&client_id=${t.key.accessKey}`);
      assert.equal(same.statusCode, 200);
      const other = await token(t, t.key, 'grant_type=client_credentials&client_id=someoneelse');
      assert.deepEqual([other.statusCode, other.json().error], [400, 'invalid_request']);
      assert.match(other.json().error_description, /^client_id differs from the access key given with HTTP Basic/);
      const commas = await token(t, t.key, 'grant_type=client_credentials&scope=api%3Alogs%3Aread%2Capi%3Alogs%3Awrite');
      assert.deepEqual([commas.statusCode, commas.json().error], [400, 'invalid_scope']);
      assert.match(commas.json().error_description, /^scopes are separated by spaces, not commas/);
      const json = await t.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { authorization: basic(t.key), 'content-type': 'application/json' },
        payload: '{"grant_type":"client_credentials"}',
      });
      assert.equal(json.statusCode, 400);
      assert.equal(json.json().error, 'invalid_request');
    });

    it('stops a key and its issued tokens at once when the key is revoked', async () => {
      const key = await issueAccessKey(t.store, t.tenantId, ['api:logs:read']);
      const tok = await accessToken(t, key);
      assert.equal((await t.list(Q, key)).statusCode, 200);
      assert.equal((await bearer(t, tok)).statusCode, 200);
      await t.store.revokeAccessKey(key.accessKey);
      assert.equal((await t.list(Q, key)).statusCode, 401);
      const r = await bearer(t, tok);
      assert.equal(r.statusCode, 401);
      assert.equal((await token(t, key, 'grant_type=client_credentials')).json().error, 'invalid_client');
    });

    it('refuses a tampered token and says when a token has expired', async () => {
      const tok = await accessToken(t);
      const [h, p, s] = tok.split('.');
      const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
      claims.scope = 'api:logs:read api:logs:write';
      claims.tid = '1';
      const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
      assert.deepEqual((await bearer(t, forged)).json().errors, ['Access denied: invalid token']);
      const clock = new TestClock();
      const short = await startTestApp({ factory: kind.factory, now: clock.now, config: { tokenTtlSeconds: 1 } });
      try {
        const st = await accessToken(short);
        clock.advance(900);
        assert.notEqual((await bearer(short, st)).statusCode, 401, 'good until its second ends');
        clock.advance(200);
        const r = await bearer(short, st);
        assert.equal(r.statusCode, 401);
        assert.deepEqual(r.json().errors, ['Access denied: token expired']);
      } finally {
        await short.close();
      }
    });

    it('refuses a token issued while the clock ran ahead once the clock is put right; one a few seconds ahead is taken', async () => {
      const clock = new TestClock();
      const ahead = await startTestApp({ factory: kind.factory, now: clock.now });
      try {
        clock.advance(365 * 86_400_000); // a clock set a year ahead issues a token good for an hour of it
        const wrong = await accessToken(ahead);
        assert.equal((await bearer(ahead, wrong)).statusCode, 404);
        clock.advance(-365 * 86_400_000 + 30_000); // put right
        const r = await bearer(ahead, wrong);
        assert.equal(r.statusCode, 401, 'not good for the year to come');
        assert.deepEqual(r.json().errors, ['Access denied: invalid token']);
        clock.advance(30_000);
        const right = await accessToken(ahead);
        clock.advance(-30_000); // another server's clock, or NTP, half a minute behind
        assert.equal((await bearer(ahead, right)).statusCode, 404);
      } finally {
        await ahead.close();
      }
    });

    it('keeps a token that expired refused when the clock is put back before its expiry; one not expired stays good', async () => {
      const clock = new TestClock();
      const app = await startTestApp({ factory: kind.factory, now: clock.now, config: { tokenTtlSeconds: 3600 } });
      try {
        const old = await accessToken(app);
        clock.advance(3_600_000 + 10_000); // an hour and ten seconds on: the first token has expired
        assert.deepEqual((await bearer(app, old)).json().errors, ['Access denied: token expired']);
        clock.advance(10_000);
        const young = await accessToken(app);
        clock.advance(-50_000); // NTP steps the clock back 50 s, before the first token's expiry
        const r = await bearer(app, old);
        assert.equal(r.statusCode, 401, 'not good again until the clock reaches its expiry again');
        assert.deepEqual(r.json().errors, ['Access denied: token expired']);
        assert.equal((await bearer(app, young)).statusCode, 404, 'a token that had not expired is good for the rest of its time');
        const fresh = await accessToken(app);
        assert.equal((await bearer(app, fresh)).statusCode, 404, 'a token issued after the step is good');
        clock.advance(-5_000); // and back again
        assert.equal((await bearer(app, old)).statusCode, 401);
        assert.equal((await bearer(app, young)).statusCode, 404);
        assert.equal((await bearer(app, fresh)).statusCode, 404);
      } finally {
        await app.close();
      }
    });

    it('keeps an access key looked up no longer than the cache time when the clock is put back: a revoked key is refused', async () => {
      const clock = new TestClock();
      const cached = await startTestApp({ factory: kind.factory, now: clock.now, config: { authCacheMs: 1000 } });
      try {
        const key = await issueAccessKey(cached.store, cached.tenantId, ['api:logs:read']);
        assert.equal((await cached.list(Q, key)).statusCode, 404);
        clock.advance(-3_600_000); // NTP steps the clock back an hour
        await cached.store.revokeAccessKey(key.accessKey);
        clock.advance(1500);
        assert.equal((await cached.list(Q, key)).statusCode, 401);
      } finally {
        await cached.close();
      }
    });
  });
}
