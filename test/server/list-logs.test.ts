import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { basic, startTestApp, type TestApp, TestClock } from '../support/app.ts';
import { goldenBatch, goldenPages } from '../support/fixtures.ts';
import { storeKinds } from '../support/stores.ts';

const REQUEST_ID = /^[0-9a-z]{19}$/;

function entry(i: number, eventTime: string, extra: Record<string, unknown> = {}) {
  return { userId: String(1000 + i), eventTime, logRecord: { i, ...extra } };
}

/** Reads every page of a query, returning the pages' parsed bodies. */
async function allPages(t: TestApp, query: Record<string, string>) {
  const pages = [];
  let cursor: string | undefined;
  for (;;) {
    const res = await t.list(cursor ? { ...query, cursor } : query);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    pages.push(body);
    cursor = body.records.cursor;
    if (!cursor) return pages;
  }
}

for (const kind of await storeKinds()) {
  describe(`GET /v2/logs (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
    });
    after(async () => t.close());

    it('returns every golden page entry byte for byte, in Gong field order', async () => {
      for (const page of goldenPages()) {
        const ing = await t.inject({
          method: 'POST',
          url: '/v2/logs',
          headers: { authorization: basic(t.key), 'content-type': 'application/json' },
          payload: goldenBatch(page),
        });
        assert.equal(ing.statusCode, 201, ing.body);
        const res = await t.list({ logType: page.logType, fromDateTime: '2026-01-01T00:00:00Z', toDateTime: '2027-01-01T00:00:00Z' });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['cache-control'], 'no-store', 'audit entries are kept by no cache');
        const text = res.body;
        const expectedEntries = `"logEntries":[${page.entries.join(',')}]}`;
        assert.ok(text.endsWith(expectedEntries), `${page.logType}: entries differ\n${text}\n${expectedEntries}`);
        const body = res.json();
        assert.deepEqual(Object.keys(body), ['requestId', 'records', 'logEntries']);
        assert.deepEqual(body.records, { totalRecords: page.entries.length, currentPageSize: page.entries.length, currentPageNumber: 0 });
        assert.match(body.requestId, REQUEST_ID);
        assert.equal(res.headers['x-traceid'], body.requestId);
      }
    });

    it('keeps number text exactly: 1.0, 1.5e-300, integers beyond 2^53, and key order with numeric-looking keys', async () => {
      const raw =
        '{"logType":"UserCallPlay","logEntries":[{"userId":"123456789012345678901","eventTime":"2026-05-01T00:00:00.123456+02:00",' +
        '"logRecord":{"b":1.0,"a":1.5e-300,"10":"ten","2":"two","big":12345678901234567890123,"neg":-0.0,"s":"\\u00e9\\n é",' +
        '"nested":{"z":[1.10,{"y":null}],"x":true}}}]}';
      const res = await t.ingest('UserCallPlay', raw);
      assert.equal(res.statusCode, 201, res.body);
      const page = await t.list({ logType: 'UserCallPlay', fromDateTime: '2026-04-30T00:00:00Z', toDateTime: '2026-05-02T00:00:00Z' });
      assert.ok(
        page.body.includes(
          '{"userId":"123456789012345678901","eventTime":"2026-04-30T22:00:00.123Z","logRecord":{"b":1.0,"a":1.5e-300,"10":"ten","2":"two","big":12345678901234567890123,"neg":-0.0,"s":"\\u00e9\\n é","nested":{"z":[1.10,{"y":null}],"x":true}}}',
        ),
        page.body,
      );
    });

    it('omits absent optional fields and treats null as absent', async () => {
      const res = await t.ingest('ExternallySharedCallAccess', [
        { userId: null, userEmailAddress: 'viewer@example.org', userFullName: null, eventTime: '2026-06-01T10:00:00Z', logRecord: { call_id: '1' } },
      ]);
      assert.equal(res.statusCode, 201);
      const page = await t.list({ logType: 'ExternallySharedCallAccess', fromDateTime: '2026-06-01T00:00:00Z', toDateTime: '2026-06-02T00:00:00Z' });
      assert.deepEqual(page.json().logEntries, [
        { userEmailAddress: 'viewer@example.org', eventTime: '2026-06-01T10:00:00.000Z', logRecord: { call_id: '1' } },
      ]);
      assert.ok(!page.body.includes('null'));
    });

    it("answers 404 with Gong's exact message when nothing matches", async () => {
      const res = await t.list({ logType: 'AccessLog', fromDateTime: '1999-01-01T00:00:00Z', toDateTime: '1999-01-02T00:00:00Z' });
      assert.equal(res.statusCode, 404);
      const body = res.json();
      assert.deepEqual(body.errors, [NO_RECORDS_MESSAGE]);
      assert.equal(NO_RECORDS_MESSAGE, 'No log records found corresponding to the provided log type and time range');
      assert.match(body.requestId, REQUEST_ID);
      assert.equal(res.headers['x-traceid'], body.requestId);
    });

    it("reads the admin trail type LogwardenAdminLog like any type (Gong's 404 while it is empty, not a 400)", async () => {
      const res = await t.list({ logType: 'LogwardenAdminLog', fromDateTime: '1999-01-01T00:00:00Z', toDateTime: '1999-01-02T00:00:00Z' }, t.readKey);
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json().errors, [NO_RECORDS_MESSAGE]);
      const unknown = await t.list({ logType: 'Nope', fromDateTime: '1999-01-01T00:00:00Z' });
      assert.match(
        unknown.json().errors[0],
        /\(expected one of AccessLog, UserActivityLog, UserCallPlay, ExternallySharedCallAccess, ExternallySharedCallPlay, LogwardenAdminLog\)$/,
      );
    });

    it('applies a half-open range, comparing offsets as instants and fractions at their precision', async () => {
      const times = ['2026-07-01T00:00:00.000Z', '2026-07-01T00:00:00.001Z', '2026-07-01T00:00:00.999Z', '2026-07-01T00:00:01.000Z'];
      assert.equal(
        (
          await t.ingest(
            'UserActivityLog',
            times.map((e, i) => entry(i, e)),
          )
        ).statusCode,
        201,
      );
      const count = async (from: string, to: string) => {
        const r = await t.list({ logType: 'UserActivityLog', fromDateTime: from, toDateTime: to });
        return r.statusCode === 404 ? 0 : r.json().records.totalRecords;
      };
      assert.equal(await count('2026-07-01T00:00:00Z', '2026-07-01T00:00:01Z'), 3); // to is exclusive
      assert.equal(await count('2026-06-30T17:00:00-07:00', '2026-07-01T02:00:01+02:00'), 3); // same instants, other offsets
      assert.equal(await count('2026-07-01T00:00:00.0005Z', '2026-07-01T00:00:01Z'), 2); // finer precision: .000 is before the bound
      assert.equal(await count('2026-07-01T00:00:00.001Z', '2026-07-01T00:00:00.999Z'), 1);
      assert.equal(await count('2026-07-01T00:00:00.001Z', '2026-07-01T00:00:00.9991Z'), 2);
      assert.equal(await count('2026-07-01T00:00:01Z', '2026-07-01T00:00:02Z'), 1); // from is inclusive
    });

    it('treats an omitted toDateTime as "up to the latest entry"', async () => {
      const r = await t.list({ logType: 'UserActivityLog', fromDateTime: '2026-07-01T00:00:00.999Z' });
      assert.equal(r.json().records.totalRecords, 2);
    });

    it('rejects bad parameters with a 400 naming the parameter', async () => {
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ fromDateTime: '2026-01-01T00:00:00Z' }, /^logType: is required/],
        [{ logType: 'AccessLog' }, /^fromDateTime: is required/],
        [{ logType: 'NoSuchLog', fromDateTime: '2026-01-01T00:00:00Z' }, /^logType: unknown log type/],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00' }, /^fromDateTime: .*offset/],
        [{ logType: 'AccessLog', fromDateTime: '2021-02-30T00:00:00Z' }, /^fromDateTime: .*impossible date/],
        [{ logType: 'AccessLog', fromDateTime: 'yesterday' }, /^fromDateTime: /],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', toDateTime: '2026-01-01T00:00:00Z' }, /^toDateTime: must be later/],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-02T00:00:00Z', toDateTime: '2026-01-01T00:00:00Z' }, /^toDateTime: must be later/],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', toDateTime: '2026-13-01T00:00:00Z' }, /^toDateTime: /],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '0' }, /^limit: must be an integer from 1 to 1000$/],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '1001' }, /^limit: must be an integer from 1 to 1000$/],
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '0000001' }, /^limit: must be an integer from 1 to 1000$/],
        ...['ten', '-3', '1.5', '', ' 5'].map((limit): [Record<string, string>, RegExp] => [
          { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit },
          /^limit: must be an integer from 1 to 1000$/,
        ]),
        [{ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', cursor: 'bogus' }, /^cursor: /],
        // `+01:00` sent unencoded arrives as ` 01:00`: the answer says how to send it.
        [
          { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00 01:00' },
          /^fromDateTime: .* \(a \+ in a URL query reads as a space: send the offset's \+ as %2B\)$/,
        ],
        [
          { logType: 'AccessLog', fromDateTime: 'yesterday 01:00' },
          /^fromDateTime: "yesterday 01:00" is not an ISO-8601 date-time with offset \(e\.g\. 2024-01-31T08:00:00Z\)$/,
        ],
      ];
      for (const [query, message] of cases) {
        const r = await t.list(query);
        assert.equal(r.statusCode, 400, JSON.stringify(query));
        assert.match(r.json().errors[0], message, JSON.stringify(query));
      }
    });

    it('ignores unknown query parameters', async () => {
      const r = await t.list({ logType: 'UserActivityLog', fromDateTime: '2026-07-01T00:00:00Z', workspaceId: '1', foo: 'bar' });
      assert.equal(r.statusCode, 200);
    });
  });

  describe(`GET /v2/logs paging (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    const query = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', toDateTime: '2026-02-01T00:00:00Z' };
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
      // 250 entries, many sharing one millisecond, ingested out of order.
      const entries = Array.from({ length: 250 }, (_, i) => entry(i, `2026-01-15T00:00:0${(249 - i) % 3}.000Z`));
      assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
    });
    after(async () => t.close());

    it('pages 100 at a time in ascending eventTime with a stable tie-break, no skip and no repeat', async () => {
      const pages = await allPages(t, query);
      assert.deepEqual(
        pages.map((p) => p.records.currentPageSize),
        [100, 100, 50],
      );
      assert.deepEqual(
        pages.map((p) => p.records.currentPageNumber),
        [0, 1, 2],
      );
      for (const p of pages) assert.equal(p.records.totalRecords, 250);
      assert.ok(pages[0].records.cursor && pages[1].records.cursor);
      assert.ok(!('cursor' in pages[2].records), 'no cursor key on the last page');
      const all = pages.flatMap((p) => p.logEntries);
      assert.equal(new Set(all.map((e: { logRecord: { i: number } }) => e.logRecord.i)).size, 250);
      const times = all.map((e: { eventTime: string }) => e.eventTime);
      assert.deepEqual(times, [...times].sort());
      // Ties keep ingestion order.
      const firstSecond = all
        .filter((e: { eventTime: string }) => e.eventTime === '2026-01-15T00:00:00.000Z')
        .map((e: { logRecord: { i: number } }) => e.logRecord.i);
      assert.deepEqual(
        firstSecond,
        [...firstSecond].sort((a, b) => a - b),
      );
      // Paging twice gives the same sequence.
      const again = (await allPages(t, query)).flatMap((p) => p.logEntries);
      assert.deepEqual(again, all);
    });

    it('honours the limit extension and carries it in the cursor', async () => {
      const pages = await allPages(t, { ...query, limit: '120' });
      assert.deepEqual(
        pages.map((p) => p.records.currentPageSize),
        [120, 120, 10],
      );
    });

    it('is a snapshot: entries ingested after page 0 are not in its later pages, and the total does not change', async () => {
      const p0 = (await t.list(query)).json();
      const late = Array.from({ length: 30 }, (_, i) => entry(1000 + i, '2026-01-15T00:00:01.000Z'));
      assert.equal((await t.ingest('AccessLog', late)).statusCode, 201);
      let cursor = p0.records.cursor;
      const seen = [...p0.logEntries];
      while (cursor) {
        const p = (await t.list({ ...query, cursor })).json();
        assert.equal(p.records.totalRecords, 250);
        seen.push(...p.logEntries);
        cursor = p.records.cursor;
      }
      assert.equal(seen.length, 250);
      assert.ok(seen.every((e: { logRecord: { i: number } }) => e.logRecord.i < 1000));
      // The next query sees them.
      assert.equal((await t.list(query)).json().records.totalRecords, 280);
    });

    it('accepts the cursor alone, and with the parameters restated at another offset', async () => {
      const p0 = (await t.list(query)).json();
      const alone = await t.list({ cursor: p0.records.cursor });
      assert.equal(alone.statusCode, 200);
      assert.equal(alone.json().records.currentPageNumber, 1);
      const restated = await t.list({
        logType: 'AccessLog',
        fromDateTime: '2025-12-31T17:00:00-07:00',
        toDateTime: '2026-02-01T05:30:00+05:30',
        cursor: p0.records.cursor,
      });
      assert.equal(restated.statusCode, 200, restated.body);
      assert.deepEqual(restated.json().logEntries, alone.json().logEntries);
    });

    it('rejects a cursor whose request differs, or that was tampered with', async () => {
      const p0 = (await t.list(query)).json();
      const c = p0.records.cursor as string;
      const mismatches = [
        { ...query, logType: 'UserCallPlay', cursor: c },
        { ...query, fromDateTime: '2026-01-01T00:00:00.001Z', cursor: c },
        { ...query, toDateTime: '2026-03-01T00:00:00Z', cursor: c },
        { logType: query.logType, fromDateTime: query.fromDateTime, cursor: c },
        { ...query, limit: '50', cursor: c },
      ];
      for (const q of mismatches) {
        const r = await t.list(q);
        assert.equal(r.statusCode, 400, JSON.stringify(q));
        assert.match(r.json().errors[0], /^cursor: does not match the request/);
      }
      const flipped = c.slice(0, 20) + (c[20] === 'A' ? 'B' : 'A') + c.slice(21);
      for (const bad of [flipped, c.slice(0, -4), c + 'AAAA', 'A'.repeat(c.length)]) {
        const r = await t.list({ ...query, cursor: bad });
        assert.equal(r.statusCode, 400);
        assert.match(r.json().errors[0], /^cursor: /);
      }
    });
  });

  describe(`GET /v2/logs user filter extension (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    const query = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', toDateTime: '2026-02-01T00:00:00Z' };
    const user = (i: number) => i % 5;
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
      const entries = Array.from({ length: 250 }, (_, i) => ({
        userId: `u${user(i)}`,
        userEmailAddress: `user${user(i)}@example.com`,
        eventTime: `2026-01-15T00:${String(Math.floor(i / 60)).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}.000Z`,
        logRecord: { i },
      }));
      assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
    });
    after(async () => t.close());

    const indexes = (pages: Array<{ logEntries: Array<{ logRecord: { i: number } }> }>) =>
      pages.flatMap((p) => p.logEntries.map((e) => e.logRecord.i));

    it('pages exactly the entries of one userId or userEmailAddress, with their exact total, the filter carried by the cursor', async () => {
      const want = Array.from({ length: 250 }, (_, i) => i).filter((i) => user(i) === 3);
      for (const filter of [{ userId: 'u3' }, { userEmailAddress: 'user3@example.com' }] as Record<string, string>[]) {
        const pages = await allPages(t, { ...query, ...filter, limit: '20' });
        assert.deepEqual(
          pages.map((p) => p.records.totalRecords),
          [50, 50, 50],
        );
        assert.deepEqual(
          pages.map((p) => p.records.currentPageSize),
          [20, 20, 10],
        );
        assert.deepEqual(indexes(pages), want);
        // The cursor alone, or with the same filter restated, goes on with the filter.
        const p0 = (await t.list({ ...query, ...filter, limit: '20' })).json();
        const alone = (await t.list({ cursor: p0.records.cursor })).json();
        const restated = await t.list({ ...query, ...filter, limit: '20', cursor: p0.records.cursor });
        assert.equal(restated.statusCode, 200, restated.body);
        assert.deepEqual(indexes([alone]), want.slice(20, 40));
        assert.deepEqual(indexes([restated.json()]), want.slice(20, 40));
      }
    });

    it('pages on with the longest filter value it takes, whatever its characters (the cursor carries the value)', async () => {
      for (const [field, value] of [
        ['userEmailAddress', '中'.repeat(1024)],
        ['userId', '"'.repeat(1024)],
      ] as const) {
        const entries = Array.from({ length: 3 }, (_, i) => ({
          [field]: value,
          eventTime: `2026-03-20T00:00:0${i}.000Z`,
          logRecord: { i: 1000 + i },
        }));
        assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
        // Outside the range of the other tests, which count every entry of theirs.
        const march = { ...query, fromDateTime: '2026-03-01T00:00:00Z', toDateTime: '2026-04-01T00:00:00Z' };
        const pages = await allPages(t, { ...march, [field]: value, limit: '1' });
        assert.deepEqual(indexes(pages), [1000, 1001, 1002], field);
        assert.deepEqual(
          pages.map((p) => p.records.totalRecords),
          [3, 3, 3],
        );
      }
    });

    it('answers without the parameters exactly as before: every entry, no other field', async () => {
      const res = await t.list(query);
      const body = res.json();
      assert.deepEqual(Object.keys(body.records), ['totalRecords', 'currentPageSize', 'currentPageNumber', 'cursor']);
      assert.equal(body.records.totalRecords, 250);
    });

    it('refuses a cursor sent with a different filter, and bad filters, with 400', async () => {
      const filtered = (await t.list({ ...query, userId: 'u1', limit: '10' })).json();
      const plain = (await t.list({ ...query, limit: '10' })).json();
      const cases: Array<[Record<string, string>, RegExp]> = [
        [{ cursor: filtered.records.cursor, userId: 'u2' }, /cursor: does not match/],
        [{ cursor: filtered.records.cursor, userEmailAddress: 'user1@example.com' }, /cursor: does not match/],
        [{ ...query, limit: '10', cursor: filtered.records.cursor }, /cursor: does not match/],
        [{ cursor: plain.records.cursor, userId: 'u1' }, /cursor: does not match/],
        [{ ...query, userId: 'u1', userEmailAddress: 'user1@example.com' }, /give one of them, not both/],
        [{ ...query, userId: '' }, /userId: must be 1 to 1024 characters/],
        [{ ...query, userEmailAddress: 'x'.repeat(1025) }, /userEmailAddress: must be 1 to 1024 characters/],
      ];
      for (const [q, message] of cases) {
        const res = await t.list(q);
        assert.equal(res.statusCode, 400, `${JSON.stringify(q).slice(0, 120)}: ${res.body}`);
        assert.match(res.json().errors.join(' '), message);
      }
    });

    it('matches exactly: another case or a stranger has no records (404, as an empty range)', async () => {
      for (const filter of [{ userId: 'U3' }, { userEmailAddress: 'USER3@example.com' }, { userId: 'u' }, { userId: 'nobody' }] as Record<
        string,
        string
      >[]) {
        const res = await t.list({ ...query, ...filter });
        assert.equal(res.statusCode, 404, res.body);
      }
    });
  });

  describe(`cursor expiry (${kind.name})`, { skip: kind.skip }, () => {
    it('rejects an expired cursor with 400', async () => {
      const clock = new TestClock();
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { cursorTtlSeconds: 1 } });
      try {
        await t.ingest(
          'AccessLog',
          Array.from({ length: 3 }, (_, i) => entry(i, '2026-01-15T00:00:00Z')),
        );
        const p0 = (await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '1' })).json();
        assert.equal((await t.list({ cursor: p0.records.cursor })).statusCode, 200);
        clock.advance(999);
        assert.equal((await t.list({ cursor: p0.records.cursor })).statusCode, 200, 'good for its whole lifetime');
        clock.advance(101);
        const r = await t.list({ cursor: p0.records.cursor });
        assert.equal(r.statusCode, 400);
        assert.match(r.json().errors[0], /^cursor: has expired/);
      } finally {
        await t.close();
      }
    });

    it('refuses a cursor issued more than a minute ahead of the clock, once the clock is put back', async () => {
      const clock = new TestClock();
      const t = await startTestApp({ factory: kind.factory, now: clock.now, config: { cursorTtlSeconds: 3600 } });
      try {
        await t.ingest(
          'AccessLog',
          Array.from({ length: 3 }, (_, i) => entry(i, '2026-01-15T00:00:00Z')),
        );
        const query = { logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z', limit: '1' };
        const ontime = (await t.list(query)).json().records.cursor;
        clock.advance(365 * 86_400_000);
        const ahead = (await t.list(query)).json().records.cursor;
        clock.advance(-365 * 86_400_000 + 60_000);
        // Set right (a minute on): a cursor from a minute ago is still good, and one issued ahead
        // within the tolerance of clocks apart too.
        assert.equal((await t.list({ cursor: ontime })).statusCode, 200);
        const early = (await t.list(query)).json().records.cursor;
        clock.advance(-50_000);
        assert.equal((await t.list({ cursor: early })).statusCode, 200, 'issued 50 s ahead');
        const r = await t.list({ cursor: ahead });
        assert.equal(r.statusCode, 400, 'a year ahead, it would have been good for a year');
        assert.match(r.json().errors[0], /^cursor: expires later than this server allows \(issued while its clock ran ahead\)/);
      } finally {
        await t.close();
      }
    });
  });
}

describe('apps of different configurations built in one process', () => {
  it("validate each against its own log types (the compiled validators are shared, each app's enum its own)", async () => {
    const query = { logType: 'BadgeSwipe', fromDateTime: '1999-01-01T00:00:00Z', toDateTime: '1999-01-02T00:00:00Z' };
    for (const extraLogTypes of [['BadgeSwipe'], [], ['BadgeSwipe'], ['DoorOpen']]) {
      const t = await startTestApp({ config: { extraLogTypes } });
      try {
        const res = await t.list(query);
        if (extraLogTypes.includes('BadgeSwipe')) {
          assert.equal(res.statusCode, 404, res.body);
          assert.deepEqual(res.json().errors, [NO_RECORDS_MESSAGE]);
        } else {
          assert.equal(res.statusCode, 400, res.body);
          assert.match(res.json().errors[0], new RegExp(`\\(expected one of [A-Za-z, ]*${extraLogTypes.join('')}, LogwardenAdminLog\\)$`));
        }
      } finally {
        await t.close();
      }
    }
  });
});
