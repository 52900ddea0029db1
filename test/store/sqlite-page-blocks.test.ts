import Database from 'better-sqlite3';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BLOCK_FILE } from '../../src/store/sqlite/block-file.ts';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import { makeEntry } from '../../src/store/store.contract.ts';
import type { EntryQuery, Resume } from '../../src/store/store.ts';

const T0 = Date.UTC(2025, 6, 1);
const TENANT = '1234567890123456789';
const BLOCK = 4;

type Op =
  | { kind: 'append'; times: number[] }
  | { kind: 'build'; budget: number }
  | { kind: 'read'; from: number; span: number | null; limit: number; pause: number };

/** A paging in progress: the query, its snapshot and the texts read so far. */
interface Paging {
  query: EntryQuery;
  watermark: number;
  texts: string[];
  next: Resume | null;
  limit: number;
}

async function withStore<T>(f: (store: SqliteStore, db: Database.Database, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'logwarden-blocks-'));
  const store = openSqliteStore({ dataDir: dir, blockEntries: BLOCK });
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    await store.createTenant({ id: TENANT, name: 'blocks' });
    return await f(store, db, dir);
  } finally {
    db.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The texts of a query as of a snapshot, by a plain ordered scan of the entries. */
function scan(db: Database.Database, q: EntryQuery, watermark: number): string[] {
  return db
    .prepare<[number, number, number], string>(
      `SELECT body FROM entries WHERE type_id = (SELECT type_id FROM log_types WHERE name = 'AccessLog')
       AND event_time >= ? AND event_time < ? AND seq <= ? ORDER BY event_time, seq`,
    )
    .pluck()
    .all(q.fromMs, q.toMs ?? 8.64e15, watermark);
}

let n = 0;
const entry = (t: number) => makeEntry('AccessLog', t, `{"n":${n++}}`);

const timeArb = fc.integer({ min: 0, max: 30 }).map((k) => T0 + k * 1000);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('append' as const), times: fc.array(timeArb, { minLength: 1, maxLength: 12 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('build' as const), budget: fc.integer({ min: 1, max: 6 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      from: fc.integer({ min: -1, max: 30 }),
      span: fc.option(fc.integer({ min: 1, max: 31 })),
      limit: fc.integer({ min: 1, max: 11 }),
      pause: fc.integer({ min: 0, max: 3 }),
    }),
  },
);

describe('sqlite page blocks', () => {
  it('pages exactly the entries of a query and its snapshot, whatever was blocked, dropped or rebuilt meanwhile', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) =>
        withStore(async (store, db) => {
          const open: Paging[] = [];
          /** Reads one more page of a paging; true when it ended (and was checked). */
          const step = async (p: Paging): Promise<boolean> => {
            const page =
              p.next === null
                ? await store.firstPage(p.query, p.limit).then((f) => {
                    p.watermark = f.watermark;
                    return f;
                  })
                : await store.nextPage(p.query, p.next, p.watermark, p.limit);
            if (p.next !== null) assert.ok(page.count > 0, 'a cursor is given only when entries follow');
            if (page.count > 0) p.texts.push(page.text.toString('utf8'));
            if (page.next !== null) assert.equal(page.count, p.limit, 'only the last page is short');
            p.next = page.next;
            if (page.next !== null) return false;
            const want = p.watermark === 0 ? [] : scan(db, p.query, p.watermark);
            assert.equal(p.texts.join(','), want.join(','), `pages of [${p.query.fromMs}, ${p.query.toMs}) by ${p.limit}`);
            return true;
          };
          for (const op of ops) {
            if (op.kind === 'append') await store.append(TENANT, op.times.map(entry));
            else if (op.kind === 'build') await store.maintain(op.budget);
            else {
              const fromMs = T0 + op.from * 1000;
              const query = { tenantId: TENANT, logType: 'AccessLog', fromMs, toMs: op.span === null ? null : fromMs + op.span * 1000 };
              const p: Paging = { query, watermark: 0, texts: [], next: null, limit: op.limit };
              // Some pagings stop for a while: appends, builds and drops happen between their pages.
              let ended = await step(p);
              for (let i = 0; !ended && i < 50 - op.pause * 16; i++) ended = await step(p);
              if (!ended) open.push(p);
            }
            // Every open paging moves one page on after each operation.
            for (const p of open.splice(0)) if (!(await step(p))) open.push(p);
          }
          for (const p of open) while (!(await step(p)));
        }),
      ),
      { numRuns: 150 },
    );
  });

  it('serves pages from blocks once built, and from rows again where a late entry dropped one', async () => {
    await withStore(async (store, db) => {
      await store.append(TENANT, Array.from({ length: 40 }, (_, i) => entry(T0 + i * 1000)));
      const blocks = () => db.prepare<[], number>('SELECT count(*) FROM entry_blocks').pluck().get()!;
      assert.equal(blocks(), 0);
      assert.equal(await store.maintain(100), 40);
      assert.equal(blocks(), 10);
      const version = () => db.pragma('data_version', { simple: true });
      const before = version();
      assert.equal(await store.maintain(100), 0, 'nothing left to block');
      assert.equal(version(), before, 'with nothing to do, the database is not written to');
      await store.append(TENANT, [entry(T0 + 10_500)]);
      assert.equal(blocks(), 9, 'the block holding 10.5 s was dropped');
      const q = { tenantId: TENANT, logType: 'AccessLog', fromMs: T0, toMs: null };
      const first = await store.firstPage(q, 41);
      assert.equal(first.count, 41);
      assert.equal(first.text.toString('utf8'), scan(db, q, first.watermark).join(','));
      assert.equal(await store.maintain(100), 5, 'the gap is blocked again, five entries');
      assert.equal(blocks(), 11);
      assert.equal((await store.firstPage(q, 41)).text.toString('utf8'), first.text.toString('utf8'));
    });
  });

  it('keeps a paging to its snapshot: blocks built later with newer entries are read around', async () => {
    await withStore(async (store, db) => {
      await store.append(TENANT, Array.from({ length: 8 }, (_, i) => entry(T0 + i * 1000)));
      await store.maintain(100);
      const q = { tenantId: TENANT, logType: 'AccessLog', fromMs: T0, toMs: null };
      const first = await store.firstPage(q, 3);
      // Later entries extend the chain; a late one lands in a block that is dropped and rebuilt.
      await store.append(TENANT, Array.from({ length: 8 }, (_, i) => entry(T0 + 8000 + i * 1000)));
      await store.append(TENANT, [entry(T0 + 5500)]);
      assert.ok((await store.maintain(100)) > 0);
      const texts = [first.text.toString('utf8')];
      for (let next = first.next; next !== null; ) {
        const page = await store.nextPage(q, next, first.watermark, 3);
        texts.push(page.text.toString('utf8'));
        next = page.next;
      }
      assert.equal(texts.join(','), scan(db, q, first.watermark).join(','));
      assert.equal(scan(db, q, first.watermark).length, 8);
    });
  });

  /** Every page of the query, joined, by pages of `limit`. */
  async function readAll(store: SqliteStore, q: EntryQuery, limit: number): Promise<string> {
    const first = await store.firstPage(q, limit);
    const texts = [first.text.toString('utf8')];
    for (let next = first.next; next !== null; ) {
      const page = await store.nextPage(q, next, first.watermark, limit);
      texts.push(page.text.toString('utf8'));
      next = page.next;
    }
    return texts.join(',');
  }

  it('reads rows where the block file lost texts, and builds the blocks again', async () => {
    await withStore(async (store, db, dir) => {
      await store.append(TENANT, Array.from({ length: 40 }, (_, i) => entry(T0 + i * 1000)));
      await store.maintain(100);
      const q = { tenantId: TENANT, logType: 'AccessLog', fromMs: T0, toMs: null };
      const want = scan(db, q, Number.MAX_SAFE_INTEGER).join(',');
      const file = join(dir, BLOCK_FILE);
      truncateSync(file, Math.floor(statSync(file).size / 2));
      assert.equal(await readAll(store, q, 7), want);
      assert.equal(await store.maintain(100), 40, 'all blocks built again');
      assert.equal(statSync(file).size, db.prepare<[], number>('SELECT size FROM block_file').pluck().get());
      assert.equal(await readAll(store, q, 7), want);
    });
  });

  it('follows the block file when it is replaced under a running store', async () => {
    await withStore(async (store, db, dir) => {
      await store.append(TENANT, Array.from({ length: 20 }, (_, i) => entry(T0 + i * 1000)));
      await store.maintain(100);
      const q = { tenantId: TENANT, logType: 'AccessLog', fromMs: T0 - 10_000, toMs: null };
      const want = scan(db, q, Number.MAX_SAFE_INTEGER).join(',');
      assert.equal(await readAll(store, q, 5), want);
      // Another process finds the file gone, starts it over, and builds blocks of its own into it.
      rmSync(join(dir, BLOCK_FILE));
      const other = openSqliteStore({ dataDir: dir, blockEntries: 3 });
      try {
        await other.append(TENANT, [entry(T0 - 2000), entry(T0 - 1000)]);
        assert.equal(await other.maintain(100), 21);
      } finally {
        await other.close();
      }
      const now = scan(db, q, Number.MAX_SAFE_INTEGER).join(',');
      assert.notEqual(now, want);
      assert.equal(await readAll(store, q, 5), now, 'the first store reads the new file, not the deleted one');
    });
  });

  it('waits for a pause in appends when asked to', async () => {
    await withStore(async (store) => {
      await store.append(TENANT, Array.from({ length: 8 }, (_, i) => entry(T0 + i)));
      assert.equal(await store.maintain(10, 60_000), 0);
      assert.equal(await store.maintain(10), 8);
    });
  });
});
