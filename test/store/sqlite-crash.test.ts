/**
 * Durability of sealing under SIGKILL. A child process appends batches (many late, into ranges
 * already sealed) while its sealer seals and compacts in the background, and now and then runs
 * a large compaction on purpose; it is killed at random moments, some of them in the middle of
 * that compaction, and started again, several times. Every acknowledged batch must then be there
 * exactly once, an unacknowledged one whole or not at all, every segment must pass its checks,
 * and paging must give exactly the stored entries.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { EntryQuery, StoredPage } from '../../src/store/store.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf } from '../support/page-entries.ts';
import { makeEntry } from './contract/store.contract.ts';

const T0 = Date.UTC(2025, 3, 1);
const TENANT = '4242';
const KILLS = 6;

/** Batch `b`'s entries: deterministic, so the parent knows what an acknowledged batch holds. */
const BATCH_SOURCE = `
  export function batch(b, makeEntry) {
    const size = 5 + ((b * 7919) % 40);
    return Array.from({ length: size }, (_, i) =>
      makeEntry('AccessLog', ${T0} + ((b * 104729 + i * 7727) % 86_400) * 1000, '{"b":' + b + ',"i":' + i + '}'));
  }
`;

function batch(b: number) {
  const size = 5 + ((b * 7919) % 40);
  return Array.from({ length: size }, (_, i) => makeEntry('AccessLog', T0 + ((b * 104729 + i * 7727) % 86_400) * 1000, `{"b":${b},"i":${i}}`));
}

interface Run {
  acked: number[];
  attempted: number[];
  /** Whether the kill came while the child said it was compacting. */
  duringCompaction: boolean;
}

/** Runs the child from batch `from` on, kills it with SIGKILL after `killAfterMs` or on its `compacting` line. */
function runChild(dir: string, from: number, killAfterMs: number, killOnCompaction: boolean): Promise<Run> {
  const script = `
    import { openSqliteStore } from ${JSON.stringify(runnable(new URL('../../src/store/sqlite/index.ts', import.meta.url)))};
    import { makeEntry } from ${JSON.stringify(runnable(new URL('./contract/store.contract.ts', import.meta.url)))};
    ${BATCH_SOURCE}
    const store = openSqliteStore({ dataDir: ${JSON.stringify(dir)}, sealAgeMs: 0, sealIntervalMs: 1 });
    for (let b = ${from}; ; b++) {
      process.stdout.write('try ' + b + '\\n');
      await store.append('${TENANT}', batch(b, makeEntry));
      process.stdout.write('ack ' + b + '\\n');
      if (b % 25 === 24) {
        // A large compaction: many late entries at once, then sealed in one go.
        const late = [];
        for (let k = 0; k < 40; k++) late.push(...batch(1_000_000 + b * 40 + k, makeEntry));
        await store.append('${TENANT}', late);
        process.stdout.write('ack-late ' + b + '\\n');
        process.stdout.write('compacting\\n');
        store.settle();
        process.stdout.write('compacted\\n');
      }
      await new Promise((r) => setImmediate(r));
    }
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER_ARGS, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const run: Run = { acked: [], attempted: [], duringCompaction: false };
    let compacting = false;
    let started = false;
    let fallback: NodeJS.Timeout | undefined;
    const kill = () => child.kill('SIGKILL');
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [word, n] = line.split(' ');
      if (word === 'try') {
        run.attempted.push(Number(n));
        if (!started) {
          started = true;
          // A run meant to die mid-compaction waits for it however slow the machine is; the
          // long fallback only bounds a child that never gets there.
          fallback = setTimeout(kill, killOnCompaction ? 120_000 : killAfterMs);
        }
      } else if (word === 'ack') {
        run.acked.push(Number(n));
      } else if (word === 'ack-late') {
        // The late entries of batch n: batches 1,000,000 + n*40 … + 39.
        for (let k = 0; k < 40; k++) run.acked.push(1_000_000 + Number(n) * 40 + k);
      } else if (word === 'compacting') {
        compacting = true;
        if (killOnCompaction) {
          run.duringCompaction = true;
          kill();
        }
      } else if (word === 'compacted') {
        compacting = false;
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(fallback);
      if (signal !== 'SIGKILL') return reject(new Error(`child exited ${code}: ${stderr}`));
      if (compacting) run.duringCompaction = true;
      resolve(run);
    });
  });
}

describe('sqlite sealing under kill -9', () => {
  it('loses no acknowledged entry, stores none twice and pages exactly, killed during ingest, sealing and compaction', {
    timeout: 300_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-seal-crash-'));
    try {
      const setup = openSqliteStore({ dataDir: dir });
      await setup.createTenant({ id: TENANT, name: 'crash' });
      await setup.close();
      const acked = new Set<number>();
      const attempted = new Set<number>();
      let next = 0;
      let midCompaction = 0;
      for (let k = 0; k < KILLS; k++) {
        // Every other run is killed as it starts a large compaction; the others at a random moment.
        const run = await runChild(dir, next, 300 + ((k * 7919) % 1200), k % 2 === 1);
        run.acked.forEach((b) => acked.add(b));
        run.attempted.forEach((b) => attempted.add(b));
        if (run.duringCompaction) midCompaction++;
        next = Math.max(next, ...run.attempted) + 1;
        if (k % 2 === 1) next = Math.ceil(next / 25) * 25; // start the next run on a fresh compaction cycle
      }
      assert.ok(acked.size > 20, `only ${acked.size} batches acknowledged`);
      assert.ok(midCompaction >= 2, `only ${midCompaction} kills during a compaction`);

      const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 3_600_000 });
      try {
        const query: EntryQuery = { tenantId: TENANT, logType: 'AccessLog', fromMs: T0, toMs: null };
        const read = async (): Promise<string[]> => {
          const first = await store.firstPage(query, 97);
          const got = entriesOf(first).map((e) => e.body);
          let page: StoredPage = first;
          while (page.next) {
            page = await store.nextPage(query, page.next, first.watermark, 97);
            got.push(...entriesOf(page).map((e) => e.body));
          }
          assert.equal(got.length, first.total, 'the total counts exactly the entries paged');
          return got;
        };
        const check = (got: string[], what: string) => {
          assert.equal(new Set(got).size, got.length, `${what}: no entry twice`);
          const have = new Set(got);
          const byBatch = new Map<number, number>();
          for (const body of got) {
            const b = (JSON.parse(body) as { logRecord: { b: number } }).logRecord.b;
            byBatch.set(b, (byBatch.get(b) ?? 0) + 1);
          }
          for (const b of acked)
            assert.ok(
              batch(b).every((e) => have.has(e.body)),
              `${what}: acknowledged batch ${b} is whole`,
            );
          for (const [b, n] of byBatch) assert.ok(n === batch(b).length, `${what}: batch ${b} whole or absent (${n} of ${batch(b).length})`);
          for (const b of byBatch.keys()) assert.ok(acked.has(b) || attempted.has(b) || b >= 1_000_000, `${what}: batch ${b} was never sent`);
          for (let i = 1; i < got.length; i++) {
            const t = (s: string) => Date.parse((JSON.parse(s) as { eventTime: string }).eventTime);
            assert.ok(t(got[i - 1]!) <= t(got[i]!), `${what}: in time order`);
          }
        };
        const before = await read();
        check(before, 'after the kills');
        // Everything left hot is sealed now; every segment passes its checks on the way.
        store.settle();
        const after = await read();
        check(after, 'sealed');
        assert.deepEqual(after, before, 'sealing changed no answer');
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
