import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DATABASE_FILE, openSqliteStore } from '../../src/store/sqlite/index.ts';
import { PageReader } from '../../src/store/sqlite/page-reader.ts';
import { makeEntry } from '../../src/store/store.contract.ts';
import type { Resume, StoredPage } from '../../src/store/store.ts';

const T0 = Date.UTC(2025, 6, 1);
const TENANT = '1234567890123456789';

interface Row {
  event_time: number;
  seq: number;
  body: string;
}

describe('sqlite page reader', () => {
  let dir: string;
  let db: Database.Database;
  let rows: Row[];
  let tid: number;
  let typeId: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-pages-'));
    const store = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: TENANT, name: 'pages' });
    // Batches out of time order, drawing from few times: long runs of equal times, split by batches.
    let n = 0;
    let s = 7;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    for (let b = 0; b < 12; b++) {
      const size = 1 + Math.floor(rnd() * 400);
      await store.append(
        TENANT,
        Array.from({ length: size }, () => makeEntry('AccessLog', T0 + Math.floor(rnd() * 40) * 1000 + (rnd() < 0.5 ? 0 : Math.floor(rnd() * 3)), `{"n":${n++}}`)),
      );
    }
    await store.close();
    db = new Database(join(dir, DATABASE_FILE), { readonly: true });
    tid = db.prepare<[string], number>('SELECT tid FROM tenants WHERE id = ?').pluck().get(TENANT)!;
    typeId = db.prepare<[], number>("SELECT type_id FROM log_types WHERE name = 'AccessLog'").pluck().get()!;
    rows = db.prepare<[], Row>('SELECT event_time, seq, body FROM entries ORDER BY event_time, seq').all();
  });

  after(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every page of [fromMs, toMs) under `watermark`, as texts. */
  function pages(reader: PageReader, fromMs: number, toMs: number, watermark: number, limit: number): StoredPage[] {
    const out = [reader.firstPage(tid, typeId, fromMs, toMs, limit)];
    for (let p = out[0]!; p.next !== null; out.push(p)) {
      p = reader.nextPage(tid, typeId, p.next, fromMs, toMs, watermark, limit);
    }
    return out;
  }

  it('hands rows to the aggregate in index order on this SQLite, so pages need no sort', () => {
    assert.equal(new PageReader(db).sortsPages(100), false);
    assert.equal(new PageReader(db, { forceOrdered: true }).sortsPages(100), true);
  });

  it('pages exactly the entries of a range, in order, whether or not the aggregate sorts', () => {
    const plain = new PageReader(db);
    const sorting = new PageReader(db, { forceOrdered: true });
    const maxSeq = rows.reduce((m, r) => Math.max(m, r.seq), 0);
    let s = 3;
    const rnd = () => (s = (s * 48271) % 2147483647) / 2147483647;
    for (let k = 0; k < 40; k++) {
      const fromMs = T0 + Math.floor(rnd() * 30) * 1000 + (k % 3);
      const toMs = k % 4 === 0 ? 8.64e15 : fromMs + Math.floor(rnd() * 20_000) + 1;
      const limit = [1, 2, 7, 50, 100, 333, 1000][k % 7]!;
      const want = rows.filter((r) => r.event_time >= fromMs && r.event_time < toMs).map((r) => r.body);
      const got = pages(plain, fromMs, toMs, maxSeq, limit);
      assert.deepEqual(got, pages(sorting, fromMs, toMs, maxSeq, limit), `query ${k}: both forms agree`);
      const texts = got.filter((p) => p.count > 0).map((p) => p.text.toString('utf8'));
      assert.equal(texts.join(','), want.join(','), `query ${k}: [${fromMs}, ${toMs}) by ${limit}`);
      assert.equal(
        got.reduce((n, p) => n + p.count, 0),
        want.length,
      );
      for (const p of got.slice(0, -1)) assert.equal(p.count, limit, `query ${k}: only the last page is short`);
    }
  });

  it('leaves out entries above the watermark, however they interleave', () => {
    const reader = new PageReader(db);
    const watermark = rows[Math.floor(rows.length / 2)]!.seq;
    const want = rows.filter((r) => r.seq <= watermark).map((r) => r.body);
    const [first] = rows.filter((r) => r.seq <= watermark);
    // The first page of a snapshot is read inside its transaction; every later page is bounded here.
    const got: string[] = [first!.body];
    let next: Resume = { timeMs: first!.event_time, seq: first!.seq };
    for (;;) {
      const p = reader.nextPage(tid, typeId, next, 0, 8.64e15, watermark, 37);
      if (p.count > 0) got.push(p.text.toString('utf8'));
      if (p.next === null) break;
      next = p.next;
    }
    assert.equal(got.join(','), want.join(','));
  });
});
