/** Steps on the /docs page (Swagger UI) that browser tests share. */
import type { Locator, Page } from 'playwright-core';

/**
 * Authorizes the page with an access key and secret (Basic), then opens the list operation
 * (`GET /v2/logs` itself, not the extensions under it) with "Try it out" on; returns that
 * operation's block, whose Execute button sends the request.
 */
export async function tryListLogs(page: Page, key: { accessKey: string; secret: string }): Promise<Locator> {
  await page.locator('button.authorize').first().click();
  const basic = page.locator('.auth-container', { hasText: 'basic' });
  await basic.locator('input[type=text]').fill(key.accessKey);
  await basic.locator('input[type=password]').fill(key.secret);
  await basic.locator('button.authorize').click();
  await page.locator('button.btn-done').first().click();
  const op = page.locator('.opblock-get').filter({ has: page.locator('.opblock-summary-path', { hasText: /^\/v2\/logs$/ }) });
  await op.locator('.opblock-summary').click();
  await op.locator('button.try-out__btn').click();
  return op;
}
