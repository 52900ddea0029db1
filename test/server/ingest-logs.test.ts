import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

const REQUEST_ID = /^[0-9a-z]{19}$/;

function ndjson(t: TestApp, payload: string | Buffer, contentType = 'application/x-ndjson') {
  return t.inject({ method: 'POST', url: '/v2/logs', headers: { authorization: basic(t.key), 'content-type': contentType }, payload });
}

async function total(t: TestApp, logType: string): Promise<number> {
  const r = await t.list({ logType, fromDateTime: '2000-01-01T00:00:00Z' });
  return r.statusCode === 404 ? 0 : r.json().records.totalRecords;
}

for (const kind of await storeKinds()) {
  describe(`POST /v2/logs (JSON batch) (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory, config: { maxJsonBodyBytes: 256 * 1024 } });
    });
    after(async () => t.close());

    it('stores a batch and answers 201 {requestId, accepted, duplicates}', async () => {
      const res = await t.ingest('AccessLog', [
        { userId: '1', eventTime: '2026-03-01T00:00:00Z', logRecord: { a: 1 } },
        { userId: '2', eventTime: '2026-03-01T00:00:01Z', logRecord: { a: 2 } },
      ]);
      assert.equal(res.statusCode, 201);
      const body = res.json();
      assert.deepEqual(Object.keys(body), ['requestId', 'accepted', 'duplicates']);
      assert.match(body.requestId, REQUEST_ID);
      assert.equal(res.headers['x-traceid'], body.requestId);
      assert.equal(body.accepted, 2);
      assert.equal(body.duplicates, 0);
    });

    it('is idempotent: identical entries are counted as duplicates and stored once', async () => {
      const one = '{"userId":"1","eventTime":"2026-03-02T00:00:00Z","logRecord":{"x":1.0}}';
      const first = (await t.ingest('UserCallPlay', `{"logType":"UserCallPlay","logEntries":[${one},${one}]}`)).json();
      assert.deepEqual([first.accepted, first.duplicates], [1, 1]);
      // Same entry written another way: other offset, other whitespace, other field order.
      const raw = '{"logType":"UserCallPlay","logEntries":[ {"logRecord": {"x": 1.0}, "eventTime":"2026-03-02T01:00:00+01:00", "userId":"1"} ]}';
      const second = (await t.ingest('UserCallPlay', raw)).json();
      assert.deepEqual([second.accepted, second.duplicates], [0, 1]);
      // A different number text is a different record.
      const third = (
        await t.ingest(
          'UserCallPlay',
          '{"logType":"UserCallPlay","logEntries":[{"userId":"1","eventTime":"2026-03-02T00:00:00Z","logRecord":{"x":1}}]}',
        )
      ).json();
      assert.deepEqual([third.accepted, third.duplicates], [1, 0]);
      assert.equal(await total(t, 'UserCallPlay'), 2);
    });

    it('is all-or-nothing and locates the bad entry and field', async () => {
      const before = await total(t, 'UserActivityLog');
      const cases: Array<[unknown[], RegExp]> = [
        [
          [
            { eventTime: '2026-03-01T00:00:00Z', logRecord: {} },
            { eventTime: '2026-03-01T00:00:00', logRecord: {} },
          ],
          /^logEntries\[1\]\.eventTime: .*offset/,
        ],
        // biome-ignore lint/correctness/noPrecisionLoss: a number too big for a double, sent as JSON, is what is refused.
        [[{ userId: 12345678901234567890, eventTime: '2026-03-01T00:00:00Z', logRecord: {} }], /^logEntries\[0\]\.userId: must be a string/],
        [[{ eventTime: '2026-03-01T00:00:00Z', logRecord: [] }], /^logEntries\[0\]\.logRecord: must be a JSON object/],
        [[{ eventTime: '2026-03-01T00:00:00Z', logRecord: 'x' }], /^logEntries\[0\]\.logRecord: must be a JSON object/],
        [[{ eventTime: '2026-03-01T00:00:00Z' }], /^logEntries\[0\]\.logRecord: is required/],
        [[{ logRecord: {} }], /^logEntries\[0\]\.eventTime: is required/],
        [[{ eventTime: '2026-03-01T00:00:00Z', logRecord: {}, userEmail: 'typo' }], /^logEntries\[0\]\.userEmail: unknown field/],
        [[{ eventTime: '2021-02-30T00:00:00Z', logRecord: {} }], /^logEntries\[0\]\.eventTime: .*impossible date/],
        [[5], /^logEntries\[0\]: must be an object/],
      ];
      for (const [entries, message] of cases) {
        const res = await t.ingest('UserActivityLog', entries);
        assert.equal(res.statusCode, 400, JSON.stringify(entries));
        assert.match(res.json().errors[0], message);
      }
      assert.equal(await total(t, 'UserActivityLog'), before);
    });

    it('refuses an empty userId or userEmailAddress, which no user filter could find, naming the entry and field', async () => {
      const before = await total(t, 'UserActivityLog');
      const ok = { userId: '7', userEmailAddress: 'a@example.com', eventTime: '2026-03-01T00:00:00Z', logRecord: {} };
      for (const field of ['userId', 'userEmailAddress']) {
        // The filter takes no empty value either: an entry stored with one could never be found by user.
        const query = await t.list({ logType: 'UserActivityLog', fromDateTime: '2026-03-01T00:00:00Z', [field]: '' });
        assert.equal(query.statusCode, 400, field);
        const res = await t.ingest('UserActivityLog', [ok, { ...ok, [field]: '' }]);
        assert.equal(res.statusCode, 400, field);
        assert.deepEqual(res.json().errors, [`logEntries[1].${field}: must not be empty (omit it, or send null, when the entry has none)`]);
        const line = await ndjson(t, `${JSON.stringify({ logType: 'UserActivityLog', ...ok, [field]: '' })}\n`);
        assert.equal(line.statusCode, 400, field);
        assert.deepEqual(line.json().errors, [`line 1: ${field}: must not be empty (omit it, or send null, when the entry has none)`]);
      }
      assert.equal(await total(t, 'UserActivityLog'), before);
    });

    it('says what each user field holds when it is not a string, and that ids are strings only for ids', async () => {
      const holds = {
        userId: "the user's id",
        userEmailAddress: "the user's email address",
        userFullName: "the user's full name",
        impersonatorUserId: "the impersonator's user id",
        impersonatorEmailAddress: "the impersonator's email address",
        impersonatorFullName: "the impersonator's full name",
        impersonatorCompanyId: "the impersonator's company id",
      };
      const ids = new Set(['userId', 'impersonatorUserId', 'impersonatorCompanyId']);
      for (const [field, what] of Object.entries(holds)) {
        const number = await t.ingest('UserActivityLog', [{ [field]: 42, eventTime: '2026-03-01T00:00:00Z', logRecord: {} }]);
        assert.equal(number.statusCode, 400, field);
        const hint = ids.has(field) ? ' (ids are strings: numbers lose digits beyond 2^53)' : '';
        assert.deepEqual(number.json().errors, [`logEntries[0].${field}: must be a string, ${what}${hint}`]);
        const other = await ndjson(
          t,
          `${JSON.stringify({ logType: 'UserActivityLog', [field]: true, eventTime: '2026-03-01T00:00:00Z', logRecord: {} })}\n`,
        );
        assert.deepEqual(other.json().errors, [`line 1: ${field}: must be a string, ${what}`]);
      }
    });

    it('rejects an unknown log type, a bad envelope and broken JSON with 400', async () => {
      const bodies: Array<[string, RegExp]> = [
        ['{"logType":"Nope","logEntries":[]}', /^logType: unknown log type/],
        ['{"logEntries":[]}', /^logType: is required/],
        ['{"logType":"AccessLog","logEntries":{}}', /^logEntries: must be an array/],
        ['{"logType":"AccessLog","logEntries":[],"extra":1}', /^extra: unknown field/],
        ['{"logType":"AccessLog","logEntries":[', /^body is not valid JSON/],
        ['[]', /^body must be a JSON object/],
        ['{"logType":"AccessLog","logType":"AccessLog","logEntries":[]}', /^logType: appears more than once/],
        ['{"logType":5,"logEntries":[]}', /^logType: must be a string, the name of a log type \(one of AccessLog/],
        ['\uFEFF{"logType":"AccessLog","logEntries":[]}', /^body starts with a UTF-8 byte-order mark \(EF BB BF\): send it without one$/],
      ];
      for (const [payload, message] of bodies) {
        const res = await t.ingest('AccessLog', payload);
        assert.equal(res.statusCode, 400, payload);
        assert.match(res.json().errors[0], message, payload);
      }
    });

    it('refuses a compressed body with 415 (it is not read as text), and an NDJSON line with a byte-order mark with 400', async () => {
      const body = gzipSync(JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-03-01T00:00:00Z', logRecord: {} }] }));
      for (const type of ['application/json', 'application/x-ndjson']) {
        const res = await t.inject({
          method: 'POST',
          url: '/v2/logs',
          headers: { authorization: basic(t.key), 'content-type': type, 'content-encoding': 'gzip' },
          payload: body,
        });
        assert.equal(res.statusCode, 415, type);
        assert.deepEqual(res.json().errors, ['Content-Encoding "gzip" is not supported: send the body uncompressed'], type);
      }
      const bom = await ndjson(t, '\uFEFF{"logType":"AccessLog","eventTime":"2026-03-01T00:00:00Z","logRecord":{}}\n');
      assert.equal(bom.statusCode, 400);
      assert.deepEqual(bom.json().errors, ['line 1: starts with a UTF-8 byte-order mark (EF BB BF): send the lines without one']);
    });

    it('refuses the admin trail type LogwardenAdminLog with 400, saying it is reserved', async () => {
      const entry = { eventTime: '2026-03-01T00:00:00Z', logRecord: { action: 'key.revoked' } };
      const res = await t.ingest('LogwardenAdminLog', [entry]);
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json().errors, [
        "logType: LogwardenAdminLog is reserved: logwarden writes it (the tenant's admin trail) and clients cannot",
      ]);
      const empty = await t.ingest('LogwardenAdminLog', []);
      assert.equal(empty.statusCode, 400);
      // Another type's refusal lists what may be written, without the reserved type.
      const other = await t.ingest('Nope', [entry]);
      assert.match(
        other.json().errors[0],
        /\(expected one of AccessLog, UserActivityLog, UserCallPlay, ExternallySharedCallAccess, ExternallySharedCallPlay\)$/,
      );
      assert.equal(
        (await t.list({ logType: 'LogwardenAdminLog', fromDateTime: '2026-03-01T00:00:00Z', toDateTime: '2026-03-02T00:00:00Z' })).statusCode,
        404,
      );
    });

    it('accepts an empty batch and stores nothing', async () => {
      const res = await t.ingest('AccessLog', []);
      assert.equal(res.statusCode, 201);
      assert.deepEqual([res.json().accepted, res.json().duplicates], [0, 0]);
    });

    it('stores a large batch (parsed on a worker) text for text, repeats and duplicates once', async () => {
      const t2 = await startTestApp({ factory: kind.factory });
      try {
        const entry = (i: number) => ({
          userId: String(i),
          eventTime: new Date(Date.UTC(2026, 2, 5) + i * 1000).toISOString(),
          logRecord: { i, name: `Zoë 山田 🦄 ${i}`, pad: 'é'.repeat(300) },
        });
        const all = Array.from({ length: 900 }, (_, i) => entry(i));
        // Over 256 KiB each: parsed on a worker thread.
        const first = await t2.ingest('AccessLog', [...all.slice(0, 600), all[5]]);
        assert.deepEqual([first.json().accepted, first.json().duplicates], [600, 1]);
        const second = await t2.ingest('AccessLog', all.slice(300));
        assert.deepEqual([second.json().accepted, second.json().duplicates], [300, 300]);
        const served: unknown[] = [];
        let cursor: string | undefined;
        do {
          const page = (await t2.list({ logType: 'AccessLog', fromDateTime: '2026-03-01T00:00:00Z', ...(cursor ? { cursor } : {}) })).json();
          served.push(...page.logEntries);
          cursor = page.records.cursor;
        } while (cursor);
        assert.deepEqual(served, all);
      } finally {
        await t2.close();
      }
    });

    it('refuses more than 10,000 entries in one batch', async () => {
      const t2 = await startTestApp({ factory: kind.factory });
      try {
        const entries = Array.from({ length: 10_001 }, (_, i) => ({ eventTime: '2026-03-01T00:00:00Z', logRecord: { i } }));
        const res = await t2.ingest('AccessLog', entries);
        assert.equal(res.statusCode, 400);
        assert.match(res.json().errors[0], /^logEntries: at most 10000 entries/);
        const ok = await t2.ingest('AccessLog', entries.slice(0, 10_000));
        assert.equal(ok.json().accepted, 10_000);
      } finally {
        await t2.close();
      }
    });

    it('answers 413 over the body size limit and 415 for other content types, in the envelope', async () => {
      const big = JSON.stringify({
        logType: 'AccessLog',
        logEntries: [{ eventTime: '2026-03-01T00:00:00Z', logRecord: { pad: 'x'.repeat(300 * 1024) } }],
      });
      const res = await t.ingest('AccessLog', big);
      assert.equal(res.statusCode, 413);
      assert.match(res.json().requestId, REQUEST_ID);
      assert.ok(res.json().errors[0].length > 0);
      for (const type of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
        const r = await t.inject({ method: 'POST', url: '/v2/logs', headers: { authorization: basic(t.key), 'content-type': type }, payload: 'x' });
        assert.equal(r.statusCode, 415, type);
        assert.match(r.json().requestId, REQUEST_ID);
      }
    });

    it('requires api:logs:write (a read-only key gets 401 before the body is read)', async () => {
      const res = await t.ingest('AccessLog', [{ eventTime: '2026-03-01T00:00:00Z', logRecord: {} }], t.readKey);
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json().errors, ['Access denied: missing scope api:logs:write']);
      const ok = await t.ingest('AccessLog', [{ eventTime: '2026-03-01T00:00:09Z', logRecord: {} }], t.writeKey);
      assert.equal(ok.statusCode, 201);
    });
  });

  describe(`POST /v2/logs (NDJSON) (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory, config: { maxNdjsonLineBytes: 4096 } });
    });
    after(async () => t.close());

    it('stores one entry per line, each with its own logType; blank lines and CRLF are fine', async () => {
      const lines = [
        '{"logType":"AccessLog","userId":"1","eventTime":"2026-04-01T00:00:00Z","logRecord":{"n":1}}',
        '',
        '{"logType":"UserCallPlay","userId":"2","eventTime":"2026-04-01T00:00:01Z","logRecord":{"play_speed":1.0}}\r',
        '{"logType":"AccessLog","userId":"1","eventTime":"2026-04-01T00:00:00Z","logRecord":{"n":1}}',
      ];
      const res = await ndjson(t, lines.join('\n'));
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual([res.json().accepted, res.json().duplicates], [2, 1]);
      const page = await t.list({ logType: 'UserCallPlay', fromDateTime: '2026-04-01T00:00:00Z' });
      assert.ok(page.body.includes('"logRecord":{"play_speed":1.0}'));
    });

    it('names the line of an error and stores nothing of the request', async () => {
      const lines = [
        '{"logType":"AccessLog","userId":"9","eventTime":"2026-04-02T00:00:00Z","logRecord":{}}',
        '{"logType":"AccessLog","userId":"9","eventTime":"2026-04-02T00:00:01Z","logRecord":{}}',
        '{"logType":"AccessLog","userId":9,"eventTime":"2026-04-02T00:00:02Z","logRecord":{}}',
      ];
      const res = await ndjson(t, lines.join('\n'));
      assert.equal(res.statusCode, 400);
      assert.match(res.json().errors[0], /^line 3: userId: must be a string/);
      const missingType = await ndjson(t, '{"userId":"9","eventTime":"2026-04-02T00:00:00Z","logRecord":{}}\n');
      assert.match(missingType.json().errors[0], /^line 1: logType: is required/);
      const broken = await ndjson(t, lines[0] + '\n{"logType":\n');
      assert.match(broken.json().errors[0], /^line 2: is not valid JSON/);
      const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-04-02T00:00:00Z', toDateTime: '2026-04-03T00:00:00Z' });
      assert.equal(r.statusCode, 404);
    });

    it('refuses a line of the admin trail type LogwardenAdminLog, naming the line, and stores nothing of the request', async () => {
      const lines = [
        '{"logType":"AccessLog","userId":"7","eventTime":"2026-04-04T00:00:00Z","logRecord":{}}',
        '{"logType":"LogwardenAdminLog","userFullName":"mallory","eventTime":"2026-04-04T00:00:01Z","logRecord":{"action":"hold.released"}}',
      ];
      const res = await ndjson(t, lines.join('\n'));
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json().errors, [
        "line 2: logType: LogwardenAdminLog is reserved: logwarden writes it (the tenant's admin trail) and clients cannot",
      ]);
      const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-04-04T00:00:00Z', toDateTime: '2026-04-05T00:00:00Z' });
      assert.equal(r.statusCode, 404);
    });

    it('answers 413 for a line over the limit', async () => {
      const long = `{"logType":"AccessLog","eventTime":"2026-04-03T00:00:00Z","logRecord":{"pad":"${'x'.repeat(5000)}"}}`;
      const res = await ndjson(t, `{"logType":"AccessLog","eventTime":"2026-04-03T00:00:00Z","logRecord":{}}\n${long}\n`);
      assert.equal(res.statusCode, 413);
      assert.match(res.json().errors[0], /^line 2: longer than the limit of 4096 bytes/);
    });

    it('streams large requests through a spool and commits them whole', async () => {
      const n = 25_000;
      const body = Array.from(
        { length: n },
        (_, i) =>
          `{"logType":"ExternallySharedCallPlay","userEmailAddress":"v${i}@example.org","eventTime":"2026-05-01T00:00:00Z","logRecord":{"i":${i},"s":"é"}}`,
      ).join('\n');
      const res = await ndjson(t, Buffer.from(body));
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().accepted, n);
      assert.equal(await total(t, 'ExternallySharedCallPlay'), n);
    });
  });
}

describe('POST /v2/logs: empty bodies and nesting depth', () => {
  let t: TestApp;
  before(async () => {
    // Bodies of a few MiB: the deep-nesting attack must meet the depth limit, not a size limit.
    t = await startTestApp({ config: { maxNdjsonLineBytes: 4 * 1024 * 1024 } });
  });
  after(async () => t.close());

  const post = (contentType: string | undefined, payload: string) =>
    t.inject({
      method: 'POST',
      url: '/v2/logs',
      headers: { authorization: basic(t.key), ...(contentType && { 'content-type': contentType }) },
      payload,
    });

  it('answers 400 naming the problem for an empty or blank body, JSON or NDJSON (as curl sends a missing file)', async () => {
    for (const [type, payload, message] of [
      ['application/json', '', /^body is empty/],
      ['application/json', ' \r\n\t', /^body is empty/],
      ['application/x-ndjson', '', /^body has no entries \(it is empty or blank\)/],
      ['application/x-ndjson', '\n  \r\n\n', /^body has no entries \(it is empty or blank\)/],
      [undefined, '', /^body is empty/],
    ] as const) {
      const res = await post(type, payload);
      assert.equal(res.statusCode, 400, `${type} ${JSON.stringify(payload)}: ${res.body}`);
      assert.match(res.json().errors[0], message);
      assert.match(res.json().requestId, REQUEST_ID);
    }
  });

  /** A logRecord `depth` levels deep (the record itself is level 1), mixing objects and arrays. */
  const record = (depth: number) => '{"a":' + '['.repeat(depth - 2) + '{"b":1}' + ']'.repeat(depth - 2) + '}';
  const jsonBody = (logRecord: string) =>
    `{"logType":"AccessLog","logEntries":[{"eventTime":"2026-06-01T00:00:00Z","logRecord":{}},{"eventTime":"2026-06-01T00:00:01Z","logRecord":${logRecord}}]}`;
  const ndjsonLine = (logRecord: string) => `{"logType":"AccessLog","eventTime":"2026-06-01T00:00:02Z","logRecord":${logRecord}}`;

  it('accepts a logRecord 64 levels deep and refuses 65 with 400 naming the entry and field', async () => {
    const ok = await post('application/json', jsonBody(record(64)));
    assert.equal(ok.statusCode, 201, ok.body);
    const okLine = await post('application/x-ndjson', ndjsonLine(record(64)) + '\n');
    assert.equal(okLine.statusCode, 201, okLine.body);

    const deep = await post('application/json', jsonBody(record(65)));
    assert.equal(deep.statusCode, 400);
    assert.deepEqual(deep.json().errors, ['logEntries[1].logRecord: nests objects and arrays more than 64 levels deep (the limit)']);
    const deepLine = await post('application/x-ndjson', `${ndjsonLine('{}')}\n${ndjsonLine(record(65))}\n`);
    assert.equal(deepLine.statusCode, 400);
    assert.deepEqual(deepLine.json().errors, ['line 2: logRecord: nests objects and arrays more than 64 levels deep (the limit)']);
  });

  it('refuses a million-level nested array with 400, without overflowing the stack, JSON and NDJSON', async () => {
    const n = 1_000_000;
    const million = '{"a":' + '['.repeat(n) + ']'.repeat(n) + '}';
    const res = await post('application/json', jsonBody(million));
    assert.equal(res.statusCode, 400, res.body.slice(0, 200));
    assert.match(res.json().errors[0], /^logEntries\[1\]\.logRecord: nests objects and arrays more than 64 levels deep/);
    const line = await post('application/x-ndjson', ndjsonLine(million) + '\n');
    assert.equal(line.statusCode, 400, line.body.slice(0, 200));
    assert.match(line.json().errors[0], /^line 1: logRecord: nests objects and arrays more than 64 levels deep/);
    // A deep array in an entry's place or an unknown field is named too.
    const elsewhere = await post('application/json', `{"logType":"AccessLog","logEntries":[${'['.repeat(n)}${']'.repeat(n)}]}`);
    assert.match(elsewhere.json().errors[0], /^logEntries\[0\]: nests/);
    const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-06-01T00:00:00Z' });
    assert.equal(r.json().records.totalRecords, 3, 'only the two accepted requests stored entries');
  });
});
