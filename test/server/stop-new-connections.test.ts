/**
 * A stop that begins just after a client opened its connection, before its first request came
 * (an ingest client under load, a proxy's new upstream connection): the request is answered,
 * with `Connection: close`, instead of meeting a reset that leaves the client unsure whether
 * its entries were stored. A connection that never sends is closed when its grace is up, so it
 * cannot hold the stop for the whole drain timeout; one idle after an answer is closed at once.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server/start.ts';
import { basic } from '../support/app.ts';
import { formatRequest, parseResponse, reader } from '../support/raw-http.ts';
import { storedAccessLogs } from '../support/stores.ts';

async function withServer(env: Record<string, string>, run: (server: RunningServer, dataDir: string) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-stop-new-'));
  try {
    await run(await startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent' }, env)), dataDir);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A connection the server has taken (its 'connection' event has fired), nothing sent on it yet. */
async function accepted(server: RunningServer): Promise<Socket> {
  const taken = once(server.app.server, 'connection');
  const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
  // A reset shows as the connection ending without an answer; the assertions say so.
  socket.on('error', () => {});
  await Promise.all([once(socket, 'connect'), taken]);
  return socket;
}

function ingest(server: RunningServer): Buffer {
  const body = JSON.stringify({ logType: 'AccessLog', logEntries: [{ eventTime: '2026-02-01T00:00:00Z', logRecord: { late: true } }] });
  return formatRequest({
    method: 'POST',
    path: '/v2/logs',
    // The client would keep the connection: the server says it closes it.
    headers: { authorization: basic(server.bootstrap!.key), 'content-type': 'application/json', connection: 'keep-alive' },
    body,
  });
}

describe('stopping the server with connections that have not sent a request yet', () => {
  it('answers and stores an ingest whose connection was opened before the stop and whose request comes 200 ms into it', async () => {
    await withServer({}, async (server, dataDir) => {
      const socket = await accepted(server);
      const read = reader(socket);
      const stopped = server.stop();
      await sleep(200);
      socket.write(ingest(server));
      const data = await read.ended;
      await stopped;
      assert.ok(data.length > 0, 'the connection was closed without an answer');
      const answer = parseResponse(data);
      assert.equal(answer.status, 201, answer.body.toString());
      assert.equal(answer.headers.connection, 'close');
      assert.equal((JSON.parse(answer.body.toString()) as { accepted: number }).accepted, 1);
      assert.equal(await storedAccessLogs(dataDir, server.bootstrap!.tenantId), 1, 'the entry is stored');
    });
  });

  it('answers a request on a connection the kernel completed while the server was busy, just before the stop', async () => {
    await withServer({}, async (server) => {
      const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      socket.on('error', () => {});
      const read = reader(socket);
      // The event loop (this test shares it with the server) is busy: the kernel completes the
      // connection, which the server has not accepted when the stop begins.
      const until = performance.now() + 100;
      while (performance.now() < until);
      const stopped = server.stop();
      await once(socket, 'connect');
      socket.write('GET /healthz HTTP/1.1\r\nhost: logwarden\r\n\r\n');
      const data = await read.ended;
      await stopped;
      assert.ok(data.length > 0, 'the connection was closed without an answer');
      assert.equal(parseResponse(data).status, 200);
    });
  });

  it('closes a connection that never sends once its grace is up, long before the drain timeout', async () => {
    // The grace is at most the request timeout (here 1 s); the drain timeout is a minute.
    await withServer({ LOGWARDEN_REQUEST_TIMEOUT_MS: '1000', LOGWARDEN_DRAIN_TIMEOUT_MS: '60000' }, async (server) => {
      const socket = await accepted(server);
      const read = reader(socket);
      const began = performance.now();
      await server.stop();
      const took = performance.now() - began;
      assert.ok(took < 1000 + 10_000, `the stop took ${Math.round(took)} ms`);
      assert.equal((await read.ended).length, 0, 'closed without an answer');
    });
  });

  it('closes a kept connection idle after its answer at once, while a new one still has its grace', async () => {
    await withServer({}, async (server) => {
      const kept = await accepted(server);
      const keptRead = reader(kept);
      kept.write('GET /healthz HTTP/1.1\r\nhost: logwarden\r\n\r\n');
      await keptRead.until('HTTP/1.1 200');
      const fresh = await accepted(server);
      const freshRead = reader(fresh);
      const stopped = server.stop();
      // Closed by the server while the stop is still waiting for the new connection.
      await keptRead.ended;
      fresh.write('GET /healthz HTTP/1.1\r\nhost: logwarden\r\n\r\n');
      const data = await freshRead.ended;
      await stopped;
      assert.ok(data.length > 0, 'the new connection was closed without an answer');
      const answer = parseResponse(data);
      assert.equal(answer.status, 200);
      assert.equal(answer.headers.connection, 'close');
    });
  });
});
