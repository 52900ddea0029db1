import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
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
    const dir = (spool as unknown as { dir?: string }).dir;
    assert.ok(dir && existsSync(dir), 'spilled to disk');
    const back = [...spool.entries()];
    assert.equal(back.length, all.length);
    for (let i = 0; i < all.length; i++) assert.deepEqual(back[i], all[i]);
    spool.dispose();
    assert.ok(!existsSync(dir!), 'temporary file removed');
  });
});
