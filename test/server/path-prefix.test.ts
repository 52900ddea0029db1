/**
 * The server behind a reverse proxy that serves it under a path prefix, as nginx's
 * `location /audit/ { proxy_pass http://logwarden/; }` does: the proxy here (node:http) takes
 * `/audit/…` to the server's `/…` and answers anything else 404 itself. The root, the console
 * and the API reference work from `/audit/`: every address they give (redirects, assets, the
 * console's API calls, the OpenAPI document's server, "Try it out") stays under it.
 * The browser part needs Chromium (`apt-get install chromium`); skipped with a reason where it
 * is missing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.ts';
import { tryListLogs } from '../support/docs-page.ts';
import { unavailable } from '../support/services.ts';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? undefined : unavailable(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
const PREFIX = '/audit/';

/** A proxy serving `target` under PREFIX; `outside` lists the paths asked for outside it. */
async function startPrefixProxy(target: string): Promise<{ url: string; outside: string[]; close(): Promise<void> }> {
  const outside: string[] = [];
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '/';
    if (!path.startsWith(PREFIX)) {
      outside.push(`${req.method} ${path}`);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not under the prefix');
      return;
    }
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: path.slice(PREFIX.length - 1), headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    outside,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A GET through the proxy, redirects not followed. */
async function get(url: string): Promise<{ status: number; location: string | null; text: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
}

/** The `href` and `src` values of an HTML page. */
const links = (html: string): string[] => [...html.matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]!).filter((l) => !l.startsWith('data:'));

describe('under a path prefix a reverse proxy adds', () => {
  let t: TestApp;
  let proxy: Awaited<ReturnType<typeof startPrefixProxy>>;
  let base: string;

  before(async () => {
    t = await startTestApp();
    const direct = await t.app.listen({ port: 0, host: '127.0.0.1' });
    proxy = await startPrefixProxy(direct);
    base = `${proxy.url}${PREFIX}`;
    const yesterday = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal((await t.ingest('AccessLog', [{ userId: '7', eventTime: yesterday, logRecord: { method: 'GET', status: 200 } }])).statusCode, 201);
  });

  after(async () => {
    await proxy?.close();
    await t?.close();
  });

  it('leads from the root to the console, whose assets are under the prefix', async () => {
    const root = await get(base);
    assert.equal(root.status, 302);
    const console = new URL(root.location ?? '', base);
    assert.equal(console.pathname, `${PREFIX}console`);
    const page = await get(console.href);
    assert.equal(page.status, 200);
    const assets = links(page.text);
    assert.ok(assets.length >= 2, assets.join(' '));
    for (const link of assets) {
      const at = new URL(link, console);
      assert.ok(at.pathname.startsWith(PREFIX), `${link} resolves to ${at.pathname}`);
      assert.equal((await get(at.href)).status, 200, at.href);
    }
    // The same page asked for with a trailing slash sends the browser to the address its links resolve against.
    const slash = await get(`${base}console/`);
    assert.equal(slash.status, 302);
    assert.equal(new URL(slash.location ?? '', `${base}console/`).pathname, `${PREFIX}console`);
    assert.deepEqual(proxy.outside, []);
  });

  it('serves /docs with its assets under the prefix, and an OpenAPI document whose server is the prefix', async () => {
    // With a query too, which the page does not read: it would name its assets from the root.
    for (const asked of ['docs?x=1', 'docs/?url=/x']) {
      const r = await get(`${base}${asked}`);
      assert.equal(r.status, 302, asked);
      assert.equal(new URL(r.location ?? '', `${base}${asked}`).href, `${base}docs/`, asked);
    }
    const docs = await get(`${base}docs`);
    assert.equal(docs.status, 302);
    const page = new URL(docs.location ?? '', `${base}docs`);
    assert.equal(page.pathname, `${PREFIX}docs/`);
    const html = await get(page.href);
    assert.equal(html.status, 200);
    for (const link of links(html.text)) {
      const at = new URL(link, page);
      assert.ok(at.pathname.startsWith(`${PREFIX}docs/`), `${link} resolves to ${at.pathname}`);
      assert.equal((await get(at.href)).status, 200, at.href);
    }
    for (const doc of [`${base}openapi.json`, `${base}docs/json`]) {
      const spec = JSON.parse((await get(doc)).text) as { servers?: { url: string }[]; info: { description: string } };
      const server = new URL(spec.servers?.[0]?.url ?? '/', doc);
      assert.equal(server.pathname, PREFIX, `the server of ${doc}`);
      const consoleLink = /\[console\]\(([^)]+)\)/.exec(spec.info.description)?.[1] ?? '';
      assert.equal(new URL(consoleLink, doc).pathname, `${PREFIX}console`, `the console link of ${doc}`);
    }
    assert.deepEqual(proxy.outside, []);
  });

  it('signs in on the console, lists entries, checks the log and runs "Try it out" in /docs, all under the prefix', {
    skip: noBrowser,
    timeout: 60_000,
  }, async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      page.on('response', (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      await page.goto(base);
      assert.equal(new URL(page.url()).pathname, `${PREFIX}console`);
      await page.getByLabel('Access key').fill(t.readKey.accessKey);
      await page.getByLabel('Secret').fill(t.readKey.secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#entries tbody tr.row').first().waitFor({ timeout: 20_000 });
      await page.locator('p.integrity.ok').waitFor({ timeout: 20_000 });

      await page.goto(`${base}docs`);
      const op = await tryListLogs(page, t.readKey);
      await op.locator('button.execute').click();
      await op.locator('.live-responses-table .response .response-col_status').first().waitFor({ timeout: 20_000 });
      assert.equal(await op.locator('.live-responses-table .response .response-col_status').first().textContent(), '200');
      assert.match((await op.locator('.request-url pre').first().textContent()) ?? '', new RegExp(`^${proxy.url}${PREFIX}v2/logs\\?`));
      assert.deepEqual(proxy.outside, []);
      assert.deepEqual(failed, []);
    } finally {
      await browser.close();
    }
  });
});
