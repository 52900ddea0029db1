/**
 * The opt-in leaf-index header on a page whose entries are not all in the verifiable log yet
 * (entries stored before the store kept a tree get their leaves while an upgrade builds it):
 * the page is served as ever and the header is left out, rather than the page failing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';

describe('X-Logwarden-Leaf-Index on entries without a leaf yet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logwarden-leafless-'));
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ store: openSqliteStore({ dataDir: dir }) });
  });
  after(async () => {
    await t.close();
    await t.store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page unchanged and leaves the header out', async () => {
    const entries = [1, 2, 3].map((i) => ({ userId: `u${i}`, eventTime: `2026-01-01T00:00:0${i}Z`, logRecord: { i } }));
    assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
    const query = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' };
    const withLeaves = await t.inject({
      method: 'GET',
      url: '/v2/logs',
      query,
      headers: { authorization: basic(t.key), 'x-logwarden-leaf-index': '1' },
    });
    assert.equal(withLeaves.headers['x-logwarden-leaf-index'], '0,1,2');
    // The entries lose their place in the tree, as entries written before the tree had none.
    const db = new Database(join(dir, DATABASE_FILE));
    db.prepare('DELETE FROM tree_runs').run();
    db.close();
    const plain = await t.list(query);
    const leafless = await t.inject({
      method: 'GET',
      url: '/v2/logs',
      query,
      headers: { authorization: basic(t.key), 'x-logwarden-leaf-index': '1' },
    });
    assert.equal(leafless.statusCode, 200, leafless.body);
    assert.equal(leafless.headers['x-logwarden-leaf-index'], undefined);
    const strip = (s: string) => s.replace(/"requestId":"[0-9a-z]+"/, '');
    assert.equal(strip(leafless.body), strip(plain.body));
  });
});
