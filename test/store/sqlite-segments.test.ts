/**
 * SQLite's sealed segments across processes and on the wire: another process sealing and
 * compacting between the pages of a reader, corrupt segments answered with a 500 and a log
 * line, and the space a database takes after rounds of late entries.
 */

import assert from 'node:assert/strict';
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { after, describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { NewEntry } from '../../src/logs/entry.ts';
import { DAMAGED_STORE } from '../../src/server/error-handler.ts';
import { createLogger } from '../../src/server/logger.ts';
import type { SegmentCache } from '../../src/store/segment-cache.ts';
import { decodeSegment, SEGMENT_BYTES } from '../../src/store/segment-codec.ts';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import type { Sealer } from '../../src/store/sqlite/sealer.ts';
import type { EntryQuery, StoredPage } from '../../src/store/store.ts';
import { basic, startTestApp } from '../support/app.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf } from '../support/page-entries.ts';
import { makeEntry } from './contract/store.contract.ts';

const T0 = Date.UTC(2025, 5, 1);
const TENANTS = ['111', '222'] as const;
const TYPES = ['AccessLog', 'UserCallPlay'] as const;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'logwarden-segments-'));
  dirs.push(d);
  return d;
}

/** An entry that names its tenant and type in its text, so a page shows whose it is. */
function owned(tenant: string, type: string, timeMs: number, n: number | string): NewEntry {
  return makeEntry(type, timeMs, `{"owner":"${tenant}/${type}","n":${JSON.stringify(n)}}`);
}

/** Flips one byte of the first stored segment, by another connection, as a disk fault would. */
function corruptFirstSegment(dir: string): number {
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    const seg = db.prepare<[], { id: number; data: Buffer }>('SELECT id, data FROM segments ORDER BY id LIMIT 1').get()!;
    seg.data[seg.data.length - 100] = seg.data[seg.data.length - 100]! ^ 1;
    db.prepare('UPDATE segments SET data = ? WHERE id = ?').run(seg.data, seg.id);
    return seg.id;
  } finally {
    db.close();
  }
}

/** A store in another process on the same directory, driven line by line: each command answers "ok". */
class OtherProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  constructor(dataDir: string) {
    const script = `
      import { createInterface } from 'node:readline';
      import { openSqliteStore } from ${JSON.stringify(runnable(new URL('../../src/store/sqlite/index.ts', import.meta.url)))};
      import { makeEntry } from ${JSON.stringify(runnable(new URL('./contract/store.contract.ts', import.meta.url)))};
      // No background sealing: this process seals exactly when told to.
      const store = openSqliteStore({ dataDir: ${JSON.stringify(dataDir)}, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
      for await (const line of createInterface({ input: process.stdin })) {
        const cmd = JSON.parse(line);
        if (cmd.append) {
          for (const [tenant, type, time, n] of cmd.append) {
            await store.append(tenant, [makeEntry(type, time, '{"owner":"' + tenant + '/' + type + '","n":' + JSON.stringify(n) + '}')]);
          }
        }
        if (cmd.settle) store.settle();
        process.stdout.write('ok\\n');
      }
      await store.close();
    `;
    this.child = spawn(process.execPath, [...LOADER_ARGS, '--input-type=module', '-e', script], { stdio: 'pipe' });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async run(cmd: { append?: [string, string, number, number | string][]; settle?: boolean }): Promise<void> {
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
    const r = await this.lines.next();
    assert.equal(r.value, 'ok', 'the other process failed');
  }

  async stop(): Promise<void> {
    this.child.stdin.end();
    await new Promise((resolve) => this.child.on('exit', resolve));
  }
}

describe('sqlite segments', () => {
  it("never shows another tenant's or type's entry while another process seals and compacts between pages", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    const other = new OtherProcess(dir);
    try {
      for (const t of TENANTS) await store.createTenant({ id: t, name: t });
      // The same times for every tenant and type, sealed, then a hot tail.
      // Every entry stored, by tenant and type, in the order appended.
      const stored = new Map<string, NewEntry[]>();
      for (const t of TENANTS) {
        for (const ty of TYPES) {
          const batch = Array.from({ length: 600 }, (_, i) => owned(t, ty, T0 + Math.floor(i / 2) * 1000, i));
          await store.append(t, batch.slice(0, 500));
          stored.set(`${t}/${ty}`, batch);
          await store.append(t, batch.slice(500));
        }
      }
      await other.run({ settle: true });
      const hot = owned(TENANTS[0], TYPES[0], T0 + 700_000, 'hot');
      await store.append(TENANTS[0], [hot]);
      stored.get(`${TENANTS[0]}/${TYPES[0]}`)!.push(hot);
      /** What a query of `key` started now must show: by time, then in the order appended. */
      const snapshot = (key: string) => [...stored.get(key)!].sort((a, b) => a.eventTimeMs - b.eventTimeMs).map((e) => e.body);

      let round = 0;
      for (const t of TENANTS) {
        for (const ty of TYPES) {
          const query: EntryQuery = { tenantId: t, logType: ty, fromMs: T0, toMs: null };
          const expected = snapshot(`${t}/${ty}`);
          const first = await store.firstPage(query, 50);
          const got = entriesOf(first).map((e) => e.body);
          let page: StoredPage = first;
          while (page.next) {
            // Between every two pages the other process appends late entries of every tenant and
            // type into the sealed range (at the very position the next page starts at, too)
            // and, every other time, seals and compacts them.
            round++;
            const at = page.next.timeMs;
            const late = TENANTS.flatMap((ot) => TYPES.map((oty) => ({ key: `${ot}/${oty}`, entry: owned(ot, oty, at, `late-${round}`) })));
            await other.run({
              append: TENANTS.flatMap((ot) => TYPES.map((oty) => [ot, oty, at, `late-${round}`] as [string, string, number, string])),
              settle: round % 2 === 0,
            });
            for (const { key, entry } of late) stored.get(key)!.push(entry);
            page = await store.nextPage(query, page.next, first.watermark, 50);
            got.push(...entriesOf(page).map((e) => e.body));
          }
          assert.ok(
            got.every((b) => b.includes(`"owner":"${t}/${ty}"`)),
            `only ${t}/${ty} entries on its pages`,
          );
          assert.equal(first.total, expected.length);
          assert.deepEqual(got, expected, `${t}/${ty}: the snapshot, exactly`);
        }
      }
      assert.ok(round > 40, `${round} interleavings`);
      // A new read sees the late entries, still each under its own tenant and type.
      await other.run({ settle: true });
      for (const t of TENANTS) {
        for (const ty of TYPES) {
          const page = await store.firstPage({ tenantId: t, logType: ty, fromMs: T0, toMs: null }, 1000);
          assert.equal(page.total, stored.get(`${t}/${ty}`)!.length);
          assert.deepEqual(
            entriesOf(page).map((e) => e.body),
            snapshot(`${t}/${ty}`).slice(0, 1000),
          );
        }
      }
    } finally {
      await other.stop();
      await store.close();
    }
  });

  it('answers a corrupt segment with a generic 500 and a log line naming it, no entry in either', async () => {
    const dir = tempDir();
    const sink = new PassThrough();
    let log = '';
    sink.on('data', (d) => (log += d));
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    const t = await startTestApp({ store, logger: createLogger('info', sink) });
    try {
      const entries = Array.from({ length: 300 }, (_, i) => ({
        eventTime: new Date(T0 + i * 1000).toISOString(),
        logRecord: { secret: `payload-${i}` },
      }));
      assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
      store.settle();
      const before = await t.list({ logType: 'AccessLog', fromDateTime: new Date(T0).toISOString() });
      assert.equal(before.statusCode, 200);
      // One flipped byte in the stored segment, by another connection, as a disk fault would.
      const db = new Database(join(dir, DATABASE_FILE));
      const seg = db.prepare<[], { id: number; data: Buffer }>('SELECT id, data FROM segments ORDER BY id LIMIT 1').get()!;
      seg.data[seg.data.length - 100] = seg.data[seg.data.length - 100]! ^ 1;
      db.prepare('UPDATE segments SET data = ? WHERE id = ?').run(seg.data, seg.id);
      db.close();
      // A fresh process would not have the segment decoded in memory: a second store stands for it.
      const fresh = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
      const t2 = await startTestApp({ store: fresh, logger: createLogger('info', sink) });
      try {
        const res = await t2.app.inject({
          method: 'GET',
          url: `/v2/logs?logType=AccessLog&fromDateTime=${new Date(T0).toISOString()}`,
          headers: { authorization: basic(t.key) },
        });
        assert.equal(res.statusCode, 500);
        const body = res.json() as { requestId: string; errors: string[] };
        assert.doesNotMatch(res.body, /payload-/);
        const line = log.split('\n').find((l) => l.includes(body.requestId) && l.includes('CorruptSegmentError'));
        assert.ok(line, 'a log line with the request id names the corrupt segment');
        assert.match(line, new RegExp(`segment ${seg.id} is corrupt: checksum mismatch`));
        assert.equal(JSON.parse(line).detail, DAMAGED_STORE, 'the line says what to do');
        assert.doesNotMatch(line, /payload-/);
      } finally {
        await t2.app.close();
        await fresh.close();
      }
    } finally {
      await t.close();
    }
  });

  it('answers a database file SQLite finds malformed with a generic 500 and a log line saying what to do', async () => {
    const dir = tempDir();
    const sink = new PassThrough();
    let log = '';
    sink.on('data', (d) => (log += d));
    const store = openSqliteStore({ dataDir: dir, sealIntervalMs: 3_600_000 });
    const t = await startTestApp({ store, logger: createLogger('info', sink) });
    try {
      const entries = Array.from({ length: 5 }, (_, i) => ({
        eventTime: new Date(T0 + i * 1000).toISOString(),
        logRecord: { secret: `payload-${i}` },
      }));
      assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
      // The b-tree page of the entries' time index overwritten in the file: SQLite says SQLITE_CORRUPT.
      const db = new Database(join(dir, DATABASE_FILE));
      db.pragma('wal_checkpoint(TRUNCATE)');
      const root = db.prepare<[], number>("SELECT rootpage FROM sqlite_schema WHERE name = 'entries_by_time'").pluck().get()!;
      const pageSize = db.pragma('page_size', { simple: true }) as number;
      db.close();
      const fd = openSync(join(dir, DATABASE_FILE), 'r+');
      writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (root - 1) * pageSize);
      closeSync(fd);
      const fresh = openSqliteStore({ dataDir: dir, sealIntervalMs: 3_600_000 });
      const t2 = await startTestApp({ store: fresh, logger: createLogger('info', sink) });
      try {
        const res = await t2.app.inject({
          method: 'GET',
          url: `/v2/logs?logType=AccessLog&fromDateTime=${new Date(T0).toISOString()}`,
          headers: { authorization: basic(t.key) },
        });
        assert.equal(res.statusCode, 500, res.body);
        assert.deepEqual(res.json().errors, ['Internal server error']);
        const line = log.split('\n').find((l) => l.includes(res.json().requestId) && l.includes('"status":500'));
        assert.ok(line, 'a log line with the request id');
        const parsed = JSON.parse(line);
        assert.match(parsed.err.code, /^SQLITE_CORRUPT/);
        assert.equal(parsed.detail, DAMAGED_STORE);
        assert.doesNotMatch(line, /payload-/);
      } finally {
        await t2.app.close();
        await fresh.close();
      }
    } finally {
      await t.close();
    }
  });

  /**
   * A store whose tenant 111 holds 300 AccessLog entries in a corrupt first segment (the other
   * tenants made, empty), reopened to seal every 10 ms of a mock clock (each tick one sealing
   * slice), with the problems it reports and the count of repeats.
   */
  async function reopenedWithCorruptSegment(t: TestContext, tenants: readonly string[]) {
    const dir = tempDir();
    const first = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    for (const id of tenants) await first.createTenant({ id, name: id });
    await first.append(
      '111',
      Array.from({ length: 300 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"secret":"payload-${i}"}`)),
    );
    first.settle();
    await first.close();
    corruptFirstSegment(dir);
    const reports = { problems: [] as Error[], repeats: 0 };
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const store = openSqliteStore({
      dataDir: dir,
      sealAgeMs: 0,
      sealIntervalMs: 10,
      onBackgroundError: (p, repeat) => (repeat ? reports.repeats++ : reports.problems.push(p)),
    });
    return { dir, store, reports };
  }

  it('reports a sealer that meets a corrupt segment once, without entry text, and keeps retrying', async (t) => {
    const { store, reports } = await reopenedWithCorruptSegment(t, ['111']);
    const { problems } = reports;
    try {
      // A late entry inside the corrupt segment's range: sealing it means rewriting that segment.
      await store.append('111', [makeEntry('AccessLog', T0 + 500, '{"secret":"payload-late"}')]);
      assert.equal(problems.length, 0, 'nothing sealed before the first interval');
      // The first slice meets the corrupt segment; nineteen more retry it.
      for (let i = 0; i < 20; i++) t.mock.timers.tick(10);
      assert.equal(problems.length, 1, problems.map((p) => p.message).join('\n'));
      assert.ok(reports.repeats >= 10, `${reports.repeats} retries reported as repeats`);
      assert.match(problems[0]!.message, /corrupt: checksum mismatch/);
      assert.doesNotMatch(problems[0]!.message, /payload-/);
      assert.ok(store.backgroundError instanceof Error);
    } finally {
      await store.close();
    }
  });

  it("leaves a tenant's group with damaged data unsealed, says so once, and seals every other tenant's rows", async (t) => {
    const { dir, store, reports } = await reopenedWithCorruptSegment(t, ['111', '222', '333']);
    const { problems } = reports;
    const hot = () => {
      const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
      try {
        return db
          .prepare<[], { id: string; n: number }>('SELECT t.id, count(*) AS n FROM entries e JOIN tenants t ON t.tid = e.tid GROUP BY 1 ORDER BY 1')
          .all();
      } finally {
        db.close();
      }
    };
    try {
      // The oldest hot rows: a late entry of tenant 111 inside its corrupt segment's range, and
      // a row of tenant 333 whose text was altered where it is stored. Then tenant 222's rows.
      await store.append('111', [makeEntry('AccessLog', T0 + 500, '{"secret":"payload-late"}')]);
      await store.append('333', [makeEntry('UserCallPlay', T0, '{"secret":"payload-333"}')]);
      const db = new Database(join(dir, DATABASE_FILE));
      try {
        db.prepare(
          `UPDATE entries SET body = replace(body, 'payload-333', 'payload-XYZ') WHERE tid = (SELECT tid FROM tenants WHERE id = '333')`,
        ).run();
      } finally {
        db.close();
      }
      await store.append(
        '222',
        Array.from({ length: 600 }, (_, i) => makeEntry('AccessLog', T0 + i * 1000, `{"secret":"payload-222-${i}"}`)),
      );
      for (let i = 0; i < 20; i++) t.mock.timers.tick(10);
      assert.deepEqual(hot(), [
        { id: '111', n: 1 },
        { id: '333', n: 1 },
      ]);
      assert.equal(problems.length, 2, problems.map((p) => p.message).join('\n'));
      assert.ok(reports.repeats >= 10, `${reports.repeats} retries reported as repeats`);
      assert.match(problems.map((p) => p.message).join('\n'), /corrupt: checksum mismatch/);
      assert.doesNotMatch(problems.map((p) => p.message).join('\n'), /payload-/);
      // Tenant 222's entries are served, sealed.
      const page = await store.firstPage({ tenantId: '222', logType: 'AccessLog', fromMs: T0, toMs: null }, 1000);
      assert.equal(page.count, 600);
    } finally {
      await store.close();
    }
  });

  it('pages, totals and idempotency hold with late entries landing in sealed ranges; space stays bounded', { timeout: 300_000 }, async () => {
    // Each run: a store, batches of entries at random times (many late, inside sealed ranges),
    // sealing and compaction after some batches; after every step the pages and totals of
    // random ranges equal the model's, resending a batch stores nothing, and the space bound holds.
    const step = fc.record({
      times: fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 120 }),
      seal: fc.boolean(),
      resend: fc.boolean(),
    });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 60 }), async (steps, pageSize) => {
        const dir = tempDir();
        const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
        try {
          await store.createTenant({ id: TENANTS[0], name: 'a' });
          const model: NewEntry[] = [];
          for (const [s, { times, seal, resend }] of steps.entries()) {
            run++;
            const batch = times.map((t, i) => owned(TENANTS[0], TYPES[0], T0 + t * 1000, `${run}-${s}-${i}`));
            assert.deepEqual(await store.append(TENANTS[0], batch), { accepted: batch.length, duplicates: 0 });
            model.push(...batch);
            if (resend) assert.deepEqual(await store.append(TENANTS[0], batch), { accepted: 0, duplicates: batch.length });
            if (seal) store.settle();
            const ordered = [...model].sort((a, b) => a.eventTimeMs - b.eventTimeMs);
            for (const [from, to] of [
              [0, null],
              [37, 211],
              [399, 400],
            ] as const) {
              const query: EntryQuery = {
                tenantId: TENANTS[0],
                logType: TYPES[0],
                fromMs: T0 + from * 1000,
                toMs: to === null ? null : T0 + to * 1000,
              };
              const want = ordered
                .filter((e) => e.eventTimeMs >= query.fromMs && (query.toMs === null || e.eventTimeMs < query.toMs))
                .map((e) => e.body);
              const first = await store.firstPage(query, pageSize);
              assert.equal(first.total, want.length);
              const got = entriesOf(first).map((e) => e.body);
              let page: StoredPage = first;
              while (page.next) {
                page = await store.nextPage(query, page.next, first.watermark, pageSize);
                got.push(...entriesOf(page).map((e) => e.body));
              }
              assert.deepEqual(got, want);
            }
          }
          store.settle();
          const space = segmentSpace(dir);
          assert.ok(space.used <= 1.5 * space.live + 3 * PAGE, `${space.used} bytes used for ${space.live} live`);
        } finally {
          await store.close();
        }
      }),
      { numRuns: 12 },
    );
  });

  it('rewrites each sealed segment about once for late entries spread over all of them, not once per batch of them', async () => {
    const dir = tempDir();
    const store: SqliteStore = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      await store.append(
        TENANTS[0],
        Array.from({ length: 10_240 }, (_, i) => owned(TENANTS[0], 'AccessLog', T0 + i * 1000, i)),
      );
      store.settle();
      const written = () => {
        const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
        try {
          return db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'segments'").pluck().get()!;
        } finally {
          db.close();
        }
      };
      const before = written();
      assert.equal(before, 40, 'forty full segments');
      // 4,000 late entries landing all over the sealed range, in batches as producers send them.
      for (let b = 0; b < 40; b++) {
        await store.append(
          TENANTS[0],
          Array.from({ length: 100 }, (_, i) =>
            owned(TENANTS[0], 'AccessLog', T0 + ((b * 7919 + i * 104_729) % 10_240) * 1000 + 500, `late ${b}/${i}`),
          ),
        );
      }
      store.settle();
      const rewrites = written() - before;
      // Each segment takes its hundred late entries at once: two segments out for each one in.
      assert.ok(rewrites <= 2 * 40 + 4, `${rewrites} segments written to take the late entries into 40`);
      assert.equal((await store.firstPage({ tenantId: TENANTS[0], logType: 'AccessLog', fromMs: 0, toMs: null }, 1)).total, 14_240);
    } finally {
      await store.close();
    }
  });

  it('cuts segments by the size of their text too, so entries of megabytes never make a segment too large to store or read', async () => {
    const dir = tempDir();
    const store: SqliteStore = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      // Incompressible records of 200 KiB: 256 such entries would make a 50 MiB segment, and
      // entries of 32 MiB (what a JSON batch may hold) one beyond SQLite's 1e9-byte value limit.
      const big = (timeMs: number, i: number) => owned(TENANTS[0], 'AccessLog', timeMs, `${i} ${randomBytes(150 * 1024).toString('base64')}`);
      const sent: NewEntry[] = [];
      const add = async (entries: NewEntry[]) => {
        sent.push(...entries);
        await store.append(TENANTS[0], entries);
      };
      // The newest segment extended by later batches, then late entries rewriting sealed ones.
      for (let b = 0; b < 4; b++) {
        await add(Array.from({ length: 5 }, (_, i) => big(T0 + (b * 5 + i) * 1000, b * 5 + i)));
        store.settle();
      }
      await add(Array.from({ length: 8 }, (_, i) => big(T0 + i * 2500 + 500, 100 + i)));
      store.settle();
      const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
      try {
        const segments = db.prepare<[], { n: number; data: Buffer }>('SELECT n, data FROM segments').all();
        assert.ok(segments.length > 1);
        for (const { n, data } of segments) {
          const plain = decodeSegment(data, { tenantId: TENANTS[0], logType: 'AccessLog' }).text.length;
          assert.ok(n === 1 || plain <= SEGMENT_BYTES, `a segment of ${n} entries holds ${plain} bytes of text`);
        }
        assert.equal(db.prepare('SELECT count(*) FROM entries').pluck().get(), 0, 'everything sealed');
      } finally {
        db.close();
      }
      const page = await store.firstPage({ tenantId: TENANTS[0], logType: 'AccessLog', fromMs: 0, toMs: null }, 1000);
      const expected = [...sent].sort((a, b) => a.eventTimeMs - b.eventTimeMs).map((e) => e.body);
      assert.deepEqual(
        entriesOf(page).map((e) => e.body),
        expected,
      );
    } finally {
      await store.close();
    }
  });

  it('keeps the database file within 1.5 times its live data after rounds of late entries', { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const store: SqliteStore = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      const { generateDemoEntries } = await import('../../src/demo/demo-data.ts');
      const window = { fromMs: T0, toMs: T0 + 86_400_000, types: ['AccessLog'] };
      await store.append(TENANTS[0], generateDemoEntries({ ...window, seed: 1, count: 20_000 }));
      store.settle();
      const rounds: string[] = [];
      for (let round = 0; round < 5; round++) {
        await store.append(TENANTS[0], generateDemoEntries({ ...window, seed: 50 + round, count: 500 }));
        store.settle();
        const s = fileSpace(dir);
        rounds.push(`${s.inUse}/${s.live}`);
        assert.ok(s.inUse <= 1.5 * s.live, `round ${round}: ${s.inUse} bytes of pages in use for ${s.live} bytes of live data`);
      }
    } finally {
      await store.close();
    }
  });
});

const PAGE = 4096;

/** As the contract measures it: live segment bytes, and the pages of the segment table and its index. */
function segmentSpace(dir: string): { live: number; used: number } {
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    const live = db.prepare<[], number>('SELECT coalesce(sum(length(data)), 0) FROM segments').pluck().get()!;
    const used = db.prepare<[], number>("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN ('segments', 'segments_by_last')").pluck().get()!;
    return { live, used };
  } finally {
    db.close();
  }
}

/**
 * The whole database: `inUse` is (page_count - freelist_count) × page_size, every page the file
 * holds data in; `live` is what that data must hold at least: the segments' bytes plus the
 * payload of the idempotency keys (tenant, time, 16-byte key) and the per-hour counts, as
 * dbstat reports their cells' payload.
 */
function fileSpace(dir: string): { inUse: number; live: number; fileBytes: number } {
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  try {
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const size = db.pragma('page_size', { simple: true }) as number;
    const segments = db.prepare<[], number>('SELECT coalesce(sum(length(data)), 0) FROM segments').pluck().get()!;
    // Live besides the segments: idempotency keys, tallies, and the verifiable log's tables.
    const keys = db
      .prepare<[], number>(
        `SELECT coalesce(sum(payload), 0) FROM dbstat WHERE name IN ('entry_keys', 'entry_counts',
         'tree_tiles', 'tree_heads', 'tree_high', 'tree_checkpoints', 'tree_origins', 'tree_runs')`,
      )
      .pluck()
      .get()!;
    return { inUse: (pages - free) * size, live: segments + keys, fileBytes: statSync(join(dir, DATABASE_FILE)).size };
  } finally {
    db.close();
  }
}

describe('space handed back to the file system (incremental auto-vacuum)', () => {
  it('a few pages per call, each call its own short transaction; settling hands back everything beyond the reserve', async () => {
    const dir = tempDir();
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 60 * 60_000 });
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      const pad = 'x'.repeat(900);
      for (let batch = 0; batch < 10; batch++) {
        await store.append(
          TENANTS[0],
          Array.from({ length: 1000 }, (_, i) => owned(TENANTS[0], 'AccessLog', T0 + (batch * 1000 + i) * 1000, `${i}${pad}`)),
        );
      }
      const pragma = (name: string) => {
        const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
        try {
          return db.pragma(name, { simple: true }) as number;
        } finally {
          db.close();
        }
      };
      const freePages = () => pragma('freelist_count');
      // The store's own background worker, driven by hand: seal everything, then hand back once.
      const sealer = (store as unknown as { sealer: Sealer }).sealer;
      while (sealer.step(Number.POSITIVE_INFINITY) > 0);
      const freed = freePages();
      assert.ok(freed > 1000, `sealing freed ${freed} pages`);
      const pagesBefore = pragma('page_count');
      assert.equal(sealer.giveBackSpace(0), 64, 'one call of 64 pages when the time budget is spent');
      assert.equal(freePages(), freed - 64);
      store.settle();
      assert.ok(freePages() <= 256, 'settling hands back everything beyond the reserve');
      assert.ok(pragma('page_count') < pagesBefore / 2, `the database shrank from ${pagesBefore} pages to ${pragma('page_count')}`);
    } finally {
      await store.close();
    }
  });
});

describe('sealing when the clock is put back', () => {
  it('seals rows stored before the clock went back, and those stored after them, instead of waiting for the clock to reach them again', async () => {
    const dir = tempDir();
    let now = T0 + 365 * 86_400_000; // a clock a year ahead
    // The background worker waits an hour between looks: the test drives it by hand.
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 5 * 60_000, sealIntervalMs: 3_600_000, now: () => now });
    const hot = () => {
      const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
      try {
        return db.prepare<[], number>('SELECT count(*) FROM entries').pluck().get();
      } finally {
        db.close();
      }
    };
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      await store.append(TENANTS[0], [owned(TENANTS[0], 'AccessLog', T0, 'ahead')]);
      const sealer = (store as unknown as { sealer: Sealer }).sealer;
      assert.equal(sealer.step(now + 60_000), 0, 'a minute old: not yet');
      now = T0; // the clock set right
      await store.append(TENANTS[0], [owned(TENANTS[0], 'AccessLog', T0 + 1, 'after')]);
      now += 10 * 60_000;
      while (sealer.step(now) > 0);
      assert.equal(hot(), 0, 'both sealed: the first was stored "later than now", the second is ten minutes old');
      await store.append(TENANTS[0], [owned(TENANTS[0], 'AccessLog', T0 + 2, 'fresh')]);
      assert.equal(sealer.step(now + 60_000), 0, 'a row stored a minute ago still waits for the seal age');
      const page = await store.firstPage({ tenantId: TENANTS[0], logType: 'AccessLog', fromMs: 0, toMs: null }, 10);
      assert.equal(page.total, 3);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the cache of decoded segments', () => {
  it('keeps nothing a rolled-back step decoded of the segments it inserted, whose ids the next segments get', async () => {
    const dir = tempDir();
    const store: SqliteStore = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000, noAppendThread: true });
    const other = new Database(join(dir, DATABASE_FILE));
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      const at = (ms: number, n: string, pad = '') => owned(TENANTS[0], 'AccessLog', T0 + ms, `${n}${pad}`);
      // An entry larger than a segment's text: a segment of its own, the newest.
      await store.append(TENANTS[0], [at(100, 'E1', 'x'.repeat(SEGMENT_BYTES + 1024))]);
      store.settle();
      // A late row (into a new segment before it) and a newer one: the step inserts the late
      // row's segment, then decodes the newest segment (now that one) to see whether it is short.
      await store.append(TENANTS[0], [at(50, 'L1'), at(200, 'N1')]);
      // The step's last statement fails, as it would on a full disk.
      other.exec("CREATE TRIGGER fail BEFORE DELETE ON entries BEGIN SELECT RAISE(ABORT, 'disk full'); END");
      assert.throws(() => store.settle(), /disk full/);
      other.exec('DROP TRIGGER fail');
      // The same ids go to other segments now: L2's before E1, and so on.
      await store.append(TENANTS[0], [at(60, 'L2')]);
      store.settle();
      const query = { tenantId: TENANTS[0], logType: 'AccessLog', fromMs: 0, toMs: null };
      const names = (page: StoredPage) => entriesOf(page).map((e) => (JSON.parse(e.body) as { logRecord: { n: string } }).logRecord.n.slice(0, 2));
      const page = await store.firstPage(query, 100);
      assert.deepEqual(names(page), ['L1', 'L2', 'E1', 'N1']);
      assert.equal(page.total, 4);
      // A late row into the segment its cache would have held stale seals as any other.
      await store.append(TENANTS[0], [at(55, 'L3')]);
      store.settle();
      assert.deepEqual(names(await store.firstPage(query, 100)), ['L1', 'L3', 'L2', 'E1', 'N1']);
    } finally {
      other.close();
      await store.close();
    }
  });

  it('keeps no segment that a rewrite or a purge deleted', async () => {
    const dir = tempDir();
    const store: SqliteStore = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
    try {
      await store.createTenant({ id: TENANTS[0], name: 'a' });
      // Steady ingest: each seal extends the newest, short segment, which is rewritten (new id).
      for (let batch = 0; batch < 40; batch++) {
        await store.append(
          TENANTS[0],
          Array.from({ length: 20 }, (_, i) => owned(TENANTS[0], 'AccessLog', T0 + (batch * 20 + i) * 1000, batch * 20 + i)),
        );
        store.settle();
      }
      // Late entries merged into sealed segments, and a purge step that rewrites one in part.
      await store.append(
        TENANTS[0],
        Array.from({ length: 30 }, (_, i) => owned(TENANTS[0], 'AccessLog', T0 + i * 25_000 + 500, `late ${i}`)),
      );
      store.settle();
      await store.purge(TENANTS[0], 'AccessLog', T0 + 100_000, 1000);
      const query = { tenantId: TENANTS[0], logType: 'AccessLog', fromMs: 0, toMs: null };
      const first = await store.firstPage(query, 100);
      let page: StoredPage = first;
      while (page.next) page = await store.nextPage(query, page.next, first.watermark, 100);

      const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
      const live = db.prepare<[], number>('SELECT count(*) FROM segments').pluck().get()!;
      db.close();
      const cache = (store as unknown as { segments: { cache: SegmentCache } }).segments.cache;
      assert.ok(live >= 3, `${live} segments`);
      assert.ok(cache.size <= live, `${cache.size} segments cached, ${live} exist`);
    } finally {
      await store.close();
    }
  });
});
