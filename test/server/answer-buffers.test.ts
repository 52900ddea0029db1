/**
 * Page answers are written into buffers used again (server/answer-buffers.ts). A buffer must
 * come back only once its response has finished, and pages sent at once over real sockets must
 * each carry exactly their own bytes.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AnswerBuffers } from '../../src/server/answer-buffers.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';

const response = (): ServerResponse => new EventEmitter() as unknown as ServerResponse;

describe('answer buffers', () => {
  it('gives a buffer back only when its response finishes', () => {
    const pool = new AnswerBuffers(2);
    const res = response();
    const a = pool.take(1000, res);
    assert.ok(a.length >= 1000);
    assert.notEqual(pool.take(1000, response()), a, 'in use until its response finishes');
    res.emit('finish');
    assert.equal(pool.idle, 1);
    assert.equal(pool.take(1000, response()), a);
  });

  it('drops a buffer whose response ended without finishing, and keeps at most `keep`', () => {
    const pool = new AnswerBuffers(1);
    const closed = response();
    pool.take(10, closed);
    closed.emit('close');
    assert.equal(pool.idle, 0);
    const one = response();
    const two = response();
    pool.take(10, one);
    pool.take(10, two);
    one.emit('finish');
    two.emit('finish');
    assert.equal(pool.idle, 1);
  });

  it('makes a larger buffer when the one at hand is too small', () => {
    const pool = new AnswerBuffers();
    const res = response();
    const small = pool.take(10, res);
    res.emit('finish');
    const big = pool.take(small.length + 1, response());
    assert.notEqual(big, small);
    assert.ok(big.length > small.length);
  });
});

describe('pages answered at once over sockets', () => {
  let t: TestApp;
  let url: string;
  const FROM = '2026-03-01T00:00:00Z';

  before(async () => {
    t = await startTestApp();
    const start = Date.parse(FROM);
    const entries = Array.from({ length: 3000 }, (_, i) => ({
      eventTime: new Date(start + i * 1000).toISOString(),
      userId: String(1000 + i),
      logRecord: { n: i, pad: 'x'.repeat(i % 700) },
    }));
    for (let i = 0; i < entries.length; i += 1000) assert.equal((await t.ingest('AccessLog', entries.slice(i, i + 1000))).statusCode, 201);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(() => t.close());

  it('each carry their own entries, byte for byte', async () => {
    const auth = { authorization: basic(t.readKey) };
    // Thirty first pages, each starting at a different entry, fetched alone for reference.
    const starts = Array.from({ length: 30 }, (_, i) => new Date(Date.parse(FROM) + i * 97_000).toISOString());
    const path = (from: string) => `/v2/logs?logType=AccessLog&fromDateTime=${encodeURIComponent(from)}`;
    const entriesOf = (body: string) => JSON.stringify((JSON.parse(body) as { logEntries: unknown[] }).logEntries);
    const expected = new Map<string, string>();
    for (const from of starts) {
      const res = await fetch(url + path(from), { headers: auth });
      assert.equal(res.status, 200);
      expected.set(from, entriesOf(await res.text()));
    }
    for (let round = 0; round < 5; round++) {
      const order = [...starts, ...starts].sort(() => Math.random() - 0.5);
      const bodies = await Promise.all(order.map(async (from) => [from, await (await fetch(url + path(from), { headers: auth })).text()] as const));
      for (const [from, body] of bodies) assert.equal(entriesOf(body), expected.get(from), `page from ${from}`);
    }
  });
});
