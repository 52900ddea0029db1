/**
 * The data directory holds the signing secret and every audit entry: it must be 0700 and
 * every file the store creates in it 0600, whatever the umask, on a fresh directory and after
 * a restart; an existing directory open to others is warned about at start, and looser files
 * in it are tightened.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseNdjsonLine } from '../../src/logs/ingest-parse.ts';
import { LogTypes } from '../../src/logs/log-types.ts';
import { createTenant } from '../../src/service/access-keys.ts';
import { prepareDataDir } from '../../src/store/sqlite/data-dir.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCli, startServe } from '../support/cli.ts';

const types = new LogTypes([]);
const mode = (path: string) => statSync(path).mode & 0o777;

/** Every file in `dir` with its mode, e.g. { 'logwarden.db': '600', … }. */
function modes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) out[name] = mode(join(dir, name)).toString(8);
  return out;
}

/** Runs `fn` with the process umask set to `mask`. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const saved = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(saved);
  }
}

/** Opens the store, writes (creating -wal and -shm), seals the entries and checks every mode while open. */
async function useStore(dataDir: string, round: number): Promise<Record<string, string>> {
  const store = openSqliteStore({ dataDir, sealAgeMs: 0, sealIntervalMs: 5 });
  try {
    const tenant = (await store.listTenants())[0] ?? (await createTenant(store, 'perm'));
    const entries = Array.from({ length: 10 }, (_, i) =>
      parseNdjsonLine(
        `{"logType":"AccessLog","eventTime":"2026-01-01T00:00:${String(i).padStart(2, '0')}Z","logRecord":{"round":${round}}}`,
        i + 1,
        types,
      ),
    );
    await store.append(tenant.id, entries);
    await store.settle();
    return modes(dataDir);
  } finally {
    await store.close();
  }
}

describe('SQLite data directory permissions', () => {
  const root = mkdtempSync(join(tmpdir(), 'logwarden-perm-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  for (const mask of [0o022, 0o000]) {
    it(`umask ${mask.toString(8).padStart(3, '0')}: directory 0700 and every file 0600, fresh and after a restart`, async () => {
      const dataDir = join(root, `fresh-${mask}`, 'data');
      await withUmask(mask, async () => {
        const open = await useStore(dataDir, 1);
        assert.ok('logwarden.db' in open && 'logwarden.db-wal' in open && 'logwarden.db-shm' in open, JSON.stringify(open));
        for (const [name, m] of Object.entries(open)) assert.equal(m, '600', `${name} while open: ${m}`);
        assert.equal(mode(dataDir), 0o700);
        // A restart: the WAL is removed on close and created again on the next open.
        const again = await useStore(dataDir, 2);
        assert.ok('logwarden.db-wal' in again, JSON.stringify(again));
        for (const [name, m] of Object.entries(again)) assert.equal(m, '600', `${name} after a restart: ${m}`);
        assert.equal(mode(dataDir), 0o700);
      });
    });
  }

  it('serve under umask 000 creates an owner-only data directory', async () => {
    const dataDir = join(root, 'serve-000');
    const server = await withUmask(0, () => startServe(['--data-dir', dataDir, '--port', '0'], { LOGWARDEN_LOG_LEVEL: 'silent' }));
    try {
      assert.equal(mode(dataDir), 0o700);
      for (const [name, m] of Object.entries(modes(dataDir))) assert.equal(m, '600', `${name}: ${m}`);
      assert.doesNotMatch(server.stderr(), /warning/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('warns at start about an existing directory open to others and tightens looser files', async () => {
    const dataDir = join(root, 'loose');
    mkdirSync(dataDir);
    chmodSync(dataDir, 0o755);
    await useStore(dataDir, 1);
    chmodSync(join(dataDir, 'logwarden.db'), 0o644);
    writeFileSync(join(dataDir, 'NOTES.txt'), "not the store's");
    chmodSync(join(dataDir, 'NOTES.txt'), 0o644);

    const server = await startServe(['--data-dir', dataDir, '--port', '0'], { LOGWARDEN_LOG_LEVEL: 'silent' });
    try {
      const err = server.stderr();
      assert.match(err, new RegExp(`warning: the data directory ${dataDir} is open to other users \\(mode 0755\\)`));
      assert.match(err, /chmod 700/);
      assert.match(err, /readable by their owner only: .*logwarden\.db \(was 0644\)/);
      const { 'NOTES.txt': notes, ...store } = modes(dataDir);
      for (const [name, m] of Object.entries(store)) assert.equal(m, '600', `${name}: ${m}`);
      assert.equal(notes, '644', 'a file that is not the store’s is left alone');
      assert.equal(mode(dataDir), 0o755, 'the operator’s directory is left as it is');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }

    // Every command that opens the store says so; once restricted, nothing is said.
    const listed = await runCli(['tenants', 'list', '--data-dir', dataDir]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stderr, /is open to other users \(mode 0755\)/);
    chmodSync(dataDir, 0o700);
    const quiet = await runCli(['tenants', 'list', '--data-dir', dataDir]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.doesNotMatch(quiet.stderr, /warning/);
  });

  it('says nothing of a companion file another process removed while the directory was read', async () => {
    // Another command closing the store deletes its -wal and -shm (SQLite does, on the last
    // close) while this one lists the directory: a file gone is nothing to tighten.
    const dataDir = join(root, 'vanishing');
    mkdirSync(dataDir, { mode: 0o700 });
    await useStore(dataDir, 1);
    const shm = join(dataDir, 'logwarden.db-shm');
    const toggler = spawn(
      process.execPath,
      ['-e', `const fs=require('fs');const p=${JSON.stringify(shm)};for(;;){try{fs.writeFileSync(p,'',{mode:0o600});fs.unlinkSync(p)}catch{}}`],
      { stdio: 'ignore' },
    );
    try {
      const warnings: string[] = [];
      for (let i = 0; i < 2000; i++) prepareDataDir(dataDir, 'logwarden.db', ['log-witness.db'], (m) => warnings.push(m));
      assert.deepEqual(warnings.slice(0, 3), []);
    } finally {
      toggler.kill('SIGKILL');
      await once(toggler, 'exit');
    }
  });
});
