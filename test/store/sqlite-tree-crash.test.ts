/**
 * The verifiable log under SIGKILL: a child appends batches (several types, two tenants, late
 * entries) while sealing runs, and is killed at random moments, several times. Afterwards each
 * tenant's tree holds exactly one leaf per stored entry, each served entry maps to the leaf of
 * its text, and every checkpoint seen between the kills is consistent with the last one.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import type { Checkpoint } from '../../src/tlog/checkpoint.ts';
import { openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { proveConsistency, verifyConsistency } from '../../src/tlog/consistency-proof.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { parseVerifierKey } from '../../src/tlog/note-key.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf } from '../support/page-entries.ts';

const TENANTS = ['5151', '5252'];
const TYPES = ['AccessLog', 'UserActivityLog', 'UserCallPlay'];
const T0 = Date.UTC(2025, 3, 1);
const KILLS = 5;

function runChild(dir: string, from: number, killAfterMs: number): Promise<{ acked: number }> {
  const script = `
    import { openSqliteStore } from ${JSON.stringify(runnable(new URL('../../src/store/sqlite/index.ts', import.meta.url)))};
    import { makeEntry } from ${JSON.stringify(runnable(new URL('./contract/store.contract.ts', import.meta.url)))};
    const store = openSqliteStore({ dataDir: ${JSON.stringify(dir)}, sealAgeMs: 0, sealIntervalMs: 1 });
    const tenants = ${JSON.stringify(TENANTS)};
    const types = ${JSON.stringify(TYPES)};
    for (let b = ${from}; ; b++) {
      const size = 1 + ((b * 7919) % 300);
      const batch = Array.from({ length: size }, (_, i) =>
        makeEntry(types[(b + i) % 3], ${T0} + ((b * 104729 + i * 7727) % 86400) * 1000, '{"b":' + b + ',"i":' + (i % 250) + '}'));
      process.stdout.write('try ' + b + '\\n');
      await store.append(tenants[b % 2], batch);
      process.stdout.write('ack ' + b + '\\n');
    }
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...LOADER_ARGS, '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let acked = from - 1;
    let started = false;
    child.stderr.on('data', (d) => (stderr += d));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const [word, n] = line.split(' ');
      if (word === 'ack') acked = Number(n);
      if (word === 'try' && !started) {
        started = true;
        setTimeout(() => child.kill('SIGKILL'), killAfterMs);
      }
    });
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve({ acked }) : reject(new Error(`child exited ${code}: ${stderr}`))));
  });
}

async function checkpointOf(store: Store, tenantId: string): Promise<Checkpoint> {
  const log = (await store.log!(tenantId))!;
  return openCheckpoint(log.checkpoint.note, parseVerifierKey(log.verifierKey)).checkpoint;
}

describe('sqlite verifiable log under kill -9', () => {
  it('keeps one leaf per stored entry and consistent checkpoints across kills mid-ingest', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-tree-crash-'));
    try {
      const setup = openSqliteStore({ dataDir: dir });
      for (const id of TENANTS) await setup.createTenant({ id, name: id });
      await setup.close();
      const seen = new Map<string, Checkpoint[]>(TENANTS.map((t) => [t, []]));
      let next = 0;
      for (let k = 0; k < KILLS; k++) {
        const run = await runChild(dir, next, 300 + ((k * 397) % 700));
        next = run.acked + 2; // the batch in flight may or may not be stored: skip past it
        const store = openSqliteStore({ dataDir: dir });
        try {
          for (const t of TENANTS) seen.get(t)!.push(await checkpointOf(store, t));
        } finally {
          await store.close();
        }
      }
      assert.ok(next > KILLS * 2, 'the child appended between kills');
      const store = openSqliteStore({ dataDir: dir });
      try {
        for (const tenantId of TENANTS) {
          const log = (await store.log(tenantId))!;
          const final = await checkpointOf(store, tenantId);
          // Every leaf's text, read once.
          const leafTexts = final.size === 0 ? [] : await log.leaves(0, final.size);
          assert.equal(leafTexts.length, final.size);
          let stored = 0;
          const leafSeen = new Set<number>();
          for (const logType of TYPES) {
            // One page holds them all: how many the child stored depends on the machine's pace.
            const page = await store.firstPage({ tenantId, logType, fromMs: 0, toMs: null }, 1_000_000);
            const served = entriesOf(page);
            assert.equal(served.length, page.total, `${tenantId} ${logType}: the page holds every stored entry`);
            const leaves = await store.leafIndexes(tenantId, page.seqs!);
            assert.equal(leaves.length, served.length);
            served.forEach((e, i) => {
              assert.equal(leafTexts[leaves[i]!], buildEntryLeaf({ logType, eventTime: new Date(e.timeMs).toISOString(), wireText: e.body }));
              leafSeen.add(leaves[i]!);
            });
            stored += served.length;
          }
          assert.equal(final.size, stored, `${tenantId}: one leaf per stored entry`);
          assert.equal(leafSeen.size, stored, `${tenantId}: no leaf shared`);
          for (const old of seen.get(tenantId)!) {
            const proof = await proveConsistency(old.size, final.size, log.reader);
            assert.ok(verifyConsistency(old.size, final.size, proof, old.rootHash, final.rootHash), `${tenantId}: ${old.size} → ${final.size}`);
          }
        }
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
