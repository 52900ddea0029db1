import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { DATABASE_FILE, openSqliteStore, type SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite/index.ts';
import { applyMigration, MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import type { StoredPage } from '../../src/store/store.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf } from '../support/page-entries.ts';
import { UNDO_KEY_LAST_USED, UNDO_USES_RECORDED_SINCE, undoCompactCheckpoints } from '../support/sqlite-schema.ts';
import { makeEntry, runStoreContract, type StoreFixture } from './contract/store.contract.ts';

/** Runs a statement on the database file directly, as another program would. */
function withFile<T>(dir: string, f: (db: Database.Database) => T): T {
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/**
 * What the contract measures of SQLite's segments: `live` is sum(length(data)) of the segment
 * rows; `used` is every byte of the database pages (dbstat: leaf, interior and overflow pages,
 * their unused parts included) that the `segments` table and its index occupy.
 */
function segmentSpace(db: Database.Database): { live: number; used: number } {
  const live = db.prepare<[], number>('SELECT coalesce(sum(length(data)), 0) FROM segments').pluck().get()!;
  const used = db.prepare<[], number>("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('segments', 'segments_by_last')").pluck().get()!;
  return { live, used };
}

/**
 * A store in a fresh directory; `prepare` adjusts each store opened there. Stores seal
 * whatever they hold in the background every few milliseconds (seal age 0), so every case of
 * the contract also runs against sealing by any of its stores at any moment.
 */
function sqliteFixture(options: Omit<SqliteStoreOptions, 'dataDir'> = {}, prepare: (store: SqliteStore) => void = () => {}) {
  return async (): Promise<StoreFixture> => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    return {
      open: async () => {
        const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 5, ...options });
        prepare(store);
        return store;
      },
      schemaVersion: async () => withFile(dir, (db) => db.pragma('user_version', { simple: true }) as number),
      setSchemaVersion: async (v: number) => withFile(dir, (db) => void db.pragma(`user_version = ${Math.trunc(v)}`)),
      toPreviousSchema: async () =>
        withFile(dir, (db) => {
          db.exec(UNDO_USES_RECORDED_SINCE);
          db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
        }),
      beforeKeyUses: async () =>
        withFile(dir, (db) => {
          db.exec(UNDO_KEY_LAST_USED);
          db.pragma(`user_version = ${MIGRATIONS.length - 2}`);
        }),
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
      segments: {
        settle: async (store) => void (store as SqliteStore).settle(),
        sealedEntries: async () => withFile(dir, (db) => db.prepare<[], number>('SELECT coalesce(sum(n), 0) FROM segments').pluck().get()!),
        corrupt: async (tenantId, logType) =>
          withFile(dir, (db) => {
            const id = db
              .prepare<[string, string], number>(
                `SELECT s.id FROM segments s JOIN tenants t ON t.tid = s.tid JOIN log_types l ON l.type_id = s.type_id
                 WHERE t.id = ? AND l.name = ? ORDER BY s.id LIMIT 1`,
              )
              .pluck()
              .get(tenantId, logType);
            if (id === undefined) return false;
            // One bit of one byte in the middle of the stored bytes, as a disk fault would.
            const data = db.prepare<[number], Buffer>('SELECT data FROM segments WHERE id = ?').pluck().get(id)!;
            const at = Math.floor(data.length / 2);
            data[at] = data[at]! ^ 0x10;
            db.prepare('UPDATE segments SET data = ? WHERE id = ?').run(data, id);
            return true;
          }),
        space: async () => withFile(dir, segmentSpace),
        openUnsealing: async () => openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000, ...options }),
        alterHot: async (tenantId, holding, replacement) =>
          withFile(dir, (db) => {
            const rows = db
              .prepare<[string, string], number>(
                'SELECT e.seq FROM entries e JOIN tenants t ON t.tid = e.tid WHERE t.id = ? AND instr(CAST(e.body AS TEXT), ?) > 0',
              )
              .pluck()
              .all(tenantId, holding);
            assert.equal(rows.length, 1, `one hot row holds ${holding}`);
            const seq = rows[0]!;
            const change =
              replacement === undefined
                ? db.prepare('UPDATE entries SET event_time = event_time + 1 WHERE seq = ?').run(seq)
                : db.prepare('UPDATE entries SET body = replace(body, ?, ?) WHERE seq = ?').run(holding, replacement, seq);
            assert.equal(change.changes, 1);
            return seq;
          }),
      },
    };
  };
}

runStoreContract({ name: 'sqlite', create: sqliteFixture(), verifiableLog: true });

describe('sqlite store: specific', () => {
  it('upgrades a first-version store: hourly tallies from the stored entries, idempotency kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const H = 3_600_000;
      const base = Date.UTC(2025, 2, 1, 10);
      const times = [Date.UTC(1969, 11, 31, 23, 30), -1, 0, base - 1, base, base + H / 2, base + H + 7, base + 5 * H - 1];
      const entries = times.map((t, i) => makeEntry(i % 2 ? 'AccessLog' : 'UserCallPlay', t, `{"i":${i}}`));
      withFile(dir, (db) => {
        applyMigration(db, 0);
        db.pragma('user_version = 1');
        db.prepare("INSERT INTO tenants (tid, id, name, created_at) VALUES (1, '7', 't', '2025-01-01T00:00:00.000Z')").run();
        db.prepare("INSERT INTO log_types (type_id, name) VALUES (1, 'AccessLog'), (2, 'UserCallPlay')").run();
        const insert = db.prepare('INSERT INTO entries (tid, type_id, event_time, key, body) VALUES (1, ?, ?, ?, ?)');
        for (const e of entries) insert.run(e.logType === 'AccessLog' ? 1 : 2, e.eventTimeMs, e.key, e.body);
      });
      const upgrades: { from: number; to: number }[] = [];
      const store = openSqliteStore({ dataDir: dir, onSchemaUpgrade: (u) => upgrades.push(u) });
      assert.deepEqual(upgrades, [{ from: 1, to: MIGRATIONS.length }], 'the upgrade is told of once');
      await openSqliteStore({ dataDir: dir, onSchemaUpgrade: (u) => upgrades.push(u) }).close();
      assert.equal(upgrades.length, 1, 'a store already upgraded is not upgraded again');
      try {
        const total = async (type: string, from: number, to: number | null): Promise<number> =>
          (await store.firstPage({ tenantId: '7', logType: type, fromMs: from, toMs: to }, 1)).total;
        for (const type of ['AccessLog', 'UserCallPlay']) {
          for (const [from, to] of [
            [-10 * H, null],
            [-H / 4, base + 3 * H],
            [base - H / 3, base + 5 * H],
            [-1, base + H / 2 + 1],
          ] as const) {
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

  it('upgrades a store with page blocks (schema 3): every entry kept, the same answers, the block file gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const H = 3_600_000;
      const base = Date.UTC(2025, 2, 1, 10);
      // Two tenants, two types, runs of equal times, entries on both sides of hour boundaries.
      const entries = Array.from({ length: 900 }, (_, i) => ({
        tid: 1 + (i % 2),
        ...makeEntry(i % 3 ? 'AccessLog' : 'UserCallPlay', base + Math.floor(i / 4) * 37_000 - H, `{"i":${i},"t":${1 + (i % 2)}}`),
      }));
      // The store as the previous schema and code wrote it: full 32-byte keys in `entries`, hourly
      // tallies, page blocks over the first entries and their texts in page-blocks.dat.
      withFile(dir, (db) => {
        db.pragma('page_size = 16384');
        db.pragma('journal_mode = WAL');
        for (const v of [0, 1, 2]) applyMigration(db, v);
        db.pragma('user_version = 3');
        db.prepare(
          "INSERT INTO tenants (tid, id, name, created_at) VALUES (1, '7', 't', '2025-01-01T00:00:00.000Z'), (2, '8', 'u', '2025-01-01T00:00:00.000Z')",
        ).run();
        db.prepare("INSERT INTO log_types (type_id, name) VALUES (1, 'AccessLog'), (2, 'UserCallPlay')").run();
        const insert = db.prepare('INSERT INTO entries (tid, type_id, event_time, key, body) VALUES (?, ?, ?, ?, ?)');
        const count = db.prepare(
          'INSERT INTO entry_counts (tid, type_id, hour, n) VALUES (?, ?, ?, 1) ON CONFLICT (tid, type_id, hour) DO UPDATE SET n = n + 1',
        );
        for (const e of entries) {
          const typeId = e.logType === 'AccessLog' ? 1 : 2;
          insert.run(e.tid, typeId, e.eventTimeMs, e.key, e.body);
          count.run(e.tid, typeId, Math.floor(e.eventTimeMs / H));
        }
        const rows = db
          .prepare<[], { seq: number; event_time: number; body: string }>(
            'SELECT seq, event_time, body FROM entries WHERE tid = 1 AND type_id = 1 ORDER BY event_time, seq LIMIT 200',
          )
          .all();
        const text = Buffer.from(rows.map((r) => r.body).join(','));
        const last = rows[rows.length - 1]!;
        db.prepare(
          `INSERT INTO entry_blocks (tid, type_id, after_time, after_seq, last_time, last_seq, max_seq, n, marks, at, bytes)
           VALUES (1, 1, ?, 0, ?, ?, ?, ?, ?, 0, ?)`,
        ).run(
          Number.MIN_SAFE_INTEGER,
          last.event_time,
          last.seq,
          Math.max(...rows.map((r) => r.seq)),
          rows.length,
          Buffer.alloc(rows.length * 24),
          text.length,
        );
        db.prepare('UPDATE block_file SET size = ?').run(text.length);
        writeFileSync(join(dir, 'page-blocks.dat'), text);
      });
      const expected = (tid: number, type: string, from: number, to: number | null) =>
        entries
          .map((e, seq) => ({ ...e, seq }))
          .filter((e) => e.tid === tid && e.logType === type && e.eventTimeMs >= from && (to === null || e.eventTimeMs < to))
          .sort((a, b) => a.eventTimeMs - b.eventTimeMs || a.seq - b.seq)
          .map((e) => e.body);
      const ranges = [
        [base - 2 * H, null],
        [base - H / 3, base + H + 1234],
        [base + 17, base + 2 * H],
      ] as const;
      const assertAnswers = async (store: SqliteStore, what: string) => {
        for (const [tid, tenantId] of [
          [1, '7'],
          [2, '8'],
        ] as const) {
          for (const type of ['AccessLog', 'UserCallPlay']) {
            for (const [from, to] of ranges) {
              const want = expected(tid, type, from, to);
              const query = { tenantId, logType: type, fromMs: from, toMs: to };
              const got: string[] = [];
              const first = await store.firstPage(query, 37);
              assert.equal(first.total, want.length, `${what}: total ${tenantId}/${type} [${from}, ${to})`);
              got.push(...entriesOf(first).map((e) => e.body));
              let page: StoredPage = first;
              for (let next = page.next; next; next = page.next) {
                page = await store.nextPage(query, next, first.watermark, 37);
                got.push(...entriesOf(page).map((e) => e.body));
              }
              assert.deepEqual(got, want, `${what}: entries ${tenantId}/${type} [${from}, ${to})`);
            }
          }
        }
      };

      // With a clock that keeps the upgraded rows too young to seal, the store answers from
      // the rows as they were.
      const store = openSqliteStore({ dataDir: dir, sealAgeMs: 60 * 60_000, now: () => 0 });
      try {
        assert.equal(existsSync(join(dir, 'page-blocks.dat')), false, 'the block file is gone');
        assert.equal(
          withFile(dir, (db) => db.pragma('user_version', { simple: true })),
          MIGRATIONS.length,
        );
        await assertAnswers(store, 'upgraded');
        assert.equal(
          withFile(dir, (db) => db.prepare<[], number>('SELECT count(*) FROM segments').pluck().get()!),
          0,
          'nothing sealed yet',
        );
        const byTenant = (_tenantId: string, tid: number) => entries.filter((e) => e.tid === tid).map(({ tid: _, ...e }) => e);
        assert.deepEqual(await store.append('7', byTenant('7', 1)), { accepted: 0, duplicates: 450 });
        // Rows stored before the upgrade count as old: the background seals them, and nothing changes.
        const sealer = openSqliteStore({ dataDir: dir, sealIntervalMs: 5 });
        try {
          const deadline = Date.now() + 30_000;
          while (withFile(dir, (db) => db.prepare<[], number>('SELECT count(*) FROM entries').pluck().get()!) > 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 20));
          }
        } finally {
          await sealer.close();
        }
        assert.equal(
          withFile(dir, (db) => db.prepare<[], number>('SELECT coalesce(sum(n), 0) FROM segments').pluck().get()!),
          900,
          'all sealed',
        );
        await assertAnswers(store, 'sealed');
        assert.deepEqual(await store.append('8', byTenant('8', 2)), { accepted: 0, duplicates: 450 });
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
        import { openSqliteStore } from ${JSON.stringify(runnable(new URL('../../src/store/sqlite/index.ts', import.meta.url)))};
        import { makeEntry } from ${JSON.stringify(runnable(new URL('./contract/store.contract.ts', import.meta.url)))};
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
          execFile(process.execPath, [...LOADER_ARGS, '--input-type=module', '-e', script, String(me)], (err, stdout) =>
            err ? reject(err) : resolve(Number(stdout)),
          );
        });
      const accepted = await Promise.all([0, 1, 2, 3].map(run));
      assert.equal(
        accepted.reduce((a, b) => a + b, 0),
        3000,
      );
      const first = await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 10);
      assert.equal(first.total, 3000);
      await store.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('indexes for the user filter the segments a store sealed before the index existed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const t0 = Date.UTC(2025, 0, 1);
      const entries = Array.from({ length: 700 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"i":${i}}`, String(i % 5)));
      const before = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 60_000 });
      await before.createTenant({ id: '7', name: 'Acme' });
      await before.append('7', entries);
      before.settle();
      await before.close();
      // As the schema before the index (version 5) left it: segments, no postings, none of the later steps.
      withFile(dir, (db) => {
        db.exec(
          'DROP TABLE segment_users; DROP TABLE segment_users_pending; DROP TABLE retention; DROP TABLE holds; DROP TABLE tree_receipts; DROP TABLE purge_lease',
        );
        undoCompactCheckpoints(db);
        db.exec(UNDO_KEY_LAST_USED);
        db.pragma('user_version = 5');
      });
      const store = openSqliteStore({ dataDir: dir, sealIntervalMs: 60_000 });
      try {
        assert.equal(
          withFile(dir, (db) => db.prepare<[], number>('SELECT count(*) FROM segment_users_pending').pluck().get()!),
          0,
          'every segment indexed',
        );
        const query = { tenantId: '7', logType: 'AccessLog', fromMs: t0, toMs: null, user: { field: 'userId', value: '3' } } as const;
        const first = await store.firstPage(query, 1000);
        assert.equal(first.total, 140);
        assert.deepEqual(
          entriesOf(first).map((e) => e.body),
          entries.filter((_, i) => i % 5 === 3).map((e) => e.body),
        );
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('gives the space of purged entries back to the file system (incremental auto-vacuum): the file shrinks', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    try {
      const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 60_000 });
      try {
        await store.createTenant({ id: '7', name: 'Acme' });
        const t0 = Date.UTC(2025, 0, 1);
        // Text that does not compress away: the segments hold real bytes.
        const noise = () => randomBytes(300).toString('base64');
        for (let b = 0; b < 10; b++) {
          await store.append(
            '7',
            Array.from({ length: 2000 }, (_, i) => makeEntry('AccessLog', t0 + (b * 2000 + i) * 1000, `{"n":"${noise()}"}`)),
          );
        }
        store.settle();
        const fileBytes = () =>
          withFile(dir, (db) => {
            db.pragma('wal_checkpoint(TRUNCATE)');
            return statSync(join(dir, DATABASE_FILE)).size;
          });
        const before = fileBytes();
        let deleted = 0;
        for (
          let r = await store.purge('7', 'AccessLog', t0 + 18_000_000, 2000);
          r.count > 0;
          r = await store.purge('7', 'AccessLog', t0 + 18_000_000, 2000)
        )
          deleted += r.count;
        assert.equal(deleted, 18_000);
        const after = fileBytes();
        assert.ok(after < before * 0.4, `the file went from ${before} to ${after} bytes after 90% of its entries were purged`);
        assert.equal((await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, 2000);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns a purge step that committed even when giving its space back fails, and reports the failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-store-'));
    const reported: string[] = [];
    try {
      const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 60_000, onBackgroundError: (err) => reported.push(err.message) });
      try {
        await store.createTenant({ id: '7', name: 'Acme' });
        const t0 = Date.UTC(2025, 0, 1);
        await store.append(
          '7',
          Array.from({ length: 500 }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, `{"i":${i}}`)),
        );
        store.settle();
        // The file failing after the step's commit (a full disk, say), injected where the space is given back.
        const sealer = (store as unknown as { sealer: { giveBackSpace(): number } }).sealer;
        sealer.giveBackSpace = () => {
          throw new Error('disk I/O error');
        };
        const receipt = await store.purge('7', 'AccessLog', t0 + 300_000, 1000);
        assert.equal(receipt.count, 300);
        assert.deepEqual(reported, ['giving back the space of purged entries failed (retried by the sealer): disk I/O error']);
        assert.equal((await store.firstPage({ tenantId: '7', logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, 200);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
