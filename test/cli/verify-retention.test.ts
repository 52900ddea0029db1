/**
 * `logwarden verify` over a log retention purged (issue 12, point 3), end to end: a real server
 * on a real SQLite store; the purge runs through a second store on the same file, as the
 * server's background purge would. Deleted leaves are reported with their receipt; a receipt
 * whose digest does not match the leaves it names is a failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { LogVerifier, TlogClient } from '../../src/client/index.ts';
import { loadConfig } from '../../src/config.ts';
import { type RunningServer, startServer } from '../../src/server/start.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import type { SqliteTree } from '../../src/store/sqlite/tree.ts';
import { formatDeletionReceipt } from '../../src/tlog/deletion-receipt.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { runCli } from '../support/cli.ts';

const T0 = Date.UTC(2026, 2, 4);
const MIN = 60_000;

describe('logwarden verify after retention', () => {
  let dir: string;
  let server: RunningServer;
  let store: SqliteStore;
  let tenantId: string;
  let env: Record<string, string>;
  /** The tree's size before the test's entries. */
  let base: number;
  const verify = (...more: string[]) =>
    runCli(['verify', '--url', server.url, '--tenant', tenantId, '--state', join(dir, 'state.json'), '--cache-dir', join(dir, 'cache'), ...more], {
      env,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-verify-retention-'));
    server = await startServer(loadConfig({ dataDir: join(dir, 'data'), port: 0, logLevel: 'silent' }, {}));
    tenantId = server.bootstrap!.tenantId;
    env = {
      LOGWARDEN_ACCESS_KEY: server.bootstrap!.key.accessKey,
      LOGWARDEN_SECRET: server.bootstrap!.key.secret,
      XDG_CONFIG_HOME: join(dir, 'config'),
    };
    store = openSqliteStore({ dataDir: join(dir, 'data'), sealIntervalMs: 60_000 });
    // The first leaves are the admin trail's (tenant and key created by the server's first start).
    base = (await store.log(tenantId))!.checkpoint.size;
    await store.append(tenantId, [
      ...Array.from({ length: 40 }, (_, i) => makeEntry('AccessLog', T0 + i * MIN, `{"i":${i}}`)),
      ...Array.from({ length: 10 }, (_, i) => makeEntry('UserCallPlay', T0 + i * MIN, `{"i":${i}}`)),
    ]);
  });
  after(async () => {
    await store.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a purged range as deleted by retention, naming the receipt, and proves the rest', async () => {
    const r1 = await store.purge(tenantId, 'AccessLog', T0 + 10 * MIN, 6);
    const r2 = await store.purge(tenantId, 'AccessLog', T0 + 10 * MIN, 6);
    assert.deepEqual([r1.count, r2.count], [6, 4]);
    const r = await verify('--type', 'AccessLog', '--from', new Date(T0).toISOString(), '--to', new Date(T0 + 60 * MIN).toISOString());
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /: COMPLETE/);
    assert.match(r.stdout, /30 entries served; 30 proven/);
    assert.match(r.stdout, /40 leaves of this type and time range in the tree; 30 of them served/);
    const date = (ms: number) => new Date(ms).toISOString();
    assert.ok(
      r.stdout.includes(
        `6 leaves (eventTime ${date(T0)} to ${date(T0 + 5 * MIN)}): deleted by retention on ${r1.purgedAt}, receipt leaf ${r1.leafIndex}`,
      ),
      r.stdout,
    );
    assert.ok(r.stdout.includes(`deleted by retention on ${r2.purgedAt}, receipt leaf ${r2.leafIndex}`), r.stdout);
    assert.doesNotMatch(r.stdout, /HIDDEN/);

    const json = await verify('--type', 'AccessLog', '--from', new Date(T0).toISOString(), '--json');
    const report = JSON.parse(json.stdout) as { ok: boolean; deleted: { leafIndex: number; receiptLeaf: number }[]; badReceipts: unknown[] };
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.deleted.map((d) => d.leafIndex - base),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.deepEqual(report.badReceipts, []);
  });

  it('a purge while the window is read: the entries it deleted before they were served are deleted, not hidden', async () => {
    const bootKey = server.bootstrap!.key;
    let receipt: Awaited<ReturnType<SqliteStore['purge']>> | undefined;
    // The purge lands after the verifier's first checkpoint and before the window's pages.
    class PurgedDuringRead extends TlogClient {
      override async servedWindow(params: Parameters<TlogClient['servedWindow']>[0]) {
        receipt ??= await store.purge(tenantId, 'AccessLog', T0 + 15 * MIN, 100);
        return super.servedWindow(params);
      }
    }
    const client = new PurgedDuringRead({
      baseUrl: server.url,
      tenantId,
      accessKey: bootKey.accessKey,
      secret: bootKey.secret,
      requestsPerSecond: 0,
    });
    const proof = await new LogVerifier({ client }).proveWindow({ logType: 'AccessLog', from: new Date(T0).toISOString(), to: null });
    assert.equal(receipt!.count, 5);
    assert.deepEqual(proof.hidden, []);
    assert.equal(proof.complete, true);
    assert.equal(proof.served, 25);
    assert.deepEqual(
      proof.deleted.filter((d) => d.receiptLeaf === receipt!.leafIndex).map((d) => d.leafIndex - base),
      [10, 11, 12, 13, 14],
    );
  });

  it('a receipt whose digest does not match the leaves it names is a failure, and the entry stays hidden', async () => {
    // What a store that dropped an entry and covered it with a made-up receipt would serve.
    const internals = store as unknown as { db: Database.Database; tree: SqliteTree };
    const tid = internals.db.prepare<[string], number>('SELECT tid FROM tenants WHERE id = ?').pluck().get(tenantId)!;
    const victim = base + 45; // the sixth UserCallPlay leaf (after 40 AccessLog leaves)
    const text = formatDeletionReceipt({
      logType: 'UserCallPlay',
      firstEventTime: new Date(T0 + 5 * MIN).toISOString(),
      lastEventTime: new Date(T0 + 5 * MIN).toISOString(),
      count: 1,
      deletedAt: new Date().toISOString(),
      leaves: [victim],
      digest: new Uint8Array(32),
    });
    internals.db
      .transaction(() => {
        internals.db
          .prepare('DELETE FROM entries WHERE tid = ? AND event_time = ? AND type_id = (SELECT type_id FROM log_types WHERE name = ?)')
          .run(tid, T0 + 5 * MIN, 'UserCallPlay');
        internals.db
          .prepare('UPDATE entry_counts SET n = n - 1 WHERE tid = ? AND type_id = (SELECT type_id FROM log_types WHERE name = ?)')
          .run(tid, 'UserCallPlay');
        internals.tree.appendReceipt(tid, tenantId, text, Date.now());
      })
      .immediate();
    const r = await verify('--type', 'UserCallPlay', '--from', new Date(T0).toISOString());
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /NOT PROVEN/);
    assert.match(r.stdout, /BAD DELETION RECEIPT: leaf \d+: its digest is not the SHA-256 of the leaf hashes it names/);
    assert.match(r.stdout, new RegExp(`HIDDEN: leaf ${victim} `));
    assert.match(r.stderr, /1 hidden, 0 served entries not in the log, 1 bad deletion receipts/);
  });
});
