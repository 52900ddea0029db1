/**
 * An embedded store opened with `noSealer` (as commands that write no entries open it) seals
 * nothing in that process, however old its hot rows, while a store opened as a server opens it
 * seals them in the background.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { makeEntry } from './contract/store.contract.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('sqlite store: noSealer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lw-no-sealer-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const hotRows = () => {
    const db = new Database(join(dir, 'logwarden.db'), { readonly: true });
    try {
      return db.prepare<[], number>('SELECT count(*) FROM entries').pluck().get()!;
    } finally {
      db.close();
    }
  };

  it('leaves hot rows hot with noSealer; seals them without', async () => {
    const quick = { dataDir: dir, sealAgeMs: 0, sealIntervalMs: 5 };
    const reader = openSqliteStore({ ...quick, noSealer: true });
    try {
      await reader.createTenant({ id: '3', name: 'Hot' });
      await reader.append('3', [makeEntry('AccessLog', Date.UTC(2026, 0, 2), '{"a":1}'), makeEntry('AccessLog', Date.UTC(2026, 0, 3), '{"a":2}')]);
      await sleep(300);
      assert.equal(hotRows(), 2, 'nothing sealed with noSealer');
    } finally {
      await reader.close();
    }
    const server = openSqliteStore(quick);
    try {
      const since = performance.now();
      while (hotRows() > 0) {
        assert.ok(performance.now() - since < 30_000, 'the sealer seals them');
        await sleep(20);
      }
    } finally {
      await server.close();
    }
  });
});
