import assert from 'node:assert/strict';
import { copyFileSync, cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WITNESS_FILE } from '../../src/store/log-witness.ts';
import { DATABASE_FILE, openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.ts';
import type { Store } from '../../src/store/store.ts';
import { noteOfRow } from '../../src/store/tree-checkpoint-rows.ts';
import { LogKeys } from '../../src/store/tree-keys.ts';
import { openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { proveConsistency, verifyConsistency } from '../../src/tlog/consistency-proof.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { hashesEqual, MemoryTree } from '../../src/tlog/index.ts';
import { parseVerifierKey } from '../../src/tlog/note-key.ts';
import { entriesOf } from '../support/page-entries.ts';
import { UNDO_KEY_LAST_USED, undoCompactCheckpoints } from '../support/sqlite-schema.ts';
import { makeEntry } from './contract/store.contract.ts';

const T0 = Date.UTC(2026, 2, 4, 9);
const A = '111111111111111111';
const B = '222222222222222222';
const TYPES = ['AccessLog', 'UserActivityLog', 'UserCallPlay'];

function withFile<T>(dir: string, f: (db: Database.Database) => T): T {
  const db = new Database(join(dir, DATABASE_FILE));
  try {
    return f(db);
  } finally {
    db.close();
  }
}

/** Every entry of a tenant as served, with its leaf index, checked against the leaf text. */
async function checkLeafMap(store: Store, tenantId: string): Promise<number> {
  const log = (await store.log!(tenantId))!;
  let n = 0;
  for (const logType of TYPES) {
    const page = await store.firstPage({ tenantId, logType, fromMs: 0, toMs: null }, 10_000);
    const indexes = await store.leafIndexes!(tenantId, page.seqs!);
    const served = entriesOf(page);
    for (let i = 0; i < served.length; i++) {
      const want = buildEntryLeaf({ logType, eventTime: new Date(served[i]!.timeMs).toISOString(), wireText: served[i]!.body });
      assert.deepEqual(await log.leaves(indexes[i]!, 1), [want]);
    }
    n += served.length;
  }
  assert.equal(n, log.checkpoint.size);
  return n;
}

describe('SQLite verifiable log', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-tree-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('schema v5 builds the trees of a store written by schema v4, resumably, in append order', async () => {
    // A store with entries in both places (sealed and hot), two tenants appending in turn.
    let store = openSqliteStore({ dataDir: dir, sealAgeMs: 60 * 60_000 });
    await store.createTenant({ id: A, name: 'A' });
    await store.createTenant({ id: B, name: 'B' });
    for (let batch = 0; batch < 12; batch++) {
      const mk = (tenant: string, i: number) =>
        makeEntry(TYPES[(i + batch) % 3]!, T0 + ((i * 7919 + batch * 31) % 5000) * 1000, `{"t":"${tenant}","b":${batch},"i":${i}}`);
      await store.append(
        A,
        Array.from({ length: 60 }, (_, i) => mk(A, i)),
      );
      await store.append(
        B,
        Array.from({ length: 25 }, (_, i) => mk(B, i)),
      );
      if (batch === 6) store.settle();
    }
    const before = { a: (await store.log(A))!.checkpoint, b: (await store.log(B))!.checkpoint };
    assert.equal(before.a.size, 720);
    await store.close();

    // What schema v4 had: the same entries and segments, no tree.
    withFile(dir, (db) => {
      db.exec(
        'DROP TABLE tree_heads; DROP TABLE tree_tiles; DROP TABLE tree_high; DROP TABLE tree_checkpoints; DROP TABLE tree_origins; DROP TABLE tree_runs; DROP TABLE tree_backfill;',
      );
      db.exec('DROP TABLE segment_users; DROP TABLE segment_users_pending;'); // the user index came after the tree (v6)
      db.exec('DROP TABLE retention; DROP TABLE holds; DROP TABLE tree_receipts; DROP TABLE purge_lease;'); // and retention after it (v7)
      db.exec(UNDO_KEY_LAST_USED);
      db.pragma('user_version = 4');
    });
    rmSync(join(dir, WITNESS_FILE)); // nor the witness of what its log signed

    // Interrupted after three chunks: the upgrade resumes where it stopped.
    const seen: { tenantId: string; done: number; total: number }[] = [];
    let calls = 0;
    assert.throws(
      () =>
        openSqliteStore({
          dataDir: dir,
          treeBackfillChunk: 100,
          onTreeProgress: (p) => {
            seen.push(p);
            if (++calls === 3) throw new Error('killed');
          },
        }),
      /killed/,
    );
    assert.deepEqual(
      seen.map((p) => p.done),
      [100, 200, 300],
    );
    // Every step ran (the schema is current); the trees are what remains to build.
    assert.equal(
      withFile(dir, (db) => db.pragma('user_version', { simple: true })),
      MIGRATIONS.length,
    );
    const resumed: number[] = [];
    store = openSqliteStore({ dataDir: dir, treeBackfillChunk: 100, onTreeProgress: (p) => resumed.push(p.done) });
    try {
      assert.deepEqual(resumed.slice(0, 5), [400, 500, 600, 700, 720]);
      assert.equal(
        withFile(dir, (db) => db.prepare<[], number>('SELECT count(*) FROM tree_backfill').pluck().get()),
        0,
      );
      const after = { a: (await store.log(A))!.checkpoint, b: (await store.log(B))!.checkpoint };
      // The same trees as the ones built while appending: same sizes, same roots.
      assert.equal(after.a.size, before.a.size);
      assert.deepEqual(after.a.rootHash, before.a.rootHash);
      assert.deepEqual(after.b.rootHash, before.b.rootHash);
      assert.equal(await checkLeafMap(store, A), 720);
      assert.equal(await checkLeafMap(store, B), 300);
      // New entries extend the built trees.
      await store.append(A, [makeEntry('AccessLog', T0, '{"new":1}')]);
      const log = (await store.log(A))!;
      assert.equal(log.checkpoint.size, 721);
      assert.ok(verifyConsistency(720, 721, await proveConsistency(720, 721, log.reader), before.a.rootHash, log.checkpoint.rootHash));
    } finally {
      await store.close();
    }
  });

  it('keeps every checkpoint compactly; a store whose checkpoints were kept as texts is converted, each text kept byte for byte', async () => {
    let store = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: A, name: 'A' });
    await store.createTenant({ id: B, name: 'B' });
    for (let i = 0; i < 20; i++) await store.append(i % 3 ? A : B, [makeEntry('AccessLog', T0 + i)]);
    await store.close();
    store = openSqliteStore({ dataDir: dir, log: { originPrefix: 'audit.example/second' } });
    await store.append(A, [makeEntry('AccessLog', T0 + 100)]);
    const latest = (await store.log(A))!.checkpoint.note;
    await store.close();

    // What the previous schema kept: each checkpoint's whole text. One of them (never read again:
    // not its origin's last) is of a shape the compact form does not rebuild.
    const odd = 'an/origin\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\next\n\n\u2014 an/origin AAAA\n';
    const texts = withFile(dir, (db) => {
      const rows = db
        .prepare<[], { tid: number; origin: string; size: number; root: Buffer | null; sig: Buffer | null; note: string | null }>(
          'SELECT c.tid, o.origin, c.size, c.root, c.sig, c.note FROM tree_checkpoints c JOIN tree_origins o ON o.tid = c.tid AND o.oid = c.oid',
        )
        .all();
      assert.equal(rows.length, 21, 'one per append');
      assert.ok(
        rows.every((r) => r.note === null && r.root?.length === 32 && r.sig?.length === 68),
        'every checkpoint the log signs is kept compactly',
      );
      const old = undoCompactCheckpoints(db, [{ tid: 1, origin: 'an/origin', size: 3, note: odd }]);
      db.exec(UNDO_KEY_LAST_USED);
      db.pragma(`user_version = ${MIGRATIONS.length - 3}`);
      return old;
    });
    assert.ok(latest.startsWith('audit.example/second/'));
    assert.ok(texts.some((t) => t.note === latest));

    store = openSqliteStore({ dataDir: dir, log: { originPrefix: 'audit.example/second' } });
    try {
      assert.equal((await store.log(A))!.checkpoint.note, latest, 'the last checkpoint is read back as signed');
      await store.append(A, [makeEntry('AccessLog', T0 + 101)]);
      assert.equal((await store.log(A))!.checkpoint.size, 15);
    } finally {
      await store.close();
    }
    withFile(dir, (db) => {
      assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
      const one = db.prepare<[number, string, number], { root: Buffer | null; sig: Buffer | null; note: string | null }>(
        `SELECT c.root, c.sig, c.note FROM tree_checkpoints c JOIN tree_origins o ON o.tid = c.tid AND o.oid = c.oid
         WHERE c.tid = ? AND o.origin = ? AND c.size = ?`,
      );
      for (const t of texts) {
        const row = one.get(t.tid, t.origin, t.size)!;
        assert.equal(noteOfRow(t.origin, t.size, row), t.note, `${t.origin} at ${t.size}`);
        assert.equal(row.note === null, t.note !== odd, 'kept compactly unless of another shape');
      }
      assert.equal(db.prepare('SELECT count(*) FROM tree_checkpoints').pluck().get(), texts.length + 1);
    });
  });

  it('signs over the leaves it stores after a write that registered log types rolled back and their numbers went to other types', async () => {
    const store = openSqliteStore({ dataDir: dir, noAppendThread: true });
    try {
      await store.createTenant({ id: A, name: 'A' });
      await store.append(A, [makeEntry('AccessLog', T0)]);
      // The same text and time under two new types: their leaves differ by the type's name alone.
      const both = (types: string[]) => types.map((logType) => makeEntry(logType, T0 + 1, '{"same":1}'));
      // The write fails at its checkpoint, as on a full disk: the types' numbers are given back.
      withFile(dir, (db) => db.exec("CREATE TRIGGER fail BEFORE INSERT ON tree_checkpoints BEGIN SELECT RAISE(ABORT, 'disk full'); END"));
      await assert.rejects(store.append(A, both(['UserActivityLog', 'UserCallPlay'])), /disk full/);
      withFile(dir, (db) => db.exec('DROP TRIGGER fail'));
      // The same entries, the types the other way round: each gets the number the other had.
      assert.equal((await store.append(A, both(['UserCallPlay', 'UserActivityLog']))).accepted, 2);
      const log = (await store.log(A))!;
      const leaves = await log.leaves(0, log.checkpoint.size);
      assert.deepEqual(
        leaves.map((l) => l.split('\n')[1]),
        ['AccessLog', 'UserCallPlay', 'UserActivityLog'],
      );
      const tree = new MemoryTree();
      for (const leaf of leaves) await tree.append(leaf);
      assert.ok(hashesEqual(await tree.root(), log.checkpoint.rootHash), 'the signed root is the root of the stored leaves');
      assert.equal((await store.append(A, [makeEntry('AccessLog', T0 + 2)])).accepted, 1);
    } finally {
      await store.close();
    }
    // Opened afresh (no hash cached), the store signs on over the same tree.
    const again = openSqliteStore({ dataDir: dir, noAppendThread: true });
    try {
      assert.equal((await again.append(A, [makeEntry('AccessLog', T0 + 3)])).accepted, 1);
    } finally {
      await again.close();
    }
  });

  it('refuses to sign over a stored tree that no longer has the last checkpoint’s root', async () => {
    const store = openSqliteStore({ dataDir: dir });
    try {
      await store.createTenant({ id: A, name: 'A' });
      await store.append(
        A,
        Array.from({ length: 10 }, (_, i) => makeEntry('AccessLog', T0 + i)),
      );
      withFile(dir, (db) => {
        const partial = db.prepare<[], Buffer>('SELECT partial FROM tree_heads').pluck().get()!;
        partial[44 * 3 + 20]! ^= 1;
        db.prepare('UPDATE tree_heads SET partial = ?').run(partial);
      });
      await assert.rejects(store.append(A, [makeEntry('AccessLog', T0 + 100)]), /no longer has the root of the last signed checkpoint/);
      assert.equal((await store.log(A))!.checkpoint.size, 10);
    } finally {
      await store.close();
    }
  });

  it('a backup put back in place of the database: nothing is signed over the earlier log until the operator decides', async () => {
    let store: SqliteStore = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: A, name: 'A' });
    await store.append(A, [makeEntry('AccessLog', T0), makeEntry('AccessLog', T0 + 1)]);
    const backup = join(dir, 'backup.db');
    const copier = new Database(join(dir, DATABASE_FILE));
    copier.exec(`VACUUM INTO '${backup}'`);
    copier.close();
    await store.append(A, [makeEntry('AccessLog', T0 + 2)]);
    assert.equal((await store.log(A))!.checkpoint.size, 3);
    await store.close();
    // The README's restore: no logwarden process, the -wal and -shm files gone, the copy in place.
    for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `${DATABASE_FILE}${suffix}`), { force: true });
    copyFileSync(backup, join(dir, DATABASE_FILE));

    store = openSqliteStore({ dataDir: dir });
    try {
      const rolledBack =
        /holds an earlier state of the log of .*\/111111111111111111 than it signed: its last checkpoint is of size 2, but one of size 3 was signed/;
      await assert.rejects(store.log(A), rolledBack);
      await assert.rejects(store.append(A, [makeEntry('AccessLog', T0 + 5)]), rolledBack);
      assert.equal((await store.firstPage({ tenantId: A, logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 2, 'nothing was stored');
    } finally {
      await store.close();
    }
    // The operator's way on: a new series of checkpoints (another origin) …
    store = openSqliteStore({ dataDir: dir, log: { originPrefix: 'audit.example/restored' } });
    try {
      await store.append(A, [makeEntry('AccessLog', T0 + 5)]);
      assert.equal((await store.log(A))!.checkpoint.size, 3);
    } finally {
      await store.close();
    }
    // … or accepting the earlier state by deleting the witness.
    rmSync(join(dir, WITNESS_FILE));
    store = openSqliteStore({ dataDir: dir });
    try {
      await store.append(A, [makeEntry('AccessLog', T0 + 6)]);
      assert.equal((await store.log(A))!.checkpoint.size, 4, 'signed again under the first origin, over the earlier state');
    } finally {
      await store.close();
    }
  });

  it('the write-ahead log deleted after a crash: the commits it held are missed, and the refusal names that file', async () => {
    let store: SqliteStore = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: A, name: 'A' });
    await store.append(A, [makeEntry('AccessLog', T0), makeEntry('AccessLog', T0 + 1)]);
    await store.close();
    store = openSqliteStore({ dataDir: dir });
    await store.append(A, [makeEntry('AccessLog', T0 + 2)]);
    // The database file as a crash leaves it, the last commit only in logwarden.db-wal; then that file deleted.
    const stale = join(dir, 'stale.db');
    copyFileSync(join(dir, DATABASE_FILE), stale);
    await store.close();
    for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `${DATABASE_FILE}${suffix}`), { force: true });
    copyFileSync(stale, join(dir, DATABASE_FILE));

    store = openSqliteStore({ dataDir: dir });
    try {
      await assert.rejects(
        store.append(A, [makeEntry('AccessLog', T0 + 5)]),
        new RegExp(
          `its last checkpoint is of size 2, but one of size 3 was signed \\(a backup put back\\? or ${join(dir, DATABASE_FILE)}-wal deleted or lost`,
        ),
      );
    } finally {
      await store.close();
    }
  });

  it('a witness kept outside the data directory (witnessDir) catches the whole directory put back, witness and all', async () => {
    const data = join(dir, 'data');
    const witnessDir = join(dir, 'elsewhere', 'witness');
    const backupDir = join(dir, 'backup');
    let store: SqliteStore = openSqliteStore({ dataDir: data, witnessDir });
    await store.createTenant({ id: A, name: 'A' });
    await store.append(A, [makeEntry('AccessLog', T0), makeEntry('AccessLog', T0 + 1)]);
    await store.close();
    assert.ok(!existsSync(join(data, WITNESS_FILE)), 'no witness in the data directory');
    assert.ok(existsSync(join(witnessDir, WITNESS_FILE)));
    cpSync(data, backupDir, { recursive: true });
    store = openSqliteStore({ dataDir: data, witnessDir });
    await store.append(A, [makeEntry('AccessLog', T0 + 2)]);
    await store.close();
    // The whole directory put back.
    rmSync(data, { recursive: true });
    cpSync(backupDir, data, { recursive: true });
    store = openSqliteStore({ dataDir: data, witnessDir });
    try {
      const rolledBack =
        /holds an earlier state of the log of .*\/111111111111111111 than it signed: its last checkpoint is of size 2, but one of size 3/;
      await assert.rejects(store.checkLogs(), rolledBack);
      await assert.rejects(store.append(A, [makeEntry('AccessLog', T0 + 5)]), rolledBack);
    } finally {
      await store.close();
    }
  });

  it('a checkpoint another process commits while a store checks its logs is not taken for a rollback', async () => {
    const writer = openSqliteStore({ dataDir: dir });
    const reader = openSqliteStore({ dataDir: dir });
    const signer = Object.getOwnPropertyDescriptor(LogKeys.prototype, 'signer')!;
    try {
      await writer.createTenant({ id: A, name: 'A' });
      await writer.append(A, [makeEntry('AccessLog', T0)]);
      // Once the reader has begun reading the database, and before it opens the checkpoint it read:
      // the writer commits a larger one, which the witness records.
      let committed = false;
      Object.defineProperty(LogKeys.prototype, 'signer', {
        ...signer,
        value(this: LogKeys, tenantId: string) {
          if (!committed) {
            committed = true;
            void writer.append(A, [makeEntry('AccessLog', T0 + 1)]);
          }
          return (signer.value as LogKeys['signer']).call(this, tenantId);
        },
      });
      await reader.checkLogs();
      assert.ok(committed, 'the writer committed while the reader checked');
    } finally {
      Object.defineProperty(LogKeys.prototype, 'signer', signer);
      await reader.close();
      await writer.close();
    }
  });

  it('checkLogs says when log-witness.db knows none of the checkpoints the store signed (deleted, replaced), until a new entry is stored', async () => {
    let store: SqliteStore = openSqliteStore({ dataDir: dir });
    assert.deepEqual(await store.checkLogs(), [], 'a new store has signed nothing');
    await store.createTenant({ id: A, name: A });
    await store.append(A, [makeEntry('AccessLog', T0)]);
    assert.deepEqual(await store.checkLogs(), []);
    await store.close();

    rmSync(join(dir, WITNESS_FILE));
    store = openSqliteStore({ dataDir: dir });
    const notes = await store.checkLogs();
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /log-witness\.db holds no checkpoint this store signed: it was deleted, replaced/);
    assert.match(notes[0]!, /could not be told/);
    // The next entry stored records its checkpoint: the witness knows the store again.
    await store.append(A, [makeEntry('AccessLog', T0 + 1)]);
    assert.deepEqual(await store.checkLogs(), []);
    await store.close();

    // Another store's witness in its place knows nothing of this one's checkpoints either.
    const other = mkdtempSync(join(tmpdir(), 'logwarden-tree-other-'));
    try {
      const elsewhere = openSqliteStore({ dataDir: other });
      await elsewhere.createTenant({ id: B, name: B });
      await elsewhere.append(B, [makeEntry('AccessLog', T0)]);
      await elsewhere.close();
      copyFileSync(join(other, WITNESS_FILE), join(dir, WITNESS_FILE));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    store = openSqliteStore({ dataDir: dir });
    assert.equal((await store.checkLogs()).length, 1);
    await store.close();
  });

  it('checkLogs, before a server signs anything: every log against the witness, the signing secret against one', async () => {
    const C = '333333333333333333';
    let store: SqliteStore = openSqliteStore({ dataDir: dir });
    for (const id of [A, B, C]) {
      await store.createTenant({ id, name: id });
      await store.append(id, [makeEntry('AccessLog', T0)]);
    }
    await store.checkLogs();
    const backup = join(dir, 'backup.db');
    const copier = new Database(join(dir, DATABASE_FILE));
    copier.exec(`VACUUM INTO '${backup}'`);
    copier.close();
    await store.append(C, [makeEntry('AccessLog', T0 + 1)]);
    await store.close();
    // A secret of another deployment: the first tenant's checkpoint no longer opens.
    store = openSqliteStore({ dataDir: dir, log: { signingSecret: 'another secret of at least 32 bytes!' } });
    try {
      await assert.rejects(store.checkLogs(), /was the log signing secret changed/);
    } finally {
      await store.close();
    }
    // The backup put back: the last tenant's log is behind its witness, though the others are not.
    for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `${DATABASE_FILE}${suffix}`), { force: true });
    copyFileSync(backup, join(dir, DATABASE_FILE));
    store = openSqliteStore({ dataDir: dir });
    try {
      await assert.rejects(
        store.checkLogs(),
        new RegExp(`holds an earlier state of the log of .*/${C} than it signed: its last checkpoint is of size 1, but one of size 2`),
      );
      assert.equal((await store.log(A))!.checkpoint.size, 1, 'the others still open');
    } finally {
      await store.close();
    }
  });

  it('checkLogs refuses a store put back to before a tenant was created, and is held back only by what its own deployment signed', async () => {
    const C = '333333333333333333';
    const backup = join(dir, 'backup.db');
    const restore = (from: string) => {
      for (const suffix of ['-wal', '-shm']) rmSync(join(dir, `${DATABASE_FILE}${suffix}`), { force: true });
      copyFileSync(from, join(dir, DATABASE_FILE));
    };
    const snapshot = (to: string) => withFile(dir, (db) => db.exec(`VACUUM INTO '${to}'`));
    const unheld = new RegExp(
      `the store holds no tenant ${C}, whose log .*/${C} it signed up to size 2 \\(a backup from before the tenant was created put back\\?\\)`,
    );

    let store: SqliteStore = openSqliteStore({ dataDir: dir });
    for (const id of [A, B]) {
      await store.createTenant({ id, name: id });
      await store.append(id, [makeEntry('AccessLog', T0)]);
    }
    await store.close();
    snapshot(backup);
    store = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: C, name: C });
    await store.append(C, [makeEntry('AccessLog', T0), makeEntry('AccessLog', T0 + 1)]);
    await store.log(C);
    await store.close();

    restore(backup);
    store = openSqliteStore({ dataDir: dir });
    try {
      await assert.rejects(store.checkLogs(), unheld);
    } finally {
      await store.close();
    }
    // The same, as the witness of a version that kept no keys recorded it: the default prefix
    // names this database (its random store id), so the origin is still this store's.
    const witness = new Database(join(dir, WITNESS_FILE));
    witness.exec('UPDATE signed SET key = NULL');
    witness.close();
    store = openSqliteStore({ dataDir: dir });
    try {
      await assert.rejects(store.checkLogs(), unheld);
      // Tenants it holds open as before.
      assert.equal((await store.log(A))!.checkpoint.size, 1);
    } finally {
      await store.close();
    }
    // Another process creating the tenant meanwhile is not a rollback: the database is read after the witness.
    store = openSqliteStore({ dataDir: dir });
    try {
      await store.createTenant({ id: C, name: C });
      await assert.rejects(
        store.checkLogs(),
        /holds an earlier state of the log of .*\/333333333333333333 than it signed: its last checkpoint is of size 0/,
      );
    } finally {
      await store.close();
    }
  });

  it('checkLogs: a fresh database under a configured prefix is held back by the old witness only if it signs with the same key', async () => {
    const prefix = 'audit.example/log';
    const secret = 'a configured secret of at least 32 bytes';
    let store: SqliteStore = openSqliteStore({ dataDir: dir, log: { originPrefix: prefix } });
    await store.createTenant({ id: A, name: 'A' });
    await store.append(A, [makeEntry('AccessLog', T0)]);
    await store.close();
    /** checkLogs of a fresh database put in the directory, under `log`. */
    const checkFresh = async (log: { originPrefix: string; signingSecret?: string }) => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(join(dir, `${DATABASE_FILE}${suffix}`), { force: true });
      const fresh = openSqliteStore({ dataDir: dir, log });
      try {
        await fresh.checkLogs();
      } finally {
        await fresh.close();
      }
    };
    // A generated secret: a new key under the old origin, a log of its own.
    await checkFresh({ originPrefix: prefix });
    // Recorded before keys were kept, under a configured prefix: nothing tells whose it was, so it does not hold back.
    const witness = new Database(join(dir, WITNESS_FILE));
    witness.exec('UPDATE signed SET key = NULL');
    witness.close();
    await checkFresh({ originPrefix: prefix });
    // The configured secret, signed once and then lost with its database: this store would sign the same origin again.
    rmSync(join(dir, WITNESS_FILE));
    await checkFresh({ originPrefix: prefix, signingSecret: secret });
    store = openSqliteStore({ dataDir: dir, log: { originPrefix: prefix, signingSecret: secret } });
    await store.createTenant({ id: A, name: 'A' });
    await store.append(A, [makeEntry('AccessLog', T0)]);
    await store.close();
    await assert.rejects(
      checkFresh({ originPrefix: prefix, signingSecret: secret }),
      /the store holds no tenant 111111111111111111, whose log audit\.example\/log\/111111111111111111 it signed up to size 1/,
    );
  });

  it('a new origin prefix starts a new series of checkpoints; another secret under the same origin is refused', async () => {
    let store: SqliteStore = openSqliteStore({ dataDir: dir });
    await store.createTenant({ id: A, name: 'A' });
    await store.append(A, [makeEntry('AccessLog', T0)]);
    const first = (await store.log(A))!;
    await store.close();

    store = openSqliteStore({ dataDir: dir, log: { originPrefix: 'audit.example/log' } });
    const renamed = (await store.log(A))!;
    assert.equal(renamed.origin, `audit.example/log/${A}`);
    assert.equal(openCheckpoint(renamed.checkpoint.note, parseVerifierKey(renamed.verifierKey)).checkpoint.size, 1);
    assert.deepEqual(renamed.checkpoint.rootHash, first.checkpoint.rootHash);
    await store.close();

    store = openSqliteStore({ dataDir: dir, log: { signingSecret: 'another secret of at least 32 bytes!' } });
    try {
      await assert.rejects(store.append(A, [makeEntry('AccessLog', T0 + 1)]), /was the log signing secret changed/);
      assert.equal((await store.firstPage({ tenantId: A, logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total, 1);
    } finally {
      await store.close();
    }
  });
});
