/**
 * tokenSource: a token is kept for its lifetime as counted on a monotonic clock, whatever this
 * machine's date does meanwhile.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tokenSource } from '../../src/client/token.ts';

describe('tokenSource', () => {
  it('fetches a new token a minute before the lifetime the server granted has passed, by the monotonic clock', async () => {
    let monotonic = 1_000;
    let fetched = 0;
    const source = tokenSource({
      baseUrl: 'http://127.0.0.1:47299/',
      accessKey: 'k',
      secret: 's',
      now: () => monotonic,
      fetch: async () => {
        fetched++;
        return new Response(JSON.stringify({ access_token: `t${fetched}`, token_type: 'Bearer', expires_in: 3600 }), {
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    assert.equal(await source(), 't1');
    monotonic += 3_539_000;
    assert.equal(await source(), 't1', 'kept until a minute before it expires');
    // An hour has passed, though this machine's date (not advanced here, as when NTP put it back) says less.
    monotonic += 2_000;
    assert.equal(await source(), 't2');
    assert.equal(fetched, 2);
  });

  it('replaces a token it is told was refused, once for requests refused together', async () => {
    let fetched = 0;
    const source = tokenSource({
      baseUrl: 'http://127.0.0.1:47299/',
      accessKey: 'k',
      secret: 's',
      now: () => 0,
      fetch: async () => {
        fetched++;
        return new Response(JSON.stringify({ access_token: `t${fetched}`, token_type: 'Bearer', expires_in: 3600 }), {
          headers: { 'content-type': 'application/json' },
        });
      },
    });
    assert.equal(await source(), 't1');
    source.refused('t1');
    source.refused('t1');
    assert.deepEqual(await Promise.all([source(), source(), source()]), ['t2', 't2', 't2']);
    assert.equal(fetched, 2);
    source.refused('t1'); // a late word about the token already replaced
    assert.equal(await source(), 't2');
    assert.equal(fetched, 2);
  });
});
