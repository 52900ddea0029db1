/**
 * A stop behind a reverse proxy: the proxy keeps connections open to the server and sends the
 * next request on one as soon as the answer before it is out. A request that arrives so on a
 * connection that was busy when the stop began is answered as usual (with `Connection: close`),
 * not refused: a proxy cannot send a refused POST to another server. `/readyz` says not ready.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server/start.ts';
import { basic } from '../support/app.ts';
import { listenerClosed, parseResponse, type RawResponse, reader } from '../support/raw-http.ts';
import { storedAccessLogs } from '../support/stores.ts';

/** The answers after the interim 100 Continue, split at each status line. */
function answers(data: Buffer): RawResponse[] {
  const text = data.toString('latin1').replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
  return text
    .split(/(?=HTTP\/1\.1 \d{3} )/)
    .filter((part) => part.length > 0)
    .map((part) => parseResponse(Buffer.from(part, 'latin1')));
}

/**
 * Sends an ingest on a kept-alive connection, begins the stop while its body is awaited, then
 * sends the body with `next` pipelined behind it; the two answers.
 */
async function requestDuringStop(server: RunningServer, next: string): Promise<RawResponse[]> {
  const port = Number(new URL(server.url).port);
  const key = server.bootstrap!.key;
  const body = JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-02-01T00:00:00Z', logRecord: { first: true } }] });
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const read = reader(socket);
  socket.write(
    'POST /v2/logs HTTP/1.1\r\nhost: logwarden\r\n' +
      `authorization: ${basic(key)}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nexpect: 100-continue\r\n\r\n`,
  );
  // The server has taken the request (its hooks passed) and waits for the body.
  await read.until('100 Continue');
  const stopped = server.stop();
  await listenerClosed(port);
  socket.write(body + next);
  const data = await read.ended;
  await stopped;
  return answers(data);
}

async function withServer(run: (server: RunningServer, dataDir: string) => Promise<void>, env: Record<string, string> = {}): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-stop-keep-alive-'));
  try {
    const server = await startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent' }, env));
    await run(server, dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('stopping the server with connections a proxy keeps open', () => {
  it('stores and acknowledges an ingest that arrives on a kept connection during the stop', { timeout: 30_000 }, async () => {
    await withServer(async (server, dataDir) => {
      const body = JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-02-01T00:00:01Z', logRecord: { second: true } }] });
      const next =
        'POST /v2/logs HTTP/1.1\r\nhost: logwarden\r\n' +
        `authorization: ${basic(server.bootstrap!.key)}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
      const [first, second] = await requestDuringStop(server, next);
      assert.equal(first?.status, 201);
      assert.equal(second?.status, 201, `the second ingest was answered ${second?.status}: ${second?.body.toString()}`);
      assert.equal(second.headers.connection, 'close', 'the connection is closed after it');
      assert.match(second.headers['x-traceid'] ?? '', /^[0-9a-z]{19}$/);
      assert.equal((JSON.parse(second.body.toString()) as { accepted: number }).accepted, 1);
      assert.equal(await storedAccessLogs(dataDir, server.bootstrap!.tenantId), 2, 'both entries are stored');
    });
  });

  it('answers /readyz not ready, in the error envelope, once the stop has begun', { timeout: 30_000 }, async () => {
    await withServer(async (server) => {
      const [first, ready] = await requestDuringStop(server, 'GET /readyz HTTP/1.1\r\nhost: logwarden\r\n\r\n');
      assert.equal(first?.status, 201);
      assert.equal(ready?.status, 503);
      const doc = JSON.parse(ready.body.toString()) as { requestId: string; errors: string[] };
      assert.deepEqual(doc.errors, ['server stopping']);
      assert.equal(ready.headers['x-traceid'], doc.requestId);
    });
  });
});

describe('idle connections', () => {
  /** The Keep-Alive header of an answer over a real socket. */
  const keepAlive = async (url: string): Promise<string | null> => {
    const res = await fetch(new URL('/healthz', url), { keepalive: true });
    await res.arrayBuffer();
    return res.headers.get('keep-alive');
  };

  it('are kept 72 s by default, and as long as LOGWARDEN_KEEP_ALIVE_TIMEOUT_MS says (a balancer that holds them 600 s)', async () => {
    await withServer(async (server) => {
      try {
        assert.equal(await keepAlive(server.url), 'timeout=72');
      } finally {
        await server.stop();
      }
    });
    await withServer(
      async (server) => {
        try {
          assert.equal(await keepAlive(server.url), 'timeout=620');
          assert.equal(server.app.server.keepAliveTimeout, 620_000);
        } finally {
          await server.stop();
        }
      },
      { LOGWARDEN_KEEP_ALIVE_TIMEOUT_MS: '620000' },
    );
  });
});
