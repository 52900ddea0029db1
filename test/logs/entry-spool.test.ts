import assert from 'node:assert/strict';
import { fstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { LogwardenError } from '../../src/errors.ts';
import { entryKey, type NewEntry } from '../../src/logs/entry.ts';
import { EntrySpool } from '../../src/logs/entry-spool.ts';

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
