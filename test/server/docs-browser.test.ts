/**
 * `/docs` as a browser shows it: the interactive API reference, titled with the package version,
 * loads under its content security policy, lists every operation, and can call `GET /v2/logs`
 * with the reader's credentials, first with nothing but what the form fills in, and links to
 * the console.
 * Needs Chromium (`apt-get install chromium`); skipped with a reason where it is missing.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.ts';
import { tryListLogs } from '../support/docs-page.ts';
import { unavailable } from '../support/services.ts';

const CHROMIUM = '/usr/bin/chromium';
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const skip = existsSync(CHROMIUM) ? undefined : unavailable(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);

describe('/docs in a browser', { skip }, () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;

  before(async () => {
    t = await startTestApp();
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const entries = [
      { userId: '42', eventTime: '2026-03-01T10:00:00.000Z', logRecord: { method: 'GET', status: 200 } },
      { userId: '7', eventTime: yesterday, logRecord: { method: 'GET', status: 200 } },
    ];
    assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('renders every operation, with nothing blocked by its content security policy', async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
    const response = await page.goto(`${url}/docs`);
    assert.equal(response?.status(), 200);
    await page.locator('.opblock-summary-path', { hasText: '/oauth2/token' }).waitFor({ timeout: 20_000 });
    assert.equal(await page.title(), `logwarden ${VERSION}`);
    assert.match((await page.locator('.info .title').textContent()) ?? '', new RegExp(`^logwarden\\s*${VERSION.replace(/\./g, '\\.')}`));
    const operations = await page
      .locator('.opblock-summary')
      .evaluateAll((els) =>
        els.map((el) => `${el.querySelector('.opblock-summary-method')?.textContent} ${el.querySelector('.opblock-summary-path')?.textContent}`),
      );
    for (const op of ['GET /v2/logs', 'POST /v2/logs', 'POST /oauth2/token'])
      assert.ok(operations.includes(op), `${op} missing from ${operations.join(', ')}`);
    assert.equal(await page.locator('.info a', { hasText: 'console' }).getAttribute('href'), '../console');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('lists log entries from "Try it out" with Basic credentials, first with the values the form fills in', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/docs`);
    // Authorized with the reader's access key and secret.
    const op = await tryListLogs(page, t.readKey);
    const answer = async (): Promise<string> => {
      await op.locator('button.execute').click();
      const body = op.locator('.responses-wrapper .live-responses-table .response-col_description pre').first();
      await body.waitFor({ timeout: 20_000 });
      return (await body.textContent()) ?? '';
    };
    // logType is a list of the configured types; fromDateTime is filled in (the last 30 days);
    // toDateTime is left empty: Execute as the form stands finds yesterday's entry.
    const logType = op.locator('tr[data-param-name="logType"] select');
    const options = await logType.locator('option').allTextContents();
    for (const t of ['AccessLog', 'UserActivityLog', 'UserCallPlay', 'ExternallySharedCallAccess', 'ExternallySharedCallPlay']) {
      assert.ok(options.includes(t), `${t} in ${options.join(', ')}`);
    }
    assert.equal(await logType.inputValue(), 'AccessLog');
    const from = await op.locator('tr[data-param-name="fromDateTime"] input').inputValue();
    assert.match(from, /^\d{4}-\d{2}-\d{2}T00:00:00Z$/);
    const days = (Date.now() - Date.parse(from)) / 86_400_000;
    assert.ok(days >= 30 && days < 31, `fromDateTime ${from} is 30 days back`);
    assert.equal(await op.locator('tr[data-param-name="toDateTime"] input').inputValue(), '');
    const first = await answer();
    assert.equal(await op.locator('.live-responses-table .response .response-col_status').first().textContent(), '200', first);
    assert.match(first, /"totalRecords": 1/);
    assert.match(first, /"userId": "7"/);
    await op.locator('button.btn-clear').click();
    await op.locator('tr[data-param-name="fromDateTime"] input').fill('2026-03-01T00:00:00Z');
    await op.locator('tr[data-param-name="toDateTime"] input').fill('2026-04-01T00:00:00Z');
    const text = await answer();
    assert.match(text, /"totalRecords": 1/);
    assert.match(text, /"userId": "42"/);
    await page.close();
  });
});
