/**
 * The `segments` table: reading sealed segments of one tenant and log type in page order,
 * checked and decoded (through the cache of decoded segments), and replacing them. A segment
 * row is never updated: a rewrite inserts new rows (new ids) and deletes the old ones.
 */
import type Database from 'better-sqlite3';
import type { SegmentCache } from '../segment-cache.ts';
import { type DecodedSegment, decodeSegment, encodeSegment, type SegmentEntry, type SegmentOwner } from '../segment-codec.ts';
import type { SegmentRef } from '../segment-pages.ts';
import type { Position, UserMatch } from '../store.ts';
import { type PostedSegment, postingsOf, segmentKeys, userKey } from '../user-filter.ts';

/** A segment's row without its data. */
export interface SegmentRow {
  readonly id: number;
  readonly firstTime: number;
  readonly firstSeq: number;
  readonly lastTime: number;
  readonly lastSeq: number;
  readonly n: number;
}

type Row = [id: number, firstTime: number, firstSeq: number, lastTime: number, lastSeq: number, n: number];
const toRow = ([id, firstTime, firstSeq, lastTime, lastSeq, n]: Row): SegmentRow => ({ id, firstTime, firstSeq, lastTime, lastSeq, n });
const COLUMNS = 'id, first_time, first_seq, last_time, last_seq, n';

/** Segment rows fetched at a time while a page needs more: a page of 100 spans one to three. */
const BATCH = 3;

/** A tenant and log type as the database numbers them, and as the segments name them. */
export interface Owner {
  readonly tid: number;
  readonly typeId: number;
  readonly names: SegmentOwner;
}

export class Segments {
  private readonly q;
  /**
   * Ids of the segments inserted by the write transaction under way. Should it roll back,
   * AUTOINCREMENT's counter rolls back with it and the next segments inserted get those ids:
   * what was decoded of them then must leave the cache (rolledBack), or a page would read one
   * segment for another.
   */
  private readonly inserted: number[] = [];

  constructor(
    db: Database.Database,
    private readonly cache: SegmentCache,
  ) {
    this.q = {
      after: db
        .prepare<[number, number, number, number, number, number], Row>(
          `SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? AND last_time >= ? AND (last_time > ? OR last_seq > ?)
           ORDER BY last_time, last_seq LIMIT CAST(? AS INTEGER)`,
        )
        .raw(),
      overlapping: db
        .prepare<[number, number, number], Row>(
          `SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? AND last_time >= ? ORDER BY last_time, last_seq`,
        )
        .raw(),
      before: db
        .prepare<[number, number, number, number, number], Row>(
          `SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? AND last_time <= ? AND (last_time < ? OR last_seq < ?)
           ORDER BY last_time DESC, last_seq DESC LIMIT 1`,
        )
        .raw(),
      newest: db
        .prepare<[number, number], Row>(
          `SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? ORDER BY last_time DESC, last_seq DESC LIMIT 1`,
        )
        .raw(),
      data: db.prepare<[number], Buffer>('SELECT data FROM segments WHERE id = ?').pluck(),
      insert: db.prepare<[number, number, number, number, number, number, number, number, Buffer]>(
        `INSERT INTO segments (tid, type_id, first_time, first_seq, last_time, last_seq, n, max_seq, data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      delete: db.prepare<[number]>('DELETE FROM segments WHERE id = ?'),
      // The user filter's postings (../user-filter.ts), segments joined by their last position.
      addPosting: db.prepare<[number, number, bigint, number, number, number]>(
        'INSERT OR REPLACE INTO segment_users (tid, type_id, user_key, last_time, last_seq, n) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      deletePosting: db.prepare<[number, number, bigint, number, number]>(
        'DELETE FROM segment_users WHERE tid = ? AND type_id = ? AND user_key = ? AND last_time = ? AND last_seq = ?',
      ),
      postedAfter: db
        .prepare<[number, number, bigint, number, number, number, number], [...Row, number]>(
          `SELECT s.id, s.first_time, s.first_seq, s.last_time, s.last_seq, s.n, p.n FROM segment_users p
           JOIN segments s ON s.tid = p.tid AND s.type_id = p.type_id AND s.last_time = p.last_time AND s.last_seq = p.last_seq
           WHERE p.tid = ? AND p.type_id = ? AND p.user_key = ? AND p.last_time >= ? AND (p.last_time > ? OR p.last_seq > ?)
           ORDER BY p.last_time, p.last_seq LIMIT CAST(? AS INTEGER)`,
        )
        .raw(),
      pending: db.prepare<[number], number>('SELECT id FROM segment_users_pending ORDER BY id LIMIT CAST(? AS INTEGER)').pluck(),
      pendingRow: db.prepare<[number], [number, number, ...Row]>(`SELECT tid, type_id, ${COLUMNS} FROM segments WHERE id = ?`).raw(),
      donePending: db.prepare<[number]>('DELETE FROM segment_users_pending WHERE id = ?'),
    };
  }

  /** Segment `row` of `owner`, checked and decoded (CorruptSegmentError when it fails its checks). */
  decoded(owner: Owner, row: SegmentRow): DecodedSegment {
    const key = `${owner.tid}/${owner.typeId}`;
    let seg = this.cache.get(row.id, key);
    if (seg === undefined) {
      const data = this.q.data.get(row.id);
      if (data === undefined) throw new Error(`segment ${row.id} vanished inside a transaction`);
      seg = decodeSegment(data, owner.names, row.id);
      this.cache.set(row.id, key, seg);
    }
    return seg;
  }

  /** The segments of `owner` whose last entry lies after `after`, in page order, each decoded when asked. */
  *after(owner: Owner, after: Position, toMs: number): Generator<SegmentRef> {
    let at = after;
    for (;;) {
      const rows = this.q.after.all(owner.tid, owner.typeId, at.timeMs, at.timeMs, at.seq, BATCH).map(toRow);
      for (const row of rows) {
        if (row.firstTime >= toMs) return;
        yield { firstTime: row.firstTime, firstSeq: row.firstSeq, decode: () => this.decoded(owner, row) };
      }
      if (rows.length < BATCH) return;
      const last = rows[rows.length - 1]!;
      at = { timeMs: last.lastTime, seq: last.lastSeq };
    }
  }

  /**
   * Segments holding any entry with `fromMs <= eventTime < toMs`, in page order. They are read
   * up to the first one that begins at or after `toMs`: segments of an owner never overlap, so
   * none after it holds such an entry. (Filtering on the first time in SQL instead made SQLite
   * walk the index to the end of the log: about 10 ms a first page of a range at the start of
   * ten million entries.)
   */
  overlapping(owner: Owner, fromMs: number, toMs: number): SegmentRow[] {
    const rows: SegmentRow[] = [];
    for (const r of this.q.overlapping.iterate(owner.tid, owner.typeId, fromMs)) {
      const row = toRow(r);
      if (row.firstTime >= toMs) break;
      rows.push(row);
    }
    return rows;
  }

  /** The first segment whose last entry lies after `at`. */
  firstAfter(owner: Owner, at: Position): SegmentRow | undefined {
    const r = this.q.after.get(owner.tid, owner.typeId, at.timeMs, at.timeMs, at.seq, 1);
    return r && toRow(r);
  }

  /** The segment before `segment` in page order (the last whose last entry precedes its last). */
  before(owner: Owner, segment: SegmentRow): SegmentRow | undefined {
    const r = this.q.before.get(owner.tid, owner.typeId, segment.lastTime, segment.lastTime, segment.lastSeq);
    return r && toRow(r);
  }

  newest(owner: Owner): SegmentRow | undefined {
    const r = this.q.newest.get(owner.tid, owner.typeId);
    return r && toRow(r);
  }

  /** Writes `entries` (in page order, not empty) as a new segment of `owner`. */
  insert(owner: Owner, entries: readonly SegmentEntry[]): void {
    const first = entries[0]!;
    const last = entries[entries.length - 1]!;
    let maxSeq = 0;
    for (const e of entries) if (e.seq > maxSeq) maxSeq = e.seq;
    const data = encodeSegment(owner.names, entries);
    const { lastInsertRowid } = this.q.insert.run(
      owner.tid,
      owner.typeId,
      first.timeMs,
      first.seq,
      last.timeMs,
      last.seq,
      entries.length,
      maxSeq,
      data,
    );
    this.inserted.push(Number(lastInsertRowid));
    this.addPostings(owner, last.timeMs, last.seq, postingsOf(entries));
  }

  /**
   * Deletes segment `row` of `owner` with its postings, and its decoding from the cache: every
   * rewrite (a seal extending the newest segment, late entries, a purge) deletes one, and
   * decoded segments that no longer exist would otherwise fill the cache's budget. (Should the
   * transaction roll back, the segment is only decoded again when next read.)
   */
  delete(owner: Owner, row: SegmentRow): void {
    for (const key of segmentKeys(this.decoded(owner, row))) this.q.deletePosting.run(owner.tid, owner.typeId, key, row.lastTime, row.lastSeq);
    this.q.delete.run(row.id);
    this.cache.forget(row.id);
  }

  /** After a write transaction that may have inserted segments committed. */
  committed(): void {
    this.inserted.length = 0;
  }

  /** After a write transaction that may have inserted segments rolled back: their ids will name other segments. */
  rolledBack(): void {
    for (const id of this.inserted) this.cache.forget(id);
    this.inserted.length = 0;
  }

  private addPostings(owner: Owner, lastTime: number, lastSeq: number, postings: Map<bigint, number>): void {
    for (const [key, n] of postings) this.q.addPosting.run(owner.tid, owner.typeId, key, lastTime, lastSeq, n);
  }

  /** The segments of `owner` holding entries of `match`, whose last entry lies after `after`, in page order. */
  *posted(owner: Owner, match: UserMatch, after: Position): Generator<PostedSegment> {
    const key = userKey(match.field, match.value);
    let at = after;
    for (;;) {
      const rows = this.q.postedAfter.all(owner.tid, owner.typeId, key, at.timeMs, at.timeMs, at.seq, 16);
      for (const [id, firstTime, firstSeq, lastTime, lastSeq, count, n] of rows) {
        const row: SegmentRow = { id, firstTime, firstSeq, lastTime, lastSeq, n: count };
        yield { firstTime, lastTime, n, decode: () => this.decoded(owner, row) };
      }
      if (rows.length < 16) return;
      const [, , , lastTime, lastSeq] = rows[rows.length - 1]!;
      at = { timeMs: lastTime, seq: lastSeq };
    }
  }

  /**
   * Indexes up to `batch` segments sealed before the user index existed (inside a write
   * transaction); returns how many were left to index before this call.
   */
  indexPending(batch: number, ownerOf: (tid: number, typeId: number) => Owner): number {
    const ids = this.q.pending.all(batch);
    for (const id of ids) {
      const r = this.q.pendingRow.get(id);
      if (r !== undefined) {
        const [tid, typeId, ...rest] = r;
        const row = toRow(rest as Row);
        const owner = ownerOf(tid, typeId);
        const seg = this.decoded(owner, row);
        const entries = [];
        for (let i = 0; i < seg.count; i++) entries.push({ body: seg.body(i) });
        this.addPostings(owner, row.lastTime, row.lastSeq, postingsOf(entries));
      }
      this.q.donePending.run(id);
    }
    return ids.length;
  }
}
