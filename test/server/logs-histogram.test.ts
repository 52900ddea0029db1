/**
 * `GET /v2/logs/histogram`, the extension the console draws: entries per UTC hour from the
 * store's hourly tallies, hours without entries left out, whole hours at the range's ends;
 * authenticated like GET /v2/logs, validated, and documented in the OpenAPI document; with
 * the user filter of GET /v2/logs, one user's hours.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basic, startTestApp, type TestApp } from '../support/app.ts';

describe('GET /v2/logs/histogram', () => {
  let t: TestApp;
  const get = (query: Record<string, string>, auth = basic(t.readKey)) =>
    t.inject({ method: 'GET', url: '/v2/logs/histogram', query, headers: { authorization: auth } });

  before(async () => {
    t = await startTestApp();
    const at = (iso: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ userId: String(i), userEmailAddress: `u${i}@example.com`, eventTime: iso, logRecord: { n: i } }));
    const r = await t.ingest('AccessLog', [
      ...at('2026-03-01T10:00:00.000Z', 2),
      ...at('2026-03-01T10:59:59.999Z', 1),
      ...at('2026-03-01T13:30:00.000Z', 4),
      ...at('2026-03-02T00:00:00.000Z', 1),
    ]);
    assert.equal(r.statusCode, 201, r.body);
    assert.equal((await t.ingest('UserCallPlay', at('2026-03-01T10:15:00.000Z', 5))).statusCode, 201);
  });
  after(() => t.close());

  it('counts entries of one type per hour, leaving out empty hours', async () => {
    const r = await get({ logType: 'AccessLog', fromDateTime: '2026-03-01T00:00:00Z', toDateTime: '2026-03-03T00:00:00Z' });
    assert.equal(r.statusCode, 200, r.body);
    assert.equal(r.headers['cache-control'], 'no-store', 'a tenant’s counts are kept by no cache');
    const body = r.json() as { logType: string; interval: string; buckets: Array<{ start: string; count: number }> };
    assert.equal(body.logType, 'AccessLog');
    assert.equal(body.interval, 'hour');
    assert.deepEqual(body.buckets, [
      { start: '2026-03-01T10:00:00.000Z', count: 3 },
      { start: '2026-03-01T13:00:00.000Z', count: 4 },
      { start: '2026-03-02T00:00:00.000Z', count: 1 },
    ]);
    // Over whole hours the bars add up to the list's totalRecords.
    const list = await t.list({ logType: 'AccessLog', fromDateTime: '2026-03-01T00:00:00Z', toDateTime: '2026-03-03T00:00:00Z' });
    assert.equal((list.json() as { records: { totalRecords: number } }).records.totalRecords, 8);
  });

  it('counts the hours at the ends whole, and reads on without toDateTime', async () => {
    const r = await get({ logType: 'AccessLog', fromDateTime: '2026-03-01T10:30:00Z', toDateTime: '2026-03-01T13:01:00Z' });
    assert.deepEqual((r.json() as { buckets: unknown[] }).buckets, [
      { start: '2026-03-01T10:00:00.000Z', count: 3 },
      { start: '2026-03-01T13:00:00.000Z', count: 4 },
    ]);
    const open = await get({ logType: 'UserCallPlay', fromDateTime: '2026-02-01T00:00:00Z' });
    assert.equal(open.statusCode, 200, open.body);
    assert.deepEqual((open.json() as { buckets: unknown[] }).buckets, [{ start: '2026-03-01T10:00:00.000Z', count: 5 }]);
  });

  it('without toDateTime counts entries dated later than now, as GET /v2/logs lists them', async () => {
    const hour = 3_600_000;
    const later = new Date((Math.floor(Date.now() / hour) + 50) * hour).toISOString();
    const r = await t.ingest('ExternallySharedCallPlay', [{ eventTime: later, logRecord: { later: true } }]);
    assert.equal(r.statusCode, 201, r.body);
    const fromDateTime = new Date(Date.now() - 24 * hour).toISOString();
    const open = await get({ logType: 'ExternallySharedCallPlay', fromDateTime });
    assert.equal(open.statusCode, 200, open.body);
    assert.deepEqual((open.json() as { buckets: unknown[] }).buckets, [{ start: later, count: 1 }]);
    const list = await t.list({ logType: 'ExternallySharedCallPlay', fromDateTime });
    assert.equal((list.json() as { records: { totalRecords: number } }).records.totalRecords, 1);
  });

  it("counts one user's entries per hour with userId or userEmailAddress, as GET /v2/logs filters them", async () => {
    const range = { logType: 'AccessLog', fromDateTime: '2026-03-01T00:00:00Z', toDateTime: '2026-03-03T00:00:00Z' };
    const buckets = async (query: Record<string, string>) => {
      const r = await get({ ...range, ...query });
      assert.equal(r.statusCode, 200, r.body);
      return (r.json() as { buckets: unknown[] }).buckets;
    };
    const user0 = [
      { start: '2026-03-01T10:00:00.000Z', count: 2 },
      { start: '2026-03-01T13:00:00.000Z', count: 1 },
      { start: '2026-03-02T00:00:00.000Z', count: 1 },
    ];
    assert.deepEqual(await buckets({ userId: '0' }), user0);
    assert.deepEqual(await buckets({ userEmailAddress: 'u0@example.com' }), user0);
    assert.deepEqual(await buckets({ userId: '3' }), [{ start: '2026-03-01T13:00:00.000Z', count: 1 }]);
    assert.deepEqual(await buckets({ userId: 'U0' }), [], 'exact: another case is another user');
    // The bars add up to the filtered list's totalRecords.
    const list = await t.list({ ...range, userId: '0' });
    assert.equal((list.json() as { records: { totalRecords: number } }).records.totalRecords, 4);
    for (const query of [{ userId: '0', userEmailAddress: 'u0@example.com' }, { userId: '' }] as Array<Record<string, string>>) {
      const r = await get({ ...range, ...query });
      assert.equal(r.statusCode, 400, JSON.stringify(query));
      assert.match((r.json() as { errors: string[] }).errors.join(' '), /userId/);
    }
  });

  it("answers an empty list for an empty range (not Gong's 404)", async () => {
    const r = await get({ logType: 'ExternallySharedCallPlay', fromDateTime: '2026-03-01T00:00:00Z', toDateTime: '2026-03-02T00:00:00Z' });
    assert.equal(r.statusCode, 200);
    assert.deepEqual((r.json() as { buckets: unknown[] }).buckets, []);
  });

  it("splits, with timeZone, each hour one of the zone's local midnights falls in, counting its part before midnight exactly", async () => {
    const at = (iso: string, n: number, user = 'u') => Array.from({ length: n }, (_, i) => ({ userId: user, eventTime: iso, logRecord: { i } }));
    // Kathmandu (+05:45): midnight at 18:15 UTC. 23:50 and 00:05 local time, then an hour away from midnight.
    const r = await t.ingest('UserActivityLog', [
      ...at('2026-03-05T18:05:00.000Z', 3),
      ...at('2026-03-05T18:20:00.000Z', 2),
      ...at('2026-03-05T18:20:00.000Z', 1, 'other'),
      ...at('2026-03-05T20:00:00.000Z', 4),
    ]);
    assert.equal(r.statusCode, 201, r.body);
    const range = { logType: 'UserActivityLog', fromDateTime: '2026-03-04T00:00:00Z', toDateTime: '2026-03-08T00:00:00Z' };
    const buckets = async (query: Record<string, string>) => {
      const res = await get({ ...range, ...query });
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { buckets: unknown[] }).buckets;
    };
    assert.deepEqual(await buckets({ timeZone: 'Asia/Kathmandu' }), [
      { start: '2026-03-05T18:00:00.000Z', count: 3 },
      { start: '2026-03-05T18:15:00.000Z', count: 3 },
      { start: '2026-03-05T20:00:00.000Z', count: 4 },
    ]);
    // One user's entries, split the same way.
    assert.deepEqual(await buckets({ timeZone: 'Asia/Kathmandu', userId: 'other' }), [{ start: '2026-03-05T18:15:00.000Z', count: 1 }]);
    // India (+05:30, midnight at 18:30 UTC): the hour's entries all fall before it, one bucket.
    const whole = [
      { start: '2026-03-05T18:00:00.000Z', count: 6 },
      { start: '2026-03-05T20:00:00.000Z', count: 4 },
    ];
    assert.deepEqual(await buckets({ timeZone: 'Asia/Kolkata' }), whole);
    // A zone whose offset is whole hours, and none: hours as they are.
    assert.deepEqual(await buckets({ timeZone: 'Europe/Paris' }), whole);
    assert.deepEqual(await buckets({}), whole);
    const bad = await get({ ...range, timeZone: 'Mars/Olympus' });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual((bad.json() as { errors: string[] }).errors, [
      'timeZone: unknown time zone "Mars/Olympus" (an IANA name such as Asia/Kathmandu)',
    ]);
  });

  it('validates its parameters and needs read access', async () => {
    for (const [query, message] of [
      [{ logType: 'Nope', fromDateTime: '2026-03-01T00:00:00Z' }, /logType: unknown log type/],
      [{ logType: 'AccessLog', fromDateTime: '2026-03-01' }, /fromDateTime/],
      [{ logType: 'AccessLog', fromDateTime: '2026-03-02T00:00:00Z', toDateTime: '2026-03-01T00:00:00Z' }, /must be later/],
      [
        { logType: 'AccessLog', fromDateTime: '2024-01-01T00:00:00Z', toDateTime: '2026-03-01T00:00:00Z' },
        /^toDateTime: a histogram covers at most 366 days$/,
      ],
      // Without toDateTime the range runs to now: fromDateTime is what to change.
      [{ logType: 'AccessLog', fromDateTime: '2000-01-01T00:00:00Z' }, /^fromDateTime: a histogram covers at most 366 days, and without toDateTime/],
      [{ fromDateTime: '2026-03-01T00:00:00Z' }, /logType/],
    ] as const) {
      const r = await get(query);
      assert.equal(r.statusCode, 400, JSON.stringify(query));
      assert.match((r.json() as { errors: string[] }).errors.join(' '), message);
    }
    assert.equal((await get({ logType: 'AccessLog', fromDateTime: '2026-03-01T00:00:00Z' }, basic(t.writeKey))).statusCode, 401);
    assert.equal((await get({ logType: 'AccessLog', fromDateTime: '2026-03-01T00:00:00Z' }, '')).statusCode, 401);
  });

  it('is documented in the OpenAPI document as an extension', async () => {
    const doc = (await t.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, { get?: { description: string; parameters?: Array<{ name: string; required?: boolean; description?: string }> } }>;
    };
    const op = doc.paths['/v2/logs/histogram']?.get;
    assert.match(op?.description ?? '', /extension, not part of Gong's API/);
    for (const name of ['userId', 'userEmailAddress']) {
      const param = op?.parameters?.find((p) => p.name === name);
      assert.ok(param && !param.required, `${name} is an optional parameter`);
      assert.match(param.description ?? '', /exactly/);
    }
  });
});
