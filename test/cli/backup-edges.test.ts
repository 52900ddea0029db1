/**
 * `logwarden backup` and `restore` at their edges, on real SQLite stores: a copy that fails says
 * why and leaves nothing behind; --out is refused where it would take the place of the store's
 * own files, and as a folder.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCli, runCliProcess } from '../support/cli.ts';
import { entryTexts } from '../support/entries.ts';
import { seed, type TempDir, tempDir } from '../support/live-source.ts';

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

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

  it('refuses --out in the data directory or the witness folder, even with --force, before copying', async () => {
    const witness = join(dir.path, 'witness');
    mkdirSync(witness);
    const before = sha(join(data, 'logwarden.db'));
    const listing = readdirSync(data).sort();
    // The database itself, its write-ahead log's name, another name there; through a symbolic link to the folder too.
    symlinkSync(data, join(dir.path, 'data-link'));
    for (const out of [
      join(data, 'logwarden.db'),
      join(data, 'logwarden.db-wal'),
      join(data, 'copy.db'),
      join(dir.path, 'data-link', 'logwarden.db'),
    ]) {
      const r = await runCli(['backup', '--data-dir', data, '--out', out, '--force']);
      assert.equal(r.code, 2, `${out}: ${r.stderr}`);
      assert.match(r.stderr, /is in the store's data directory \S+: give --out a file in another folder/);
    }
    const r = await runCli(['backup', '--data-dir', data, '--out', join(witness, 'log-witness.db'), '--force'], {
      env: { LOGWARDEN_LOG_WITNESS_DIR: witness },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is in the store's witness folder \(LOGWARDEN_LOG_WITNESS_DIR\)/);
    assert.equal(sha(join(data, 'logwarden.db')), before);
    assert.deepEqual(readdirSync(data).sort(), listing);
    assert.deepEqual(readdirSync(witness), []);
  });

  it('--out a folder says so, with or without --force', async () => {
    const folder = join(dir.path, 'a-folder');
    mkdirSync(folder);
    for (const force of [[], ['--force']]) {
      const r = await runCli(['backup', '--data-dir', data, '--out', folder, ...force]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /a-folder is a folder: give --out a file name/);
    }
  });
});
