/**
 * The API reference without a browser: `/` leads to the console, the docs link to it, the page and the OpenAPI document
 * carry the package version, and the list operation's form is filled with values that make a
 * valid query (test/server/docs-browser.test.ts runs "Try it out" in Chromium).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { exampleFrom } from '../../src/server/docs.ts';
import { startTestApp, type TestApp } from '../support/app.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface Parameter {
  name: string;
  example?: unknown;
  examples?: unknown;
  description?: string;
  schema: { enum?: string[]; pattern?: string };
}

describe('/docs and /', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ config: { extraLogTypes: ['BadgeSwipe'] } });
  });
  after(() => t.close());

  it('redirects / to the console, which the docs link to', async () => {
    const r = await t.inject({ method: 'GET', url: '/' });
    assert.equal(r.statusCode, 302);
    // Relative, so that a path prefix a proxy adds is kept (path-prefix.test.ts).
    assert.equal(r.headers.location, 'console');
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as { info: { description: string } };
    assert.match(doc.info.description, /\[console\]\(console\)/);
  });

  it('titles the page and the document with the package version', async () => {
    const page = await t.inject({ method: 'GET', url: '/docs/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, new RegExp(`<title>logwarden ${VERSION.replace(/\./g, '\\.')}</title>`));
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as { info: { title: string; version: string } };
    assert.deepEqual([doc.info.title, doc.info.version], ['logwarden', VERSION]);
  });

  it('offers the configured log types as a list and a recent fromDateTime, and no fixed toDateTime', async () => {
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get: { parameters: Parameter[] } }> };
    const params = Object.fromEntries(doc.paths['/v2/logs']!.get.parameters.map((p) => [p.name, p]));
    assert.deepEqual(params.logType!.schema.enum, [
      'AccessLog',
      'UserActivityLog',
      'UserCallPlay',
      'ExternallySharedCallAccess',
      'ExternallySharedCallPlay',
      'BadgeSwipe',
      'LogwardenAdminLog',
    ]);
    assert.equal(params.logType!.example, 'AccessLog');
    const from = params.fromDateTime!.example as string;
    // Computed when the app was built; a test running across midnight UTC may see yesterday's.
    assert.ok([exampleFrom(new Date()), exampleFrom(new Date(Date.now() - 86_400_000))].includes(from), from);
    assert.equal(params.toDateTime!.example, undefined);
    assert.equal(params.toDateTime!.examples, undefined);
    // The form's values make a valid query: Gong's 404 on this empty store, not a 400.
    const r = await t.list({ logType: params.logType!.example as string, fromDateTime: from });
    assert.equal(r.statusCode, 404, r.body);
  });

  it('documents the page-size range the query schema enforces, with the configured sizes', async () => {
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { parameters: Parameter[] }>>;
    };
    const limit = doc.paths['/v2/logs']!.get!.parameters.find((p) => p.name === 'limit')!;
    assert.equal(limit.description, `Extension: page size, an integer from 1 to ${t.config.maxPageSize} (default ${t.config.pageSize}).`);
    const pattern = new RegExp(limit.schema.pattern!, 'u');
    for (const ok of ['1', '100', '0100', String(t.config.maxPageSize)]) assert.ok(pattern.test(ok), ok);
    for (const bad of ['0', String(t.config.maxPageSize + 1), '1.5', '-1', '']) assert.ok(!pattern.test(bad), bad);
    // The server refuses what the reference refuses, and with the same words.
    const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: String(t.config.maxPageSize + 1) });
    assert.equal(r.statusCode, 400);
    assert.deepEqual(r.json().errors, [`limit: must be an integer from 1 to ${t.config.maxPageSize}`]);
  });

  it('documents each ingest body as what it is: a JSON batch object, and NDJSON lines of text', async () => {
    type Body = { content: Record<string, { schema: { type: string; properties?: Record<string, unknown>; description?: string } }> };
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { post: { requestBody: Body } }> };
    const body = doc.paths['/v2/logs']!.post.requestBody.content;
    assert.deepEqual(Object.keys(body['application/json']!.schema.properties ?? {}), ['logType', 'logEntries']);
    assert.equal(body['application/x-ndjson']!.schema.type, 'string');
    assert.match(body['application/x-ndjson']!.schema.description!, /^One entry per line, each a JSON object with its own logType/);
  });

  it('computes fromDateTime as midnight UTC 30 days back', () => {
    assert.equal(exampleFrom(new Date('2026-11-30T23:59:59.999Z')), '2026-10-31T00:00:00Z');
    assert.equal(exampleFrom(new Date('2026-03-01T00:00:00Z')), '2026-01-30T00:00:00Z');
  });
});
