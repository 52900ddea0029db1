/**
 * A stop (SIGTERM) lets requests in flight finish, but not forever: an upload still arriving
 * when the wait ends has its connection closed, unacknowledged, so that a supervisor's own
 * stop timeout is never what ends the server.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { startServer } from '../../src/server/start.ts';
import { storedAccessLogs } from '../support/stores.ts';

describe('stopping the server', () => {
  it('closes an upload that is still arriving when the wait for requests in flight ends; nothing of it is stored', { timeout: 60_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-stop-'));
    try {
      // The wait as an operator sets it (serve --drain-timeout takes the same path).
      const config = loadConfig({ dataDir, port: 0, logLevel: 'silent', requestTimeoutMs: 3_600_000 }, { LOGWARDEN_DRAIN_TIMEOUT_MS: '300' });
      const server = await startServer(config);
      const key = server.bootstrap!.key;
      const head = '{"logType":"AccessLog","logEntries":[{"eventTime":"2026-02-01T00:00:00Z","logRecord":{"a":1}}';
      const upload = new Promise<number | string>((resolve) => {
        const req = request(`${server.url}/v2/logs`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${Buffer.from(`${key.accessKey}:${key.secret}`).toString('base64')}`,
            'content-type': 'application/json',
            'content-length': String(head.length + 1000),
          },
        });
        req.on('response', (res) => resolve(res.statusCode ?? 0));
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
        // The body's first part only: the rest never comes.
        req.write(head);
      });
      // The request is in flight once the server has read its headers and part of its body.
      await new Promise((r) => setTimeout(r, 200));
      await server.stop();
      const outcome = await upload;
      assert.notEqual(outcome, 201, 'the upload was not acknowledged');
      assert.equal(typeof outcome, 'string', `the connection was closed (got ${outcome})`);
      assert.equal(await storedAccessLogs(dataDir, server.bootstrap!.tenantId), 0, 'nothing of it was stored');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
