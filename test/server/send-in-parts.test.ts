/**
 * A page of `GET /v2/logs` whose stored texts come in a few stretches is sent in parts, uncopied
 * (server/send-in-parts.ts). On the wire it must be exactly what Fastify sends for the same
 * bytes joined into one buffer, and a page sent either way must carry the same entries.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';
import Fastify, { type FastifyInstance } from 'fastify';
import { CursorCodec } from '../../src/logs/cursor.ts';
import { LogTypes } from '../../src/logs/log-types.ts';
import { limitSlowBodies } from '../../src/server/body-timeout.ts';
import { createLogger } from '../../src/server/logger.ts';
import { sendInParts } from '../../src/server/send-in-parts.ts';
import { listLogs } from '../../src/service/list-logs.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { reader } from '../support/raw-http.ts';

/** Writes `bytes` on a new connection and returns all that comes back until the server closes it. */
async function exchange(port: number, bytes: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  const got = reader(socket);
  socket.write(bytes);
  return (await got.ended).toString('latin1');
}

/** The exchange with the answers' Date headers made alike (they tell the second they were sent). */
const undated = (text: string) => text.replace(/\r\ndate: [^\r]*\r\n/gi, '\r\ndate: -\r\n');

describe('an answer sent in parts', () => {
  const PARTS = ['{"requestId":"r","logEntries":[', '{"a":1},{"a":2}', ',', '{"b":"é"}', ']}'].map((s) => Buffer.from(s));
  const BYTES = PARTS.reduce((n, p) => n + p.length, 0);
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = Fastify();
    limitSlowBodies(app, 5_000);
    const headers = { 'cache-control': 'no-store', 'x-traceid': 'trace' };
    app.get('/parts', (request, reply) => sendInParts(request, reply.headers(headers).type('application/json; charset=utf-8'), PARTS, BYTES));
    app.get('/one', (request, reply) =>
      sendInParts(request, reply.headers(headers).type('application/json; charset=utf-8'), [Buffer.concat(PARTS)], BYTES),
    );
    app.get('/joined', (_request, reply) => reply.headers(headers).type('application/json; charset=utf-8').send(Buffer.concat(PARTS)));
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as AddressInfo).port;
  });
  after(() => app.close());

  const exchanges: Record<string, (path: string) => string> = {
    'two requests on one kept-alive connection': (path) =>
      `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\nGET ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    'a HEAD request': (path) => `HEAD ${path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    'a request whose body is not all there (the connection then closes)': (path) =>
      `GET ${path} HTTP/1.1\r\nhost: x\r\ncontent-type: text/plain\r\ncontent-length: 100\r\n\r\nhalf`,
  };

  for (const [name, request] of Object.entries(exchanges)) {
    it(`is, byte for byte, what Fastify sends for the parts joined: ${name}`, async () => {
      const joined = undated(await exchange(port, request('/joined')));
      assert.match(joined, /^HTTP\/1\.1 200 OK\r\n/);
      assert.equal(undated(await exchange(port, request('/parts'))), joined);
      assert.equal(undated(await exchange(port, request('/one'))), joined);
    });
  }

  it('carries the parts in order, with their length in all', async () => {
    const text = await exchange(port, 'GET /parts HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
    const [head, body] = text.split('\r\n\r\n') as [string, string];
    assert.match(head, new RegExp(`\r\ncontent-length: ${BYTES}\r\n`, 'i'));
    assert.equal(Buffer.from(body, 'latin1').toString('utf8'), Buffer.concat(PARTS).toString('utf8'));
    assert.deepEqual(JSON.parse(Buffer.from(body, 'latin1').toString('utf8')), { requestId: 'r', logEntries: [{ a: 1 }, { a: 2 }, { b: 'é' }] });
  });
});

describe('pages of sealed entries', () => {
  let dir: string;
  let store: SqliteStore;
  let t: TestApp;
  let url: string;
  const logged: string[] = [];
  const FROM = '2026-03-01T00:00:00Z';
  const path = `/v2/logs?logType=AccessLog&fromDateTime=${encodeURIComponent(FROM)}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-test-'));
    store = openSqliteStore({ dataDir: dir, noSealer: true, sealAgeMs: 0 });
    const sink = new Writable({
      write(chunk, _enc, done) {
        logged.push(String(chunk));
        done();
      },
    });
    t = await startTestApp({ store, logger: createLogger('info', sink) });
    const start = Date.parse(FROM);
    const entries = Array.from({ length: 450 }, (_, i) => ({
      eventTime: new Date(start + i * 1000).toISOString(),
      userId: String(1000 + i),
      logRecord: { n: i, text: `é${'x'.repeat(i % 300)}` },
    }));
    assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await t.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Every page of the query over one kept-alive connection: the entries' text of each, its
   * length checked, and the request's line in the server's log (written once it has finished).
   */
  async function pages(): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await fetch(url + path + (cursor ? `&cursor=${cursor}` : ''), { headers: { authorization: basic(t.readKey) } });
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(Number(res.headers.get('content-length')), body.length);
      const text = body.toString('utf8');
      const page = JSON.parse(text) as { requestId: string; records: { cursor?: string } };
      out.push(text.slice(text.indexOf('"logEntries":[')));
      // The line is written when the answer has finished going out: a turn of the event loop.
      await setImmediate();
      const line = logged
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.requestId === page.requestId);
      assert.deepEqual(line && [line.msg, line.status, line.route], ['request completed', 200, '/v2/logs'], `log line of ${page.requestId}`);
      cursor = page.records.cursor;
    } while (cursor !== undefined);
    return out;
  }

  it('carry, sent in parts, the bytes the same pages carried copied into one buffer before they were sealed', async () => {
    const list = {
      store,
      cursors: new CursorCodec('secret'),
      types: new LogTypes(),
      pageSize: 100,
      cursorTtlMs: 60_000,
      now: Date.now,
    };
    const query = { logType: 'AccessLog', fromDateTime: FROM };
    // Unsealed, each entry is a stretch of its own: the page is copied into one part.
    assert.equal((await listLogs(list, t.tenantId, query, 'r')).parts.length, 1);
    const copied = await pages();
    assert.equal(store.settle(), 450);
    // Sealed, the page's texts are a stretch or two of one segment: sent as they are.
    const sealed = await listLogs(list, t.tenantId, query, 'r');
    assert.ok(sealed.parts.length >= 3, `parts: ${sealed.parts.length}`);
    assert.equal(Buffer.concat(sealed.parts).length, sealed.bytes);
    assert.deepEqual(await pages(), copied);
    assert.equal(copied.length, 5);
  });
});
