/**
 * A server cannot make a verifier hold more than an answer of each kind can be: a checkpoint
 * sent without end, and an entry bundle whose small gzip body inflates far beyond 256 leaves,
 * fail at once with what was wrong, not retried, instead of growing the process by gigabytes.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isLogsApiError, TlogClient } from '../../src/client/index.ts';

describe('answers larger than their kind can be', () => {
  let url: string;
  const requests: string[] = [];
  // 256 MiB of zeroes, gzipped to about 256 KiB.
  const bomb = gzipSync(Buffer.alloc(256 << 20), { level: 9 });
  const server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url?.endsWith('/checkpoint')) {
      // Without end: 1 MiB chunks as fast as the client takes them, until it hangs up.
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(1 << 20, 97);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) {}
      };
      res.on('drain', pump);
      pump();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
    res.end(bomb);
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  const client = () => new TlogClient({ baseUrl: url, tenantId: 't1', accessKey: 'K', secret: 'S', requestsPerSecond: 0 });

  it('a checkpoint sent without end', { timeout: 20_000 }, async () => {
    requests.length = 0;
    await assert.rejects(client().checkpointNote(), (err: unknown) => {
      assert.ok(isLogsApiError(err, 'invalid_response'), String(err));
      assert.equal(err.message, "the answer's body is larger than the 1048576 bytes such an answer can hold");
      return true;
    });
    assert.equal(requests.length, 1, 'not retried');
  });

  it('an entry bundle that inflates beyond 256 leaves of the largest size', { timeout: 20_000 }, async () => {
    requests.length = 0;
    await assert.rejects(client().entryBundle(0, 256), (err: unknown) => {
      assert.ok(isLogsApiError(err, 'invalid_response'), String(err));
      assert.equal(err.message, "the answer's body is larger than the 16777472 bytes such an answer can hold");
      return true;
    });
    assert.equal(requests.length, 1, 'not retried');
  });
});
