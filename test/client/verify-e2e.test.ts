/**
 * The verifier against a real logwarden server over a real SQLite store, with the database
 * tampered with behind the server's back: each case is detected with a precise message, and a
 * flipped bit anywhere the log's integrity lives (an entry's text, a stored leaf record, a
 * stored high hash, the signed checkpoint) is detected (fast-check).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { fetchEvidenceBundle, type LogState, LogVerifier, MemoryLeafCache, TlogClient, VerifyError } from '../../src/client/index.ts';
import { entryKey } from '../../src/logs/entry.ts';
import { buildApp } from '../../src/server/app.ts';
import { createTenant, type IssuedKey, issueAccessKey } from '../../src/service/access-keys.ts';
import { WITNESS_FILE } from '../../src/store/log-witness.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import { type CheckpointRow, noteOfRow } from '../../src/store/tree-checkpoint-rows.ts';
import { decodeEntryBundle, deriveTenantSigner, MemoryTree, signCheckpoint } from '../../src/tlog/index.ts';
import { basic, testConfig } from '../support/app.ts';
import { rejectsWithVerifyError as rejects } from '../support/verify-errors.ts';

/** The tenant's last kept checkpoint: its origin, size, text, and the `note` column as kept (null: compact). */
function lastCheckpoint(db: Database.Database, tid: number): { origin: string; size: number; note: string; kept: string | null } {
  const row = db
    .prepare<[number], { origin: string; size: number } & CheckpointRow>(
      `SELECT o.origin, c.size, c.root, c.sig, c.note FROM tree_checkpoints c JOIN tree_origins o ON o.tid = c.tid AND o.oid = c.oid
       WHERE c.tid = ? ORDER BY c.size DESC LIMIT 1`,
    )
    .get(tid)!;
  return { origin: row.origin, size: row.size, note: noteOfRow(row.origin, row.size, row), kept: row.note };
}

const T0 = Date.UTC(2026, 2, 4, 9, 0, 0);
const WINDOW = { logType: 'AccessLog', from: new Date(T0).toISOString(), to: null };

/** A data directory with one tenant's entries; servers are started and stopped over it. */
class Deployment {
  readonly dir = mkdtempSync(join(tmpdir(), 'logwarden-verify-e2e-'));
  tenantId = '';
  key!: IssuedKey;
  private store: SqliteStore | undefined;
  private app: FastifyInstance | undefined;
  url = '';

  async start(): Promise<void> {
    this.store = openSqliteStore({ dataDir: this.dir });
    if (!this.tenantId) {
      this.tenantId = (await createTenant(this.store, 'acme')).id;
      this.key = await issueAccessKey(this.store, this.tenantId, ['api:logs:read', 'api:logs:write']);
    }
    this.app = await buildApp({ config: testConfig(), store: this.store });
    this.url = await this.app.listen({ host: '127.0.0.1', port: 0 });
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await this.store?.close();
    this.app = undefined;
    this.store = undefined;
  }

  /** Restarts the server so that nothing it cached hides an edit of the database. */
  async tamper(edit: (db: Database.Database, tid: number) => void): Promise<void> {
    await this.stop();
    const db = new Database(join(this.dir, 'logwarden.db'));
    try {
      const tid = db.prepare('SELECT tid FROM tenants WHERE id = ?').pluck().get(this.tenantId) as number;
      edit(db, tid);
    } finally {
      db.close();
    }
    // As one who edits the store behind the server's back would: the witness of what the log
    // signed makes the server itself refuse a store whose checkpoints went back.
    rmSync(join(this.dir, WITNESS_FILE), { force: true });
    await this.start();
  }

  async ingest(logType: string, from: number, n: number): Promise<void> {
    const logEntries = Array.from({ length: n }, (_, i) => ({
      userId: String(7_000_000_000_000_000_000n + BigInt(from + i)),
      eventTime: new Date(T0 + (((from + i) * 7919) % 600) * 60_000).toISOString(),
      logRecord: { i: from + i, path: `/calls/${from + i}` },
    }));
    const res = await fetch(`${this.url}/v2/logs`, {
      method: 'POST',
      headers: { authorization: basic(this.key), 'content-type': 'application/json' },
      body: JSON.stringify({ logType, logEntries }),
    });
    assert.equal(res.status, 201, await res.text());
  }

  client(): TlogClient {
    return new TlogClient({
      baseUrl: this.url,
      accessKey: this.key.accessKey,
      secret: this.key.secret,
      tenantId: this.tenantId,
      requestsPerSecond: 0,
      retry: { retries: 0 },
    });
  }

  /** A read key of another tenant of the same server. */
  async otherTenantKey(): Promise<{ tenantId: string; key: IssuedKey }> {
    const tenantId = (await createTenant(this.store!, 'other')).id;
    return { tenantId, key: await issueAccessKey(this.store!, tenantId, ['api:logs:read']) };
  }

  verifier(state: LogState | null = null): LogVerifier {
    return new LogVerifier({ client: this.client(), state: state && structuredClone(state), cache: new MemoryLeafCache() });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A deployment with 300 AccessLog and 200 UserActivityLog entries, and a verifier state that saw it. */
async function deployment(): Promise<{ d: Deployment; state: LogState }> {
  const d = new Deployment();
  await d.start();
  await d.ingest('AccessLog', 0, 300);
  await d.ingest('UserActivityLog', 1000, 200);
  const v = d.verifier();
  const proof = await v.proveWindow(WINDOW, { checkTiles: true });
  assert.equal(proof.complete, true);
  assert.equal(proof.served, 300);
  assert.equal(proof.checkpoint.size, 500);
  return { d, state: v.state! };
}

/**
 * A tamperer who knows the store: the idempotency key of entry `seq` as its stored text gives it,
 * so that the server's own check of unsealed rows passes and only the verifiable log can tell.
 */
function keyAsStored(db: Database.Database, tid: number, seq: number): void {
  const row = db
    .prepare<[number], { event_time: number; body: string; name: string }>(
      'SELECT e.event_time, e.body, t.name FROM entries e JOIN log_types t ON t.type_id = e.type_id WHERE e.seq = ?',
    )
    .get(seq)!;
  db.prepare('INSERT OR IGNORE INTO entry_keys (tid, event_time, key) VALUES (?, ?, ?)').run(tid, row.event_time, entryKey(row.name, row.body));
}

describe('verify against a real server and SQLite store', () => {
  const made: Deployment[] = [];
  after(async () => {
    for (const d of made) await d.dispose();
  });
  const fresh = async () => {
    const r = await deployment();
    made.push(r.d);
    return r;
  };

  it('proves a window, serves bundles that check out, and light-client inclusion proofs verify', async () => {
    const { d, state } = await fresh();
    const v = d.verifier(state);
    const cp = await v.checkpoint();
    assert.equal(cp.relation, 'same');
    const { check } = await fetchEvidenceBundle(d.client(), {
      logType: 'UserActivityLog',
      from: new Date(T0).toISOString(),
      to: new Date(T0 + 3_600_000).toISOString(),
    });
    assert.equal(check.complete, true);
    assert.ok(check.entries > 0);
    const served = await d.client().servedWindow({ logType: 'AccessLog', fromDateTime: new Date(T0).toISOString(), limit: 100 });
    const included = await v.proveIncluded(
      cp.checkpoint,
      served.map((s) => ({ logType: 'AccessLog', entry: s.entry, leafIndex: s.leafIndex! })),
    );
    assert.equal(included.proven.length, 300);
  });

  it("another tenant's access key: the 404 says the key may belong to another tenant", async () => {
    const { d } = await fresh();
    const other = await d.otherTenantKey();
    const client = new TlogClient({
      baseUrl: d.url,
      accessKey: other.key.accessKey,
      secret: other.key.secret,
      tenantId: d.tenantId,
      requestsPerSecond: 0,
      retry: { retries: 0 },
    });
    const hint = `; the verifiable log endpoints answer 404 for any tenant but the credentials' own: the access key or token may belong to another tenant than ${d.tenantId}`;
    for (const run of [() => new LogVerifier({ client }).checkpoint(), () => client.checkpointNote(), () => fetchEvidenceBundle(client, WINDOW)]) {
      await assert.rejects(run(), (err: Error & { code?: string; status?: number }) => {
        assert.equal(err.code, 'not_found');
        assert.equal(err.status, 404);
        assert.match(err.message, new RegExp(`^HTTP 404: no verifiable log of tenant "${d.tenantId}" \\(requestId [^)]+\\)`));
        assert.ok(err.message.includes(hint), err.message);
        return true;
      });
    }
  });

  it("an entry's text edited in the database, its idempotency key made to match", async () => {
    const { d, state } = await fresh();
    let seq = 0;
    await d.tamper((db, tid) => {
      seq = db.prepare('SELECT seq FROM entries WHERE tid = ? AND body LIKE \'%"i":7,%\'').pluck().get(tid) as number;
      assert.equal(db.prepare(`UPDATE entries SET body = replace(body, '"i":7,', '"i":8,') WHERE seq = ?`).run(seq).changes, 1);
      keyAsStored(db, tid, seq);
    });
    const proof = await d.verifier(state).proveWindow(WINDOW);
    assert.equal(proof.complete, false);
    assert.equal(proof.unexpected.length, 1);
    assert.match(proof.unexpected[0]!.reason, /^its text differs from what leaf 7 logged .*: the entry was altered after it was logged$/);
    // Served altered, not hidden: reported once.
    assert.deepEqual(proof.hidden, []);
  });

  it("an entry's text edited in the database alone is refused by the server, never served", async () => {
    const { d, state } = await fresh();
    await d.tamper((db, tid) => {
      assert.equal(
        db.prepare(`UPDATE entries SET body = replace(body, '"i":7,', '"i":8,') WHERE tid = ? AND body LIKE '%"i":7,%'`).run(tid).changes,
        1,
      );
    });
    await assert.rejects(d.verifier(state).proveWindow(WINDOW), /HTTP 500: Internal server error/);
  });

  it('an entry deleted from the database', async () => {
    const { d, state } = await fresh();
    await d.tamper((db, tid) => {
      assert.equal(db.prepare('DELETE FROM entries WHERE tid = ? AND body LIKE \'%"i":42,%\'').run(tid).changes, 1);
    });
    const proof = await d.verifier(state).proveWindow(WINDOW);
    assert.equal(proof.complete, false);
    assert.deepEqual(
      proof.hidden.map((h) => h.leafIndex),
      [42],
    );
    assert.equal(proof.unexpected.length, 0);
  });

  it('an entry inserted into the database', async () => {
    const { d, state } = await fresh();
    await d.tamper((db, tid) => {
      const { lastInsertRowid } = db
        .prepare(
          `INSERT INTO entries (tid, type_id, event_time, key, body)
           SELECT tid, type_id, event_time, randomblob(32), replace(body, '"i":5,', '"i":5000,') FROM entries WHERE tid = ? AND body LIKE '%"i":5,%'`,
        )
        .run(tid);
      keyAsStored(db, tid, Number(lastInsertRowid));
    });
    const proof = await d.verifier(state).proveWindow(WINDOW);
    assert.equal(proof.complete, false);
    assert.equal(proof.hidden.length, 0);
    assert.equal(proof.unexpected.length, 1);
    assert.match(proof.unexpected[0]!.reason, /no AccessLog leaf of the window has this eventTime and text: the entry was altered or never logged/);
  });

  it('a checkpoint re-signed for a rewritten history (fork)', async () => {
    const { d, state } = await fresh();
    // The operator rewrites leaf 3 and signs the rewritten tree of the same size with the log's own key.
    const leaves = decodeEntryBundle(await d.client().entryBundle(0, 256)).map((l) => new TextDecoder().decode(l));
    const rest = decodeEntryBundle(await d.client().entryBundle(1, 244)).map((l) => new TextDecoder().decode(l));
    const forged = new MemoryTree();
    for (const [i, l] of [...leaves, ...rest].entries()) await forged.append(i === 3 ? l.replace('AccessLog', 'UserCallPlay') : l);
    const rootHash = await forged.root();
    await d.tamper((db, tid) => {
      const secret = db.prepare("SELECT value FROM secrets WHERE name = 'tlog-signing-secret'").pluck().get() as string;
      const { origin, note } = lastCheckpoint(db, tid);
      assert.ok(note.includes('\n500\n'));
      const signed = signCheckpoint({ origin, size: 500, rootHash, extensions: [] }, deriveTenantSigner(secret, origin));
      db.prepare('UPDATE tree_checkpoints SET note = ? WHERE tid = ? AND size = 500').run(signed, tid);
    });
    await rejects(d.verifier(state).checkpoint(), 'fork', /^fork: two different trees of size 500 are signed by the log's key/);
  });

  it('a rollback to an older tree', async () => {
    const { d, state } = await fresh();
    await d.tamper((db, tid) => {
      db.prepare('DELETE FROM tree_checkpoints WHERE tid = ? AND size > 300').run(tid);
    });
    await rejects(
      d.verifier(state).checkpoint(),
      'rollback',
      /^rollback: the log now shows a signed tree of size 300 .* smaller than the tree of size 500/,
    );
  });

  it('a flipped bit in an entry text, a stored leaf record, a stored high hash or the checkpoint is detected', async () => {
    const { d, state } = await fresh();
    const targets = ['entry', 'record', 'high', 'checkpoint'] as const;
    const bundle0 = Buffer.from(await d.client().entryBundle(0, 256));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...targets), fc.nat(), fc.nat(7), async (target, at, bit) => {
        let restore: (db: Database.Database) => void = () => {};
        await d.tamper((db, tid) => {
          const flip = (b: Buffer) => {
            const copy = Buffer.from(b);
            copy[at % copy.length] = copy[at % copy.length]! ^ (1 << bit);
            return copy;
          };
          if (target === 'entry') {
            const row = db
              .prepare(
                'SELECT seq, body FROM entries WHERE tid = ? AND type_id = (SELECT type_id FROM log_types WHERE name = ?) ORDER BY seq LIMIT 1 OFFSET ?',
              )
              .get(tid, 'AccessLog', at % 300) as { seq: number; body: string };
            const bytes = flip(Buffer.from(row.body));
            db.prepare('UPDATE entries SET body = ? WHERE seq = ?').run(
              bytes.toString('latin1') === row.body ? bytes : bytes.toString('utf8'),
              row.seq,
            );
            restore = (db2) => db2.prepare('UPDATE entries SET body = ? WHERE seq = ?').run(row.body, row.seq);
          } else if (target === 'record') {
            const row = db.prepare('SELECT tile, records FROM tree_tiles WHERE tid = ? ORDER BY tile LIMIT 1').get(tid) as {
              tile: number;
              records: Buffer;
            };
            db.prepare('UPDATE tree_tiles SET records = ? WHERE tid = ? AND tile = ?').run(flip(row.records), tid, row.tile);
            restore = (db2) => db2.prepare('UPDATE tree_tiles SET records = ? WHERE tid = ? AND tile = ?').run(row.records, tid, row.tile);
          } else if (target === 'high') {
            const row = db.prepare('SELECT level, n, hash FROM tree_high WHERE tid = ? ORDER BY level, n LIMIT 1').get(tid) as {
              level: number;
              n: number;
              hash: Buffer;
            };
            db.prepare('UPDATE tree_high SET hash = ? WHERE tid = ? AND level = ? AND n = ?').run(flip(row.hash), tid, row.level, row.n);
            restore = (db2) =>
              db2.prepare('UPDATE tree_high SET hash = ? WHERE tid = ? AND level = ? AND n = ?').run(row.hash, tid, row.level, row.n);
          } else {
            const row = lastCheckpoint(db, tid);
            db.prepare('UPDATE tree_checkpoints SET note = ? WHERE tid = ? AND size = ?').run(
              flip(Buffer.from(row.note)).toString('latin1'),
              tid,
              row.size,
            );
            restore = (db2) => db2.prepare('UPDATE tree_checkpoints SET note = ? WHERE tid = ? AND size = ?').run(row.kept, tid, row.size);
          }
        });
        try {
          // A record stores the event time as a float64 of whole milliseconds: a flip in its
          // lowest mantissa bits is rounded away and leaves every served leaf as it was.
          // (A bundle the server fails to serve is not that case: verify must then fail.)
          const unchanged = await d
            .client()
            .entryBundle(0, 256)
            .then(
              (b) => Buffer.from(b).equals(bundle0),
              () => false,
            );
          if (target === 'record' && unchanged) return;
          let outcome: string;
          try {
            const proof = await d.verifier(state).proveWindow(WINDOW, { checkTiles: true, waitMs: 0 });
            outcome = proof.complete ? 'undetected' : 'incomplete';
          } catch (err) {
            outcome = err instanceof VerifyError ? err.code : `error: ${(err as Error).message}`;
          }
          assert.notEqual(outcome, 'undetected', `${target} byte ${at} bit ${bit}`);
        } finally {
          await d.tamper((db) => restore(db));
        }
      }),
      { numRuns: 16 },
    );
  });
});
