/**
 * The console's newest-first reading over an ascending-only API: every entry of the range comes
 * exactly once, newest first, whatever the hourly counts say (exact, missing, or wrong), with
 * hours and single milliseconds holding more than a page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HourCount, NewestFirst } from '../../src/console/newest-first.ts';
import type { Page, Row } from '../../src/console/page.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 1);

function row(ms: number, n: number): Row {
  const eventTime = new Date(ms).toISOString();
  return { eventTime, ms, raw: `{"eventTime":"${eventTime}","n":${n}}`, logRecordText: '{}' };
}

/** An ascending-only API over `rows` (sorted), `limit` entries a page, counting its reads (and apart, those of a later page). */
function api(rows: Row[], limit: number) {
  const reads: Array<[number, number | null]> = [];
  const laterPages: Array<[number, number | null]> = [];
  const read = async (fromMs: number, toMs: number | null, cursor?: string): Promise<Page> => {
    if (cursor === undefined) reads.push([fromMs, toMs]);
    else laterPages.push([fromMs, toMs]);
    const inRange = rows.filter((r) => r.ms >= fromMs && (toMs === null || r.ms < toMs));
    const at = cursor === undefined ? 0 : Number(cursor);
    const next = at + limit < inRange.length ? String(at + limit) : undefined;
    return { total: inRange.length, rows: inRange.slice(at, at + limit), ...(next !== undefined && { cursor: next }) };
  };
  return { read, reads, laterPages };
}

function hourCounts(rows: Row[]): HourCount[] {
  const m = new Map<number, number>();
  for (const r of rows) m.set(Math.floor(r.ms / HOUR) * HOUR, (m.get(Math.floor(r.ms / HOUR) * HOUR) ?? 0) + 1);
  return [...m].map(([h, count]) => ({ start: new Date(h).toISOString(), count }));
}

async function readAll(reader: NewestFirst): Promise<Row[]> {
  const out: Row[] = [];
  for (let i = 0; i < 10_000 && !reader.done; i++) out.push(...(await reader.next()));
  assert.ok(reader.done);
  assert.deepEqual(await reader.next(), []);
  return out;
}

/** Entries over three days: a quiet stretch, a busy hour (2,000), and 1,200 in one millisecond. */
function dataset(): Row[] {
  const rows: Row[] = [];
  let n = 0;
  for (let i = 0; i < 300; i++) rows.push(row(T0 + i * 7 * 60_000, n++));
  for (let i = 0; i < 2000; i++) rows.push(row(T0 + 40 * HOUR + i * 1700, n++));
  for (let i = 0; i < 1200; i++) rows.push(row(T0 + 50 * HOUR + 123, n++));
  for (let i = 0; i < 50; i++) rows.push(row(T0 + 60 * HOUR + i * 60_000, n++));
  return rows;
}

describe('newest-first reading', () => {
  const all = dataset();
  const expected = [...all].reverse().map((r) => r.raw);
  const from = T0 - HOUR / 2;
  const to = T0 + 72 * HOUR + 5;

  it('reads every entry once, newest first, with exact hourly counts; windows hold about a page', async () => {
    const { read, reads } = api(all, 1000);
    const got = await readAll(new NewestFirst(read, from, to, hourCounts(all), to, 500));
    assert.deepEqual(
      got.map((r) => r.raw),
      expected,
    );
    assert.ok(
      reads.length < 40,
      `${reads.length} window reads: ${JSON.stringify(reads.map(([a, b]) => [(a - T0) / HOUR, b === null ? null : (b - T0) / HOUR]))}`,
    );
  });

  it('is as exact without counts, and with counts that are wrong', async () => {
    for (const hours of [[], hourCounts(all.slice(0, 100)), hourCounts(all).map((h) => ({ ...h, count: h.count * 7 + 3 }))]) {
      const { read } = api(all, 1000);
      const got = await readAll(new NewestFirst(read, from, to, hours, to, 500));
      assert.deepEqual(
        got.map((r) => r.raw),
        expected,
      );
    }
  });

  it('reads a range without an upper bound, entries after "now" included', async () => {
    const later = [...all, row(to + HOUR, 99_999)];
    const { read, reads } = api(later, 200);
    const got = await readAll(new NewestFirst(read, from, null, hourCounts(later), to, 150));
    assert.deepEqual(
      got.map((r) => r.raw),
      [...later].reverse().map((r) => r.raw),
    );
    assert.equal(reads[0]![1], null, 'the first window is open above');
  });

  it('ends at once on an empty range', async () => {
    const { read, reads } = api([], 1000);
    assert.deepEqual(await readAll(new NewestFirst(read, from, to, [], to)), []);
    assert.equal(reads.length, 1);
  });

  it('reads one page of a dense stretch for its newest entries, not all of it; only a single millisecond is read through', async () => {
    // 1,900 entries in the last ten minutes of an hour (counted for the whole hour), after a quiet one.
    const rows: Row[] = [];
    for (let i = 0; i < 60; i++) rows.push(row(T0 + 9 * HOUR + i * 60_000, i));
    for (let i = 0; i < 1900; i++) rows.push(row(T0 + 10 * HOUR + 50 * 60_000 + i * 300, 100 + i));
    const end = T0 + 11 * HOUR;
    const { read, laterPages } = api(rows, 1000);
    const reader = new NewestFirst(read, T0, end, hourCounts(rows), end, 500);
    const first = await reader.next();
    assert.ok(first.length > 0 && first.length <= 1000, `the newest ${first.length} entries, at most a page`);
    assert.equal(first[0]!.raw, rows.at(-1)!.raw);
    assert.deepEqual(laterPages, [], 'no window wider than a millisecond is read past its first page');
    const got = [first, ...(await readAll(reader))].flat();
    assert.deepEqual(
      got.map((r) => r.raw),
      [...rows].reverse().map((r) => r.raw),
    );
    assert.deepEqual(laterPages, []);
    // The 1,200 of one millisecond in the three-day set are the only later pages read.
    const all = dataset();
    const three = api(all, 1000);
    await readAll(new NewestFirst(three.read, T0 - HOUR / 2, T0 + 72 * HOUR + 5, hourCounts(all), T0 + 72 * HOUR + 5, 500));
    assert.ok(three.laterPages.length > 0);
    for (const [from, to] of three.laterPages) assert.equal(to! - from, 1, 'a later page only of a single millisecond');
  });
});
