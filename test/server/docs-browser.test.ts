/**
 * `/docs` as a browser shows it: the interactive API reference loads under its content security
 * policy, lists every operation, and can call `GET /v2/logs` with the reader's credentials.
 * Needs Chromium (`apt-get install chromium`); skipped with a reason where it is missing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.ts';
import { unavailable } from '../support/services.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? undefined : unavailable(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);

describe('/docs in a browser', { skip }, () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;

  before(async () => {
    t = await startTestApp();
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const entries = [{ userId: '42', eventTime: '2026-03-01T10:00:00.000Z', logRecord: { method: 'GET', status: 200 } }];
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
    await page.goto(`${url}/docs`);
    await page.locator('.opblock-summary-path', { hasText: '/oauth2/token' }).waitFor({ timeout: 20_000 });
    const operations = await page.locator('.opblock-summary').evaluateAll((els) =>
      els.map((el) => `${el.querySelector('.opblock-summary-method')?.textContent} ${el.querySelector('.opblock-summary-path')?.textContent}`),
    );
    for (const op of ['GET /v2/logs', 'POST /v2/logs', 'POST /oauth2/token']) assert.ok(operations.includes(op), `${op} missing from ${operations.join(', ')}`);
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('lists log entries from "Try it out" with Basic credentials', async () => {
    const page = await browser.newPage();
    await page.goto(`${url}/docs`);
    // Authorize with the reader's access key and secret.
    await page.locator('button.authorize').first().click();
    const basic = page.locator('.auth-container', { hasText: 'basic' });
    await basic.locator('input[type=text]').fill(t.readKey.accessKey);
    await basic.locator('input[type=password]').fill(t.readKey.secret);
    await basic.locator('button.authorize').click();
    await page.locator('button.btn-done').first().click();

    const op = page.locator('.opblock-get', { hasText: '/v2/logs' });
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    const answer = async (): Promise<string> => {
      await op.locator('button.execute').click();
      const body = op.locator('.responses-wrapper .live-responses-table .response-col_description pre').first();
      await body.waitFor({ timeout: 20_000 });
      return (await body.textContent()) ?? '';
    };
    // The bounds the form fills in make a valid query (of a range with no entries here).
    await op.locator('tr[data-param-name="logType"] input').fill('AccessLog');
    assert.match(await answer(), /No log records found corresponding to the provided log type and time range/);
    await op.locator('button.btn-clear').click();
    await op.locator('tr[data-param-name="fromDateTime"] input').fill('2026-03-01T00:00:00Z');
    await op.locator('tr[data-param-name="toDateTime"] input').fill('2026-04-01T00:00:00Z');
    const text = await answer();
    assert.match(text, /"totalRecords": 1/);
    assert.match(text, /"userId": "42"/);
    await page.close();
  });
});
