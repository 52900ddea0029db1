import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../src/server/logger.ts';
import { startUpkeep } from '../../src/server/upkeep.ts';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import { makeEntry } from '../../src/store/store.contract.ts';

const TENANT = '777000777';
const T0 = Date.UTC(2026, 0, 1);

describe('store upkeep while a server runs', () => {
  it('builds page blocks in the background, and waits while entries keep arriving', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-upkeep-'));
    const store = openSqliteStore({ dataDir: dir, blockEntries: 50 });
    const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    const blocked = () => db.prepare<[], number>('SELECT coalesce(sum(n), 0) FROM entry_blocks').pluck().get()!;
    const upkeep = startUpkeep(store, createLogger('silent', new PassThrough()));
    try {
      await store.createTenant({ id: TENANT, name: 'upkeep' });
      // Appends every 200 ms for 2.5 s: never a quiet second, so nothing is built meanwhile.
      let n = 0;
      for (let i = 0; i < 12; i++) {
        await store.append(TENANT, Array.from({ length: 100 }, () => makeEntry('AccessLog', T0 + n++ * 1000)));
        await sleep(200);
        assert.equal(blocked(), 0, `nothing built while appending (after batch ${i + 1})`);
      }
      // Then, a pause: the whole store is put in blocks of 50 within a few seconds.
      const deadline = Date.now() + 10_000;
      while (blocked() < 1200 && Date.now() < deadline) await sleep(100);
      assert.equal(blocked(), 1200);
    } finally {
      upkeep.stop();
      db.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
