/**
 * No audit payload outlives a crash outside the store: a large NDJSON ingest spools its entries
 * to a temporary file until the request is complete. The server (and `logwarden ingest`) is
 * killed with SIGKILL while that file is being written; afterwards no file in the temporary
 * directory or the data directory holds the request's marker.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createTenant } from '../../src/service/access-keys.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT } from '../support/cli.ts';

const ACCESS_KEY = 'LWSPOOLTESTKEY000001';
const SECRET = 'spool-test-secret-0123456789abcdefghijklmnop';
const SPOOL_MEMORY = 64 * 1024;
const noProc = existsSync('/proc/self/fd') ? undefined : 'needs /proc to watch the spool file being written';

function lines(marker: string, n: number): Buffer {
  const pad = 'x'.repeat(900);
  let s = '';
  for (let i = 0; i < n; i++) {
    s += `{"logType":"AccessLog","eventTime":"2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z","logRecord":{"marker":"${marker}","i":${i},"pad":"${pad}"}}\n`;
  }
  return Buffer.from(s);
}

/** Size of the spool file `pid` has open (its path names logwarden-spool-), or -1. */
function spoolSize(pid: number): number {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return -1;
  }
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).includes('logwarden-spool-')) return statSync(`/proc/${pid}/fd/${fd}`).size;
    } catch {
      // closed meanwhile
    }
  }
  return -1;
}

async function waitFor(what: string, check: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Every file under `dir` whose bytes contain `marker`. */
function filesHolding(dir: string, marker: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (readFileSync(path).includes(marker)) found.push(path);
  }
  return found;
}

function spoolLeftovers(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('logwarden-spool-'));
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

describe('a crash mid-spool leaves no audit payload behind', { skip: noProc }, () => {
  const dirs: string[] = [];
  const fresh = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('serve: SIGKILL while an NDJSON upload is spooled', async () => {
    const tmp = fresh('logwarden-spooltmp-');
    const dataDir = fresh('logwarden-spooldata-');
    const marker = `MARKER${randomBytes(8).toString('hex')}`;
    const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dataDir, '--port', '0', '--host', '127.0.0.1'], {
      cwd: ROOT,
      env: cleanEnv({
        TMPDIR: tmp,
        LOGWARDEN_NDJSON_MEMORY_BYTES: String(SPOOL_MEMORY),
        LOGWARDEN_BOOTSTRAP_ACCESS_KEY: ACCESS_KEY,
        LOGWARDEN_BOOTSTRAP_SECRET: SECRET,
        LOGWARDEN_LOG_LEVEL: 'info',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    let port = 0;
    await waitFor('the server to listen', () => {
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out) ?? /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
      if (m) port = Number(m[1]);
      if (child.exitCode !== null) throw new Error(`serve exited:\n${out}`);
      return port > 0;
    });

    // More than the memory budget plus one write buffer (1 MiB), with a Content-Length promising
    // more still: the request stays open while the server spools what it has read.
    const body = lines(marker, 3000);
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => {});
    const auth = Buffer.from(`${ACCESS_KEY}:${SECRET}`).toString('base64');
    socket.write(
      `POST /v2/logs HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/x-ndjson\r\n` +
        `Content-Length: ${body.length * 10}\r\n\r\n`,
    );
    socket.write(body);
    await waitFor('the spool file to hold 1 MiB', () => spoolSize(child.pid!) >= 1 << 20);
    await killed(child);
    socket.destroy();

    assert.deepEqual(filesHolding(tmp, marker), [], 'no file in the temporary directory holds the payload');
    assert.deepEqual(filesHolding(dataDir, marker), [], 'nothing of the unfinished request reached the data directory');
    assert.deepEqual(spoolLeftovers(tmp), [], 'no spool folder is left');
  });

  it('logwarden ingest: SIGKILL while standard input is spooled', async () => {
    const tmp = fresh('logwarden-spooltmp-');
    const dataDir = fresh('logwarden-spooldata-');
    const store = openSqliteStore({ dataDir });
    const tenant = await createTenant(store, 'spool');
    await store.close();
    const marker = `MARKER${randomBytes(8).toString('hex')}`;
    const child = spawn(process.execPath, [...CLI_ARGS, 'ingest', '-', '--tenant', tenant.id, '--data-dir', dataDir], {
      cwd: ROOT,
      env: cleanEnv({ TMPDIR: tmp, LOGWARDEN_NDJSON_MEMORY_BYTES: String(SPOOL_MEMORY) }),
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    children.push(child);
    child.stdin!.on('error', () => {});
    child.stdin!.write(lines(marker, 3000));
    await waitFor('the spool file to hold 1 MiB', () => spoolSize(child.pid!) >= 1 << 20);
    await killed(child);

    assert.deepEqual(filesHolding(tmp, marker), [], 'no file in the temporary directory holds the payload');
    assert.deepEqual(filesHolding(dataDir, marker), [], 'nothing of the unfinished input reached the data directory');
    assert.deepEqual(spoolLeftovers(tmp), [], 'no spool folder is left');
  });
});
