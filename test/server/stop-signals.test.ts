/**
 * A stop signal repeated while the server stops does not end it mid-stop: requests in flight
 * are still answered. Repeats are what `npm start` does on Ctrl-C (the terminal signals the
 * server, and npm passes the signal on again) and what a supervisor stopping a process group
 * does to `serve --workers` (each worker is signalled, and then signalled by the primary).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServe } from '../support/cli.ts';

const ACCESS_KEY = 'stop-signals-key';
const SECRET = 's'.repeat(40);
const ENV = { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: ACCESS_KEY, LOGWARDEN_BOOTSTRAP_SECRET: SECRET, LOGWARDEN_INGEST_PER_SECOND: '1000' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An ingest whose body is held back after its first bytes, on a connection of its own:
 * in flight at the server until `finish` sends the rest. Resolves with the status, or the
 * error code when the connection failed.
 */
function heldUpload(server: RunningServer, n: number): { finish(): void; outcome: Promise<number | string> } {
  const body = `{"logType":"AccessLog","logEntries":[{"eventTime":"2026-02-01T00:00:00Z","logRecord":{"n":${n}}}]}`;
  const req = request(`${server.url}/v2/logs`, {
    method: 'POST',
    agent: false,
    headers: {
      authorization: `Basic ${Buffer.from(`${ACCESS_KEY}:${SECRET}`).toString('base64')}`,
      'content-type': 'application/json',
      'content-length': String(body.length),
    },
  });
  const outcome = new Promise<number | string>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
  });
  req.write(body.slice(0, 30));
  return { finish: () => req.end(body.slice(30)), outcome };
}

/** The process ids of a process's children (Linux). */
function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

describe('a stop signal sent twice', { skip: process.platform !== 'linux' && 'reads /proc' }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-stop-signals-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serve: a second SIGINT while stopping is ignored; the request in flight is answered', async () => {
    const server = await startServe(['--data-dir', join(dir, 'one'), '--port', '0'], ENV);
    const upload = heldUpload(server, 1);
    await sleep(300); // its headers are read: it is in flight
    server.child.kill('SIGINT');
    await sleep(200);
    server.child.kill('SIGINT');
    await sleep(200);
    upload.finish();
    assert.equal(await upload.outcome, 201);
    assert.equal(await server.exited, 0, server.stderr());
  });

  it('serve --workers 2: workers signalled, then signalled again by the primary, answer the requests in flight', async () => {
    const server = await startServe(['--data-dir', join(dir, 'workers'), '--port', '0', '--workers', '2'], ENV);
    // Connections of their own: the kernel gives them to either worker.
    const uploads = Array.from({ length: 6 }, (_, i) => heldUpload(server, i));
    await sleep(500);
    const workers = childrenOf(server.child.pid!);
    assert.equal(workers.length, 2);
    for (const pid of workers) process.kill(pid, 'SIGTERM');
    await sleep(200);
    server.child.kill('SIGTERM');
    await sleep(300);
    for (const u of uploads) u.finish();
    assert.deepEqual(await Promise.all(uploads.map((u) => u.outcome)), Array(6).fill(201));
    assert.equal(await server.exited, 0, server.stderr());
  });
});
