import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DATABASE_FILE, openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/index.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import { makeEntry, runStoreContract } from '../../src/store/store.contract.ts';

/** Runs a statement on the database file directly, as another program would. */
function withFile<T>(dir: string, f: (db: Database.Database) => T): T {
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/** A store in a fresh directory; `prepare` adjusts each store opened there. */
function sqliteFixture(options: Omit<SqliteStoreOptions, 'dataDir'> = {}, prepare: (store: SqliteStore) => void = () => {}) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    return {
      open: async () => {
        const store = openSqliteStore({ dataDir: dir, ...options });
        prepare(store);
        return store;
      },
      schemaVersion: async () => withFile(dir, (db) => db.pragma('user_version', { simple: true }) as number),
      setSchemaVersion: async (v: number) => withFile(dir, (db) => void db.pragma(`user_version = ${Math.trunc(v)}`)),
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    };
  };
}

runStoreContract({ name: 'sqlite', create: sqliteFixture() });

describe('sqlite store: specific', () => {
  it('upgrades a first-version store: hourly tallies from the stored entries, idempotency kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const H = 3_600_000;
      const base = Date.UTC(2025, 2, 1, 10);
      const times = [Date.UTC(1969, 11, 31, 23, 30), -1, 0, base - 1, base, base + H / 2, base + H + 7, base + 5 * H - 1];
      const entries = times.map((t, i) => makeEntry(i % 2 ? 'AccessLog' : 'UserCallPlay', t, `{"i":${i}}`));
      withFile(dir, (db) => {
        db.exec(MIGRATIONS[0]!);
        db.pragma('user_version = 1');
        db.prepare("INSERT INTO tenants (tid, id, name, created_at) VALUES (1, '7', 't', '2025-01-01T00:00:00.000Z')").run();
        db.prepare("INSERT INTO log_types (type_id, name) VALUES (1, 'AccessLog'), (2, 'UserCallPlay')").run();
        const insert = db.prepare('INSERT INTO entries (tid, type_id, event_time, key, body) VALUES (1, ?, ?, ?, ?)');
        for (const e of entries) insert.run(e.logType === 'AccessLog' ? 1 : 2, e.eventTimeMs, e.key, e.body);
      });
      const store = openSqliteStore({ dataDir: dir });
      try {
        const total = async (type: string, from: number, to: number | null): Promise<number> =>
          (await store.firstPage({ tenantId: '7', logType: type, fromMs: from, toMs: to }, 1)).total;
        for (const type of ['AccessLog', 'UserCallPlay']) {
          for (const [from, to] of [[-10 * H, null], [-H / 4, base + 3 * H], [base - H / 3, base + 5 * H], [-1, base + H / 2 + 1]] as const) {
            const want = entries.filter((e) => e.logType === type && e.eventTimeMs >= from && (to === null || e.eventTimeMs < to)).length;
            assert.equal(await total(type, from, to), want, `${type} [${from}, ${to})`);
          }
        }
        assert.deepEqual(await store.append('7', entries), { accepted: 0, duplicates: entries.length });
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stores each entry once when several processes append to one file at once', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const store = openSqliteStore({ dataDir: dir });
      await store.createTenant({ id: '7', name: 't' });
      // Each process appends overlapping batches of the same 3,000 entries, in a different order.
      const script = `
        import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite/index.ts', import.meta.url).pathname)};
        import { makeEntry } from ${JSON.stringify(new URL('../../src/store/store.contract.ts', import.meta.url).pathname)};
        const me = Number(process.argv[1]);
        const all = Array.from({ length: 3000 }, (_, i) => makeEntry('AccessLog', ${Date.UTC(2025, 0, 1)} + i, '{"i":' + i + '}'));
        const store = openSqliteStore({ dataDir: ${JSON.stringify(dir)} });
        let accepted = 0;
        for (let b = 0; b < 30; b++) {
          const start = ((b * 7 + me * 11) % 30) * 100;
          accepted += (await store.append('7', all.slice(start, start + 250))).accepted;
        }
        await store.close();
        process.stdout.write(String(accepted));
      `;
      const run = (me: number): Promise<number> =>
        new Promise((resolve, reject) => {
          execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, String(me)], (err, stdout) =>
            err ? reject(err) : resolve(Number(stdout)),
          );
        });
      const accepted = await Promise.all([0, 1, 2, 3].map(run));
      assert.equal(accepted.reduce((a, b) => a + b, 0), 3000);
      const first = await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 10);
      assert.equal(first.total, 3000);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
