/**
 * The disk refusing the store's writes under a running `logwarden serve`: the real process,
 * whose file-size limit (`ulimit -f`, which any user may lower) stands for a full disk or a
 * disk quota. SQLite reports that as an I/O error (SQLITE_IOERR_WRITE), not as SQLITE_FULL.
 * Every acknowledged entry stays readable; a refused batch is a 503 with Retry-After, a log
 * line with its requestId saying what to check (no entry text in it), /readyz not ready; once
 * the limit is lifted, ingest works again without a restart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OUT_OF_SPACE_MESSAGE, WRITE_REFUSED } from '../../src/server/error-handler.ts';
import { type RunningServer, startServe } from '../support/cli.ts';

const ACCESS_KEY = 'LWDISKTESTKEY0000001';
const SECRET = 'disk-test-secret-0123456789abcdefghijklmnop';
const AUTH = `Basic ${Buffer.from(`${ACCESS_KEY}:${SECRET}`).toString('base64')}`;
const T0 = Date.UTC(2026, 0, 1);
const MARKER = 'DISK-PAYLOAD-MARKER';

/** A shell that ignores SIGXFSZ and lowers the soft file-size limit (KiB) before it execs the command; prlimit lifts it later. */
const capped = (kib: number) => ['sh', '-c', `trap '' XFSZ; ulimit -S -f ${kib} && exec "$@"`, 'sh'];
const canCap = spawnSync('sh', ['-c', `trap '' XFSZ; ulimit -S -f 1 && exec true`]).status === 0 && spawnSync('prlimit', ['--version']).status === 0;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function batch(n: number): { ids: string[]; body: string } {
  const ids = Array.from({ length: 100 }, (_, i) => `${n}-${i}`);
  const logEntries = ids.map((id, i) => ({
    eventTime: new Date(T0 + n * 1000 + i).toISOString(),
    logRecord: { id, marker: MARKER, pad: `${id}:`.padEnd(600, 'x') },
  }));
  return { ids, body: JSON.stringify({ logType: 'AccessLog', logEntries }) };
}

async function ingest(
  server: RunningServer,
  n: number,
): Promise<{ status: number; ids: string[]; json: { requestId: string; errors?: string[] }; retryAfter: string | null }> {
  const { ids, body } = batch(n);
  const res = await fetch(`${server.url}/v2/logs`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body });
  return { status: res.status, ids, json: (await res.json()) as { requestId: string }, retryAfter: res.headers.get('retry-after') };
}

/** Every id served by GET /v2/logs, page after page. */
async function servedIds(server: RunningServer): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const q = new URLSearchParams({ logType: 'AccessLog', fromDateTime: new Date(T0).toISOString(), limit: '1000', ...(cursor && { cursor }) });
    const res = await fetch(`${server.url}/v2/logs?${q}`, { headers: { authorization: AUTH } });
    if (res.status === 404) return ids;
    assert.equal(res.status, 200, await res.clone().text());
    const page = (await res.json()) as { logEntries: { logRecord: { id: string; pad: string } }[]; records: { cursor?: string } };
    for (const e of page.logEntries) {
      assert.equal(e.logRecord.pad, `${e.logRecord.id}:`.padEnd(600, 'x'), 'served whole');
      ids.push(e.logRecord.id);
    }
    cursor = page.records.cursor;
    if (!cursor) return ids;
  }
}

/** `logwarden serve` on a data directory of its own under a file-size limit of `kib` KiB, with the test's key and `env`. */
async function serveCapped(kib: number, env: Record<string, string>): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), 'logwarden-disk-'));
  dirs.push(dir);
  return startServe(
    ['--data-dir', join(dir, 'data'), '--port', '0', '--log-format', 'json'],
    { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: ACCESS_KEY, LOGWARDEN_BOOTSTRAP_SECRET: SECRET, LOGWARDEN_INGEST_PER_SECOND: '100000', ...env },
    capped(kib),
  );
}

describe('serve: the disk refuses the store a write (a quota or file-size limit reached)', () => {
  it('acknowledged entries stay, the refusal is a 503 said in the log, and ingest resumes once writes succeed again', {
    timeout: 60_000,
  }, async (t) => {
    if (!canCap) return t.skip('needs sh with ulimit -S -f and prlimit');
    const server = await serveCapped(2048, { LOGWARDEN_READ_PER_SECOND: '100000', LOGWARDEN_READ_PER_DAY: '100000000' });
    try {
      const acked: string[] = [];
      let refused: Awaited<ReturnType<typeof ingest>> | undefined;
      let n = 0;
      for (; n < 400 && refused === undefined; n++) {
        const r = await ingest(server, n);
        if (r.status === 201) acked.push(...r.ids);
        else refused = r;
      }
      assert.ok(refused, `no write refused after ${n} batches`);
      assert.ok(acked.length > 0, 'some batches were stored before the limit');
      assert.equal(refused.status, 503, JSON.stringify(refused.json));
      assert.deepEqual(refused.json.errors, [OUT_OF_SPACE_MESSAGE]);
      assert.equal(refused.retryAfter, '5');
      // The request's line is written once the answer has gone out.
      const lineOf = (id: string) =>
        server
          .stdout()
          .split('\n')
          .find((l) => l.includes(id) && l.includes('"status":503'));
      for (let i = 0; i < 100 && lineOf(refused.json.requestId) === undefined; i++) await new Promise((r) => setTimeout(r, 20));
      const line = lineOf(refused.json.requestId);
      assert.ok(line, 'a log line with the requestId');
      assert.equal(JSON.parse(line).detail, WRITE_REFUSED);
      assert.doesNotMatch(server.stdout(), new RegExp(MARKER), 'no entry text in the log');
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { errors: string[] }).errors, ['store out of disk space: writes are refused; free space']);
      assert.deepEqual((await servedIds(server)).sort(), [...acked].sort(), 'every acknowledged entry, once, and nothing refused');

      // Space again: the limit lifted on the running process.
      assert.equal(spawnSync('prlimit', ['--pid', String(server.child.pid), '--fsize=unlimited:']).status, 0);
      const again = await ingest(server, n + 1);
      assert.equal(again.status, 201, JSON.stringify(again.json));
      acked.push(...again.ids);
      assert.deepEqual((await servedIds(server)).sort(), [...acked].sort());
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  it('an NDJSON body spooled to a temporary file past the limit is refused whole with a 503, nothing of it stored', {
    timeout: 60_000,
  }, async (t) => {
    if (!canCap) return t.skip('needs sh with ulimit -S -f and prlimit');
    const server = await serveCapped(1024, { LOGWARDEN_NDJSON_MEMORY_BYTES: String(64 * 1024) });
    try {
      // 2,000 lines of about 900 bytes: the spool file passes 1 MiB, the store's files do not.
      const lines = Array.from({ length: 2000 }, (_, i) =>
        JSON.stringify({ logType: 'AccessLog', eventTime: new Date(T0 + i).toISOString(), logRecord: { marker: MARKER, pad: 'x'.repeat(850) } }),
      );
      const res = await fetch(`${server.url}/v2/logs`, {
        method: 'POST',
        headers: { authorization: AUTH, 'content-type': 'application/x-ndjson' },
        body: `${lines.join('\n')}\n`,
      });
      const json = (await res.json()) as { errors?: string[] };
      assert.equal(res.status, 503, JSON.stringify(json));
      assert.deepEqual(json.errors, [OUT_OF_SPACE_MESSAGE]);
      assert.deepEqual(await servedIds(server), [], 'nothing of the body stored');
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });
});
