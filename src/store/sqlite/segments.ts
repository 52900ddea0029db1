/**
 * The `segments` table: reading sealed segments of one tenant and log type in page order,
 * checked and decoded (through the cache of decoded segments), and replacing them. A segment
 * row is never updated: a rewrite inserts new rows (new ids) and deletes the old ones.
 */
import type Database from 'better-sqlite3';
import type { SegmentCache } from '../segment-cache.ts';
import { type DecodedSegment, decodeSegment, encodeSegment, type SegmentEntry, type SegmentOwner } from '../segment-codec.ts';
import type { SegmentRef } from '../segment-pages.ts';
import type { Position } from '../store.ts';

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

  constructor(
    db: Database.Database,
    private readonly cache: SegmentCache,
  ) {
    this.q = {
      after: db
        .prepare<[number, number, number, number, number, number], Row>(
          `SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? AND last_time >= ? AND (last_time > ? OR last_seq > ?)
           ORDER BY last_time, last_seq LIMIT ?`,
        )
        .raw(),
      overlapping: db
        .prepare<[number, number, number, number], Row>(
          `SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? AND last_time >= ? AND first_time < ? ORDER BY last_time, last_seq`,
        )
        .raw(),
      newest: db
        .prepare<[number, number], Row>(`SELECT ${COLUMNS} FROM segments WHERE tid = ? AND type_id = ? ORDER BY last_time DESC, last_seq DESC LIMIT 1`)
        .raw(),
      data: db.prepare<[number], Buffer>('SELECT data FROM segments WHERE id = ?').pluck(),
      insert: db.prepare<[number, number, number, number, number, number, number, number, Buffer]>(
        `INSERT INTO segments (tid, type_id, first_time, first_seq, last_time, last_seq, n, max_seq, data)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      delete: db.prepare<[number]>('DELETE FROM segments WHERE id = ?'),
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

  /** Segments holding any entry with `fromMs <= eventTime < toMs`. */
  overlapping(owner: Owner, fromMs: number, toMs: number): SegmentRow[] {
    return this.q.overlapping.all(owner.tid, owner.typeId, fromMs, toMs).map(toRow);
  }

  /** The first segment whose last entry lies after `at`. */
  firstAfter(owner: Owner, at: Position): SegmentRow | undefined {
    const r = this.q.after.get(owner.tid, owner.typeId, at.timeMs, at.timeMs, at.seq, 1);
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
    this.q.insert.run(owner.tid, owner.typeId, first.timeMs, first.seq, last.timeMs, last.seq, entries.length, maxSeq, data);
  }

  delete(id: number): void {
    this.q.delete.run(id);
  }
}
