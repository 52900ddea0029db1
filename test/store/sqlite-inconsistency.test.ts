import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import { StoreInconsistencyError } from '../../src/store/store.ts';
import { makeEntry } from './contract/store.contract.ts';

describe('sqlite store: records that contradict each other', () => {
  it('fails with a typed error (code internal, so a generic 500 and exit 1), naming the numbers it cannot resolve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const store = openSqliteStore({ dataDir: dir, sealIntervalMs: 60_000 });
      await store.createTenant({ id: '7', name: 'Acme' });
      await store.append('7', [makeEntry('AccessLog', Date.UTC(2025, 0, 1), '{"n":1}')]);
      await store.close();
      // Entries of a log type number the store has no name for, as a damaged file would hold.
      const db = new Database(join(dir, DATABASE_FILE));
      db.pragma('foreign_keys = OFF');
      db.prepare('UPDATE entries SET type_id = 999').run();
      db.close();

      const reopened = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 60_000 });
      try {
        assert.throws(
          () => reopened.settle(),
          (err: unknown) => err instanceof StoreInconsistencyError && err.code === 'internal' && /log type 999/.test(err.message),
        );
      } finally {
        await reopened.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
