/**
 * The store conformance suite's cases for taking a whole store in (Store.importAll, what
 * `logwarden copy` does), run by store.contract.ts for every store. The source (read out whole,
 * Store.exportAll) is an SQLite store, and a store of the backend under test when it is another
 * kind (a PostgreSQL store into PostgreSQL), holding what a store keeps: tenants, keys (one
 * revoked), retention, holds, sync checkpoints, entries hot and sealed, a purge's receipt (leaves
 * without text). Everything is compared through the Store interface. While another process has
 * the source open, it is not read out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { NewEntry } from '../../../src/logs/entry.ts';
import { DATABASE_FILE, openSqliteStore } from '../../../src/store/sqlite/index.ts';
import type { Store } from '../../../src/store/store.ts';
import { CopyMismatchError, checkCopy, copyStore } from '../../../src/store/store-copy.ts';
import { type StoreExport, StoreInUseError, TargetNotEmptyError } from '../../../src/store/store-transfer.ts';
import { openCheckpoint } from '../../../src/tlog/checkpoint.ts';
import { proveConsistency, verifyConsistency } from '../../../src/tlog/consistency-proof.ts';
import { parseVerifierKey } from '../../../src/tlog/note-key.ts';
import { entriesOf } from '../../support/page-entries.ts';
import type { StoreFixture } from './store.contract.ts';

export interface TransferCaseContext {
  store: Store;
  create(): Promise<StoreFixture>;
  tenant: string;
  other: string;
  t0: number;
  makeEntry(logType: string, timeMs: number, logRecordText?: string): NewEntry;
}

/** A store to copy out of, empty: it seals only when told (`seal`); `another` opens it again, as another process would. */
export interface SourceStore {
  readonly store: Store;
  seal(): Promise<void>;
  another(): Promise<Store>;
  /** Runs one statement on its database directly (`$1` placeholders on PostgreSQL, `?` on SQLite: give `sql` both ways). */
  run(sql: { sqlite: string; postgres: string }, params: unknown[]): Promise<void>;
  /** Closes the stores opened on it and deletes it. */
  remove(): Promise<void>;
}

/** A kind of store to copy out of. */
export interface TransferSource {
  readonly name: string;
  make(): Promise<SourceStore>;
}

/** An SQLite store in a directory of its own. */
export const SQLITE_SOURCE: TransferSource = {
  name: 'sqlite',
  async make() {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-transfer-'));
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 60_000 });
    const others: Store[] = [];
    return {
      store,
      seal: async () => void store.settle(),
      async run(sql, params) {
        const db = new Database(join(dir, DATABASE_FILE));
        try {
          db.prepare(sql.sqlite).run(...params);
        } finally {
          db.close();
        }
      },
      async another() {
        const other = openSqliteStore({ dataDir: dir });
        others.push(other);
        return other;
      },
      async remove() {
        for (const s of [...others, store]) await s.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const HOUR = 3_600_000;
const TYPES = ['AccessLog', 'UserCallPlay', 'UserActivityLog'];

/** A source store holding a bit of everything. */
async function sourceStore(c: TransferCaseContext, kind: TransferSource): Promise<SourceStore> {
  const made = await kind.make();
  const source = made.store;
  await source.createTenant({ id: c.tenant, name: 'Acme' });
  await source.createTenant({ id: c.other, name: 'Beta' });
  await source.setTenantLimits(c.tenant, { readPerSecond: 40 });
  await source.createAccessKey({
    accessKey: 'LWKEEPSITSSECRET000001',
    tenantId: c.tenant,
    secretHash: Buffer.alloc(32, 7),
    scopes: ['api:logs:read'],
  });
  await source.createAccessKey({
    accessKey: 'LWREVOKED0000000000002',
    tenantId: c.tenant,
    secretHash: Buffer.alloc(32, 9),
    scopes: ['api:logs:write'],
  });
  // As the upgrade from before uses were recorded leaves a key then known: its uses from that time on.
  await made.run(
    {
      sqlite: "UPDATE access_keys SET uses_recorded_since = '2026-03-01T10:00:00.000Z' WHERE access_key = ?",
      postgres: "UPDATE access_keys SET uses_recorded_since = '2026-03-01T10:00:00.000Z' WHERE access_key = $1",
    },
    ['LWREVOKED0000000000002'],
  );
  // Last uses travel with their keys (the revoked key's, from before its revocation), and so
  // does the time from which uses are recorded.
  await source.recordKeyUse([
    { accessKey: 'LWKEEPSITSSECRET000001', atMs: Date.now() + 7 },
    { accessKey: 'LWREVOKED0000000000002', atMs: Date.now() - 60_000 },
  ]);
  await source.revokeAccessKey('LWREVOKED0000000000002');
  await source.setRetention(c.tenant, 'UserCallPlay', 400);
  await source.setRetention(c.tenant, null, null);
  const hold = await source.createHold({
    tenantId: c.tenant,
    logType: null,
    fromMs: c.t0 + 50 * HOUR,
    toMs: null,
    reason: 'Case 7',
    createdBy: 'a@b',
  });
  await source.releaseHold(hold.id, { reason: 'closed', releasedBy: 'a@b' });
  await source.setCheckpoint({ source: 'https://gong.example', tenantId: c.tenant, logType: 'AccessLog', throughMs: c.t0, entriesSeen: 5 });
  for (let b = 0; b < 6; b++) {
    const batch = Array.from({ length: 120 }, (_, i) =>
      c.makeEntry(TYPES[(b + i) % 3]!, c.t0 + ((i * 7919 + b) % 100) * HOUR, `{"b":${b},"i":${i}}`),
    );
    await source.append(b % 2 === 0 ? c.tenant : c.other, batch);
    if (b === 3) await made.seal(); // part sealed, part hot
  }
  const purged = await source.purge(c.tenant, 'AccessLog', c.t0 + 10 * HOUR, 1000);
  assert.ok(purged.count > 0);
  return made;
}

/** What the API serves of a store: every tenant's record, keys, retention, holds, pages with sequences, leaf indexes and log. */
async function served(store: Store, tenants: readonly string[]): Promise<unknown[]> {
  const out: unknown[] = [await store.listTenants()];
  for (const id of tenants) {
    out.push(await store.listAccessKeys(id), await store.getRetention(id), await store.listHolds({ tenantId: id, includeReleased: true }));
    out.push(await store.getCheckpoint('https://gong.example', id, 'AccessLog'), await store.logTypes(id));
    for (const logType of [...TYPES, 'LogwardenAdminLog']) {
      const query = { tenantId: id, logType, fromMs: 0, toMs: null };
      const first = await store.firstPage(query, 1000);
      const seqs = [...(first.seqs ?? [])];
      out.push(first.total, first.watermark, entriesOf(first), seqs, await store.leafIndexes?.(id, seqs), await store.hourlyTallies(query));
    }
    const log = await store.log?.(id);
    assert.ok(log);
    out.push(log.origin, log.verifierKey, log.checkpoint.note, await log.leaves(0, log.checkpoint.size));
  }
  return out;
}

/** Runs `fn` with an empty database of the backend (`open` opens stores on it, closed at the end) and the source. */
async function withTarget(
  c: TransferCaseContext,
  kind: TransferSource,
  fn: (open: () => Promise<Store>, source: Store, made: SourceStore) => Promise<void>,
): Promise<void> {
  const made = await sourceStore(c, kind);
  const target = await c.create();
  const stores: Store[] = [];
  try {
    await fn(
      async () => {
        const s = await target.open();
        stores.push(s);
        return s;
      },
      made.store,
      made,
    );
  } finally {
    for (const s of stores) await s.close();
    await target.teardown();
    await made.remove();
  }
}

/** The cases, for each kind of source: SQLite, and `others` (the backend's own kind, when it can be read out whole). */
export function transferContractCases(ctx: () => TransferCaseContext, others: readonly TransferSource[] = []): void {
  for (const kind of [SQLITE_SOURCE, ...others]) {
    describe(`from ${kind.name}`, () => transferCases(ctx, kind));
  }
}

function transferCases(ctx: () => TransferCaseContext, kind: TransferSource): void {
  it('takes a whole store in: the same tenants, keys, pages, sequences, leaves and signed log; it goes on from there', async () => {
    const c = ctx();
    await withTarget(c, kind, async (open, source) => {
      const into = await open();
      const from = await source.exportAll!();
      try {
        await into.importAll!(from);
      } finally {
        await from.close();
      }
      const copy = await open(); // afresh: its log keys from the copied secrets
      assert.deepEqual(await served(copy, [c.tenant, c.other]), await served(source, [c.tenant, c.other]));
      // Sent again after the move: duplicates. New entries: leaves the target signs over the source's last checkpoint.
      const before = (await copy.log!(c.tenant))!;
      const again = c.makeEntry('UserCallPlay', c.t0 + (7919 % 100) * HOUR, '{"b":0,"i":1}'); // batch 0's second entry
      const sent = await source.append(c.tenant, [again]);
      assert.equal(sent.duplicates, 1, 'the entry was in the source');
      assert.deepEqual(await copy.append(c.tenant, [again, c.makeEntry('AccessLog', c.t0 + 99 * HOUR, '{"new":1}')]), { accepted: 1, duplicates: 1 });
      const after = (await copy.log!(c.tenant))!;
      const key = parseVerifierKey(after.verifierKey);
      const old = openCheckpoint(before.checkpoint.note, key).checkpoint;
      const now = openCheckpoint(after.checkpoint.note, key).checkpoint;
      assert.equal(now.size, old.size + 1);
      assert.ok(verifyConsistency(old.size, now.size, await proveConsistency(old.size, now.size, after.reader), old.rootHash, now.rootHash));
    });
  });

  it("the copy's check compares each key's last use: a later one on the target is a difference", async () => {
    const c = ctx();
    await withTarget(c, kind, async (open, source) => {
      const expected = await copyStore(source, await open());
      const copy = await open();
      assert.equal((await checkCopy(copy, expected)).tenants.find((t) => t.tenantId === c.tenant)?.accessKeys, 2);
      await copy.recordKeyUse([{ accessKey: 'LWKEEPSITSSECRET000001', atMs: Date.now() + 3_600_000 }]);
      await assert.rejects(checkCopy(copy, expected), (err) => err instanceof CopyMismatchError && /its access keys differ/.test(err.message));
    });
  });

  it('refuses a store that holds anything, changing nothing; an import that fails midway leaves the store empty', async () => {
    const c = ctx();
    await withTarget(c, kind, async (open, source) => {
      const held = await source.exportAll!();
      try {
        await assert.rejects(c.store.importAll!(held), TargetNotEmptyError);
      } finally {
        await held.close();
      }
      assert.deepEqual(
        (await c.store.listTenants()).map((t) => t.id),
        [c.tenant],
      );

      const into = await open();
      const from = await source.exportAll!();
      // The source's entries fail after the first batch (a lost connection, a corrupt segment).
      const failing: StoreExport = {
        ...from,
        async *entries(tenantId) {
          for await (const batch of from.entries(tenantId)) {
            yield batch;
            throw new Error('the source failed');
          }
        },
      };
      try {
        await assert.rejects(into.importAll!(failing), /the source failed/);
        assert.deepEqual(await into.listTenants(), []);
        // Run again: it goes through.
        await into.importAll!(from);
      } finally {
        await from.close();
      }
      assert.deepEqual(
        (await (await open()).listTenants()).map((t) => t.id),
        [c.tenant, c.other],
      );
    });
  });

  it('is not read out while another process has the source store open; once it is gone, the copy goes through', async () => {
    const c = ctx();
    await withTarget(c, kind, async (open, source, made) => {
      const other = await made.another();
      await assert.rejects(copyStore(source, await open()), StoreInUseError);
      assert.deepEqual(await (await open()).listTenants(), [], 'nothing was copied');
      await other.close();
      const expected = await copyStore(source, await open());
      assert.equal((await checkCopy(await open(), expected)).tenants.length, 2);
    });
  });
}
