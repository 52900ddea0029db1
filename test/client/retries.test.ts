import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fetchToken, LogsApiError, LogsClient, type LogsClientOptions } from '../../src/client/index.ts';
import { parseRetryAfter } from '../../src/client/transport.ts';
import { entryTexts } from '../support/entries.ts';
import { type FaultServer, startFaultServer } from '../support/fault-server.ts';

const FROM = '2026-01-01T00:00:00Z';
const START = Date.parse(FROM);
const QUERY = { logType: 'AccessLog', fromDateTime: FROM };

async function failure(p: Promise<unknown>): Promise<LogsApiError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof LogsApiError, `expected a LogsApiError, got ${String(err)}`);
  return err;
}

describe('the request core: retries, timeouts, pacing', () => {
  let server: FaultServer;
  const texts = entryTexts('AccessLog', 12, START);
  const make = (options: LogsClientOptions = {}) =>
    new LogsClient({ baseUrl: server.url, requestsPerSecond: 0, timeoutMs: 2000, retry: { baseDelayMs: 5, maxDelayMs: 20 }, ...options });

  before(async () => {
    server = await startFaultServer({ pageSize: 5 });
    server.setEntries('AccessLog', texts);
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    server.faults.length = 0;
  });

  it('waits out a 429 for its Retry-After, then succeeds', async () => {
    server.faults.push({ kind: 'status', status: 429, retryAfter: '1' });
    const t0 = performance.now();
    const page = await make().listLogs(QUERY);
    const waited = server.requests[1]!.atMs - server.requests[0]!.atMs;
    assert.equal(page.logEntries.length, 5);
    assert.ok(waited >= 950, `waited ${waited} ms for Retry-After: 1`);
    // An upper bound only catches a client that waits far too long (a second Retry-After);
    // it leaves room for a busy machine's scheduling.
    assert.ok(performance.now() - t0 < 2900, `took ${performance.now() - t0} ms`);
  });

  it('fails at once with rate_limited and retryAfterMs when Retry-After exceeds the ceiling', async () => {
    server.faults.push({ kind: 'status', status: 429, retryAfter: '3600' });
    const t0 = performance.now();
    const err = await failure(make({ retry: { maxRetryAfterMs: 60_000 } }).listLogs(QUERY));
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.status, 429);
    assert.equal(err.retryAfterMs, 3_600_000);
    assert.deepEqual(err.messages, ['API request limit exceeded']);
    assert.ok(performance.now() - t0 < 500);
    assert.equal(server.requests.length, 1);
    // A wait past an hour (a daily limit) is said as the time it ends.
    assert.match(
      err.message,
      /^HTTP 429: the server asks to wait until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(1 h 0 min\), longer than the 60 s this client waits: API request limit exceeded/,
    );
  });

  it('waits out 429s that say when to come back without using up the retries; their waits together stay within the ceiling', async () => {
    const r429 = (retryAfter: string) => ({ kind: 'status' as const, status: 429, retryAfter });
    server.faults.push(...Array.from({ length: 7 }, () => r429('0')));
    const page = await make({ retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 20 } }).listLogs(QUERY);
    assert.equal(page.logEntries.length, 5);
    assert.equal(server.requests.length, 8, 'seven 429s waited out with two retries');

    server.requests.length = 0;
    server.faults.push(r429('1'), r429('1'), r429('1'));
    const err = await failure(make({ retry: { retries: 5, maxRetryAfterMs: 1000 } }).listLogs(QUERY));
    assert.equal(err.code, 'rate_limited');
    assert.equal(server.requests.length, 2, 'the second wait would pass the ceiling');
    assert.match(
      err.message,
      /^HTTP 429: still rate limited after waiting 1 s in all as the server asked \(2 requests\); this client waits at most 1 s in all/,
    );

    // A 429 without Retry-After is a failure like a 5xx: it counts against the retries.
    server.requests.length = 0;
    server.faults.length = 0;
    server.faults.push(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })));
    assert.equal((await failure(make({ retry: { retries: 2, baseDelayMs: 5, maxDelayMs: 20 } }).listLogs(QUERY))).code, 'rate_limited');
    assert.equal(server.requests.length, 3);
  });

  it('stops waiting on a long Retry-After when the AbortSignal fires', async () => {
    server.faults.push({ kind: 'status', status: 429, retryAfter: '30' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const t0 = performance.now();
    const err = await failure(make().listLogs({ ...QUERY, signal: ac.signal }));
    assert.equal(err.code, 'aborted');
    assert.ok(performance.now() - t0 < 1000);
  });

  it('retries 500s with backoff, and gives up with server_error after the retries', async () => {
    server.faults.push({ kind: 'status', status: 500 }, { kind: 'status', status: 502 });
    assert.equal((await make().listLogs(QUERY)).logEntries.length, 5);
    assert.equal(server.requests.length, 3);
    server.requests.length = 0;
    for (let i = 0; i < 4; i++) server.faults.push({ kind: 'status', status: 500 });
    const err = await failure(make({ retry: { retries: 3, baseDelayMs: 5 } }).listLogs(QUERY));
    assert.equal(err.code, 'server_error');
    assert.equal(err.status, 500);
    assert.equal(err.attempts, 4);
    assert.equal(server.requests.length, 4);
    // The message says the retries were made: a log read later does not take it for one refusal.
    assert.match(err.message, /^HTTP 500.*; gave up after 4 attempts$/);
  });

  it('backs off exponentially with jitter between retries', async () => {
    for (let i = 0; i < 3; i++) server.faults.push({ kind: 'status', status: 503 });
    await make({ retry: { baseDelayMs: 40, maxDelayMs: 1000 } }).listLogs(QUERY);
    const gaps = server.requests.slice(1).map((r, i) => r.atMs - server.requests[i]!.atMs);
    // delays are drawn from [d/2, d] with d = 40, 80, 160 ms
    assert.ok(gaps[0]! >= 19 && gaps[1]! >= 39 && gaps[2]! >= 79, `gaps ${gaps.join(', ')}`);
  });

  it('retries a reset connection, a cut-short body and a truncated chunked body', async () => {
    server.faults.push({ kind: 'reset' }, { kind: 'truncate' }, { kind: 'truncate-chunked' });
    const page = await make().listLogs(QUERY);
    assert.equal(page.logEntries.length, 5);
    assert.equal(server.requests.length, 4);
  });

  it('classifies what it cannot recover from: network and invalid_response', async () => {
    server.faults.push({ kind: 'truncate-chunked' }, { kind: 'truncate-chunked' });
    const err = await failure(make({ retry: { retries: 1, baseDelayMs: 1 } }).listLogs(QUERY));
    assert.equal(err.code, 'invalid_response');
    assert.equal(err.status, 200);
    const refused = new LogsClient({ baseUrl: 'http://127.0.0.1:9', requestsPerSecond: 0, retry: { retries: 1, baseDelayMs: 1 } });
    const net = await failure(refused.listLogs(QUERY));
    assert.equal(net.code, 'network');
    assert.equal(net.status, undefined);
    assert.equal(net.attempts, 2);
    assert.match(net.message, /^network error: .*; gave up after 2 attempts$/);
    // With no retries there is nothing to say about them.
    const once = new LogsClient({ baseUrl: 'http://127.0.0.1:9', requestsPerSecond: 0, retry: { retries: 0 } });
    assert.doesNotMatch((await failure(once.listLogs(QUERY))).message, /gave up/);
  });

  it('times out a slow answer or a stalled body, and retries it', async () => {
    server.faults.push({ kind: 'slow', ms: 500 }, { kind: 'stall' });
    const page = await make({ timeoutMs: 150 }).listLogs(QUERY);
    assert.equal(page.logEntries.length, 5);
    assert.equal(server.requests.length, 3);
    server.faults.push({ kind: 'stall' }, { kind: 'stall' });
    const err = await failure(make({ timeoutMs: 100, retry: { retries: 1, baseDelayMs: 1 } }).listLogs(QUERY));
    assert.equal(err.code, 'timeout');
  });

  it('keeps paging through faults without losing or repeating an entry', async () => {
    server.faults.push({ kind: 'status', status: 429, retryAfter: '0' }, { kind: 'status', status: 500 });
    const got: string[] = [];
    const client = make();
    let i = 0;
    for await (const e of client.entries(QUERY)) {
      got.push(e.raw);
      if (++i === 6) server.faults.push({ kind: 'truncate' }, { kind: 'reset' });
    }
    assert.deepEqual(got, texts);
  });

  it('paces requests: at most requestsPerSecond request starts per second, 3 by default', async () => {
    // Request starts are taken where the client makes them (its fetch), not where a busy server
    // happens to stamp their arrival: the pacing is the client's promise.
    const starts: number[] = [];
    const timedFetch: typeof fetch = (input, init) => {
      starts.push(performance.now());
      return fetch(input, init);
    };
    const client = make({ requestsPerSecond: 20, fetch: timedFetch });
    await Promise.all(Array.from({ length: 10 }, () => client.listLogs(QUERY)));
    // Start k comes no earlier than k intervals after the first (a timer may fire a millisecond
    // early; one delayed by a busy machine may bring the next closer, never ahead of its slot).
    const offsets = () => starts.map((t) => Math.round(t - starts[0]!));
    // The first start may come a few ms after its own slot (its call sets up first), hence 15 ms of slack.
    const onPace = (intervalMs: number) => starts.every((t, k) => t - starts[0]! >= k * intervalMs - 15);
    // 20/s with 5% slack: one start every 53 ms.
    assert.ok(onPace(53), `starts at 20/s: ${offsets().join(', ')}`);
    starts.length = 0;
    const byDefault = new LogsClient({ baseUrl: server.url, fetch: timedFetch });
    for (let i = 0; i < 4; i++) await byDefault.listLogs(QUERY);
    assert.ok(onPace(350), `starts at the default pace: ${offsets().join(', ')}`);
    const unpaced = make({ fetch: timedFetch });
    starts.length = 0;
    await Promise.all(Array.from({ length: 5 }, () => unpaced.listLogs(QUERY)));
    assert.equal(starts.length, 5);
  });

  it('never retries a POST (the token request)', async () => {
    const err = await failure(fetchToken({ baseUrl: server.url, accessKey: 'k', secret: 's' }));
    assert.equal(err.code, 'not_found'); // the fault server has no token endpoint
    assert.equal(server.requests.length, 1);
    assert.equal(server.requests[0]!.method, 'POST');
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('2'), 2000);
    assert.equal(parseRetryAfter(null), undefined);
    assert.equal(parseRetryAfter('soon'), undefined);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
  });
});
