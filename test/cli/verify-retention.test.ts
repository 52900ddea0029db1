/**
 * `logwarden verify` over a log retention purged (issue 12, point 3), end to end: a real server
 * on a real SQLite store; the purge runs through a second store on the same file, as the
 * server's background purge would. Deleted leaves are reported with their receipt; a receipt
 * whose digest does not match the leaves it names is a failure.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { type EvidenceBundle, fetchEvidenceBundle, LogVerifier, TlogClient } from '../../src/client/index.ts';
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
        `6 leaves (eventTime ${date(T0)} to ${date(T0 + 5 * MIN)}): deleted by retention on ${r1.purgedAt} ` +
          `(the latest was ${Math.floor((Date.parse(r1.purgedAt) - (T0 + 5 * MIN)) / 86_400_000).toLocaleString('en-US')} days old), receipt leaf ${r1.leafIndex}`,
      ),
      r.stdout,
    );
    assert.match(r.stdout, new RegExp(`deleted by retention on ${r2.purgedAt} \\(the latest was [\\d,]+ days old\\), receipt leaf ${r2.leafIndex}`));
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

  it('says the earliest and latest eventTime of deleted leaves logged out of time order (backfilled)', async () => {
    await store.append(
      tenantId,
      [2, 1, 0].map((i) => makeEntry('UserActivityLog', T0 + i * MIN, `{"back":${i}}`)),
    );
    assert.equal((await store.purge(tenantId, 'UserActivityLog', T0 + 10 * MIN, 10)).count, 3);
    const r = await verify('--type', 'UserActivityLog', '--from', new Date(T0 - MIN).toISOString());
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const date = (ms: number) => new Date(ms).toISOString();
    assert.ok(r.stdout.includes(`3 leaves (eventTime ${date(T0)} to ${date(T0 + 2 * MIN)}): deleted by retention`), r.stdout);
  });

  it('a purge while the window is read: the entries it deleted before they were served are deleted, not hidden', async () => {
    const bootKey = server.bootstrap!.key;
    let receipt: Awaited<ReturnType<SqliteStore['purge']>> | undefined;
    // The purge lands after the verifier's first checkpoint and before the window's pages.
    class PurgedDuringRead extends TlogClient {
      override async *indexedTextPages(params: Parameters<TlogClient['indexedTextPages']>[0]) {
        receipt ??= await store.purge(tenantId, 'AccessLog', T0 + 15 * MIN, 100);
        yield* super.indexedTextPages(params);
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

  it('an expired entry logged while the window is read and purged before it is read again: deleted, not hidden', async () => {
    const type = 'ExternallySharedCallAccess';
    await store.append(
      tenantId,
      Array.from({ length: 5 }, (_, i) => makeEntry(type, T0 + i * MIN, `{"i":${i}}`)),
    );
    const bootKey = server.bootstrap!.key;
    let reads = 0;
    let receipt: Awaited<ReturnType<SqliteStore['purge']>> | undefined;
    class LoggedThenPurged extends TlogClient {
      override async *indexedTextPages(params: Parameters<TlogClient['indexedTextPages']>[0]) {
        const read = reads++;
        // Before the second read (of the late leaf), retention deletes it, with its receipt.
        if (read === 1) receipt = await store.purge(tenantId, type, T0 + 30 * MIN, 100);
        yield* super.indexedTextPages(params);
        // After the first read: an entry dated in the window (and already past its retention) is logged.
        if (read === 0) await store.append(tenantId, [makeEntry(type, T0 + 20 * MIN, '{"late":true}')]);
      }
    }
    const client = new LoggedThenPurged({
      baseUrl: server.url,
      tenantId,
      accessKey: bootKey.accessKey,
      secret: bootKey.secret,
      requestsPerSecond: 0,
    });
    const proof = await new LogVerifier({ client }).proveWindow({ logType: type, from: new Date(T0).toISOString(), to: null });
    assert.equal(reads, 2, 'the window is read again for its late leaf');
    assert.equal(receipt!.count, 6);
    assert.deepEqual(proof.hidden, []);
    assert.deepEqual(proof.late, []);
    assert.equal(proof.served, 5);
    // The five others were served by the first read, before the purge.
    assert.deepEqual(
      proof.deleted.map((d) => [d.eventTime, d.receiptLeaf]),
      [[new Date(T0 + 20 * MIN).toISOString(), receipt!.leafIndex]],
    );
    assert.equal(proof.complete, true);
  });

  it('fetch --format bundle after a purge that held back entries on both sides: the receipt goes in the bundle, which verifies offline', async () => {
    const type = 'ExternallySharedCallPlay';
    await store.append(
      tenantId,
      Array.from({ length: 10 }, (_, i) => makeEntry(type, T0 + i * MIN, `{"i":${i}}`)),
    );
    const held = (from: number, to: number) =>
      store.createHold({ tenantId, logType: type, fromMs: T0 + from * MIN, toMs: T0 + to * MIN, reason: 'case 7', createdBy: 'test' });
    const holds = [await held(1, 3), await held(7, 9)];
    const receipt = await store.purge(tenantId, type, T0 + 10 * MIN, 100);
    assert.equal(receipt.count, 6); // 0, 3-6 and 9; 1-2 and 7-8 held
    for (const h of holds) await store.releaseHold(h.id, { reason: 'done', releasedBy: 'test' });
    const logKey = (await store.log(tenantId))!.verifierKey;
    const file = join(dir, 'held.bundle');
    const window = ['--type', type, '--from', new Date(T0).toISOString(), '--to', new Date(T0 + 60 * MIN).toISOString()];
    const fetched = await runCli(
      ['fetch', '--url', server.url, '--tenant', tenantId, ...window, '--format', 'bundle', '--out', file, '--log-key', logKey],
      { env },
    );
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.match(fetched.stderr, /4 .* entries and their proof written .*; 4 leaves of the window deleted by retention, with their receipts\)/);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as EvidenceBundle;
    assert.deepEqual(
      bundle.deletions!.map((d) => d.leafIndex),
      [receipt.leafIndex],
    );
    // The receipt also names leaves 0 and 9 of the type, outside the range: their hashes come along for its digest.
    assert.equal(Object.keys(bundle.namedLeafHashes!).length, 2);
    // The SDK reports its search for the receipts after the range (a progress bar on a terminal).
    const bootKey = server.bootstrap!.key;
    const client = new TlogClient({ baseUrl: server.url, tenantId, accessKey: bootKey.accessKey, secret: bootKey.secret, requestsPerSecond: 0 });
    const searched: [number, number][] = [];
    const again = await fetchEvidenceBundle(
      client,
      { logType: type, from: new Date(T0).toISOString(), to: new Date(T0 + 60 * MIN).toISOString() },
      { logKey, onReceiptSearch: (read, total) => searched.push([read, total]) },
    );
    assert.equal(again.check.complete, true);
    assert.ok(searched.length > 0 && searched.every(([read, total]) => read >= 0 && read < total), JSON.stringify(searched));

    const ok = await runCli(['verify', '--bundle', file, '--log-key', logKey]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /COMPLETE within the bundled leaf range/);
    assert.match(
      ok.stdout,
      new RegExp(`4 leaves \\(eventTime .*\\): deleted by retention on ${receipt.purgedAt} \\(.* old\\), receipt leaf ${receipt.leafIndex}`),
    );

    // Without the receipt, or with its digest's hashes altered, the deleted leaves are hidden or the receipt bad.
    const edited = (edit: (b: EvidenceBundle) => void) => {
      const b = structuredClone(bundle);
      edit(b);
      const path = join(dir, 'edited.bundle');
      writeFileSync(path, JSON.stringify(b));
      return runCli(['verify', '--bundle', path, '--log-key', logKey, '--json']);
    };
    const dropped = await edited((b) => delete b.deletions);
    assert.equal(dropped.code, 1);
    assert.equal((JSON.parse(dropped.stdout) as { missing: number[] }).missing.length, 4);
    const rehashed = await edited((b) => {
      const first = Object.keys(b.namedLeafHashes!)[0]!;
      b.namedLeafHashes![first] = Buffer.alloc(32, 7).toString('base64');
    });
    assert.equal(rehashed.code, 1);
    assert.match((JSON.parse(rehashed.stdout) as { badReceipts: { reason: string }[] }).badReceipts[0]!.reason, /digest/);
    const unhashed = await edited((b) => {
      delete b.namedLeafHashes![Object.keys(b.namedLeafHashes!)[0]!];
    });
    assert.equal(unhashed.code, 1);
    assert.match(
      (JSON.parse(unhashed.stdout) as { badReceipts: { reason: string }[] }).badReceipts[0]!.reason,
      /names leaf \d+, whose hash the bundle does not carry \(namedLeafHashes\): the bundle was altered/,
    );
    const forged = await edited((b) => {
      const proof = b.deletions![0]!.proof;
      proof[0] = Buffer.alloc(32, 1).toString('base64');
    });
    assert.equal(forged.code, 1);
    assert.match(
      (JSON.parse(forged.stdout) as { message: string }).message,
      /deletions\[0\] is not leaf \d+ of the signed tree: the bundle was altered/,
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
