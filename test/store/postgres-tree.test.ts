/**
 * The verifiable log on PostgreSQL beyond the contract cases:
 *
 * - several processes append to one tenant at once (some entries sent by more than one of
 *   them): one tree holding each entry once, and every checkpoint ever signed consistent with
 *   every other;
 * - a database of schema version 3 (entries hot and sealed, sequences with gaps) is upgraded:
 *   its tree is built in sequence order, the building survives an interruption and resumes,
 *   and the result is the reference tree of those entries.
 *
 * The same file is the child process when LW_PG_TREE_CHILD is set: it appends batches to the
 * tenant and exits.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { NewEntry } from '../../src/logs/entry.ts';
import { formatEventTime } from '../../src/logs/time.ts';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import type { TenantLog } from '../../src/store/store.ts';
import { type CheckpointRow, noteOfRow } from '../../src/store/tree-checkpoint-rows.ts';
import { type Checkpoint, openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { proveConsistency, verifyConsistency } from '../../src/tlog/consistency-proof.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { hashesEqual } from '../../src/tlog/hash.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { parseVerifierKey } from '../../src/tlog/note-key.ts';
import { treeHash } from '../../src/tlog/tree-hash.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { entriesOf } from '../support/page-entries.ts';
import { makeEntry } from './contract/store.contract.ts';

const TENANT = '31';
const T0 = Date.UTC(2025, 3, 28);
const CHILDREN = 3;
const BATCHES = 12;
const BATCH = 30;
/** Entries every child sends in each of its batches: all but the first copy are duplicates. */
const SHARED = 5;

/** Batch `b` of child `c`: its own entries plus SHARED entries all children send in their batch `b`. */
function batchOf(c: number, b: number): NewEntry[] {
  const own = Array.from({ length: BATCH - SHARED }, (_, i) =>
    makeEntry(i % 3 ? 'AccessLog' : 'UserActivityLog', T0 + ((c * 7919 + b * 104_729 + i * 13) % 86_400) * 1000, `{"c":${c},"b":${b},"i":${i}}`),
  );
  const shared = Array.from({ length: SHARED }, (_, i) => makeEntry('CallAccessLog', T0 + b * 1000 + i, `{"shared":${b},"i":${i}}`));
  return c % 2 ? [...shared, ...own] : [...own, ...shared];
}

function leafOf(e: NewEntry): string {
  return buildEntryLeaf({ logType: e.logType, eventTime: formatEventTime(e.eventTimeMs), wireText: e.body });
}

const childUrl = process.env.LW_PG_TREE_CHILD;
if (childUrl) {
  const c = Number(process.env.LW_PG_TREE_NAME);
  const store = await openPostgresStore({ url: childUrl, poolSize: 2, noSealer: true });
  for (let b = 0; b < BATCHES; b++) await store.append(TENANT, batchOf(c, b));
  await store.close();
} else {
  const { startPostgres, UNDO_COMPACT_CHECKPOINTS, UNDO_KEY_LAST_USED, UNDO_SEALED_KEYS } = await import('../support/postgres.ts');
  const { cluster, skip } = await startPostgres();
  after(() => cluster?.stop());

  /** Every checkpoint stored for the tenant, opened with its key, by size. */
  async function storedCheckpoints(url: string, log: TenantLog): Promise<Checkpoint[]> {
    const key = parseVerifierKey(log.verifierKey);
    return (await keptCheckpoints(url)).map((row) => openCheckpoint(row.text, key).checkpoint);
  }

  /** Every checkpoint kept for the tenant, by origin and size: its text and its row. */
  async function keptCheckpoints(url: string): Promise<({ origin: string; size: number; text: string } & CheckpointRow)[]> {
    const r = await cluster!.query<{ origin: string; size: string } & CheckpointRow>(
      url,
      `SELECT o.origin, c.size, c.root, c.sig, c.note FROM tree_checkpoints c JOIN tree_origins o ON o.tid = c.tid AND o.oid = c.oid
       JOIN tenants t ON t.tid = c.tid WHERE t.id = $1 ORDER BY o.origin, c.size`,
      [TENANT],
    );
    return r.rows.map((row) => ({ ...row, size: Number(row.size), text: noteOfRow(row.origin, Number(row.size), row) }));
  }

  /** Each checkpoint has the root of the final tree at its size, and consecutive ones prove consistent. */
  async function assertConsistent(log: TenantLog, checkpoints: readonly Checkpoint[]): Promise<void> {
    for (const cp of checkpoints) {
      assert.ok(hashesEqual(await treeHash(cp.size, log.reader), cp.rootHash), `checkpoint of size ${cp.size} is the final tree's prefix`);
    }
    for (let i = 1; i < checkpoints.length; i++) {
      const [a, b] = [checkpoints[i - 1]!, checkpoints[i]!];
      const proof = await proveConsistency(a.size, b.size, log.reader);
      assert.ok(verifyConsistency(a.size, b.size, proof, a.rootHash, b.rootHash), `consistency ${a.size} → ${b.size}`);
    }
  }

  describe('postgres store: verifiable log', { skip }, () => {
    it('several processes appending to one tenant make one tree; every signed checkpoint is consistent with every other', async () => {
      const url = await cluster!.createDatabase();
      const store = await openPostgresStore({ url, poolSize: 2, noSealer: true });
      try {
        await store.createTenant({ id: TENANT, name: 'tree' });
        const seen: Checkpoint[] = [];
        const exits = Array.from({ length: CHILDREN }, (_, c) => {
          const proc = spawn(process.execPath, [...LOADER_ARGS, runnable(import.meta.url)], {
            env: { ...process.env, LW_PG_TREE_CHILD: url, LW_PG_TREE_NAME: String(c) },
            stdio: ['ignore', 'inherit', 'inherit'],
          });
          return new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
        });
        let running = true;
        const done = Promise.all(exits).finally(() => (running = false));
        // Read checkpoints as a client would while the children append.
        while (running) {
          const log = (await store.log(TENANT))!;
          seen.push(openCheckpoint(log.checkpoint.note, parseVerifierKey(log.verifierKey)).checkpoint);
          await new Promise((r) => setTimeout(r, 20));
        }
        assert.deepEqual(await done, Array(CHILDREN).fill(0), 'every child appended all its batches');

        const expected = new Map<string, NewEntry>();
        for (let c = 0; c < CHILDREN; c++) for (let b = 0; b < BATCHES; b++) for (const e of batchOf(c, b)) expected.set(e.key.toString('hex'), e);
        const log = (await store.log(TENANT))!;
        assert.equal(log.checkpoint.size, expected.size, 'one leaf per distinct entry');
        const leaves = await log.leaves(0, log.checkpoint.size);
        assert.deepEqual([...leaves].sort(), [...expected.values()].map(leafOf).sort(), 'the leaves are the entries, each once');

        const stored = await storedCheckpoints(url, log);
        assert.ok(stored.length >= CHILDREN * BATCHES - BATCHES, `a checkpoint per committed append (${stored.length})`);
        const sizes = stored.map((c) => c.size);
        assert.deepEqual(
          sizes,
          [...new Set(sizes)].sort((a, b) => a - b),
          'one checkpoint per size',
        );
        await assertConsistent(log, stored);
        // What a reader saw during the run is among them.
        for (const cp of seen) {
          const same = stored.find((s) => s.size === cp.size);
          assert.ok(same && hashesEqual(same.rootHash, cp.rootHash), `checkpoint ${cp.size} seen during the run is stored`);
        }
        // Every served entry maps to its own leaf.
        for (const logType of ['AccessLog', 'UserActivityLog', 'CallAccessLog']) {
          const page = await store.firstPage({ tenantId: TENANT, logType, fromMs: 0, toMs: null }, 1000);
          const indexes = await store.leafIndexes(TENANT, page.seqs!);
          entriesOf(page).forEach((e, i) =>
            assert.equal(leaves[indexes[i]!], leafOf({ logType, eventTimeMs: e.timeMs, body: e.body, key: Buffer.alloc(0) })),
          );
        }
      } finally {
        await store.close();
        await cluster!.dropDatabase(url);
      }
    });

    it("checkLogs opens one tenant's last checkpoint: another signing secret is refused before anything is signed", async () => {
      const url = await cluster!.createDatabase();
      let store = await openPostgresStore({ url, poolSize: 2, noSealer: true });
      const OTHER = '444444444444444444';
      await store.createTenant({ id: OTHER, name: 'o' });
      await store.createTenant({ id: TENANT, name: 't' });
      await store.append(TENANT, batchOf(0, 0).slice(0, 3));
      await store.checkLogs();
      await store.close();
      store = await openPostgresStore({ url, poolSize: 2, noSealer: true, log: { signingSecret: 'another secret of at least 32 bytes!' } });
      try {
        await assert.rejects(store.checkLogs(), /was the log signing secret changed/);
      } finally {
        await store.close();
        await cluster!.dropDatabase(url);
      }
    });

    it('a database put back to an earlier state under a running server: nothing is signed over it, by the server that saw more', async () => {
      const url = await cluster!.createDatabase({ migrated: true });
      const name = new URL(url).pathname.slice(1);
      const backup = `${name}_backup`;
      const admin = cluster!.url('postgres');
      const store = await openPostgresStore({ url, poolSize: 2, noSealer: true });
      try {
        await store.createTenant({ id: TENANT, name: 'restored' });
        await store.append(TENANT, batchOf(0, 0));
        const before = (await store.log(TENANT))!.checkpoint;
        await cluster!.copyDatabase(name, backup);
        await store.append(TENANT, batchOf(0, 1));
        const signed = (await store.log(TENANT))!.checkpoint;
        assert.equal(signed.size, before.size + BATCH);
        // The backup put back in the database's place, the server still running.
        await cluster!.query(admin, `DROP DATABASE ${name} WITH (FORCE)`);
        await cluster!.copyDatabase(backup, name);
        for (const batch of [batchOf(1, 0), [...batchOf(1, 1), ...batchOf(1, 2)]]) {
          await assert.rejects(store.append(TENANT, batch), (err: Error) => {
            assert.equal(err.name, 'StoreRolledBackError');
            assert.match(err.message, new RegExp(`its last checkpoint is of size ${before.size}, but this server saw one of size ${signed.size}`));
            return true;
          });
        }
        const kept = await keptCheckpoints(url);
        assert.deepEqual(
          kept.map((c) => c.size),
          [before.size],
          'no checkpoint signed over the earlier state, neither smaller nor larger than the one seen',
        );
        const page = await store.firstPage({ tenantId: TENANT, logType: 'CallAccessLog', fromMs: 0, toMs: null }, 1000);
        assert.equal(page.total, SHARED, 'nothing appended over the earlier state');
      } finally {
        await store.close();
        await cluster!.dropDatabase(url);
        await cluster!.query(admin, `DROP DATABASE IF EXISTS ${backup}`);
      }
    });

    it('with a witness directory, a database put back is caught after a restart too, and so is a tenant it lacks', async () => {
      const url = await cluster!.createDatabase({ migrated: true });
      const name = new URL(url).pathname.slice(1);
      const backup = `${name}_backup`;
      const admin = cluster!.url('postgres');
      const witnessDir = mkdtempSync(join(tmpdir(), 'logwarden-witness-'));
      const OTHER = '111111111111111111'; // before TENANT in the witness's order
      let store = await openPostgresStore({ url, poolSize: 2, noSealer: true, witnessDir });
      try {
        await store.createTenant({ id: TENANT, name: 'restored' });
        await store.append(TENANT, batchOf(0, 0));
        await store.close();
        // A witness directory that knows none of this database's checkpoints is said, not refused.
        const blank = mkdtempSync(join(tmpdir(), 'logwarden-witness-blank-'));
        try {
          store = await openPostgresStore({ url, poolSize: 2, noSealer: true, witnessDir: blank });
          const notes = await store.checkLogs();
          assert.equal(notes.length, 1);
          assert.match(notes[0]!, /log-witness\.db holds no checkpoint this store signed/);
          await store.close();
        } finally {
          rmSync(blank, { recursive: true, force: true });
        }
        await cluster!.copyDatabase(name, backup);
        store = await openPostgresStore({ url, poolSize: 2, noSealer: true, witnessDir });
        assert.deepEqual(await store.checkLogs(), []);
        await store.append(TENANT, batchOf(0, 1));
        await store.createTenant({ id: OTHER, name: 'later' });
        await store.append(OTHER, batchOf(1, 0));
        await store.close();
        // The backup put back, the servers restarted.
        await cluster!.query(admin, `DROP DATABASE ${name} WITH (FORCE)`);
        await cluster!.copyDatabase(backup, name);
        store = await openPostgresStore({ url, poolSize: 2, noSealer: true, witnessDir });
        await assert.rejects(store.checkLogs(), (err: Error) => {
          assert.equal(err.name, 'StoreRolledBackError');
          assert.match(err.message, new RegExp(`the database holds no tenant ${OTHER}, whose log .*/${OTHER} was signed up to size ${BATCH}`));
          return true;
        });
        await assert.rejects(
          store.append(TENANT, batchOf(1, 1)),
          new RegExp(`its last checkpoint is of size ${BATCH}, but this server saw one of size ${2 * BATCH}`),
        );
        await store.close();
        // Another deployment's database (another signing secret) is not held back by this witness.
        const fresh = await cluster!.createDatabase({ migrated: true });
        store = await openPostgresStore({ url: fresh, poolSize: 2, noSealer: true, witnessDir });
        await store.checkLogs();
        await store.createTenant({ id: TENANT, name: 'fresh' });
        await store.append(TENANT, batchOf(0, 0));
        await store.close();
        await cluster!.dropDatabase(fresh);
      } finally {
        await store.close();
        await cluster!.dropDatabase(url);
        await cluster!.query(admin, `DROP DATABASE IF EXISTS ${backup}`);
        rmSync(witnessDir, { recursive: true, force: true });
      }
    });

    it('keeps every checkpoint compactly; a database whose checkpoints were kept as texts is converted, each text kept byte for byte', async () => {
      const url = await cluster!.createDatabase();
      let store = await openPostgresStore({ url, poolSize: 2, noSealer: true });
      await store.createTenant({ id: TENANT, name: 't' });
      for (let b = 0; b < 6; b++) await store.append(TENANT, batchOf(0, b).slice(0, 3));
      await store.close();
      store = await openPostgresStore({ url, poolSize: 2, noSealer: true, log: { signingSecret: null, originPrefix: 'audit.example/second' } });
      await store.append(TENANT, batchOf(1, 0).slice(0, 3));
      const latest = (await store.log(TENANT))!.checkpoint.note;
      await store.close();
      const kept = await keptCheckpoints(url);
      assert.equal(kept.length, 7, 'one per append');
      assert.ok(
        kept.every((k) => k.note === null && k.root?.length === 32 && k.sig?.length === 68),
        'every checkpoint the log signs is kept compactly',
      );
      // What the previous schema kept: each checkpoint's whole text; one (not its origin's last) of
      // a shape the compact form does not rebuild, one whose signature field is not base64.
      const odd = [
        { origin: 'an/origin', size: 3, text: 'an/origin\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n\n\u2014 an/origin AAAA\n' },
        { origin: 'an/origin', size: 4, text: 'an/origin\n4\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n\u2014 an/origin not*base64\n' },
      ];
      const texts = [...kept.map((k) => ({ origin: k.origin, size: k.size, text: k.text })), ...odd];
      await cluster!.query(
        url,
        `BEGIN; ${UNDO_COMPACT_CHECKPOINTS}; ${UNDO_KEY_LAST_USED}; UPDATE schema_version SET version = ${MIGRATIONS.length - 3}; COMMIT`,
      );
      for (const t of odd) {
        await cluster!.query(url, 'INSERT INTO tree_checkpoints (tid, origin, size, note) SELECT tid, $2, $3, $4 FROM tenants WHERE id = $1', [
          TENANT,
          t.origin,
          t.size,
          t.text,
        ]);
      }
      store = await openPostgresStore({ url, poolSize: 2, noSealer: true, log: { signingSecret: null, originPrefix: 'audit.example/second' } });
      try {
        assert.equal((await store.log(TENANT))!.checkpoint.note, latest, 'the last checkpoint is read back as signed');
        await store.append(TENANT, batchOf(1, 1).slice(0, 3));
        assert.equal((await store.log(TENANT))!.checkpoint.size, 24);
      } finally {
        await store.close();
      }
      const after = await keptCheckpoints(url);
      assert.equal(after.length, texts.length + 1);
      for (const t of texts) {
        const row = after.find((a) => a.origin === t.origin && a.size === t.size)!;
        assert.equal(row.text, t.text, `${t.origin} at ${t.size}`);
        assert.equal(row.note === null, !odd.includes(t), 'kept compactly unless of another shape');
      }
    });

    it('upgrades a version 3 database: builds its tree in sequence order, resumably, hot and sealed entries alike', async () => {
      const url = await cluster!.createDatabase();
      const sealedBatch = Array.from({ length: 300 }, (_, i) =>
        makeEntry(i % 4 ? 'AccessLog' : 'UserActivityLog', T0 + ((i * 37) % 300) * 60_000, `{"s":${i}}`),
      );
      const hotBatch = Array.from({ length: 70 }, (_, i) => makeEntry('AccessLog', T0 - i * 1000, `{"h":${i}}`));
      let store: PostgresStore | undefined = await openPostgresStore({ url, sealAgeMs: 0, noSealer: true });
      try {
        await store.createTenant({ id: TENANT, name: 'upgrade' });
        await store.append(TENANT, sealedBatch.slice(0, 150));
        await store.append(TENANT, sealedBatch.slice(100)); // 50 duplicates
        // The previous schema left gaps in a tenant's sequences (a duplicate's was skipped).
        await cluster!.query(url, 'UPDATE entries SET seq = seq * 3; UPDATE entry_seqs SET last_seq = last_seq * 3');
        await store.settle();
        await store.append(TENANT, hotBatch);
        await store.close();
        store = undefined;
        // Back to version 3: the tree's tables and columns gone.
        await cluster!.query(
          url,
          `BEGIN;
           ALTER TABLE entry_seqs DROP COLUMN tree_size, DROP COLUMN tree_partial, DROP COLUMN tree_peaks, DROP COLUMN tree_note;
           DROP TABLE tree_tiles, tree_high, tree_checkpoints, tree_origins, tree_runs, tree_backfill;
           DROP TABLE segment_users, segment_users_pending;
           DROP TABLE retention, holds, tree_receipts, purge_lease;
           ${UNDO_SEALED_KEYS};
           ${UNDO_KEY_LAST_USED};
           UPDATE schema_version SET version = 3;
           COMMIT`,
        );
        const sealed = await cluster!.query<{ n: string }>(url, 'SELECT coalesce(sum(n), 0) AS n FROM segments');
        assert.equal(Number(sealed.rows[0]!.n), 300, 'the first entries are sealed');

        // The first opening stops after two chunks (as if the process were killed).
        const reports: number[] = [];
        await assert.rejects(
          openPostgresStore({
            url,
            noSealer: true,
            treeBackfillChunk: 64,
            onTreeProgress: ({ done }) => {
              reports.push(done);
              if (reports.length === 2) throw new Error('interrupted');
            },
          }),
          /interrupted/,
        );
        assert.deepEqual(reports, [64, 128]);
        const progress: { done: number; total: number }[] = [];
        store = await openPostgresStore({ url, noSealer: true, treeBackfillChunk: 64, onTreeProgress: (p) => progress.push(p) });
        assert.deepEqual(
          progress.map((p) => p.done),
          [192, 256, 320, 370],
        );
        assert.ok(progress.every((p) => p.total === 370));

        const reference = new MemoryTree();
        const order = [...sealedBatch, ...hotBatch];
        for (const e of order) await reference.append(leafOf(e));
        const log = (await store.log(TENANT))!;
        assert.equal(log.checkpoint.size, 370);
        assert.ok(hashesEqual(log.checkpoint.rootHash, await reference.root()), 'the tree of the entries in append order');
        assert.deepEqual(await log.leaves(0, 370), order.map(leafOf));
        await assertConsistent(log, await storedCheckpoints(url, log));
        for (const logType of ['AccessLog', 'UserActivityLog']) {
          const page = await store.firstPage({ tenantId: TENANT, logType, fromMs: 0, toMs: null }, 1000);
          const indexes = await store.leafIndexes(TENANT, page.seqs!);
          assert.ok(!indexes.includes(-1));
          const leaves = await log.leaves(0, 370);
          entriesOf(page).forEach((e, i) =>
            assert.equal(leaves[indexes[i]!], leafOf({ logType, eventTimeMs: e.timeMs, body: e.body, key: Buffer.alloc(0) })),
          );
        }
        // Appends after the upgrade extend the same tree.
        const later = [makeEntry('AccessLog', T0 + 1, '{"later":1}'), hotBatch[0]!];
        assert.deepEqual(await store.append(TENANT, later), { accepted: 1, duplicates: 1 });
        await reference.append(leafOf(later[0]!));
        const after = (await store.log(TENANT))!;
        assert.equal(after.checkpoint.size, 371);
        assert.ok(hashesEqual(after.checkpoint.rootHash, await reference.root()));
        await assertConsistent(after, await storedCheckpoints(url, after));
      } finally {
        await store?.close();
        await cluster!.dropDatabase(url);
      }
    });
  });
}
