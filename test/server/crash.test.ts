/**
 * Durability under SIGKILL: the real `logwarden serve` process, several clients ingesting
 * distinct batches over real HTTP (one client's batches large enough to be parsed on the worker
 * thread and stored on the append thread), the process killed while requests are in flight, then
 * restarted on the same data directory. Every acknowledged (201) entry must be there exactly
 * once; an unacknowledged batch may be there or not, but whole or not at all, and never twice —
 * not even after the client resends it, as a client that saw no answer would.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OFF_THREAD_MIN_BYTES } from '../../src/service/batch-parse-pool.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv } from '../support/cli.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ACCESS_KEY = 'LWCRASHTESTKEY0000001';
const SECRET = 'crash-test-secret-0123456789abcdefghijklmnop';
const AUTH = 'Basic ' + Buffer.from(`${ACCESS_KEY}:${SECRET}`).toString('base64');
const BASE_MS = Date.UTC(2025, 0, 1);
const CLIENTS = 4;
const BATCH = 25;
/** Client 0's batches: over OFF_THREAD_MIN_BYTES, so stored on the SQLite store's append thread. */
const LARGE_BATCH = 600;
const KILLS = 3;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface Server {
  readonly child: ChildProcess;
  readonly url: string;
  readonly exited: Promise<void>;
  stderr(): string;
}

async function startServer(dataDir: string): Promise<Server> {
  const port = await freePort();
  const env = cleanEnv({
    LOGWARDEN_BOOTSTRAP_ACCESS_KEY: ACCESS_KEY,
    LOGWARDEN_BOOTSTRAP_SECRET: SECRET,
    LOGWARDEN_LOG_LEVEL: 'silent',
    LOGWARDEN_READ_PER_SECOND: '100000',
    LOGWARDEN_READ_PER_DAY: '100000000',
    LOGWARDEN_INGEST_PER_SECOND: '100000',
  });
  const child = spawn(process.execPath, [...CLI_ARGS, 'serve', '--data-dir', dataDir, '--port', String(port), '--host', '127.0.0.1'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`serve exited before listening:\n${stderr}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not answer /healthz within 30 s:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, exited, stderr: () => stderr };
}

interface Batch {
  readonly id: string;
  readonly userIds: readonly string[];
  readonly body: string;
}

let sequence = 0;
function newBatch(client: number, round: number, n: number): Batch {
  const userIds: string[] = [];
  const large = client === 0;
  const logEntries = Array.from({ length: large ? LARGE_BATCH : BATCH }, (_, i) => {
    const userId = `${client}-${round}-${n}-${i}`;
    userIds.push(userId);
    // Few distinct event times: the order of entries sharing a time rests on the store's tie-break.
    const logRecord = large ? { client, round, n, i, path: `/${'p'.repeat(500)}` } : { client, round, n, i };
    return { userId, eventTime: new Date(BASE_MS + (sequence++ % 97) * 1000).toISOString(), logRecord };
  });
  const body = JSON.stringify({ logType: 'AccessLog', logEntries });
  if (large) assert.ok(Buffer.byteLength(body) >= OFF_THREAD_MIN_BYTES, 'a large batch goes to the append thread');
  return { id: `${client}-${round}-${n}`, userIds, body };
}

type Outcome = 'acknowledged' | 'rejected' | 'unanswered';

async function post(url: string, batch: Batch): Promise<Outcome> {
  try {
    const res = await fetch(`${url}/v2/logs`, {
      method: 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: batch.body,
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    if (res.status === 201) {
      const body = JSON.parse(text) as { accepted: number; duplicates: number };
      assert.equal(body.accepted + body.duplicates, batch.userIds.length);
      return 'acknowledged';
    }
    throw new Error(`unexpected ${res.status}: ${text}`);
  } catch (err) {
    if (err instanceof assert.AssertionError || (err instanceof Error && err.message.startsWith('unexpected'))) throw err;
    return 'unanswered';
  }
}

/** Every entry's userId, reading all pages. */
async function readAll(url: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const q = cursor ? `cursor=${cursor}` : `logType=AccessLog&fromDateTime=${new Date(BASE_MS).toISOString()}&limit=1000`;
    const res = await fetch(`${url}/v2/logs?${q}`, { headers: { authorization: AUTH } });
    const text = await res.text();
    if (res.status === 404 && ids.length === 0) return ids;
    assert.equal(res.status, 200, text);
    const page = JSON.parse(text) as { records: { cursor?: string }; logEntries: Array<{ userId: string }> };
    for (const e of page.logEntries) ids.push(e.userId);
    cursor = page.records.cursor;
    if (!cursor) return ids;
  }
}

describe('crash safety', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'logwarden-crash-'));
  let server: Server | undefined;
  after(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every acknowledged entry exactly once across repeated SIGKILLs', async () => {
    const acknowledged = new Set<string>();
    const unanswered = new Map<string, Batch>();
    const batches = new Map<string, Batch>();
    let killedMidFlight = 0;

    const check = async (url: string) => {
      const ids = await readAll(url);
      const counts = new Map<string, number>();
      for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
      assert.deepEqual(twice, [], 'no entry is stored twice');
      for (const id of acknowledged) {
        for (const u of batches.get(id)!.userIds) assert.ok(counts.has(u), `acknowledged entry ${u} of batch ${id} is present`);
      }
      for (const b of batches.values()) {
        const present = b.userIds.filter((u) => counts.has(u)).length;
        assert.ok(present === 0 || present === b.userIds.length, `batch ${b.id} is whole or absent (${present}/${b.userIds.length})`);
      }
      return ids.length;
    };

    for (let round = 0; round <= KILLS; round++) {
      server = await startServer(dataDir);
      const { url } = server;
      const stored = await check(url);
      if (round === KILLS) {
        // Resend what never got an answer: idempotent ingest must not store anything twice.
        for (const b of unanswered.values()) assert.equal(await post(url, b), 'acknowledged');
        for (const id of unanswered.keys()) acknowledged.add(id);
        const total = await check(url);
        assert.equal(
          total,
          [...acknowledged].reduce((sum, id) => sum + batches.get(id)!.userIds.length, 0),
        );
        assert.ok(stored <= total);
        server.child.kill('SIGTERM');
        await server.exited;
        break;
      }

      // Clients send batches back to back; the process is killed once enough were acknowledged
      // (two large ones among them, so the append thread is at work), while each client has a
      // request in flight.
      let stop = false;
      let inFlight = 0;
      const killAfter = 30 + round * 15;
      let acksThisRound = 0;
      let largeAcksThisRound = 0;
      // A client stops at a request that got no answer; one that stops before the kill waits for none.
      let largeClientStopped = false;
      const current = server;
      const killed = new Promise<void>((resolve) => {
        const timer = setInterval(() => {
          if (acksThisRound >= killAfter && (largeAcksThisRound >= 2 || largeClientStopped) && inFlight > 0) {
            clearInterval(timer);
            killedMidFlight += inFlight;
            current.child.kill('SIGKILL');
            stop = true;
            resolve();
          }
        }, 2);
      });
      const client = async (c: number) => {
        let n = 0;
        // A batch left unanswered by the previous crash is resent first, as a client would.
        const retry = [...unanswered.values()].filter((b) => b.id.startsWith(`${c}-`));
        while (!stop) {
          const b = retry.shift() ?? newBatch(c, round, n++);
          batches.set(b.id, b);
          inFlight++;
          const outcome = await post(url, b);
          inFlight--;
          if (outcome === 'acknowledged') {
            acknowledged.add(b.id);
            unanswered.delete(b.id);
            acksThisRound++;
            if (c === 0) largeAcksThisRound++;
          } else {
            unanswered.set(b.id, b);
            if (c === 0) largeClientStopped = true;
            return;
          }
        }
      };
      await Promise.all([killed, ...Array.from({ length: CLIENTS }, (_, c) => client(c))]);
      await server.exited;
      assert.equal(server.child.signalCode, 'SIGKILL', server.stderr());
    }
    assert.ok(acknowledged.size >= KILLS * 30, `acknowledged batches: ${acknowledged.size}`);
    assert.ok(killedMidFlight >= KILLS, `requests in flight at the kills: ${killedMidFlight}`);
  });
});
