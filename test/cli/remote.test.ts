/** What the commands that talk to a server (fetch, sync, verify) say about their --url and their retries. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkBaseUrl, retryNotice } from '../../src/cli/remote.ts';
import { LogsApiError } from '../../src/client/errors.ts';
import { runCliInProcess } from '../support/cli.ts';

describe('the --url of a server', () => {
  it('refuses an endpoint in place of the base URL, naming the base URL to give', () => {
    assert.throws(
      () => checkBaseUrl('http://127.0.0.1:8080/v2/logs'),
      /--url is the server's base URL, without the API's path: give "http:\/\/127\.0\.0\.1:8080\/"/,
    );
    assert.throws(() => checkBaseUrl('https://audit.example/lw/v2/tlog/1/checkpoint'), /give "https:\/\/audit\.example\/lw\/"/);
    assert.throws(() => checkBaseUrl('https://api.gong.io/v2'), /give "https:\/\/api\.gong\.io\/"/);
    for (const fine of [
      'https://api.gong.io',
      'https://us-12345.api.gong.io/',
      'http://127.0.0.1:8080/audit/',
      'https://h.example/v2x/',
      'not a url',
    ]) {
      assert.doesNotThrow(() => checkBaseUrl(fine), fine);
    }
  });

  it('is refused by fetch, sync and verify with exit status 2 before any request', async () => {
    for (const args of [
      ['fetch', '--url', 'http://127.0.0.1:9/v2/logs', '--type', 'AccessLog', '--from', '1d', '--access-key', 'k', '--secret', 's'],
      ['sync', '--url', 'http://127.0.0.1:9/v2/logs', '--tenant', '1', '--access-key', 'k', '--secret', 's', '--data-dir', '/nonexistent-logwarden'],
      ['verify', '--url', 'http://127.0.0.1:9/v2/tlog/1/checkpoint', '--tenant', '1'],
    ]) {
      const r = await runCliInProcess(args, { now: Date.now });
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /^logwarden: --url is the server's base URL, without the API's path: give "http:\/\/127\.0\.0\.1:9\/"/, args[0]);
    }
  });
});

describe('retry notices', () => {
  it('say why and how long for network errors, timeouts and server errors; nothing for a rate limit', () => {
    const network = new LogsApiError('network', 'network error: connect ECONNREFUSED 127.0.0.1:9', { attempts: 1 });
    assert.equal(
      retryNotice({ attempt: 1, delayMs: 400, error: network }),
      'logwarden: network error: connect ECONNREFUSED 127.0.0.1:9; retrying in 1 s (retry 1)\n',
    );
    const server = new LogsApiError('server_error', 'HTTP 503', { status: 503, messages: ['store unreachable; retry later'], attempts: 3 });
    assert.equal(
      retryNotice({ attempt: 3, delayMs: 2600, error: server }),
      'logwarden: HTTP 503: store unreachable; retry later; retrying in 3 s (retry 3)\n',
    );
    const limited = new LogsApiError('rate_limited', 'HTTP 429', { status: 429, messages: ['too many requests'], attempts: 1 });
    assert.equal(retryNotice({ attempt: 1, delayMs: 1000, error: limited }), undefined);
  });
});
