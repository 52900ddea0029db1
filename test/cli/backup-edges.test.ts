/**
 * `logwarden backup` and `restore` at their edges, on real SQLite stores: a copy that fails says
 * why and leaves nothing behind; --out is refused where it would take the place of the store's
 * own files, and as a folder; Ctrl-C mid-copy leaves nothing, and what kill -9 leaves the next
 * backup removes; without hard links the copy is renamed into place, never over a file. A
 * restore holds the store across its swap.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { placeBackup } from '../../src/cli/backup.ts';
import { backupStaging, restoreBackupFile } from '../../src/store/sqlite/backup-file.ts';
import { holdExclusively } from '../../src/store/sqlite/exclusive.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT, runCli, runCliProcess } from '../support/cli.ts';
import { entryTexts } from '../support/entries.ts';
import { seed, type TempDir, tempDir } from '../support/live-source.ts';

interface Ended {
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `logwarden args` while this process holds the store of `data` exclusively, so that the
 * command waits for it; once a temporary folder in `folder` holds `file`, calls `act`
 * with the process, lets the store go, and resolves when the process has ended.
 */
async function whileHeld(data: string, args: string[], folder: string, file: string, act: (child: ChildProcess) => void): Promise<Ended> {
  const db = new Database(join(data, 'logwarden.db'));
  holdExclusively(db);
  try {
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    // The temporary folder holds the copy being written (its lock taken before).
    while (!readdirSync(folder).some((n) => n.startsWith('.') && existsSync(join(folder, n, file)))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    act(child);
    return { signal: await ended, stderr };
  } finally {
    db.close();
  }
}

/** A link step that fails as on a file system without hard links (or with another error). */
const noLinks = (code: string) => () => {
  throw Object.assign(new Error(`${code}: link`), { code });
};

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

  /** A data directory `name` whose store holds one tenant, and a backup of `data` to restore into it. */
  async function restoreCase(name: string, tenantId: string, tenantName: string): Promise<{ into: string; backup: string }> {
    const into = join(dir.path, name);
    const store = openSqliteStore({ dataDir: into });
    await store.createTenant({ id: tenantId, name: tenantName });
    await store.close();
    const backup = join(dir.path, `${name}.db`);
    assert.equal((await runCli(['backup', '--data-dir', data, '--out', backup])).code, 0);
    return { into, backup };
  }

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

  it('Ctrl-C or SIGTERM mid-copy removes the temporary folder and says no backup was written', async () => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const folder = join(dir.path, `interrupted-${signal}`);
      mkdirSync(folder);
      const out = join(folder, 'copy.db');
      const r = await whileHeld(data, ['backup', '--data-dir', data, '--out', out], folder, 'copy.db', (child) => child.kill(signal));
      assert.equal(r.signal, signal, r.stderr);
      assert.match(r.stderr, /logwarden: interrupted: no backup was written \(\S+copy\.db is as it was\)\n$/);
      assert.deepEqual(readdirSync(folder), []);
    }
  });

  it('the temporary folder of a backup killed outright is removed by the next backup into that folder; a running one is not', async () => {
    const folder = join(dir.path, 'killed');
    mkdirSync(folder);
    const r = await whileHeld(data, ['backup', '--data-dir', data, '--out', join(folder, 'monday.db')], folder, 'monday.db', (child) =>
      child.kill('SIGKILL'),
    );
    assert.equal(r.signal, 'SIGKILL');
    const [left] = readdirSync(folder);
    assert.match(left ?? '', /^\.monday\.db\.backup-\w{6}$/);
    // Beside it: the folder of a backup running now (this process holds its lock), and one without a lock (made otherwise).
    const running = backupStaging(folder, 'running.db');
    mkdirSync(join(folder, '.other.db.backup-abcdef'));
    try {
      const next = await runCli(['backup', '--data-dir', data, '--out', join(folder, 'tuesday.db')]);
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(readdirSync(folder).sort(), ['.other.db.backup-abcdef', basename(running.path), 'tuesday.db'].sort());
    } finally {
      running.remove();
    }
  });

  it('where the file system has no hard links, the copy is renamed into place, still never over a file without --force', () => {
    const folder = join(dir.path, 'no-links');
    mkdirSync(folder);
    const staged = join(folder, 'staged');
    const out = join(folder, 'backup.db');
    for (const code of ['EPERM', 'ENOTSUP', 'EXDEV']) {
      writeFileSync(staged, `copy ${code}`);
      placeBackup(staged, out, false, noLinks(code));
      assert.equal(readFileSync(out, 'utf8'), `copy ${code}`);
      assert.ok(!existsSync(staged));
      // A file in the way is kept, and so is the copy.
      writeFileSync(staged, 'newer');
      assert.throws(() => placeBackup(staged, out, false, noLinks(code)), /backup\.db exists: give another --out, or --force to replace it/);
      assert.equal(readFileSync(out, 'utf8'), `copy ${code}`);
      assert.equal(readFileSync(staged, 'utf8'), 'newer');
      rmSync(out);
    }
    // A dangling symbolic link is in the way too.
    symlinkSync(join(folder, 'nowhere'), out);
    assert.throws(() => placeBackup(staged, out, false, noLinks('EPERM')), /exists/);
    rmSync(out);
    // Any other failure of the link is said, and nothing is renamed.
    assert.throws(
      () => placeBackup(staged, out, false, noLinks('EACCES')),
      /cannot write to \S+backup\.db \(permission denied\); no backup was written/,
    );
    assert.ok(!existsSync(out));
  });

  it('restore holds the store from its check of who has it open until the backup is in its place', async () => {
    const { into, backup } = await restoreCase('restore-into', '666666666666666666', 'Replaced');
    const target = join(into, 'logwarden.db');
    const tenantsOf = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        return db.prepare<[], string>('SELECT name FROM tenants').pluck().all();
      } finally {
        db.close();
      }
    };
    for (const link of [linkSync, noLinks('EPERM')]) {
      let swapped = 0;
      const { replaced } = await restoreBackupFile(
        into,
        backup,
        Date.now(),
        async () => undefined,
        (from, to) => {
          // At the swap, a process opening the store (a server starting) can read nothing.
          const opener = new Database(target, { timeout: 0 });
          try {
            assert.throws(() => opener.prepare('SELECT count(*) FROM tenants').get(), { code: 'SQLITE_BUSY' });
          } finally {
            opener.close();
          }
          swapped++;
          link(from, to);
        },
      );
      assert.equal(swapped, 1);
      assert.deepEqual(tenantsOf(target), ['Edges']);
      assert.deepEqual(tenantsOf(replaced!), link === linkSync ? ['Replaced'] : ['Edges']);
      assert.ok(!existsSync(`${target}-wal`));
    }
  });

  it('the temporary folder of a restore killed outright is removed by the next restore into that data directory', async () => {
    const { into, backup } = await restoreCase('restore-killed', '777777777777777777', 'Before');
    // Its copy made, the restore waits for the store this process holds, and is killed.
    const r = await whileHeld(into, ['restore', backup, '--data-dir', into], into, 'logwarden.db', (child) => child.kill('SIGKILL'));
    assert.equal(r.signal, 'SIGKILL');
    assert.equal(readdirSync(into).filter((n) => n.startsWith('.restore-')).length, 1);
    const again = await runCli(['restore', backup, '--data-dir', into]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      readdirSync(into).filter((n) => n.startsWith('.')),
      [],
    );
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
