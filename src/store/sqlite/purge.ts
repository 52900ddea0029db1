/**
 * The SQLite store's purge step (Store.purge), run inside one write transaction: the entries
 * it picks (oldest first, outside every active hold) go from the hot rows and the segments (a
 * segment partly deleted is rewritten as a new segment, one wholly deleted is dropped), with
 * their idempotency keys and hourly tallies, and one deletion receipt leaf joins the tenant's
 * tree with its signed checkpoint. Their leaves stay in the tree. Freed pages are reused by
 * later writes; with incremental auto-vacuum the store hands them back to the file system
 * after the step (index.ts).
 */
import type Database from 'better-sqlite3';
import { entryKey } from '../../logs/entry.ts';
import { BucketTally } from '../count-plan.ts';
import { buildReceipt, emptyReceipt, firstInPageOrder, type PurgeCandidate } from '../purge-step.ts';
import { purgeableRanges } from '../retention-policy.ts';
import type { SegmentEntry } from '../segment-codec.ts';
import { before } from '../segment-pages.ts';
import type { PurgeReceipt } from '../store.ts';
import type { SqliteRetention } from './retention.ts';
import type { Owner, SegmentRow, Segments } from './segments.ts';
import type { SqliteTree } from './tree.ts';

interface Candidate extends PurgeCandidate {
  readonly body: string;
  /** The segment holding it; undefined for a hot row. */
  readonly segment?: SegmentRow;
}

export class SqlitePurge {
  private readonly q;

  constructor(
    db: Database.Database,
    private readonly segments: Segments,
    private readonly tree: SqliteTree,
    private readonly retention: SqliteRetention,
  ) {
    this.q = {
      hotIn: db
        .prepare<[number, number, number, number, number], [number, number, string]>(
          'SELECT seq, event_time, body FROM entries WHERE tid = ? AND type_id = ? AND event_time >= ? AND event_time < ? ORDER BY event_time, seq LIMIT CAST(? AS INTEGER)',
        )
        .raw(),
      deleteRow: db.prepare<[number]>('DELETE FROM entries WHERE seq = ?'),
      deleteKey: db.prepare<[number, number, Buffer]>('DELETE FROM entry_keys WHERE tid = ? AND event_time = ? AND key = ?'),
      subCount: db.prepare<[number, number, number, number]>('UPDATE entry_counts SET n = n - ? WHERE tid = ? AND type_id = ? AND hour = ?'),
      dropEmptyCounts: db.prepare<[number, number]>('DELETE FROM entry_counts WHERE tid = ? AND type_id = ? AND n <= 0'),
    };
  }

  /** One step (inside a write transaction). */
  step(owner: Owner, beforeMs: number, limit: number, nowMs: number): PurgeReceipt {
    const { tid, typeId } = owner;
    const { tenantId, logType } = owner.names;
    const picked = this.pick(owner, beforeMs, limit);
    if (picked.length === 0) return emptyReceipt(logType, nowMs);

    const bySegment = new Map<number, { row: SegmentRow; seqs: Set<number> }>();
    const tally = new BucketTally();
    for (const e of picked) {
      if (e.segment === undefined) this.q.deleteRow.run(e.seq);
      else {
        let s = bySegment.get(e.segment.id);
        if (s === undefined) bySegment.set(e.segment.id, (s = { row: e.segment, seqs: new Set() }));
        s.seqs.add(e.seq);
      }
      this.q.deleteKey.run(tid, e.timeMs, entryKey(logType, e.body));
      tally.add(typeId, e.timeMs);
    }
    for (const { row, seqs } of bySegment.values()) {
      const seg = this.segments.decoded(owner, row);
      const kept: SegmentEntry[] = [];
      for (let i = 0; i < seg.count; i++) {
        if (!seqs.has(seg.seq(i))) kept.push({ timeMs: seg.timeMs(i), seq: seg.seq(i), body: Buffer.from(seg.body(i)) });
      }
      this.segments.delete(owner, row);
      if (kept.length > 0) this.segments.insert(owner, kept);
    }
    for (const c of tally.entries()) this.q.subCount.run(c.n, tid, typeId, c.hour);
    this.q.dropEmptyCounts.run(tid, typeId);

    const leaves = this.tree.leafIndexes(
      tid,
      picked.map((e) => e.seq),
    );
    const { text, receipt } = buildReceipt(logType, picked, leaves, (ls) => this.tree.leafHashesAt(tid, ls), nowMs);
    const leafIndex = this.tree.appendReceipt(tid, tenantId, text, nowMs);
    return { ...receipt, leafIndex };
  }

  /** The first `limit` entries (page order) before `beforeMs` that no active hold covers. */
  private pick(owner: Owner, beforeMs: number, limit: number): Candidate[] {
    const picked: Candidate[] = [];
    for (const range of purgeableRanges(this.retention.active(owner.tid), owner.names.logType, beforeMs)) {
      const want = limit - picked.length;
      if (want <= 0) break;
      const hot: Candidate[] = this.q.hotIn
        .all(owner.tid, owner.typeId, range.fromMs, range.toMs, want)
        .map(([seq, timeMs, body]) => ({ seq, timeMs, body }));
      const sealed: Candidate[] = [];
      // Segments of a tenant and type never overlap: in page order, their entries are too.
      for (let at = before(range.fromMs); sealed.length < want; ) {
        const row = this.segments.firstAfter(owner, at);
        if (row === undefined || row.firstTime >= range.toMs) break;
        const seg = this.segments.decoded(owner, row);
        for (let i = 0; i < seg.count && sealed.length < want; i++) {
          const t = seg.timeMs(i);
          if (t >= range.fromMs && t < range.toMs) sealed.push({ timeMs: t, seq: seg.seq(i), body: seg.body(i).toString('utf8'), segment: row });
        }
        at = { timeMs: row.lastTime, seq: row.lastSeq };
      }
      picked.push(...firstInPageOrder(hot, sealed, want));
    }
    return picked;
  }
}
