/**
 * `logwarden backup` and `restore` at their edges, on real SQLite stores: a copy that fails says
 * why and leaves nothing behind.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCliProcess } from '../support/cli.ts';
import { entryTexts } from '../support/entries.ts';
import { seed, type TempDir, tempDir } from '../support/live-source.ts';

describe('logwarden backup at its edges', () => {
  let dir: TempDir;
  let data: string;

  before(async () => {
    dir = tempDir('logwarden-backup-edges-');
    data = join(dir.path, 'data');
    const store = openSqliteStore({ dataDir: data });
    await store.createTenant({ id: '555555555555555555', name: 'Edges' });
    await seed(store, '555555555555555555', 'AccessLog', entryTexts('AccessLog', 400, Date.parse('2026-05-01T00:00:00Z')));
    await store.close();
  });

  after(() => dir.remove());

  it('a copy cut short by the file system says why (not "undefined") and leaves nothing', async () => {
    const out = join(dir.path, 'limited', 'copy.db');
    // Files of at most 64 KiB (RLIMIT_FSIZE counts 512-byte blocks in sh): the copy's writes fail.
    const limited = ['sh', '-c', 'mkdir -p "$0" && ulimit -f 128 && exec "$@"', join(dir.path, 'limited')];
    const r = await runCliProcess(['backup', '--data-dir', data, '--out', out], { as: limited });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^logwarden: cannot write to \S+copy\.db \(disk I\/O error\); no backup was written\n$/);
    assert.deepEqual(readdirSync(join(dir.path, 'limited')), []);
  });
});
