/**
 * `logwarden copy`: a target that cannot be opened is explained with the options that name the
 * target (--to-database-url, --to-data-dir), not with the source's --database-url or --data-dir.
 * A store a copy holds is refused to other commands saying so.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCli } from '../support/cli.ts';
import { freePort } from '../support/services.ts';

describe('logwarden copy, a target that cannot be opened', () => {
  let dir: string;
  let source: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-copy-target-'));
    source = join(dir, 'source');
    const store = openSqliteStore({ dataDir: source });
    await store.createTenant({ id: '7', name: 'Acme' });
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names --to-database-url when no PostgreSQL server answers there', async () => {
    const port = await freePort();
    const r = await runCli(['copy', '--data-dir', source, '--to-database-url', `postgres://logwarden@127.0.0.1:${port}/logwarden`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`no PostgreSQL server answers at 127\\.0\\.0\\.1:${port}.*check --to-database-url\\n`));
    assert.doesNotMatch(r.stderr, /LOGWARDEN_DATABASE_URL|check --database-url/);
  });

  it('names --to-data-dir when the target directory is a file', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const r = await runCli(['copy', '--data-dir', source, '--to-data-dir', file]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /is a file, not a directory; use --to-data-dir to choose another directory/);
    assert.doesNotMatch(r.stderr, /LOGWARDEN_DATA_DIR|use --data-dir/);
  });
});

describe('a store held by logwarden copy', () => {
  it('is refused to another command with what holds it, not "database is locked"', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-copy-held-'));
    try {
      const store = openSqliteStore({ dataDir: dir });
      await store.createTenant({ id: '7', name: 'Acme' });
      const held = await store.exportAll();
      try {
        const r = await runCli(['tenants', 'list', '--data-dir', dir]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /logwarden\.db is held by another process.*`logwarden copy` holds the store it copies until the copy ends/);
      } finally {
        await held.close();
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
