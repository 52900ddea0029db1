import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { basic, capturedLog, startTestApp } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

for (const kind of await storeKinds()) {
  describe(`operations (${kind.name})`, { skip: kind.skip }, () => {
    it('serves /healthz, /readyz, /metrics, /openapi.json and /docs without credentials', async () => {
      const t = await startTestApp({ factory: kind.factory });
      try {
        const health = await t.inject({ method: 'GET', url: '/healthz' });
        assert.deepEqual([health.statusCode, health.json()], [200, { status: 'ok' }]);
        const ready = await t.inject({ method: 'GET', url: '/readyz' });
        assert.deepEqual([ready.statusCode, ready.json()], [200, { status: 'ready' }]);
        await t.ingest('AccessLog', [{ eventTime: '2026-02-01T00:00:00Z', logRecord: {} }]);
        await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
        const metrics = await t.inject({ method: 'GET', url: '/metrics' });
        assert.equal(metrics.statusCode, 200);
        assert.match(metrics.headers['content-type'] as string, /^text\/plain/);
        assert.match(metrics.body, /logwarden_http_requests_total\{route="\/v2\/logs",method="GET",status="200"\} 1/);
        assert.match(metrics.body, /logwarden_http_request_duration_seconds_bucket\{le="0.005",route="\/v2\/logs",method="GET"\}/);
        assert.match(metrics.body, /logwarden_entries_ingested_total 1/);
        const openapi = await t.inject({ method: 'GET', url: '/openapi.json' });
        const doc = openapi.json();
        assert.equal(doc.openapi, '3.0.3');
        assert.ok(doc.paths['/v2/logs'].get.parameters.some((p: { name: string }) => p.name === 'fromDateTime'));
        assert.ok(doc.paths['/v2/logs'].post);
        assert.ok(doc.paths['/oauth2/token'].post);
        assert.ok(doc.components.securitySchemes.basic);
        const docs = await t.inject({ method: 'GET', url: '/docs/' });
        assert.equal(docs.statusCode, 200);
        assert.match(docs.body, /swagger/i);
      } finally {
        await t.close();
      }
    });

    it('answers an unknown route with 404 and a known one with another method with 405 and Allow, in the envelope', async () => {
      const t = await startTestApp({ factory: kind.factory });
      try {
        const r = await t.inject({ method: 'GET', url: '/v3/nothing?x=1' });
        assert.equal(r.statusCode, 404);
        assert.deepEqual(r.json().errors, ['no route GET /v3/nothing']);
        assert.equal(r.headers['x-traceid'], r.json().requestId);
        // A path that exists, with a method it does not answer: 405 with Allow (RFC 9110 §15.5.6).
        const put = await t.inject({ method: 'PUT', url: '/v2/logs?logType=AccessLog' });
        assert.equal(put.statusCode, 405);
        assert.equal(put.headers.allow, 'GET, HEAD, POST');
        assert.deepEqual(put.json().errors, ['PUT is not a method of /v2/logs; it answers GET, HEAD, POST']);
        assert.equal(put.headers['x-traceid'], put.json().requestId);
        const tile = await t.inject({ method: 'POST', url: `/v2/tlog/${t.tenantId}/tile/0/000` });
        assert.equal(tile.statusCode, 405);
        assert.equal(tile.headers.allow, 'GET, HEAD');
      } finally {
        await t.close();
      }
    });

    it('answers 503 on /readyz when the store is gone, and a generic 500 (cause only in the log) on an unexpected failure', async () => {
      const { logger, lines } = capturedLog('info');
      const t = await startTestApp({ factory: kind.factory, logger });
      try {
        // Make the store's read fail, on the very object the routes hold.
        const original = t.store.firstPage;
        t.store.firstPage = async () => {
          throw new Error('disk on fire at /secret/path');
        };
        const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
        t.store.firstPage = original;
        assert.equal(r.statusCode, 500);
        assert.deepEqual(r.json().errors, ['Internal server error']);
        assert.ok(!r.body.includes('disk on fire'));
        const logged = lines.map((l) => JSON.parse(l)).find((l) => l.level === 50);
        assert.ok(logged, 'an error line was logged');
        assert.equal(logged.requestId, r.json().requestId);
        assert.match(JSON.stringify(logged.err), /disk on fire/);
        await t.store.close();
        const ready = await t.inject({ method: 'GET', url: '/readyz' });
        assert.equal(ready.statusCode, 503);
        assert.match(ready.json().requestId, /^[0-9a-z]{19}$/);
      } finally {
        await t.close();
      }
    });

    it('a full disk: ingest answers 503 with Retry-After, stores nothing, and /readyz says so', {
      skip: kind.name === 'sqlite' ? undefined : 'SQLite caps its file here',
    }, async () => {
      const t = await startTestApp({ factory: kind.factory });
      try {
        // A real SQLITE_FULL: the database may grow no further than it is.
        const db = (t.store as unknown as { db: { pragma(sql: string, o?: { simple: boolean }): unknown } }).db;
        const pages = db.pragma('page_count', { simple: true }) as number;
        db.pragma(`max_page_count = ${pages}`);
        // A batch under 256 KiB, stored on the request's thread: the page cap holds for its connection only
        // (the append thread's SQLITE_FULL comes back as the same error: test/store/sqlite-append-thread.test.ts).
        const entries = Array.from({ length: 800 }, (_, i) => ({ eventTime: '2026-02-01T00:00:00Z', logRecord: { i, pad: 'x'.repeat(200) } }));
        const r = await t.ingest('AccessLog', entries);
        assert.equal(r.statusCode, 503, r.body);
        assert.deepEqual(r.json().errors, ['store out of disk space; nothing was stored; retry later']);
        assert.equal(r.headers['retry-after'], '5');
        const ready = await t.inject({ method: 'GET', url: '/readyz' });
        assert.equal(ready.statusCode, 503);
        assert.deepEqual(ready.json().errors, ['store out of disk space: writes are refused; free space']);
        db.pragma('max_page_count = 1073741823');
        assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201, 'space freed: stored');
        const page = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '1' });
        assert.equal(page.json().records.totalRecords, 800, 'the refused batch stored nothing, the retry all');
      } finally {
        await t.close();
      }
    });

    it('never writes secrets, tokens or audit payloads to its log', async () => {
      const { logger, lines } = capturedLog('trace');
      const t = await startTestApp({ factory: kind.factory, logger });
      try {
        const marker = 'PAYLOAD-MARKER-7f3a';
        await t.ingest('AccessLog', [{ userEmailAddress: `${marker}@x.org`, eventTime: '2026-02-01T00:00:00Z', logRecord: { m: marker } }]);
        await t.ingest('AccessLog', [{ userEmailAddress: `${marker}@x.org`, eventTime: 'bad', logRecord: { m: marker } }]);
        await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
        const tok = await t.inject({
          method: 'POST',
          url: '/oauth2/token',
          headers: { authorization: basic(t.key), 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'grant_type=client_credentials',
        });
        const accessToken = tok.json().access_token as string;
        await t.inject({
          method: 'GET',
          url: '/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z',
          headers: { authorization: `Bearer ${accessToken}` },
        });
        await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' }, { ...t.key, secret: 'wrong-secret-value' });
        const all = lines.join('');
        assert.ok(lines.length >= 5, 'requests were logged');
        for (const forbidden of [
          marker,
          t.key.secret,
          accessToken,
          'wrong-secret-value',
          Buffer.from(`${t.key.accessKey}:${t.key.secret}`).toString('base64'),
        ]) {
          assert.ok(!all.includes(forbidden), `log contains ${forbidden.slice(0, 12)}…`);
        }
        assert.match(all, /"requestId":"[0-9a-z]{19}"/);
      } finally {
        await t.close();
      }
    });
  });
}
