import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fetchToken, LogsApiError, LogsClient, tokenSource } from '../../src/client/index.ts';
import { GONG_LOG_TYPES } from '../../src/logs/log-types.ts';
import { issueAccessKey } from '../../src/service/access-keys.ts';
import { BIG_INTEGER, entryTexts } from '../support/entries.ts';
import { goldenPages } from '../support/fixtures.ts';
import { allBodies, type LiveSource, seed, startLiveSource } from '../support/live-source.ts';

const FROM = '2026-01-01T00:00:00Z';
const START = Date.parse(FROM);

describe('the SDK against a real logwarden server', () => {
  let source: LiveSource;
  let client: LogsClient;

  before(async () => {
    source = await startLiveSource();
    for (const t of GONG_LOG_TYPES) await seed(source.store, source.tenantId, t, entryTexts(t, 25, START));
    for (const page of goldenPages()) await seed(source.store, source.tenantId, page.logType, page.entries);
    client = new LogsClient({ baseUrl: source.url, accessKey: source.key.accessKey, secret: source.key.secret, requestsPerSecond: 0 });
  });
  after(() => source.close());

  it('reads every entry of every type through real cursors, each entry text exactly as stored', async () => {
    for (const t of GONG_LOG_TYPES) {
      const got: string[] = [];
      for await (const e of client.entries({ logType: t, fromDateTime: '2000-01-01T00:00:00Z', limit: 4 })) got.push(e.raw);
      assert.deepEqual(got, await allBodies(source.store, source.tenantId, t), t);
    }
  });

  it('returns the golden entries with ids as strings and numbers as sent', async () => {
    const page = await client.listLogs({ logType: 'UserCallPlay', fromDateTime: '2026-03-05T00:00:00Z', toDateTime: '2026-03-06T00:00:00Z' });
    assert.equal(page.logEntries.length, 2);
    assert.equal(page.logEntries[0]!.userId, '6029384756019283746');
    assert.ok(page.logEntries[0]!.logRecordText.includes('"play_speed":1.0'));
    const [access] = (await client.listLogs({ logType: 'AccessLog', fromDateTime: FROM, limit: 1 })).logEntries;
    assert.equal(access!.logRecord.content_length, BigInt(BIG_INTEGER));
  });

  it("treats the real 404 no-records answer as empty, and surfaces real 400s with the server's requestId", async () => {
    const page = await client.listLogs({ logType: 'AccessLog', fromDateTime: '2030-01-01T00:00:00Z' });
    assert.deepEqual(page.logEntries, []);
    assert.match(page.requestId ?? '', /^[0-9a-z]{19}$/);
    const err = await client.listLogs({ logType: 'NoSuchType', fromDateTime: FROM }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'bad_request');
    assert.match(err.requestId ?? '', /^[0-9a-z]{19}$/);
    assert.match(err.messages[0]!, /logType/);
  });

  it('gets a token from /oauth2/token and reads with it; a wrong secret is a typed oauth error', async () => {
    const token = await fetchToken({ baseUrl: source.url, accessKey: source.key.accessKey, secret: source.key.secret, scope: 'api:logs:read' });
    assert.equal(token.tokenType, 'Bearer');
    assert.ok(token.expiresIn > 0);
    const bearer = new LogsClient({ baseUrl: source.url, token: token.accessToken, requestsPerSecond: 0 });
    assert.equal((await bearer.listLogs({ logType: 'AccessLog', fromDateTime: FROM, limit: 3 })).logEntries.length, 3);
    const refreshed = new LogsClient({
      baseUrl: source.url,
      token: tokenSource({ baseUrl: source.url, accessKey: source.key.accessKey, secret: source.key.secret }),
      requestsPerSecond: 0,
    });
    assert.equal((await refreshed.listLogs({ logType: 'AccessLog', fromDateTime: FROM, limit: 2 })).logEntries.length, 2);
    const err = await fetchToken({ baseUrl: source.url, accessKey: source.key.accessKey, secret: 'wrong' }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'unauthorized');
    assert.equal(err.oauthError, 'invalid_client');
  });
});

describe("the SDK against a real server's rate limit", () => {
  let source: LiveSource;
  /** The server's clock: the real one, unless a test holds it in a second of its own. */
  let held: number | undefined;
  before(async () => {
    source = await startLiveSource({ readPerSecond: 3 }, { now: () => held ?? Date.now() });
    await seed(source.store, source.tenantId, 'AccessLog', entryTexts('AccessLog', 30, START));
  });
  after(() => source.close());

  it('stays under 3 requests per second at its default pace: no 429 at all', async () => {
    const seen: number[] = [];
    const counting = async (input: string, init: RequestInit) => {
      const res = await fetch(input, init);
      seen.push(res.status);
      return res;
    };
    const client = new LogsClient({ baseUrl: source.url, accessKey: source.key.accessKey, secret: source.key.secret, fetch: counting });
    let n = 0;
    for await (const _ of client.entries({ logType: 'AccessLog', fromDateTime: FROM, limit: 4 })) n++;
    assert.equal(n, 30);
    assert.deepEqual(seen, Array(8).fill(200));
  });

  it('unpaced, meets real 429s and recovers by honouring Retry-After', async () => {
    const seen: number[] = [];
    // Five requests at once all fall in one second of the server's clock, a second nothing else
    // used; a 429 moves that clock on to the next second, so the client's retry finds room there
    // after the Retry-After it honours (real time), however loaded the machine.
    held = (Math.floor(Date.now() / 1000) + 10) * 1000;
    const counting = async (input: string, init: RequestInit) => {
      const res = await fetch(input, init);
      seen.push(res.status);
      if (res.status === 429) held! += 1000;
      return res;
    };
    const client = new LogsClient({
      baseUrl: source.url,
      accessKey: source.key.accessKey,
      secret: source.key.secret,
      fetch: counting,
      requestsPerSecond: 0,
    });
    try {
      const pages = await Promise.all(Array.from({ length: 5 }, () => client.listLogs({ logType: 'AccessLog', fromDateTime: FROM, limit: 2 })));
      assert.ok(pages.every((p) => p.logEntries.length === 2));
      // The fourth request the server counts meets the full second; how many more do depends on
      // whether the clock has moved on by then.
      assert.ok(seen.includes(429), `statuses ${seen.join(', ')}`);
      assert.equal(seen.filter((s) => s === 200).length, 5, `statuses ${seen.join(', ')}`);
    } finally {
      held = undefined;
    }
  });
});

describe('the SDK when the server refuses its token', () => {
  let source: LiveSource;
  /** The server's clock, moved by the tests. */
  let serverNow = Date.now();
  before(async () => {
    source = await startLiveSource({}, { now: () => serverNow });
    await seed(source.store, source.tenantId, 'AccessLog', entryTexts('AccessLog', 3, START));
  });
  after(() => source.close());

  /** A fetch that records each request as `METHOD path status`. */
  function recording(seen: string[]) {
    return async (input: string, init: RequestInit) => {
      const res = await fetch(input, init);
      seen.push(`${init.method ?? 'GET'} ${new URL(input).pathname} ${res.status}`);
      return res;
    };
  }

  it("with tokenSource, fetches a new token once and retries once on a 401 (a token expired by the server's clock ahead)", async () => {
    const seen: string[] = [];
    const fetch = recording(seen);
    const { accessKey, secret } = source.key;
    // tokenSource's own clock stands still: by its count the token has its whole lifetime left.
    const client = new LogsClient({
      baseUrl: source.url,
      token: tokenSource({ baseUrl: source.url, accessKey, secret, fetch, now: () => 0 }),
      fetch,
    });
    const query = { logType: 'AccessLog', fromDateTime: FROM, limit: 1 };
    assert.equal((await client.listLogs(query)).logEntries.length, 1);
    serverNow += 2 * 3_600_000;
    assert.equal((await client.listLogs(query)).logEntries.length, 1);
    assert.equal((await client.listLogs(query)).logEntries.length, 1, 'the new token is kept');
    assert.deepEqual(seen, [
      'POST /oauth2/token 200',
      'GET /v2/logs 200',
      'GET /v2/logs 401',
      'POST /oauth2/token 200',
      'GET /v2/logs 200',
      'GET /v2/logs 200',
    ]);
    // Once only: the key revoked, the new token is refused too (here at the token endpoint) and that is the error.
    await source.store.revokeAccessKey(accessKey);
    seen.length = 0;
    const err = await client.listLogs(query).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'unauthorized');
    assert.deepEqual(seen, ['GET /v2/logs 401', 'POST /oauth2/token 401']);
  });

  it('with a fixed token, a 401 is the error at once', async () => {
    const key = await issueAccessKey(source.store, source.tenantId, ['api:logs:read']);
    const token = await fetchToken({ baseUrl: source.url, accessKey: key.accessKey, secret: key.secret });
    const seen: string[] = [];
    const client = new LogsClient({ baseUrl: source.url, token: token.accessToken, fetch: recording(seen) });
    serverNow += 2 * 3_600_000;
    const err = await client.listLogs({ logType: 'AccessLog', fromDateTime: FROM }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.status, 401);
    assert.deepEqual(seen, ['GET /v2/logs 401']);
  });
});
