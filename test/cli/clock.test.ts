import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { runCliInProcess } from '../support/cli.ts';

const inProcess = (args: string[], now: number) => runCliInProcess(args, { now: () => now });

describe('the CLI clock', () => {
  let dir: string;
  const tenant = '5151515151';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-clock-'));
    const store = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: tenant, name: 'Clocked' });
    await store.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("counts seed's default --until from the injected clock, not the wall clock", async () => {
    const now = Date.parse('2025-07-04T12:34:56.789Z');
    const args = ['seed', '--tenant', tenant, '--entries', '50', '--days', '1', '--data-dir', dir, '--json'];
    const r = await inProcess(args, now);
    assert.equal(r.code, 0);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.to, '2025-07-04T12:34:56.789Z');
    assert.equal(summary.from, '2025-07-03T12:34:56.789Z');
    assert.equal(summary.stored, 50);
    // The same clock again: the deterministic generator gives the same entries, all duplicates.
    const again = JSON.parse((await inProcess(args, now)).stdout);
    assert.equal(again.duplicates, 50);
  });
});
