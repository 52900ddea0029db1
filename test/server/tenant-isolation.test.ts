/**
 * Tenant isolation over real HTTP: two tenants on one server. A key of one tenant sees only
 * its tenant's entries and counts; idempotency, cursors and tokens are per tenant; and to a
 * key of one tenant the other does not exist — a key that was never issued and a key of the
 * other tenant that was revoked are refused with the very same answer.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { cliActor } from '../../src/admin/actor.ts';
import { createHoldAct, releaseHoldAct } from '../../src/admin/holds.ts';
import { createKeyAct, revokeKeyAct } from '../../src/admin/keys.ts';
import { setRetentionAct } from '../../src/admin/retention.ts';
import { changeLimitsAct } from '../../src/admin/tenants.ts';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { signingSecret } from '../../src/server/app.ts';
import { TokenService } from '../../src/server/tokens.ts';
import { createTenant, type IssuedKey, issueAccessKey } from '../../src/service/access-keys.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { sealingStoreKinds, storeKinds } from '../support/stores.ts';

const FROM = '2025-02-01T00:00:00Z';

function entries(label: string, n: number, logRecord: (i: number) => Record<string, unknown> = (i) => ({ i })) {
  return Array.from({ length: n }, (_, i) => ({
    userId: `${label}-${i}`,
    eventTime: new Date(Date.parse(FROM) + i * 1000).toISOString(),
    logRecord: logRecord(i),
  }));
}

/** The same entries for both tenants: identical bodies, so identical idempotency keys. */
const COMMON = entries('common', 7, (i) => ({ shared: true, i }));
const ONLY_A = entries('a', 3);
const ONLY_B = entries('b', 11);

interface Page {
  records: { totalRecords: number; cursor?: string };
  logEntries: Array<{ userId: string }>;
}

for (const kind of [...(await storeKinds()), ...(await sealingStoreKinds())]) {
  describe(`tenant isolation (HTTP) (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    let url: string;
    let keyA: IssuedKey;
    let keyB: IssuedKey;
    let revokedB: IssuedKey;
    let tenantB: string;

    const get = (query: Record<string, string>, authorization: string) =>
      fetch(`${url}/v2/logs?${new URLSearchParams(query)}`, { headers: { authorization } });
    const post = (logType: string, logEntries: unknown[], authorization: string) =>
      fetch(`${url}/v2/logs`, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ logType, logEntries }),
      });
    /** Seals what the store holds, as far as its seal age lets it (the sealing kinds: everything). */
    const settle = async () => {
      await (t.store as { settle?: () => unknown }).settle?.();
    };
    const counts = async (res: Response) => {
      const r = (await res.json()) as { accepted: number; duplicates: number };
      return [r.accepted, r.duplicates];
    };
    const token = async (key: IssuedKey): Promise<string> => {
      const res = await fetch(`${url}/oauth2/token`, {
        method: 'POST',
        headers: { authorization: basic(key), 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials',
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { access_token: string }).access_token;
    };
    /** Every userId the credentials can read for a log type, paging with `limit`. */
    const readAll = async (authorization: string, logType = 'AccessLog', limit = '4'): Promise<string[]> => {
      const ids: string[] = [];
      let query: Record<string, string> = { logType, fromDateTime: FROM, limit };
      for (;;) {
        const res = await get(query, authorization);
        assert.equal(res.status, 200);
        const page = (await res.json()) as Page;
        ids.push(...page.logEntries.map((e) => e.userId));
        if (!page.records.cursor) return ids;
        query = { cursor: page.records.cursor };
      }
    };

    before(async () => {
      t = await startTestApp({ factory: kind.factory });
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      keyA = t.key;
      const b = await createTenant(t.store, 'tenant B');
      tenantB = b.id;
      keyB = await issueAccessKey(t.store, b.id, ['api:logs:read', 'api:logs:write']);
      revokedB = await issueAccessKey(t.store, b.id, ['api:logs:read', 'api:logs:write']);
      assert.equal(await t.store.revokeAccessKey(revokedB.accessKey), true);
    });
    after(async () => t.close());

    it('stores identical entries for each tenant: idempotency is per tenant', async () => {
      for (const key of [keyA, keyB]) {
        const res = await post('AccessLog', COMMON, basic(key));
        assert.equal(res.status, 201);
        assert.deepEqual(await counts(res), [COMMON.length, 0]);
        // A store that seals at once has A's entries, and their idempotency keys, in segments
        // when B sends the same ones.
        await settle();
      }
      const again = await post('AccessLog', COMMON, basic(keyB));
      assert.deepEqual(await counts(again), [0, COMMON.length]);
      assert.deepEqual(await counts(await post('AccessLog', COMMON, basic(keyA))), [0, COMMON.length]);
      assert.equal((await post('AccessLog', ONLY_A, basic(keyA))).status, 201);
      assert.equal((await post('AccessLog', ONLY_B, basic(keyB))).status, 201);
      assert.equal((await post('UserCallPlay', entries('b-play', 2), basic(keyB))).status, 201);
    });

    it('shows each key only its own tenant’s entries and counts', async () => {
      const idsA = await readAll(basic(keyA));
      const idsB = await readAll(basic(keyB));
      assert.deepEqual(new Set(idsA), new Set([...COMMON, ...ONLY_A].map((e) => e.userId)));
      assert.deepEqual(new Set(idsB), new Set([...COMMON, ...ONLY_B].map((e) => e.userId)));
      assert.equal(idsA.length, COMMON.length + ONLY_A.length);
      assert.equal(idsB.length, COMMON.length + ONLY_B.length);

      const totalOf = async (key: IssuedKey) =>
        ((await (await get({ logType: 'AccessLog', fromDateTime: FROM }, basic(key))).json()) as Page).records.totalRecords;
      assert.equal(await totalOf(keyA), COMMON.length + ONLY_A.length);
      assert.equal(await totalOf(keyB), COMMON.length + ONLY_B.length);

      // A log type only B has written is, to A, a query that matches nothing.
      const res = await get({ logType: 'UserCallPlay', fromDateTime: FROM }, basic(keyA));
      assert.equal(res.status, 404);
      assert.deepEqual(((await res.json()) as { errors: string[] }).errors, [NO_RECORDS_MESSAGE]);
      assert.deepEqual(await readAll(basic(keyB), 'UserCallPlay'), ['b-play-0', 'b-play-1']);
    });

    it('refuses a cursor of tenant A presented with tenant B’s key (400), alone or with the parameters', async () => {
      const page = (await (await get({ logType: 'AccessLog', fromDateTime: FROM, limit: '2' }, basic(keyA))).json()) as Page;
      const cursor = page.records.cursor!;
      assert.ok(cursor);
      const queries: Array<Record<string, string>> = [{ cursor }, { logType: 'AccessLog', fromDateTime: FROM, limit: '2', cursor }];
      for (const query of queries) {
        const res = await get(query, basic(keyB));
        assert.equal(res.status, 400);
        const body = (await res.json()) as { errors: string[] };
        assert.match(body.errors[0]!, /^cursor: is not a valid cursor/);
        assert.doesNotMatch(JSON.stringify(body), /common-|a-\d/, 'nothing of A leaks into the error');
      }
      // The same cursor still works for A.
      assert.equal((await get({ cursor }, basic(keyA))).status, 200);
    });

    it('lets a token of tenant A read only A, and refuses a token claiming B for A’s key', async () => {
      const tokenA = await token(keyA);
      assert.deepEqual(new Set(await readAll(`Bearer ${tokenA}`)), new Set([...COMMON, ...ONLY_A].map((e) => e.userId)));
      assert.equal((await get({ logType: 'UserCallPlay', fromDateTime: FROM }, `Bearer ${tokenA}`)).status, 404);

      // A validly signed token whose tenant does not match its access key's tenant.
      const tokens = new TokenService(await signingSecret(t.config, t.store), 3600);
      const crossed = tokens.issue({ accessKey: keyA.accessKey, tenantId: tenantB, scopes: ['api:logs:read', 'api:logs:write'] });
      const res = await get({ logType: 'AccessLog', fromDateTime: FROM }, `Bearer ${crossed}`);
      assert.equal(res.status, 401);
      assert.equal((await post('AccessLog', entries('crossed', 1), `Bearer ${crossed}`)).status, 401);
      assert.equal(
        ((await (await get({ logType: 'AccessLog', fromDateTime: FROM }, basic(keyB))).json()) as Page).records.totalRecords,
        COMMON.length + ONLY_B.length,
      );

      // Writes through A's token land in A only.
      assert.equal((await post('ExternallySharedCallAccess', entries('a-token', 2), `Bearer ${tokenA}`)).status, 201);
      assert.equal((await get({ logType: 'ExternallySharedCallAccess', fromDateTime: FROM }, basic(keyB))).status, 404);
      assert.deepEqual(await readAll(basic(keyA), 'ExternallySharedCallAccess'), ['a-token-0', 'a-token-1']);
    });

    it('answers a key of an unknown tenant, a revoked key of the other tenant and a wrong secret with the same 401', async () => {
      // A genuine key of a tenant that exists on another server only, and a key id never issued.
      const elsewhere = await startTestApp({ factory: kind.factory });
      const foreign = elsewhere.key;
      await elsewhere.close();
      const unknown = { accessKey: 'LWNEVERISSUEDKEY234567', secret: keyB.secret };
      const credentials = [foreign, unknown, revokedB, { accessKey: keyB.accessKey, secret: revokedB.secret }];
      const answers = [];
      for (const c of credentials) {
        for (const send of [() => get({ logType: 'AccessLog', fromDateTime: FROM }, basic(c)), () => post('AccessLog', entries('x', 1), basic(c))]) {
          const res = await send();
          const body = (await res.json()) as { requestId: string; errors: string[] };
          answers.push({ status: res.status, errors: body.errors, challenge: res.headers.get('www-authenticate') });
        }
      }
      assert.equal(answers[0]!.status, 401);
      for (const a of answers) assert.deepEqual(a, answers[0]);

      // The token endpoint does not tell them apart either.
      const tokenAnswers = [];
      for (const c of credentials) {
        const res = await fetch(`${url}/oauth2/token`, {
          method: 'POST',
          headers: { authorization: basic(c), 'content-type': 'application/x-www-form-urlencoded' },
          body: 'grant_type=client_credentials',
        });
        const { requestId: _ignored, ...rest } = (await res.json()) as Record<string, unknown>;
        tokenAnswers.push({ status: res.status, ...rest });
      }
      assert.equal(tokenAnswers[0]!.status, 401);
      for (const a of tokenAnswers) assert.deepEqual(a, tokenAnswers[0]);
    });

    it('counts only the caller’s own entries in the histogram', async () => {
      const buckets = async (authorization: string, logType: string) => {
        const query = new URLSearchParams({ logType, fromDateTime: FROM, toDateTime: '2025-02-02T00:00:00Z' });
        const res = await fetch(`${url}/v2/logs/histogram?${query}`, { headers: { authorization } });
        assert.equal(res.status, 200);
        return ((await res.json()) as { buckets: Array<{ count: number }> }).buckets;
      };
      const sum = (list: Array<{ count: number }>) => list.reduce((n, b) => n + b.count, 0);
      assert.equal(sum(await buckets(basic(keyA), 'AccessLog')), COMMON.length + ONLY_A.length);
      assert.equal(sum(await buckets(basic(keyB), 'AccessLog')), COMMON.length + ONLY_B.length);
      // A type only B holds is, to A, one without entries: the same answer as a type nobody holds.
      assert.deepEqual(await buckets(basic(keyA), 'UserCallPlay'), []);
      assert.deepEqual(await buckets(basic(keyA), 'ExternallySharedCallPlay'), []);
      assert.equal(sum(await buckets(basic(keyB), 'UserCallPlay')), 2);
    });

    it('numbers each page’s entries by leaves of the caller’s own tree only', async () => {
      const leavesOf = async (authorization: string, logType: string): Promise<number[]> => {
        const res = await fetch(`${url}/v2/logs?${new URLSearchParams({ logType, fromDateTime: FROM, limit: '1000' })}`, {
          headers: { authorization, 'x-logwarden-leaf-index': '1' },
        });
        assert.equal(res.status, 200);
        const header = res.headers.get('x-logwarden-leaf-index');
        if (header === null) return [];
        return header.split(',').map(Number);
      };
      for (const [key, types] of [
        [keyA, ['AccessLog', 'ExternallySharedCallAccess']],
        [keyB, ['AccessLog', 'UserCallPlay']],
      ] as const) {
        const tenantId = key === keyA ? t.tenantId : tenantB;
        const checkpoint = await fetch(`${url}/v2/tlog/${tenantId}/checkpoint`, { headers: { authorization: basic(key) } });
        assert.equal(checkpoint.status, 200);
        const size = Number((await checkpoint.text()).split('\n')[1]);
        const leaves: number[] = [];
        for (const type of types) leaves.push(...(await leavesOf(basic(key), type)));
        if (leaves.length === 0 && t.store.leafIndexes === undefined) continue;
        // Every entry of the tenant has one leaf of its own tree, and the tree has no other.
        assert.deepEqual(
          leaves.sort((x, y) => x - y),
          Array.from({ length: size }, (_, i) => i),
        );
      }
    });

    it('keeps tenant A’s verifiable log, every route of it, unknown to tenant B: the 404 of a tenant that does not exist', async () => {
      const sizeA = Number(
        (await (await fetch(`${url}/v2/tlog/${t.tenantId}/checkpoint`, { headers: { authorization: basic(keyA) } })).text()).split('\n')[1],
      );
      assert.ok(sizeA >= 2, 'A has a tree to ask about');
      const paths = [
        'checkpoint',
        'key',
        `tile/0/000.p/${sizeA}`,
        `tile/entries/000.p/${sizeA}`,
        'tile/0/000',
        'proof/inclusion?index=0',
        `proof/inclusion?index=0&index=1&size=${sizeA}`,
        `proof/consistency?from=1&to=${sizeA}`,
      ];
      const nobody = '999999999999999999';
      assert.equal(await t.store.getTenant(nobody), undefined);
      const answer = async (tenantId: string, path: string, authorization: string) => {
        const res = await fetch(`${url}/v2/tlog/${tenantId}/${path}`, { headers: { authorization, 'accept-encoding': 'gzip' } });
        const body = await res.text();
        return {
          status: res.status,
          body: body.replace(/"requestId":"[a-z0-9]+"/, '').replaceAll(tenantId, 'ID'),
          cacheControl: res.headers.get('cache-control'),
          contentType: res.headers.get('content-type'),
        };
      };
      const tokenB = await token(keyB);
      for (const path of paths) {
        for (const authorization of [basic(keyB), `Bearer ${tokenB}`]) {
          const theirs = await answer(t.tenantId, path, authorization);
          assert.equal(theirs.status, 404, `${path}: ${theirs.body}`);
          assert.deepEqual(theirs, await answer(nobody, path, authorization), path);
          assert.doesNotMatch(theirs.body, /common-|a-\d|size|leaves/);
        }
        // A's own key is answered (a full tile beyond A's small tree is A's own 404, of its tree).
        const own = await answer(t.tenantId, path, basic(keyA));
        if (path !== 'tile/0/000') assert.equal(own.status, 200, `${path}: ${own.body}`);
      }
    });

    it('writes each tenant’s administrative acts to its own admin trail only', async () => {
      const actor = cliActor();
      const clock = () => Date.now();
      const acted: Record<string, string[]> = {};
      for (const tenantId of [t.tenantId, tenantB]) {
        const key = await createKeyAct(t.store, tenantId, ['api:logs:read'], actor, clock);
        assert.ok(await revokeKeyAct(t.store, key.accessKey, actor, clock));
        assert.ok(await changeLimitsAct(t.store, tenantId, { readPerDay: 5_000 }, actor, clock));
        assert.ok(await setRetentionAct(t.store, tenantId, 'AccessLog', 400, actor, clock));
        const hold = await createHoldAct(t.store, { tenantId, logType: null, fromMs: null, toMs: null, reason: `case ${tenantId}` }, actor, clock);
        assert.ok(await releaseHoldAct(t.store, hold.id, 'closed', actor, clock));
        acted[tenantId] = [key.accessKey, hold.id];
      }
      for (const [key, tenantId, other] of [
        [keyA, t.tenantId, tenantB],
        [keyB, tenantB, t.tenantId],
      ] as const) {
        const res = await get({ logType: 'LogwardenAdminLog', fromDateTime: FROM, limit: '1000' }, basic(key));
        assert.equal(res.status, 200);
        const text = await res.text();
        const records = (JSON.parse(text) as { logEntries: Array<{ logRecord: { action: string; tenantId: string } }> }).logEntries.map(
          (e) => e.logRecord,
        );
        assert.deepEqual(
          records.map((r) => r.action),
          ['key.created', 'key.revoked', 'tenant.limits.changed', 'retention.changed', 'hold.created', 'hold.released'],
        );
        assert.ok(records.every((r) => r.tenantId === tenantId));
        for (const mine of acted[tenantId]!) assert.ok(text.includes(mine), `${mine} in its own trail`);
        for (const theirs of [other, ...acted[other]!]) assert.ok(!text.includes(theirs), `${theirs} of the other tenant in the trail`);
      }
    });

    it('names no tenant and no access key in /metrics', async () => {
      const res = await fetch(`${url}/metrics`);
      assert.equal(res.status, 200);
      const text = await res.text();
      for (const secret of [t.tenantId, tenantB, keyA.accessKey, keyB.accessKey]) assert.ok(!text.includes(secret), `${secret} in /metrics`);
    });
  });
}
