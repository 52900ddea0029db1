/**
 * `/console` without a browser: the page, its script and stylesheet come from this server
 * only (the policy allows nothing else), gzipped when asked, revalidated by ETag, and the
 * bundle stays under the 150 KB gzipped the console is allowed
 * (test/server/console-browser.test.ts drives it in Chromium).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startTestApp, type TestApp } from '../support/app.ts';

describe('/console', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('serves the page under a policy that admits this server only', async () => {
    const r = await t.inject({ method: 'GET', url: '/console' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    const csp = String(r.headers['content-security-policy']);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.match(csp, /connect-src 'self';/);
    assert.doesNotMatch(r.body, /https?:\/\//, 'no CDN, nothing from elsewhere');
    assert.match(r.body, /<script type="module" src="console\/console\.js">/);
  });

  it('serves the bundle gzipped when asked, revalidates by ETag, and keeps it under 150 KB gzipped', async () => {
    let gzipped = 0;
    for (const [file, type] of [
      ['console.js', /^text\/javascript/],
      ['console.css', /^text\/css/],
    ] as const) {
      const plain = await t.inject({ method: 'GET', url: `/console/${file}` });
      assert.equal(plain.statusCode, 200);
      assert.match(String(plain.headers['content-type']), type);
      assert.equal(plain.headers['content-encoding'], undefined);
      const zipped = await t.inject({ method: 'GET', url: `/console/${file}`, headers: { 'accept-encoding': 'gzip, br' } });
      assert.equal(zipped.headers['content-encoding'], 'gzip');
      assert.deepEqual(gunzipSync(zipped.rawPayload), plain.rawPayload);
      gzipped += zipped.rawPayload.length;
      const again = await t.inject({ method: 'GET', url: `/console/${file}`, headers: { 'if-none-match': String(plain.headers.etag) } });
      assert.equal(again.statusCode, 304);
    }
    assert.ok(gzipped < 150 * 1024, `bundle is ${gzipped} bytes gzipped`);
    console.log(`# console bundle: ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  });
});
