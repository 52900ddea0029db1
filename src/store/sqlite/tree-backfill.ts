/**
 * Building the trees of entries stored before the verifiable log existed (schema version 5):
 * per tenant, every entry stored up to the upgrade (`tree_backfill.through_seq`), hot or
 * sealed, becomes a leaf in sequence order — the order they were appended in — in chunks of
 * one write transaction each, through the same append path as new entries, each chunk signed.
 * It resumes where it stopped: a tenant's tree size says how many of its leaves exist, and
 * the order is the same at every run. The store opens only once every tree is built, so no
 * entry appended after the upgrade can take a leaf before an older one.
 */

import type Database from 'better-sqlite3';
import { wireTextDigest } from '../../tlog/entry-leaf.ts';
import type { LeafRecord } from '../tree-leaf-records.ts';
import type { TreeProgress } from '../tree-upgrade.ts';
import type { Owner, SegmentRow, Segments } from './segments.ts';
import type { SqliteTree } from './tree.ts';

/** Leaves appended per transaction. */
export const BACKFILL_CHUNK = 65_536;

/** Told after each chunk: leaves built so far and in all, for the tenant being built. */

interface Leaf {
  readonly seq: number;
  readonly record: LeafRecord;
}

export function backfillTrees(
  db: Database.Database,
  tree: SqliteTree,
  segments: Segments,
  ownerOf: (tid: number, typeId: number) => Owner,
  progress: TreeProgress | undefined,
  chunkSize = BACKFILL_CHUNK,
): void {
  const through = db.prepare<[], number>('SELECT through_seq FROM tree_backfill WHERE id = 1').pluck().get();
  if (through === undefined) return;
  const tenants = db
    .prepare<[number], [number, string]>(
      `SELECT t.tid, t.id FROM tenants t WHERE EXISTS (SELECT 1 FROM entries e WHERE e.tid = t.tid AND e.seq <= ?)
       OR EXISTS (SELECT 1 FROM segments s WHERE s.tid = t.tid) ORDER BY t.tid`,
    )
    .raw()
    .all(through);
  const hot = db
    .prepare<[number, number], [number, number, number, Buffer]>(
      'SELECT seq, type_id, event_time, CAST(body AS BLOB) FROM entries WHERE tid = ? AND seq <= ?',
    )
    .raw();
  const segs = db
    .prepare<[number], [number, number, number, number, number, number, number]>(
      'SELECT id, type_id, first_time, first_seq, last_time, last_seq, n FROM segments WHERE tid = ?',
    )
    .raw();
  const size = db.prepare<[number], number>('SELECT size FROM tree_heads WHERE tid = ?').pluck();

  for (const [tid, tenantId] of tenants) {
    // One snapshot: the sealer (of any process) moves entries from hot rows into segments.
    const leaves = db
      .transaction(() => {
        const out: Leaf[] = [];
        for (const [seq, typeId, timeMs, body] of hot.all(tid, through))
          out.push({ seq, record: { typeId, eventTimeMs: timeMs, digest: wireTextDigest(body) } });
        for (const [id, typeId, firstTime, firstSeq, lastTime, lastSeq, n] of segs.all(tid)) {
          const row: SegmentRow = { id, firstTime, firstSeq, lastTime, lastSeq, n };
          const seg = segments.decoded(ownerOf(tid, typeId), row);
          for (let i = 0; i < seg.count; i++) {
            const seq = seg.seq(i);
            if (seq <= through) out.push({ seq, record: { typeId, eventTimeMs: seg.timeMs(i), digest: wireTextDigest(seg.body(i)) } });
          }
        }
        return out.sort((a, b) => a.seq - b.seq);
      })
      .deferred();
    for (;;) {
      const done = db
        .transaction(() => {
          const at = size.get(tid) ?? 0;
          const chunk = leaves.slice(at, at + chunkSize);
          tree.append(
            tid,
            tenantId,
            chunk.map((l) => l.record),
            chunk.map((l) => l.seq),
          );
          return at + chunk.length;
        })
        .immediate();
      tree.committed();
      progress?.({ tenantId, done, total: leaves.length });
      if (done >= leaves.length) break;
    }
  }
  db.prepare('DELETE FROM tree_backfill').run();
}
