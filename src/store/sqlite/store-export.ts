/**
 * Reading a whole SQLite store out (../store-transfer.ts) for `logwarden copy`. The export opens
 * only when no other connection has the database open (a running server would go on
 * acknowledging entries after the export read the store: they would be missing from the copy),
 * and holds the database exclusively (locking_mode EXCLUSIVE, BEGIN EXCLUSIVE) until `close`:
 * it reads one state, and no server or command can open the store meanwhile. Entries come from
 * the hot rows, each held against the key stored at its ingest, and from the sealed segments,
 * each checked as it is decoded.
 */
import type Database from 'better-sqlite3';
import type { AccessKeyRecord, Checkpoint, LegalHold, RetentionSettings, Tenant } from '../store.ts';
import {
  BATCH_BYTES,
  type CheckpointText,
  type EntryRow,
  type HighHashRow,
  type ReceiptText,
  type SeqRunRow,
  type StoreExport,
  type TenantExport,
  type TreeExport,
} from '../store-transfer.ts';
import { noteOfRow } from '../tree-checkpoint-rows.ts';
import type { LogKeys } from '../tree-keys.ts';
import { holdExclusively } from './exclusive.ts';
import type { HotRowCheck } from './hot-rows.ts';
import type { Owner, Segments } from './segments.ts';

const BATCH = 1000;

export interface SqliteExportParts {
  readonly db: Database.Database;
  readonly segments: Segments;
  readonly keys: LogKeys;
  readonly ownerOf: (tid: number, typeId: number) => Owner;
  /** Holds a hot row against the key stored at its ingest (hot-rows.ts): a damaged one is not copied as if it were sound. */
  readonly checkHot: HotRowCheck;
  readonly tenants: () => Tenant[];
  readonly accessKeys: (tenantId: string) => AccessKeyRecord[];
  readonly retention: (tid: number) => RetentionSettings;
  readonly holds: (tenantId: string) => LegalHold[];
  /** Stops the store's own background writes while the export runs, and starts them again. */
  readonly pause: () => void;
  readonly resume: () => void;
}

/** Rows of `read(after)` in keyset batches, `after` the key of the last row of the batch before. */
async function* batches<R, K>(read: (after: K) => R[], keyOf: (row: R) => K, start: K): AsyncGenerator<R[]> {
  for (let after = start; ; ) {
    const rows = read(after);
    if (rows.length > 0) yield rows;
    if (rows.length < BATCH) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}

export function exportSqliteStore(p: SqliteExportParts): StoreExport {
  const { db } = p;
  p.pause();
  try {
    holdExclusively(db);
  } catch (err) {
    p.resume();
    throw err;
  }
  let open = true;
  const q = {
    tid: db.prepare<[string], number>('SELECT tid FROM tenants WHERE id = ?').pluck(),
    secrets: db.prepare<[], { name: string; value: string }>('SELECT name, value FROM secrets ORDER BY name'),
    types: db.prepare<[], { type_id: number; name: string }>('SELECT type_id, name FROM log_types ORDER BY type_id'),
    lastSeq: db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").pluck(),
    counts: db.prepare<[number], { type_id: number; n: number }>('SELECT type_id, sum(n) AS n FROM entry_counts WHERE tid = ? GROUP BY type_id'),
    syncCheckpoints: db.prepare<[number], { source: string; log_type: string; through_ms: number; entries_seen: number; updated_at: string }>(
      'SELECT source, log_type, through_ms, entries_seen, updated_at FROM checkpoints WHERE tid = ? ORDER BY source, log_type',
    ),
    ownedTypes: db
      .prepare<[number, number], number>(
        'SELECT DISTINCT type_id FROM entries WHERE tid = ? UNION SELECT DISTINCT type_id FROM segments WHERE tid = ?',
      )
      .pluck(),
    hot: db.prepare<[number, number, number], { seq: number; type_id: number; event_time: number; body: Buffer }>(
      'SELECT seq, type_id, event_time, CAST(body AS BLOB) AS body FROM entries WHERE tid = ? AND seq > ? ORDER BY seq LIMIT CAST(? AS INTEGER)',
    ),
    size: db.prepare<[number], { size: number; partial: Buffer }>('SELECT size, partial FROM tree_heads WHERE tid = ?'),
    tiles: db.prepare<[number, number, number], { tile: number; records: Buffer }>(
      'SELECT tile, records FROM tree_tiles WHERE tid = ? AND tile > ? ORDER BY tile LIMIT CAST(? AS INTEGER)',
    ),
    high: db.prepare<[number, number, number, number, number], HighHashRow>(
      'SELECT level, n, hash FROM tree_high WHERE tid = ? AND (level > ? OR (level = ? AND n > ?)) ORDER BY level, n LIMIT CAST(? AS INTEGER)',
    ),
    runs: db.prepare<[number, number, number], { first_seq: number; first_leaf: number; n: number }>(
      'SELECT first_seq, first_leaf, n FROM tree_runs WHERE tid = ? AND first_seq > ? ORDER BY first_seq LIMIT CAST(? AS INTEGER)',
    ),
    receipts: db.prepare<[number, number, number], { leaf: number; text: string; trailed: number }>(
      'SELECT leaf, text, trailed FROM tree_receipts WHERE tid = ? AND leaf > ? ORDER BY leaf LIMIT CAST(? AS INTEGER)',
    ),
    origins: db.prepare<[number], { oid: number; origin: string }>('SELECT oid, origin FROM tree_origins WHERE tid = ? ORDER BY oid'),
    checkpoints: db.prepare<[number, number, number, number], { size: number; root: Buffer | null; sig: Buffer | null; note: string | null }>(
      'SELECT size, root, sig, note FROM tree_checkpoints WHERE tid = ? AND oid = ? AND size > ? ORDER BY size LIMIT CAST(? AS INTEGER)',
    ),
    latest: db.prepare<[number, string], { size: number; root: Buffer | null; sig: Buffer | null; note: string | null }>(
      `SELECT c.size, c.root, c.sig, c.note FROM tree_origins o JOIN tree_checkpoints c ON c.tid = o.tid AND c.oid = o.oid
       WHERE o.tid = ? AND o.origin = ? ORDER BY c.size DESC LIMIT 1`,
    ),
  };
  const typeNames = new Map(q.types.all().map((r) => [r.type_id, r.name] as const));
  const nameOf = (typeId: number): string => {
    const name = typeNames.get(typeId);
    if (name === undefined) throw new Error(`entries of unknown log type number ${typeId}`);
    return name;
  };
  const tidOf = (tenantId: string): number => {
    const tid = q.tid.get(tenantId);
    if (tid === undefined) throw new Error(`no tenant ${tenantId}`);
    return tid;
  };
  const lastSeq = q.lastSeq.get() ?? 0;

  const tenants: TenantExport[] = p.tenants().map((tenant) => {
    const tid = tidOf(tenant.id);
    const entryCounts: Record<string, number> = {};
    for (const c of q.counts.all(tid)) if (c.n > 0) entryCounts[nameOf(c.type_id)] = c.n;
    const syncCheckpoints: Checkpoint[] = q.syncCheckpoints.all(tid).map((r) => ({
      source: r.source,
      tenantId: tenant.id,
      logType: r.log_type,
      throughMs: r.through_ms,
      entriesSeen: r.entries_seen,
      updatedAt: r.updated_at,
    }));
    const origin = p.keys.origin(tenant.id);
    const row = q.latest.get(tid, origin);
    return {
      tenant,
      accessKeys: p.accessKeys(tenant.id),
      retention: p.retention(tid),
      holds: p.holds(tenant.id),
      syncCheckpoints,
      entryCounts,
      lastSeq,
      latest: row && { origin, size: row.size, note: noteOfRow(origin, row.size, row) },
      verifierKey: p.keys.verifierKey(tenant.id),
    };
  });

  async function* entries(tenantId: string): AsyncGenerator<EntryRow[]> {
    const tid = tidOf(tenantId);
    // Hot rows in batches of at most BATCH entries and BATCH_BYTES of text (one entry at least).
    for (let after = 0; ; ) {
      const out: EntryRow[] = [];
      let bytes = 0;
      for (const r of q.hot.iterate(tid, after, BATCH)) {
        const logType = nameOf(r.type_id);
        p.checkHot(tid, logType, r.event_time, r.seq, r.body);
        out.push({ logType, timeMs: r.event_time, seq: r.seq, body: r.body });
        bytes += r.body.length;
        if (bytes >= BATCH_BYTES) break;
      }
      if (out.length > 0) yield out;
      if (out.length < BATCH && bytes < BATCH_BYTES) break;
      after = out[out.length - 1]!.seq;
    }
    for (const typeId of q.ownedTypes.all(tid, tid)) {
      const owner = p.ownerOf(tid, typeId);
      const logType = nameOf(typeId);
      for (const row of p.segments.overlapping(owner, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)) {
        const seg = p.segments.decoded(owner, row);
        const out: EntryRow[] = [];
        // Bodies copied: a decoded segment's text may be dropped from the cache while they wait.
        for (let i = 0; i < seg.count; i++) out.push({ logType, timeMs: seg.timeMs(i), seq: seg.seq(i), body: Buffer.from(seg.body(i)) });
        yield out;
      }
    }
  }

  function tree(tenantId: string): TreeExport {
    const tid = tidOf(tenantId);
    const head = q.size.get(tid);
    const size = head?.size ?? 0;
    return {
      size,
      async *tiles() {
        yield* batches(
          (after: number) => q.tiles.all(tid, after, BATCH),
          (r) => r.tile,
          -1,
        );
        if (head && head.partial.length > 0) yield [{ tile: Math.floor(size / 256), records: head.partial }];
      },
      high: () =>
        batches(
          (after: { level: number; n: number }) => q.high.all(tid, after.level, after.level, after.n, BATCH),
          (r) => ({ level: r.level, n: r.n }),
          { level: -1, n: -1 },
        ),
      runs: () =>
        batches(
          (after: number): SeqRunRow[] => q.runs.all(tid, after, BATCH).map((r) => ({ firstSeq: r.first_seq, firstLeaf: r.first_leaf, n: r.n })),
          (r) => r.firstSeq,
          -1,
        ),
      receipts: () =>
        batches(
          (after: number): ReceiptText[] => q.receipts.all(tid, after, BATCH).map((r) => ({ leaf: r.leaf, text: r.text, trailed: r.trailed !== 0 })),
          (r) => r.leaf,
          -1,
        ),
      async *checkpoints() {
        for (const o of q.origins.all(tid)) {
          yield* batches(
            (after: number): CheckpointText[] =>
              q.checkpoints.all(tid, o.oid, after, BATCH).map((r) => ({ origin: o.origin, size: r.size, note: noteOfRow(o.origin, r.size, r) })),
            (r) => r.size,
            -1,
          );
        }
      },
    };
  }

  return {
    kind: 'sqlite',
    sharedSequences: true,
    secrets: q.secrets.all(),
    typeNames,
    tenants,
    entries,
    tree,
    async close() {
      if (!open) return;
      open = false;
      if (db.inTransaction) db.exec('ROLLBACK');
      db.pragma('locking_mode = NORMAL');
      p.resume();
    },
  };
}
