/**
 * `Expect: 100-continue`: a client that asks before sending a large body is told 100 only once
 * its request has passed credentials, scope and limits. A request refused there gets its final
 * answer at once, and the body it held back is never sent.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { parseResponse } from '../support/raw-http.ts';

const BODY = '{"logType":"AccessLog","logEntries":[{"eventTime":"2024-03-01T00:00:00Z","logRecord":{"asked":"first"}}]}';

interface Exchange {
  /** The status lines the server sent, in order. */
  readonly statuses: number[];
  /** Whether the body was sent (only after a 100). */
  readonly sentBody: boolean;
  /** The final answer. */
  readonly status: number;
  readonly body: string;
}

/** Sends the head with `Expect: 100-continue`, the body only after a 100, and reads until the server closes. */
function ask(port: number, authorization: string | undefined): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sentBody = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the server neither answered nor closed within 10 s'));
    }, 10_000);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      if (!sentBody && Buffer.concat(chunks).toString('latin1').startsWith('HTTP/1.1 100 ')) {
        sentBody = true;
        socket.write(BODY);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      let data = Buffer.concat(chunks);
      const statuses: number[] = [];
      for (const m of data.toString('latin1').matchAll(/^HTTP\/1\.1 (\d{3}) /gm)) statuses.push(Number(m[1]));
      // The final answer follows the interim one.
      while (data.toString('latin1').startsWith('HTTP/1.1 100 ')) data = data.subarray(data.indexOf('\r\n\r\n') + 4);
      const res = parseResponse(data);
      resolve({ statuses, sentBody, status: res.status, body: res.body.toString('utf8') });
    });
    const head = [
      'POST /v2/logs HTTP/1.1',
      'Host: localhost',
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(BODY)}`,
      'Expect: 100-continue',
      'Connection: close',
      ...(authorization === undefined ? [] : [`Authorization: ${authorization}`]),
    ];
    socket.write(`${head.join('\r\n')}\r\n\r\n`);
  });
}

describe('Expect: 100-continue', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    t = await startTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => t.close());

  it('a request without credentials, or with a key that may not write, is refused before its body is asked for', async () => {
    for (const [authorization, status] of [
      [undefined, 401],
      [basic(t.readKey), 401],
    ] as const) {
      const answer = await ask(port, authorization);
      assert.deepEqual(
        answer.statuses,
        [status],
        `no 100 before the ${status} (${authorization === undefined ? 'no credentials' : 'read-only key'})`,
      );
      assert.equal(answer.sentBody, false);
      assert.match(JSON.parse(answer.body).requestId, /^\S+$/);
    }
    const page = await t.list({ logType: 'AccessLog', fromDateTime: '2024-01-01T00:00:00Z' });
    assert.equal(page.statusCode, 404, 'nothing was stored');
  });

  it('a request that may write is told to go on, and its body is stored', async () => {
    const answer = await ask(port, basic(t.writeKey));
    assert.deepEqual(answer.statuses, [100, 201]);
    assert.equal(answer.sentBody, true);
    const page = await t.list({ logType: 'AccessLog', fromDateTime: '2024-01-01T00:00:00Z' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /"asked":"first"/);
  });
});
