/**
 * An ingest through a reverse proxy whose limit on request bodies is below the batch the SDK
 * sends (nginx's default is 1 MiB; the SDK sends up to 32 MiB): the proxy answers 413 itself,
 * an HTML page without logwarden's envelope. The error says so, and what to change.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { LogsApiError, LogsClient } from '../../src/client/index.ts';

/** Answers every request as nginx does a body over its client_max_body_size. */
function startBodyLimitProxy(): Promise<Server> {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(413, { 'content-type': 'text/html', connection: 'close' });
    res.end(
      '<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
    );
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('an ingest refused by a proxy for its size', () => {
  let proxy: Server;
  let client: LogsClient;

  before(async () => {
    proxy = await startBodyLimitProxy();
    client = new LogsClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/audit/`, accessKey: 'K', secret: 'S' });
  });
  after(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  it('says the body was refused in front of the server, and what to change', async () => {
    const entries = Array.from({ length: 3 }, (_, i) => ({ eventTime: '2026-02-01T00:00:00Z', logRecord: { i } }));
    const err = await client.ingest('AccessLog', entries).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError, String(err));
    assert.equal(err.status, 413);
    assert.equal(err.code, 'too_large');
    assert.match(
      err.message,
      /^the batch of entries 0–2 failed \(0 entries in 0 requests were stored or already there; no other was acknowledged\): HTTP 413/,
    );
    assert.match(err.message, /refused by something in front of the server/);
    assert.match(err.message, /client_max_body_size/);
    assert.match(err.message, /maxBytes/);
  });
});
