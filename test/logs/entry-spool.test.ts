import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LogwardenError } from '../../src/errors.ts';
import { entryKey, type NewEntry } from '../../src/logs/entry.ts';
import { EntrySpool } from '../../src/logs/entry-spool.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';

function make(i: number): NewEntry {
  const body = `{"userFullName":"Zoë ${i} 👩‍💻","eventTime":"2026-01-01T00:00:00.000Z","logRecord":{"i":${i},"pad":"${'é'.repeat(i % 700)}"}}`;
  return { logType: i % 2 ? 'AccessLog' : 'UserCallPlay', eventTimeMs: 1_767_225_600_000 + i, body, key: entryKey('AccessLog', body) };
}

describe('EntrySpool', () => {
  it('gives back every entry in order from memory', () => {
    const spool = new EntrySpool();
    const all = Array.from({ length: 100 }, (_, i) => make(i));
    for (const e of all) spool.push(e);
    assert.deepEqual([...spool.entries()], all);
    spool.dispose();
  });

  it('spills to a temporary file past its memory budget and reads back identical entries, multi-byte text intact', () => {
    const spool = new EntrySpool(10_000);
    const all = Array.from({ length: 5000 }, (_, i) => make(i));
    for (const e of all) spool.push(e);
    const fd = (spool as unknown as { fd?: number }).fd;
    assert.ok(fd !== undefined && fstatSync(fd).size > 0, 'spilled to disk');
    const back = [...spool.entries()];
    assert.equal(back.length, all.length);
    for (let i = 0; i < all.length; i++) assert.deepEqual(back[i], all[i]);
    spool.dispose();
  });

  it('counts what an entry held in memory keeps alive: the line it came from, when longer than its text', () => {
    // Small entries of lines padded with a kilobyte and more of blanks: their text is small, the lines are not.
    const spool = new EntrySpool(64 * 1024);
    const all = Array.from({ length: 40 }, (_, i) => make(i % 5));
    for (const e of all) spool.push(e, e.body.length + 1_500);
    const fd = (spool as unknown as { fd?: number }).fd;
    assert.ok(fd !== undefined, 'spilled: 40 lines of over 1.5 KB, two bytes a character, pass 64 KiB');
    assert.deepEqual([...spool.entries()], all);
    spool.dispose();
    // The same entries from lines no longer than they are stay in memory.
    const small = new EntrySpool(64 * 1024);
    for (const e of all) small.push(e, e.body.length);
    assert.equal((small as unknown as { fd?: number }).fd, undefined);
    small.dispose();
  });

  it('keeps the spilled file unlinked and owner-only from the start: nothing on disk outlives the process', () => {
    // A temporary directory of its own, so that no other process's files count.
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-spool-test-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    const spool = new EntrySpool(10_000);
    try {
      for (let i = 0; i < 2000; i++) spool.push(make(i));
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    const fd = (spool as unknown as { fd?: number }).fd;
    assert.ok(fd !== undefined, 'spilled');
    const st = fstatSync(fd);
    assert.equal(st.nlink, 0, 'no name links to the spool file');
    assert.equal(st.mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), [], 'nothing left in the temporary directory');
    assert.equal([...spool.entries()].length, 2000);
    spool.dispose();
    rmSync(dir, { recursive: true });
  });

  it('never gives back fewer entries than it took, nor two run together, when a write to its file is cut short (a file size limit)', () => {
    // A child under a file size limit of 1.5 MiB: the first flush (1 MiB) goes whole, the last is
    // cut short by the limit, without an error for the bytes it took (Node ignores SIGXFSZ).
    const script = `
      const { EntrySpool } = await import(${JSON.stringify(pathToFileURL(runnable(new URL('../../src/logs/entry-spool.ts', import.meta.url))).href)});
      const spool = new EntrySpool(10_000);
      const body = (i) => JSON.stringify({ eventTime: '2026-01-01T00:00:00.000Z', logRecord: { i, pad: 'x'.repeat(900) } });
      let pushed = 0;
      let out;
      try {
        for (let i = 0; i < 1900; i++, pushed++) spool.push({ logType: 'AccessLog', eventTimeMs: i, body: body(i), key: Buffer.alloc(32, i % 256) });
        let n = 0;
        for (const e of spool.entries()) if (e.body === body(n)) n++;
        out = { pushed, read: n };
      } catch (err) {
        out = { pushed, error: err.code ?? err.message };
      }
      process.stdout.write(JSON.stringify(out));
    `;
    const r = spawnSync('prlimit', [`--fsize=${1.5 * 1024 * 1024}`, process.execPath, ...LOADER_ARGS, '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { pushed: number; read?: number; error?: string };
    assert.equal(out.pushed, 1900, 'every entry pushed: the limit is met only by the last write');
    assert.equal(out.read, undefined, `read back ${out.read} of ${out.pushed} entries without an error`);
    assert.equal(out.error, 'EFBIG');
  });

  it('refuses with a 503 that says why, when the temporary directory has gone since start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-spool-test-'));
    rmSync(dir, { recursive: true });
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    const spool = new EntrySpool(10_000);
    try {
      assert.throws(
        () => {
          for (let i = 0; i < 2000; i++) spool.push(make(i));
        },
        (err: unknown) =>
          err instanceof LogwardenError &&
          err.code === 'unavailable' &&
          /^cannot spool a large request: the server's temporary directory cannot be written \(ENOENT\); nothing was stored; retry later$/.test(
            err.messages[0]!,
          ),
      );
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      spool.dispose();
    }
  });
});
