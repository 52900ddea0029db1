/**
 * The console's histogram over a range of years: the server answers at most 366 days a request,
 * so the console asks a year at a time (histogram-parts.ts), and every entry of the range is
 * counted once, across years, Dec 31 → Jan 1 and Feb 29 included.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HistogramRange, histogramParts } from '../../src/console/histogram-parts.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;

describe('console: the histogram over years', () => {
  let t: TestApp;
  const times: number[] = [];
  before(async () => {
    t = await startTestApp();
    for (let ms = Date.UTC(2022, 0, 1, 3, 17); ms < Date.UTC(2026, 0, 1); ms += 5 * DAY + HOUR + 777) times.push(ms);
    for (const y of [2023, 2024, 2025]) times.push(Date.UTC(y, 0, 1) - 1, Date.UTC(y, 0, 1));
    times.push(Date.UTC(2024, 1, 29, 12), Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    const entries = times.map((ms, i) => ({ userId: String(1000 + (i % 7)), eventTime: new Date(ms).toISOString(), logRecord: { i } }));
    assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
  });
  after(() => t?.close());

  /** The buckets of a range as the console reads them: each part one request, as its page sends it. */
  async function histogram(range: HistogramRange, nowMs: number): Promise<Array<{ start: string; count: number }>> {
    const buckets: Array<{ start: string; count: number }> = [];
    for (const part of histogramParts(range, nowMs)) {
      const res = await t.inject({
        method: 'GET',
        url: '/v2/logs/histogram',
        query: { logType: 'AccessLog', ...part, timeZone: 'Asia/Kathmandu' },
        headers: { authorization: basic(t.readKey) },
      });
      assert.equal(res.statusCode, 200, `${JSON.stringify(part)}: ${res.body}`);
      buckets.push(...(JSON.parse(res.body) as { buckets: Array<{ start: string; count: number }> }).buckets);
    }
    return buckets;
  }
  const sum = (buckets: { count: number }[]) => buckets.reduce((a, b) => a + b.count, 0);

  it('counts every entry of a range of years once, in requests the server answers', async () => {
    for (const [fromMs, toMs] of [
      [Date.UTC(2022, 0, 1), Date.UTC(2026, 0, 1)],
      [Date.UTC(2022, 4, 3, 7, 30, 15, 5), Date.UTC(2025, 10, 9, 18, 45)],
      [Date.UTC(2023, 11, 31, 23), Date.UTC(2025, 0, 1, 1)],
      [Date.UTC(2024, 1, 1), Date.UTC(2024, 2, 1)],
    ] as const) {
      const range = { fromDateTime: new Date(fromMs).toISOString(), toDateTime: new Date(toMs).toISOString() };
      const buckets = await histogram(range, Date.UTC(2026, 0, 15));
      const starts = buckets.map((b) => Date.parse(b.start));
      assert.deepEqual(
        starts,
        [...new Set(starts)].sort((a, b) => a - b),
        'each bucket once, in order',
      );
      // The hours at the ends are counted whole.
      const first = Math.floor(fromMs / HOUR) * HOUR;
      const last = Math.ceil(toMs / HOUR) * HOUR;
      assert.equal(sum(buckets), times.filter((ms) => ms >= first && ms < last).length, JSON.stringify(range));
    }
  });

  it('counts a range of years open to the latest entry, its last part open too', async () => {
    const nowMs = Date.now();
    const parts = histogramParts({ fromDateTime: '2022-01-01T00:00:00Z' }, nowMs);
    assert.equal(parts.at(-1)!.toDateTime, undefined);
    assert.ok(nowMs - Date.parse(parts.at(-1)!.fromDateTime) <= 365 * DAY);
    assert.equal(sum(await histogram({ fromDateTime: '2022-01-01T00:00:00Z' }, nowMs)), times.length);
  });
});
