/**
 * SIGKILL while sealing, on PostgreSQL: several processes append to one tenant and seal at once
 * (seal age 0), and one of them is killed at the moment it holds a seal transaction open (its
 * group lock is seen in pg_locks), repeatedly. Every acknowledged batch must then be stored
 * exactly once, every batch whole or absent, and snapshot paging exact.
 *
 * The same file is the child process when LW_PG_CRASH_CHILD is set: it appends batches in a loop
 * and prints the id of each batch once its append has resolved.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { SEAL_LOCK_NAMESPACE } from '../../src/store/postgres/migrations.ts';
import type { EntryQuery, StoredPage } from '../../src/store/store.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf, type PageText } from '../support/page-entries.ts';
import { makeEntry } from './contract/store.contract.ts';

const T0 = Date.UTC(2025, 6, 30);
const SPAN_MS = 4 * 86_400_000; // crosses a month boundary
const BATCH = 40;
const TENANT = '77';

async function child(url: string, name: string): Promise<void> {
  const store = await openPostgresStore({ url, poolSize: 2, sealAgeMs: 0, sealIntervalMs: 1 });
  for (let n = 0; ; n++) {
    const id = `${name}-${n}`;
    // Mostly new times, some late ones into sealed ranges: sealing and compaction both run.
    const batch = Array.from({ length: BATCH }, (_, i) =>
      makeEntry('AccessLog', T0 + Math.floor(Math.random() * SPAN_MS), `{"batch":"${id}","i":${i}}`, `${id}/${i}`),
    );
    await store.append(TENANT, batch);
    process.stdout.write(`${id}\n`);
  }
}

const childUrl = process.env.LW_PG_CRASH_CHILD;
if (childUrl) {
  await child(childUrl, process.env.LW_PG_CRASH_NAME!);
} else {
  const { startPostgres } = await import('../support/postgres.ts');
  const { cluster, skip } = await startPostgres();
  after(() => cluster?.stop());

  describe('postgres store: SIGKILL while sealing', { skip }, () => {
    it('keeps every acknowledged entry exactly once, batches whole, paging exact', async () => {
      const url = await cluster!.createDatabase();
      const setup = await openPostgresStore({ url, noSealer: true });
      await setup.createTenant({ id: TENANT, name: 'crash' });
      await setup.close();

      const acknowledged = new Set<string>();
      const children = new Map<string, ChildProcess>();
      const exits: Promise<void>[] = [];
      let generation = 0;
      const startChild = (): string => {
        const name = `c${generation++}`;
        const proc = spawn(process.execPath, [...LOADER_ARGS, runnable(import.meta.url)], {
          env: { ...process.env, LW_PG_CRASH_CHILD: url, LW_PG_CRASH_NAME: name },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let buffered = '';
        proc.stdout!.on('data', (d: Buffer) => {
          buffered += d.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) if (line) acknowledged.add(line);
        });
        exits.push(new Promise((resolve) => proc.on('exit', () => resolve())));
        children.set(name, proc);
        return name;
      };
      /** The backend pids holding a seal lock now. */
      const sealing = async (): Promise<number[]> =>
        (
          await cluster!.query<{ pid: number }>(url, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = $1 AND granted`, [
            SEAL_LOCK_NAMESPACE,
          ])
        ).rows.map((r) => r.pid);
      /** The client process of a backend, by the port its connection came from. */
      const clientPort = async (pid: number): Promise<number | undefined> =>
        (await cluster!.query<{ port: number }>(url, 'SELECT client_port AS port FROM pg_stat_activity WHERE pid = $1', [pid])).rows[0]?.port;

      try {
        for (let i = 0; i < 3; i++) startChild();
        let kills = 0;
        for (const deadline = Date.now() + 60_000; kills < 5 && Date.now() < deadline; ) {
          await new Promise((r) => setTimeout(r, 150 + Math.random() * 300));
          // Kill the child whose connection holds a seal lock: a seal transaction is open.
          const pids = await sealing();
          if (pids.length === 0 || acknowledged.size < 5) continue;
          const port = await clientPort(pids[0]!);
          const victim = [...children].find(([, p]) => p.exitCode === null && port !== undefined && ownsPort(p.pid!, port));
          if (!victim) continue;
          victim[1].kill('SIGKILL');
          children.delete(victim[0]);
          kills++;
          startChild();
        }
        assert.ok(kills >= 3, `killed ${kills} processes mid-seal`);
      } finally {
        for (const p of children.values()) p.kill('SIGKILL');
        await Promise.all(exits);
      }

      const store = await openPostgresStore({ url, sealAgeMs: 0, noSealer: true });
      try {
        await store.settle();
        const query: EntryQuery = { tenantId: TENANT, logType: 'AccessLog', fromMs: T0, toMs: T0 + SPAN_MS };
        const first = await store.firstPage(query, 97);
        const seen: PageText[] = entriesOf(first);
        for (let page: StoredPage = first; page.next !== null; ) {
          page = await store.nextPage(query, page.next, first.watermark, 97);
          seen.push(...entriesOf(page));
        }
        assert.equal(seen.length, first.total, 'pages add up to the total');
        const perBatch = new Map<string, Set<number>>();
        for (const e of seen) {
          const { batch, i } = JSON.parse(e.body).logRecord as { batch: string; i: number };
          const got = perBatch.get(batch) ?? new Set<number>();
          assert.ok(!got.has(i), `entry ${batch}/${i} stored twice`);
          perBatch.set(batch, got.add(i));
        }
        for (const id of acknowledged) assert.equal(perBatch.get(id)?.size, BATCH, `acknowledged batch ${id} whole`);
        for (const [id, got] of perBatch) assert.equal(got.size, BATCH, `batch ${id} whole or absent`);
        const hot = await cluster!.query<{ n: string }>(url, 'SELECT count(*) AS n FROM entries');
        assert.equal(Number(hot.rows[0]!.n), 0, 'everything sealed in the end');
      } finally {
        await store.close();
        await cluster!.dropDatabase(url);
      }
    });
  });
}

/** Whether process `pid` has a TCP connection from local `port` (Linux /proc). */
function ownsPort(pid: number, port: number): boolean {
  // Sockets of the process, by inode; then the TCP table's local port of each.
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m) inodes.add(m[1]!);
    }
  } catch {
    return false;
  }
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const local = Number.parseInt(cols[1]!.split(':')[1]!, 16);
      if (local === port && inodes.has(cols[9]!)) return true;
    }
  }
  return false;
}
