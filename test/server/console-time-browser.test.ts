/**
 * The console's times where the clocks change, in a real browser (Chromium driven by
 * playwright-core) in a time zone of its own: a local time the clocks showed twice is chosen by
 * its offset, a link's range is read by the strict parser of its bounds (a bad one said so), and
 * day bars of the histogram run from local midnight to local midnight in a zone off the whole hour.
 * Needs Chromium at /usr/bin/chromium; skipped with a reason where it is missing.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page, type Route } from 'playwright-core';
import { startTestApp, type TestApp } from '../support/app.ts';
import { unavailable } from '../support/services.ts';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? undefined : unavailable(`Chromium not found at ${CHROMIUM} (apt-get install chromium)`);
const TYPE = 'ExternallySharedCallPlay';

describe('console times in a browser', { skip }, () => {
  let t: TestApp;
  let url: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const problems: string[] = [];

  const onlyThisServer = (route: Route) => (route.request().url().startsWith(url) ? route.continue() : route.abort()).catch(() => undefined);
  const status = () => page.locator('p.status');
  const hashOf = (name: string) => new URLSearchParams(new URL(page.url()).hash.slice(1)).get(name);

  /** Waits until `check` holds (asked every 50 ms, for up to 5 s). */
  async function until(check: () => boolean): Promise<void> {
    for (const end = performance.now() + 5000; !check(); await new Promise((r) => setTimeout(r, 50)))
      if (performance.now() > end) throw new Error(`timed out waiting for ${check}`);
  }

  /** Opens `hash` as a new document, signing in when the tab holds no session yet. */
  async function open(hash: string): Promise<void> {
    await page.goto('about:blank');
    await page.goto(`${url}/console${hash}`);
    const signIn = page.getByLabel('Access key');
    const tab = page.getByRole('tab', { name: TYPE });
    await Promise.race([signIn.waitFor(), tab.waitFor()]);
    if (await signIn.isVisible()) {
      await signIn.fill(t.readKey.accessKey);
      await page.getByLabel('Secret').fill(t.readKey.secret);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await tab.waitFor();
    }
  }

  before(async () => {
    t = await startTestApp();
    url = await t.app.listen({ port: 0, host: '127.0.0.1' });
    // Kathmandu (+05:45): 5 entries before midnight of June 2 and 3 after, in one UTC hour (18:00).
    const kathmandu = [...Array(5).fill('2026-06-02T18:05:00.000Z'), ...Array(3).fill('2026-06-02T18:20:00.000Z')];
    assert.equal(
      (
        await t.ingest(
          'UserCallPlay',
          kathmandu.map((eventTime, i) => ({ eventTime, logRecord: { callId: String(i) } })),
        )
      ).statusCode,
      201,
    );
    // New York, 2026-11-01: 01:40 the first time (EDT, -04:00), and the second (EST, -05:00).
    const entries = ['2026-11-01T05:40:00.000Z', '2026-11-01T06:40:00.000Z'].map((eventTime, i) => ({ eventTime, logRecord: { viewer: `v${i}` } }));
    assert.equal((await t.ingest(TYPE, entries)).statusCode, 201);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ timezoneId: 'America/New_York', viewport: { width: 1280, height: 800 } });
    await context.route('**/*', onlyThisServer);
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('offers both readings of a local time the clocks showed twice, by offset, and reads the one chosen', async () => {
    // A link may give its bounds with an offset: 01:30 -05:00 is the second 01:30.
    await open(`#type=${TYPE}&range=custom&from=2026-11-01T01%3A30%3A00.000-05%3A00&to=2026-11-01T07%3A00%3A00.000Z`);
    await status()
      .filter({ hasText: /^1 of 1 entries loaded/ })
      .waitFor();
    assert.equal(hashOf('from'), '2026-11-01T06:30:00.000Z');
    const from = page.getByLabel('From', { exact: true });
    assert.equal(await from.inputValue(), '2026-11-01T01:30');
    const which = page.getByRole('combobox', { name: /^From 01:30 is/ });
    assert.deepEqual(await which.locator('option').allTextContents(), ['the first (-04:00)', 'the second (-05:00)']);
    assert.equal(await which.inputValue(), 'second', 'the link named the second');
    assert.equal(await page.getByRole('combobox', { name: /^To .* is/ }).count(), 0, '02:00 is shown once');

    await which.selectOption('first');
    await page.getByRole('button', { name: 'Apply' }).click();
    await status()
      .filter({ hasText: /^2 of 2 entries loaded/ })
      .waitFor();
    assert.equal(hashOf('from'), '2026-11-01T05:30:00.000Z');
    assert.equal(await page.locator('p.error[role=alert]').count(), 0, 'a choice made is not an error');

    await which.selectOption('second');
    await page.getByRole('button', { name: 'Apply' }).click();
    await status()
      .filter({ hasText: /^1 of 1 entries loaded/ })
      .waitFor();
    assert.equal(hashOf('from'), '2026-11-01T06:30:00.000Z');

    // Shown in UTC and back, the second stays chosen.
    await page.getByLabel('Times in UTC').check();
    assert.equal(await from.inputValue(), '2026-11-01T06:30');
    assert.equal(await which.count(), 0);
    await page.getByLabel('Times in UTC').uncheck();
    assert.equal(await from.inputValue(), '2026-11-01T01:30');
    assert.equal(await which.inputValue(), 'second');
    assert.deepEqual(problems, []);
  });

  it("reads a link's range with the strict parser of its bounds, and says what is wrong with a bad one", async () => {
    const alert = page.locator('p.error[role=alert]');
    for (const [from, said] of [
      ['2026-02-30T00%3A00%3A00.000Z', 'its from, "2026-02-30T00:00:00.000Z", is not a date and time such as 2026-03-01T10:00:00.000Z'],
      ['March%201%2C%202026', 'its from, "March 1, 2026", is not a date and time'],
      ['2026-11-01T01%3A30', 'its from, "2026-11-01T01:30", is not a date and time'],
    ] as const) {
      await open(`#type=${TYPE}&range=custom&from=${from}&to=2026-11-02T00%3A00%3A00.000Z&entry=0`);
      await alert.filter({ hasText: `The link's time range was not used: ${said}` }).waitFor();
      assert.match((await alert.textContent()) ?? '', /The last 24 hours are shown\.$/);
      assert.equal(await page.getByLabel('Time range').inputValue(), '24h');
      assert.equal(await page.locator('aside').count(), 0, 'no entry of another range is opened');
    }
    // The same for a link followed in the open page.
    await page.evaluate(`location.hash = '#type=${TYPE}&range=custom&from=2026-11-01T05%3A00%3A00.000Z&to=2026-11-01T05%3A00%3A00.000Z'`);
    await alert.filter({ hasText: "The link's time range was not used: its from, 2026-11-01T05:00:00.000Z, is not before its to" }).waitFor();
    // A bound with an offset names its instant: the link is written again in UTC.
    await page.evaluate(`location.hash = '#type=${TYPE}&range=custom&from=2026-11-01T00%3A00%3A00.000-05%3A00&to=2026-11-01T07%3A00%3A00.000Z'`);
    await status()
      .filter({ hasText: /^2 of 2 entries loaded/ })
      .waitFor();
    assert.equal(await alert.count(), 0);
    await until(() => hashOf('from') === '2026-11-01T05:00:00.000Z');
    assert.deepEqual(problems, []);
  });

  it('draws day bars from local midnight to local midnight in a zone off the whole hour', async () => {
    const east = await browser.newContext({ timezoneId: 'Asia/Kathmandu', viewport: { width: 1280, height: 800 } });
    await east.route('**/*', onlyThisServer);
    const p = await east.newPage();
    p.on('pageerror', (e) => problems.push(e.message));
    try {
      await p.goto(
        `${url}/console#type=UserCallPlay&range=custom&from=2026-06-01T00%3A00%3A00.000%2B05%3A45&to=2026-06-06T00%3A00%3A00.000%2B05%3A45`,
      );
      await p.getByLabel('Access key').fill(t.readKey.accessKey);
      await p.getByLabel('Secret').fill(t.readKey.secret);
      await p.getByRole('button', { name: 'Sign in' }).click();
      const chart = p.locator('figure.histogram');
      await chart.waitFor();
      const days = () => chart.locator('rect title').allTextContents();
      assert.deepEqual(await days(), ['2026-06-01: 0', '2026-06-02: 5', '2026-06-03: 3', '2026-06-04: 0', '2026-06-05: 0']);
      const said = (await chart.locator('svg').getAttribute('aria-label')) ?? '';
      assert.match(said, /^Entries per day: 8 in all; the most, 5, in the day of 2026-06-02[;.]/);
      // In UTC the hour is all on June 2; back in local time, cut at midnight again.
      await p.getByLabel('Times in UTC').check();
      await chart.locator('rect title', { hasText: '2026-06-02: 8' }).waitFor({ state: 'attached' });
      await p.getByLabel('Times in UTC').uncheck();
      await chart.locator('rect title', { hasText: '2026-06-03: 3' }).waitFor({ state: 'attached' });
      assert.deepEqual(problems, []);
    } finally {
      await east.close();
    }
  });
});
