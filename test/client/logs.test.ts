import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type LogEntry, LogsApiError, LogsClient } from '../../src/client/index.ts';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { BIG_INTEGER, entryTexts } from '../support/entries.ts';
import { type FaultServer, startFaultServer } from '../support/fault-server.ts';

const FROM = '2026-01-01T00:00:00Z';
const START = Date.parse(FROM);

describe('LogsClient against a Gong-compatible server', () => {
  let server: FaultServer;
  let client: LogsClient;

  before(async () => {
    server = await startFaultServer({ pageSize: 7, authorization: `Basic ${Buffer.from('KEY:s3cr:et').toString('base64')}` });
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.faults.length = 0;
    client = new LogsClient({ baseUrl: server.url, accessKey: 'KEY', secret: 's3cr:et', requestsPerSecond: 0 });
  });

  it('pages through a query with a cursor that changes on every page, in order, without gaps or repeats', async () => {
    const texts = entryTexts('UserCallPlay', 30, START);
    server.setEntries('UserCallPlay', texts);
    const got: LogEntry[] = [];
    for await (const e of client.entries({ logType: 'UserCallPlay', fromDateTime: FROM })) got.push(e);
    assert.deepEqual(
      got.map((e) => e.raw),
      texts,
    );
    const cursors = server.requests.map((r) => r.url.searchParams.get('cursor'));
    assert.equal(cursors.length, 5); // 30 entries, 7 per page
    assert.equal(cursors[0], null);
    assert.equal(new Set(cursors).size, 5, 'each page is requested with the cursor of the one before');
    for (const r of server.requests.slice(1)) {
      assert.equal(r.url.searchParams.get('logType'), 'UserCallPlay');
      assert.equal(r.url.searchParams.get('fromDateTime'), FROM, 'the other parameters are resent unchanged');
    }
  });

  it('reports the page records and leaves the cursor out on the last page', async () => {
    server.setEntries('AccessLog', entryTexts('AccessLog', 9, START));
    const pages = [];
    for await (const p of client.pages({ logType: 'AccessLog', fromDateTime: FROM })) pages.push(p);
    assert.deepEqual(
      pages.map((p) => p.records.currentPageNumber),
      [0, 1],
    );
    assert.equal(pages[0]!.records.totalRecords, 9);
    assert.equal(pages[1]!.records.currentPageSize, 2);
    assert.equal(pages[1]!.records.cursor, undefined);
    assert.match(pages[0]!.requestId ?? '', /^[0-9a-f]{19}$/);
  });

  it('keeps ids as strings and logRecord lossless: big integers, 1.0, 1.5e-300', async () => {
    server.setEntries('UserCallPlay', entryTexts('UserCallPlay', 1, START));
    server.setEntries('AccessLog', entryTexts('AccessLog', 1, START));
    server.setEntries('UserActivityLog', entryTexts('UserActivityLog', 1, START));
    const [play] = (await client.listLogs({ logType: 'UserCallPlay', fromDateTime: FROM })).logEntries;
    assert.equal(play!.userId, '5000000000000000000');
    assert.equal(typeof play!.logRecord.call_id, 'string');
    assert.match(play!.logRecordText, /"play_speed":1\.0,"start_time":0\.0,/);
    assert.equal(play!.logRecord.play_speed, 1);
    const [access] = (await client.listLogs({ logType: 'AccessLog', fromDateTime: FROM })).logEntries;
    assert.equal(access!.logRecord.content_length, BigInt(BIG_INTEGER));
    assert.ok(access!.logRecordText.includes(`"content_length":${BIG_INTEGER}`));
    assert.equal(access!.userFullName, 'Zoë "Z" Ng 0');
    const [activity] = (await client.listLogs({ logType: 'UserActivityLog', fromDateTime: FROM })).logEntries;
    assert.ok(activity!.logRecordText.includes('"score":1.5e-300'));
    assert.equal(activity!.impersonatorCompanyId, '402918374650192');
    assert.equal(activity!.logRecord.action, null);
  });

  it('turns ids a sloppy server sends as numbers into their exact digits', async () => {
    server.setEntries('AccessLog', [`{"userId":5120938476102938475,"eventTime":"2026-01-01T00:00:00.000Z","logRecord":{}}`]);
    const [e] = (await client.listLogs({ logType: 'AccessLog', fromDateTime: FROM })).logEntries;
    assert.equal(e!.userId, '5120938476102938475');
  });

  it('treats the 404 no-records answer as an empty result', async () => {
    server.setEntries('ExternallySharedCallPlay', []);
    const page = await client.listLogs({ logType: 'ExternallySharedCallPlay', fromDateTime: FROM });
    assert.equal(page.logEntries.length, 0);
    assert.equal(page.records.totalRecords, 0);
    assert.match(page.requestId ?? '', /^[0-9a-f]{19}$/);
    const all = [];
    for await (const e of client.entries({ logType: 'ExternallySharedCallPlay', fromDateTime: FROM })) all.push(e);
    assert.equal(all.length, 0);
    assert.equal(server.requests.length, 2, 'an empty result is not retried');
  });

  it('does not mistake another 404 (a wrong base URL) for an empty result', async () => {
    const wrong = new LogsClient({ baseUrl: `${server.url}/nope`, accessKey: 'KEY', secret: 's3cr:et', requestsPerSecond: 0 });
    const err = await wrong.listLogs({ logType: 'AccessLog', fromDateTime: FROM }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'not_found');
    assert.equal(err.status, 404);
    assert.equal(server.requests[0]!.url.pathname, '/nope/v2/logs', 'a base URL with a path prefix is kept');
  });

  it('types errors with status, code, requestId and the server messages, and does not retry a 400', async () => {
    const err = await client.listLogs({ logType: 'AccessLog', fromDateTime: '2026-02-30T00:00:00Z' }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'bad_request');
    assert.equal(err.status, 400);
    assert.match(err.messages[0]!, /^fromDateTime: is an impossible date/);
    assert.match(err.requestId ?? '', /^[0-9a-f]{19}$/);
    assert.ok(err.message.includes(err.requestId!));
    assert.equal(server.requests.length, 1);
  });

  it('sends Basic credentials, and a 401 is unauthorized', async () => {
    server.setEntries('AccessLog', entryTexts('AccessLog', 1, START));
    await client.listLogs({ logType: 'AccessLog', fromDateTime: FROM });
    assert.equal(server.requests[0]!.headers.authorization, `Basic ${Buffer.from('KEY:s3cr:et').toString('base64')}`);
    const bad = new LogsClient({ baseUrl: server.url, accessKey: 'KEY', secret: 'wrong', requestsPerSecond: 0 });
    const err = await bad.listLogs({ logType: 'AccessLog', fromDateTime: FROM }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError && err.code === 'unauthorized' && err.status === 401);
    assert.deepEqual(err.messages, ['Access denied: invalid credentials']);
  });

  it('sends a bearer token, from a string or a provider called per request', async () => {
    const seen: string[] = [];
    let n = 0;
    const fetchSpy = async (_input: string, init: RequestInit) => {
      seen.push(new Headers(init.headers).get('authorization') ?? '');
      return new Response(
        JSON.stringify({ requestId: 'r', records: { totalRecords: 0, currentPageSize: 0, currentPageNumber: 0 }, logEntries: [] }),
        { status: 200 },
      );
    };
    await new LogsClient({ token: 'abc', fetch: fetchSpy, requestsPerSecond: 0 }).listLogs({ logType: 'AccessLog', fromDateTime: FROM });
    const provided = new LogsClient({ token: () => `t${++n}`, fetch: fetchSpy, requestsPerSecond: 0 });
    await provided.listLogs({ logType: 'AccessLog', fromDateTime: FROM });
    await provided.listLogs({ logType: 'AccessLog', fromDateTime: FROM });
    assert.deepEqual(seen, ['Bearer abc', 'Bearer t1', 'Bearer t2']);
  });

  it('defaults to https://api.gong.io and passes Dates and the limit extension as query parameters', async () => {
    const urls: string[] = [];
    const fetchSpy = async (input: string) => {
      urls.push(input);
      return new Response(JSON.stringify({ requestId: 'r', errors: [NO_RECORDS_MESSAGE] }), { status: 404 });
    };
    const c = new LogsClient({ fetch: fetchSpy, requestsPerSecond: 0 });
    await c.listLogs({ logType: 'AccessLog', fromDateTime: new Date(START), toDateTime: new Date(START + 1000), limit: 500 });
    const u = new URL(urls[0]!);
    assert.equal(u.origin + u.pathname, 'https://api.gong.io/v2/logs');
    assert.equal(u.searchParams.get('fromDateTime'), '2026-01-01T00:00:00.000Z');
    assert.equal(u.searchParams.get('toDateTime'), '2026-01-01T00:00:01.000Z');
    assert.equal(u.searchParams.get('limit'), '500');
    assert.equal(u.searchParams.has('cursor'), false);
  });

  it('fails an answer larger than maxAnswerBytes at once, without holding it or asking again', async () => {
    const small = new LogsClient({ baseUrl: server.url, accessKey: 'KEY', secret: 's3cr:et', requestsPerSecond: 0, maxAnswerBytes: 100 });
    for (const read of [
      () => small.listLogs({ logType: 'AccessLog', fromDateTime: FROM }),
      () => small.textPages({ logType: 'AccessLog', fromDateTime: FROM }).next(),
    ]) {
      server.requests.length = 0;
      const err = await read().catch((e: unknown) => e);
      assert.ok(err instanceof LogsApiError);
      assert.equal(err.code, 'invalid_response');
      assert.match(err.message, /larger than the 100 bytes such an answer can hold/);
      assert.equal(server.requests.length, 1, 'not asked again');
    }
  });

  it('does not follow a redirect, and says where it pointed (without its query)', async () => {
    server.faults.push({ kind: 'status', status: 302, body: '', location: 'https://user:PASSWORD@elsewhere.example/v2/logs?token=SECRET#x' });
    const err = await client.listLogs({ logType: 'AccessLog', fromDateTime: FROM }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.ok(
      err.message.startsWith(
        "HTTP 302: a redirect to https://elsewhere.example/v2/logs, not followed (credentials are sent only to the base URL); give that URL as the base URL if it is the server's",
      ),
      err.message,
    );
    assert.doesNotMatch(err.message, /SECRET|PASSWORD|user/);
    assert.equal(server.requests.length, 1);
  });

  it('refuses a server that hands back the same cursor forever', async () => {
    const body = JSON.stringify({
      requestId: 'r',
      records: { totalRecords: 5, currentPageSize: 1, currentPageNumber: 0, cursor: 'same' },
      logEntries: [{ eventTime: '2026-01-01T00:00:00.000Z', logRecord: {} }],
    });
    const c = new LogsClient({ fetch: async () => new Response(body), requestsPerSecond: 0 });
    let count = 0;
    await assert.rejects(
      (async () => {
        for await (const _ of c.entries({ logType: 'AccessLog', fromDateTime: FROM })) count++;
      })(),
      (e: unknown) => e instanceof LogsApiError && e.code === 'invalid_response',
    );
    assert.equal(count, 2);
  });

  it('rejects half-given credentials', () => {
    assert.throws(() => new LogsClient({ accessKey: 'k' }), TypeError);
    assert.throws(() => new LogsClient({ accessKey: 'k', secret: 's', token: 't' }), TypeError);
    assert.throws(() => new LogsClient({ baseUrl: 'ftp://x' }), TypeError);
  });

  it('never repeats a password given in the base URL, whatever else is wrong with it', () => {
    for (const baseUrl of ['http://user:PW-MARK@127.0.0.1:999999', 'ftp://user:PW-MARK@127.0.0.1:1', 'https://user:PW-MARK@example.com/']) {
      assert.throws(
        () => new LogsClient({ baseUrl }),
        (err: Error) => err instanceof TypeError && !err.message.includes('PW-MARK'),
        baseUrl,
      );
    }
  });
});
