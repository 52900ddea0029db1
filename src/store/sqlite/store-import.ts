/**
 * Taking a whole store in (../store-transfer.ts) for `logwarden copy`: into an empty SQLite
 * store, in ONE write transaction, so an interrupted copy leaves the store as empty as it was
 * (and a rerun starts afresh), never a part that looks whole. Entries keep their sequences
 * (SQLite numbers every entry of the store in one series: a source numbering each tenant's
 * apart comes in only when no two of its tenants' entries have the same one, SequenceClashError
 * otherwise) and go in as hot rows, which the sealer seals afterwards; idempotency keys and the
 * hourly tallies are made from them as an append makes them. The tenants' trees come in as kept:
 * leaf records (their log type numbers renumbered), hashes, the sequence map, deletion receipts
 * and every signed checkpoint; nothing is signed here.
 */
import type Database from 'better-sqlite3';
import { entryKey } from '../../logs/entry.ts';
import { BucketTally } from '../count-plan.ts';
import { TENANT_DEFAULT } from '../retention-records.ts';
import {
  type ImportProgress,
  renumberLeafRecords,
  SequenceClashError,
  type StoreExport,
  TABLES_AN_IMPORT_NEEDS_EMPTY,
  TargetNotEmptyError,
  typeNumbering,
} from '../store-transfer.ts';
import { checkpointRow } from '../tree-checkpoint-rows.ts';
import { leafRecordCount } from '../tree-leaf-records.ts';

const TILE_WIDTH = 256;
/** Idempotency keys are kept to this many bytes of their digest (as index.ts keeps them). */
const KEY_BYTES = 16;

export async function importIntoSqlite(db: Database.Database, from: StoreExport, progress: ImportProgress = () => {}): Promise<void> {
  db.exec('BEGIN IMMEDIATE');
  try {
    refuseUnlessEmpty(db);
    await importAll(db, from, progress);
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

function refuseUnlessEmpty(db: Database.Database): void {
  for (const [table, what] of TABLES_AN_IMPORT_NEEDS_EMPTY) {
    if (db.prepare(`SELECT 1 FROM ${table} LIMIT 1`).get() !== undefined) throw new TargetNotEmptyError(`it already holds ${what}`);
  }
}

async function importAll(db: Database.Database, from: StoreExport, progress: ImportProgress): Promise<void> {
  const q = {
    dropSecrets: db.prepare('DELETE FROM secrets'),
    addSecret: db.prepare<[string, string]>('INSERT INTO secrets (name, value) VALUES (?, ?)'),
    addType: db.prepare<[string]>('INSERT INTO log_types (name) VALUES (?)'),
    typeId: db.prepare<[string], number>('SELECT type_id FROM log_types WHERE name = ?').pluck(),
    addTenant: db.prepare<[string, string, string, number | null, number | null, number | null]>(
      'INSERT INTO tenants (id, name, created_at, read_per_second, read_per_day, ingest_per_second) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    addKey: db.prepare<[string, number, Buffer, string, string, string | null, string | null, string | null]>(
      'INSERT INTO access_keys (access_key, tid, secret_hash, scopes, created_at, revoked_at, last_used_at, uses_recorded_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    ),
    addRetention: db.prepare<[number, string, number | null]>('INSERT INTO retention (tid, log_type, days) VALUES (?, ?, ?)'),
    addHold: db.prepare<
      [string, number, string | null, number | null, number | null, string, string, string, string | null, string | null, string | null]
    >(
      `INSERT INTO holds (id, tid, log_type, from_ms, to_ms, reason, created_at, created_by, released_at, released_by, release_reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    addSyncCheckpoint: db.prepare<[string, number, string, number, number, string]>(
      'INSERT INTO checkpoints (source, tid, log_type, through_ms, entries_seen, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    addEntry: db.prepare<[number, number, number, number, string]>(
      "INSERT INTO entries (seq, tid, type_id, event_time, key, body, stored_at) VALUES (?, ?, ?, ?, X'', ?, 0)",
    ),
    addEntryKey: db.prepare<[number, number, Buffer]>('INSERT INTO entry_keys (tid, event_time, key) VALUES (?, ?, ?)'),
    addCount: db.prepare<[number, number, number, number]>(
      'INSERT INTO entry_counts (tid, type_id, hour, n) VALUES (?, ?, ?, ?) ON CONFLICT (tid, type_id, hour) DO UPDATE SET n = n + excluded.n',
    ),
    addTile: db.prepare<[number, number, Buffer]>('INSERT INTO tree_tiles (tid, tile, records) VALUES (?, ?, ?)'),
    setHead: db.prepare<[number, number, Buffer]>('INSERT INTO tree_heads (tid, size, partial) VALUES (?, ?, ?)'),
    addHigh: db.prepare<[number, number, number, Buffer]>('INSERT INTO tree_high (tid, level, n, hash) VALUES (?, ?, ?, ?)'),
    addRun: db.prepare<[number, number, number, number]>('INSERT INTO tree_runs (tid, first_seq, first_leaf, n) VALUES (?, ?, ?, ?)'),
    addReceipt: db.prepare<[number, number, string, number]>('INSERT INTO tree_receipts (tid, leaf, text, trailed) VALUES (?, ?, ?, ?)'),
    addOrigin: db.prepare<[number, string]>('INSERT OR IGNORE INTO tree_origins (tid, origin) VALUES (?, ?)'),
    addCheckpoint: db.prepare<[number, Buffer | null, Buffer | null, string | null, number, string]>(
      'INSERT INTO tree_checkpoints (tid, oid, size, root, sig, note) SELECT tid, oid, ?, ?, ?, ? FROM tree_origins WHERE tid = ? AND origin = ?',
    ),
    tenantOfSeq: db.prepare<[number], string>('SELECT t.id FROM entries e JOIN tenants t ON t.tid = e.tid WHERE e.seq = ?').pluck(),
    setLastSeq: db.prepare<[number]>("UPDATE sqlite_sequence SET seq = ? WHERE name = 'entries'"),
    addLastSeq: db.prepare<[number]>(
      "INSERT INTO sqlite_sequence (name, seq) SELECT 'entries', ? WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'entries')",
    ),
  };

  // The source's secrets replace those this store made when it was opened (its own store id and signing secret).
  q.dropSecrets.run();
  for (const s of from.secrets) q.addSecret.run(s.name, s.value);
  for (const name of from.typeNames.values()) q.addType.run(name);
  const typeIds = new Map<string, number>();
  for (const name of from.typeNames.values()) typeIds.set(name, q.typeId.get(name)!);
  const targetType = typeNumbering(from, (name) => typeIds.get(name)!);

  let entries = 0;
  let leaves = 0;
  let lastSeq = 0;
  for (const t of from.tenants) {
    const { tenant } = t;
    const tid = Number(
      q.addTenant.run(tenant.id, tenant.name, tenant.createdAt, tenant.limits.readPerSecond, tenant.limits.readPerDay, tenant.limits.ingestPerSecond)
        .lastInsertRowid,
    );
    for (const k of t.accessKeys)
      q.addKey.run(k.accessKey, tid, k.secretHash, JSON.stringify(k.scopes), k.createdAt, k.revokedAt, k.lastUsedAt, k.usesRecordedSince);
    if (t.retention.tenantDays !== undefined) q.addRetention.run(tid, TENANT_DEFAULT, t.retention.tenantDays);
    for (const [logType, days] of Object.entries(t.retention.perType)) q.addRetention.run(tid, logType, days);
    for (const h of t.holds) {
      q.addHold.run(h.id, tid, h.logType, h.fromMs, h.toMs, h.reason, h.createdAt, h.createdBy, h.releasedAt, h.releasedBy, h.releaseReason);
    }
    for (const c of t.syncCheckpoints) q.addSyncCheckpoint.run(c.source, tid, c.logType, c.throughMs, c.entriesSeen, c.updatedAt);

    const tally = new BucketTally();
    for await (const batch of from.entries(tenant.id)) {
      for (const e of batch) {
        const typeId = typeIds.get(e.logType);
        if (typeId === undefined) throw new Error(`an entry of tenant ${tenant.id} has log type ${e.logType}, which the source does not list`);
        const body = e.body.toString('utf8');
        try {
          q.addEntry.run(e.seq, tid, typeId, e.timeMs, body);
        } catch (err) {
          if (from.sharedSequences || (err as { code?: unknown }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw err;
          throw new SequenceClashError(e.seq, [q.tenantOfSeq.get(e.seq) ?? '?', tenant.id]);
        }
        q.addEntryKey.run(tid, e.timeMs, entryKey(e.logType, body).subarray(0, KEY_BYTES));
        tally.add(typeId, e.timeMs);
      }
      entries += batch.length;
      progress({ entries, leaves });
    }
    for (const c of tally.entries()) q.addCount.run(tid, c.typeId, c.hour, c.n);

    const tree = from.tree(tenant.id);
    let partial: Buffer = Buffer.alloc(0);
    for await (const batch of tree.tiles()) {
      for (const tile of batch) {
        const records = renumberLeafRecords(tile.records, targetType);
        const n = leafRecordCount(records);
        if (n === TILE_WIDTH) q.addTile.run(tid, tile.tile, records);
        else if (tile.tile === Math.floor(tree.size / TILE_WIDTH) && n === tree.size % TILE_WIDTH) partial = records;
        else throw new Error(`tile ${tile.tile} of tenant ${tenant.id}'s tree holds ${n} leaves, which its size ${tree.size} does not allow`);
        leaves += n;
      }
      progress({ entries, leaves });
    }
    if (tree.size > 0) q.setHead.run(tid, tree.size, partial);
    for await (const batch of tree.high()) for (const h of batch) q.addHigh.run(tid, h.level, h.n, h.hash);
    for await (const batch of tree.runs()) for (const r of batch) q.addRun.run(tid, r.firstSeq, r.firstLeaf, r.n);
    for await (const batch of tree.receipts()) for (const r of batch) q.addReceipt.run(tid, r.leaf, r.text, r.trailed ? 1 : 0);
    for await (const batch of tree.checkpoints()) {
      for (const c of batch) {
        const row = checkpointRow(c.origin, c.size, c.note);
        q.addOrigin.run(tid, c.origin);
        q.addCheckpoint.run(c.size, row.root, row.sig, row.note, tid, c.origin);
      }
    }
    lastSeq = Math.max(lastSeq, t.lastSeq);
  }
  // Sequences go on from the source's last (cursors of the source carry watermarks up to it).
  if (q.setLastSeq.run(lastSeq).changes === 0) q.addLastSeq.run(lastSeq);
}
