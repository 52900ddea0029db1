/**
 * Property: paging is a snapshot. For random data sets crowded into a few distinct event
 * times, random page sizes and random half-open ranges, with more entries ingested between
 * and during page requests, the pages of one query concatenate to exactly the entries that
 * matched when page 0 was served — ordered by eventTime, then ingestion order, none skipped,
 * none repeated — with a constant totalRecords, page numbers counting from 0, and a cursor on
 * every page but the last.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { createTenant, issueAccessKey } from '../../src/service/access-keys.ts';
import { sqliteSealingFactory, startTestApp, type TestApp } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

const BASE_MS = Date.UTC(2024, 5, 1);
const LOG_TYPE = 'UserCallPlay';

/** A point in the small time domain: whole seconds after BASE_MS plus a few possible milliseconds. */
interface Moment {
  readonly sec: number;
  readonly ms: number;
}
const msOf = (m: Moment) => BASE_MS + m.sec * 1000 + m.ms;

const moment = (minSec: number, maxSec: number) => fc.record({ sec: fc.integer({ min: minSec, max: maxSec }), ms: fc.constantFrom(0, 0, 0, 1, 500) });

/** An offset in minutes at which an instant is written (the same instant, another wall clock). */
const offset = fc.constantFrom(0, 0, 60, -300, 330, -720, 840);

/** ISO-8601 text of `ms` as seen at `offsetMinutes` east of UTC. */
function render(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString();
  const wall = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 23);
  const a = Math.abs(offsetMinutes);
  const sign = offsetMinutes < 0 ? '-' : '+';
  return `${wall}${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

/** How a request for page n > 0 is made, and how the batch of that gap is ingested. */
const gap = fc.record({
  restate: fc.constantFrom('cursor only', 'same text', 'other offset'),
  ingest: fc.constantFrom('before the page', 'while the page is served', 'none'),
  batch: fc.array(moment(-1, 7), { minLength: 1, maxLength: 8 }),
  /** Also resend this many entries already stored (duplicates, which must change nothing). */
  resend: fc.nat({ max: 3 }),
});

const scenario = fc.record({
  /** The entries stored before page 0, as consecutive ingest batches. */
  batches: fc.array(fc.array(moment(0, 5), { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 4 }),
  limit: fc.integer({ min: 1, max: 12 }),
  from: moment(-1, 5),
  /** Seconds after `from` (null: toDateTime omitted). */
  span: fc.option(fc.integer({ min: 1, max: 6 }), { nil: null }),
  toMs: fc.constantFrom(0, 1, 500),
  fromOffset: offset,
  toOffset: offset,
  gaps: fc.array(gap, { minLength: 1, maxLength: 12 }),
});

interface Stored {
  readonly n: number;
  readonly timeMs: number;
  /** Ingestion order. */
  readonly order: number;
}

interface Page {
  requestId: string;
  records: { totalRecords: number; currentPageSize: number; currentPageNumber: number; cursor?: string };
  logEntries: Array<{ eventTime: string; logRecord: { n: number } }>;
}

for (const kind of [...(await storeKinds()), { name: sqliteSealingFactory.name, factory: sqliteSealingFactory, skip: undefined }]) {
  describe(`paging property (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
    });
    after(async () => t.close());

    it('concatenated pages equal the snapshot taken at page 0, whatever is ingested meanwhile', async () => {
      let runs = 0;
      let pagesRead = 0;
      let ingestedDuringPaging = 0;
      await fc.assert(
        fc.asyncProperty(scenario, async (s) => {
          runs++;
          const tenant = await createTenant(t.store, `paging ${runs}`);
          const key = await issueAccessKey(t.store, tenant.id, ['api:logs:read', 'api:logs:write']);
          const stored: Stored[] = [];
          let next = 0;

          const ingest = async (moments: readonly Moment[], resend: readonly Stored[] = []) => {
            const fresh = moments.map((m) => ({ n: next++, timeMs: msOf(m) }));
            const all = [...fresh, ...resend];
            const res = await t.ingest(
              LOG_TYPE,
              all.map((e) => ({ userId: String(e.n), eventTime: new Date(e.timeMs).toISOString(), logRecord: { n: e.n } })),
              key,
            );
            assert.equal(res.statusCode, 201, res.body);
            assert.deepEqual([res.json().accepted, res.json().duplicates], [fresh.length, resend.length]);
            // Committed: from here on it is in the store, in this order.
            for (const e of fresh) stored.push({ ...e, order: stored.length });
          };

          for (const b of s.batches) await ingest(b);

          const fromMs = msOf(s.from);
          const toMs = s.span === null ? null : fromMs + s.span * 1000 + s.toMs;
          const query: Record<string, string> = { logType: LOG_TYPE, fromDateTime: render(fromMs, s.fromOffset), limit: String(s.limit) };
          if (toMs !== null) query.toDateTime = render(toMs, s.toOffset);
          const inRange = (e: Stored) => e.timeMs >= fromMs && (toMs === null || e.timeMs < toMs);
          const expected = stored
            .filter(inRange)
            .sort((a, b) => a.timeMs - b.timeMs || a.order - b.order)
            .map((e) => e.n);

          const first = await t.list(query, key);
          if (expected.length === 0) {
            assert.equal(first.statusCode, 404, first.body);
            assert.deepEqual(first.json().errors, [NO_RECORDS_MESSAGE]);
            return;
          }
          assert.equal(first.statusCode, 200, first.body);
          const pages: Page[] = [first.json()];
          for (let g = 0; pages.at(-1)!.records.cursor !== undefined; g++) {
            assert.ok(pages.length <= expected.length, 'more pages than entries');
            const cursor = pages.at(-1)!.records.cursor!;
            const step = s.gaps[g % s.gaps.length]!;
            const params: Record<string, string> =
              step.restate === 'cursor only'
                ? { cursor }
                : step.restate === 'same text'
                  ? { ...query, cursor }
                  : {
                      ...query,
                      fromDateTime: render(fromMs, s.toOffset),
                      ...(toMs !== null && { toDateTime: render(toMs, s.fromOffset) }),
                      cursor,
                    };
            const resend = stored.slice(0, Math.min(step.resend, stored.length));
            const before = stored.length;
            let res;
            if (step.ingest === 'before the page') {
              await ingest(step.batch, resend);
              res = await t.list(params, key);
            } else if (step.ingest === 'while the page is served') {
              [res] = await Promise.all([t.list(params, key), ingest(step.batch, resend)]);
            } else {
              res = await t.list(params, key);
            }
            ingestedDuringPaging += stored.length - before;
            assert.equal(res.statusCode, 200, res.body);
            pages.push(res.json());
          }
          pagesRead += pages.length;

          const got: number[] = [];
          pages.forEach((p, i) => {
            const last = i === pages.length - 1;
            assert.equal(p.records.totalRecords, expected.length, `page ${i}: totalRecords`);
            assert.equal(p.records.currentPageNumber, i);
            assert.equal(p.records.currentPageSize, p.logEntries.length);
            assert.equal(p.logEntries.length, last ? expected.length - s.limit * i : s.limit, `page ${i}: size`);
            assert.equal('cursor' in p.records, !last, `page ${i}: cursor present on every page but the last`);
            for (const e of p.logEntries) {
              got.push(e.logRecord.n);
              assert.equal(e.eventTime, new Date(stored.find((x) => x.n === e.logRecord.n)!.timeMs).toISOString());
            }
          });
          assert.deepEqual(got, expected);
          assert.equal(pages.length, Math.ceil(expected.length / s.limit));

          // The next query sees what was ingested meanwhile.
          const now = stored.filter(inRange).map((e) => e.n);
          const fresh = await t.list({ ...query, limit: '1000' }, key);
          assert.equal(fresh.statusCode, 200, fresh.body);
          const freshPage: Page = fresh.json();
          assert.equal(freshPage.records.totalRecords, now.length);
          assert.deepEqual(
            freshPage.logEntries.map((e) => e.logRecord.n).sort((a, b) => a - b),
            now.sort((a, b) => a - b),
          );
        }),
        { numRuns: 60 },
      );
      // The property must have exercised what it claims to (loose bounds: the scenarios are random).
      assert.ok(pagesRead >= runs, `pages read: ${pagesRead} over ${runs} runs`);
      assert.ok(ingestedDuringPaging >= runs / 2, `entries ingested while paging: ${ingestedDuringPaging} over ${runs} runs`);
    });
  });
}
