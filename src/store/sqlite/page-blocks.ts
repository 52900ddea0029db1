/**
 * Page blocks: the wire texts of consecutive entries of one tenant and type, stored together
 * (two hundred by default: a page of a hundred then lies in one block half of the time, in two
 * otherwise), so that a page is read as one or two stretches of bytes rather than row by row.
 * Reading a hundred rows costs several times reading the same bytes at once: each row is
 * stepped to, decoded and copied on its own, and rows lie spread over the table.
 *
 * A block's texts lie in the block file (block-file.ts), where a page is read with one or two
 * file reads of exactly its bytes; the database keeps each block's range of positions, where
 * each entry's text ends, and where the block lies in the file.
 *
 * Blocks are derived from `entries`, which stays the record: a block holds copies of texts and
 * can be dropped at any time. Each block covers the positions (event time, then sequence) in
 * `(after, last]`, where `after` is the last position of the block before it, and holds every
 * entry in that range. So:
 *   - an entry appended into a block's range (a late arrival) drops that block in the same
 *     transaction; the range is read from rows until the block is built again;
 *   - a block holding an entry above a reader's watermark is not used by that reader: every
 *     entry in the block was stored before the reader's snapshot, or the block is skipped;
 *   - a page continues from one block into the next only if the next one starts right where it
 *     ends; anywhere else (a gap, the newest entries not yet in a full block) rows take over.
 *
 * Blocks are built off the request path: `build` extends the chain over full runs of new
 * entries and fills gaps left by dropped blocks, a bounded number at a time.
 */
import type Database from 'better-sqlite3';
import { EMPTY_PAGE, joinPages, textWithRoom } from '../page.ts';
import type { Position, Resume, StoredPage } from '../store.ts';
import { BlockFile } from './block-file.ts';
import type { PageReader } from './page-reader.ts';

/** The position before every entry: the `after` of a chain's first block. */
const START: Position = { timeMs: Number.MIN_SAFE_INTEGER, seq: 0 };
const COMMA_BYTE = 0x2c;

/** (aTime, aSeq) < (bTime, bSeq) in page order. */
const precedes = (aTime: number, aSeq: number, bTime: number, bSeq: number) => aTime < bTime || (aTime === bTime && aSeq < bSeq);
/** `a` < `b` in page order. */
const before = (a: Position, b: Position) => precedes(a.timeMs, a.seq, b.timeMs, b.seq);

/**
 * A block's marks: for each entry, its event time, sequence and the end of its text in the
 * block's text (entries are joined by commas), three float64 values per entry.
 */
function encodeMarks(rows: readonly BlockRow[]): { marks: Buffer; text: Buffer } {
  const marks = new Float64Array(rows.length * 3);
  const text = Buffer.from(rows.map((r) => r[2]).join(','));
  let end = 0;
  rows.forEach(([time, seq, body], i) => {
    end += Buffer.byteLength(body) + (i > 0 ? 1 : 0);
    marks[i * 3] = time;
    marks[i * 3 + 1] = seq;
    marks[i * 3 + 2] = end;
  });
  return { marks: Buffer.from(marks.buffer), text };
}

function decodeMarks(buf: Buffer): Float64Array {
  // A value from SQLite owns its memory, so it is aligned; a copy makes sure.
  const own = buf.byteOffset % 8 === 0 ? buf : Buffer.from(buf);
  return new Float64Array(own.buffer, own.byteOffset, own.byteLength / 8);
}

/** [event_time, seq, body] */
type BlockRow = [number, number, string];
/** [after_time, after_seq, last_time, last_seq, max_seq, marks, at, bytes] */
type BlockRecord = [number, number, number, number, number, Buffer, number, number];

/** A stretch of the block file: one block's texts, or several adjacent blocks'. */
interface Span {
  at: number;
  bytes: number;
}

export interface PageBlocksOptions {
  /** The block file's path. */
  readonly file: string;
  /** Entries per block (the last blocks of a gap may hold fewer). */
  readonly entries?: number;
}

export class PageBlocks {
  readonly entries: number;
  private readonly file: BlockFile;
  private readonly q;

  constructor(
    db: Database.Database,
    private readonly rows: PageReader,
    options: PageBlocksOptions,
  ) {
    this.entries = options.entries ?? 200;
    this.file = new BlockFile(options.file);
    const cols = 'after_time, after_seq, last_time, last_seq, max_seq, marks, at, bytes';
    this.q = {
      // The block holding the entry right after a position, if any block ends beyond it.
      blockAfter: db
        .prepare<[number, number, number, number, number], BlockRecord>(
          `SELECT ${cols} FROM entry_blocks WHERE tid = ? AND type_id = ? AND last_time >= ? AND (last_time > ? OR last_seq > ?)
           ORDER BY last_time, last_seq LIMIT 1`,
        )
        .raw(),
      lastTime: db.prepare<[number, number], number | null>('SELECT max(last_time) FROM entry_blocks WHERE tid = ? AND type_id = ?').pluck(),
      covering: db
        .prepare<[number, number, number], [number, number, number, number, number]>(
          `SELECT rowid, after_time, after_seq, last_time, last_seq FROM entry_blocks WHERE tid = ? AND type_id = ? AND last_time > ?
           ORDER BY last_time, last_seq LIMIT 1`,
        )
        .raw(),
      drop: db.prepare<[number]>('DELETE FROM entry_blocks WHERE rowid = ?'),
      addGap: db.prepare<[number, number, number, number, number, number]>(
        `INSERT OR IGNORE INTO entry_block_gaps (tid, type_id, after_time, after_seq, until_time, until_seq)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      gaps: db
        .prepare<[number], [number, number, number, number, number, number]>(
          'SELECT tid, type_id, after_time, after_seq, until_time, until_seq FROM entry_block_gaps LIMIT ?',
        )
        .raw(),
      dropGap: db.prepare<[number, number, number, number]>(
        'DELETE FROM entry_block_gaps WHERE tid = ? AND type_id = ? AND after_time = ? AND after_seq = ?',
      ),
      chains: db.prepare<[], [number, number]>('SELECT DISTINCT tid, type_id FROM entry_counts').raw(),
      anyGap: db.prepare<[], number>('SELECT 1 FROM entry_block_gaps LIMIT 1').pluck(),
      // Entries after a position, counted up to a limit, through the page index alone.
      countAfter: db
        .prepare<[number, number, number, number, number, number], number>(
          `SELECT count(*) FROM (SELECT 1 FROM entries WHERE tid = ? AND type_id = ? AND event_time >= ? AND (event_time > ? OR seq > ?)
           ORDER BY event_time, seq LIMIT ?)`,
        )
        .pluck(),
      chainEnd: db
        .prepare<[number, number], [number, number]>(
          'SELECT last_time, last_seq FROM entry_blocks WHERE tid = ? AND type_id = ? ORDER BY last_time DESC, last_seq DESC LIMIT 1',
        )
        .raw(),
      tiedRows: db
        .prepare<[number, number, number, number, number], BlockRow>(
          'SELECT event_time, seq, body FROM entries WHERE tid = ? AND type_id = ? AND event_time = ? AND seq > ? ORDER BY seq LIMIT ?',
        )
        .raw(),
      laterRows: db
        .prepare<[number, number, number, number, number], BlockRow>(
          `SELECT event_time, seq, body FROM entries WHERE tid = ? AND type_id = ? AND event_time > ? AND event_time <= ?
           ORDER BY event_time, seq LIMIT ?`,
        )
        .raw(),
      add: db.prepare<[number, number, number, number, number, number, number, number, Buffer, number, number]>(
        `INSERT INTO entry_blocks (tid, type_id, after_time, after_seq, last_time, last_seq, max_seq, n, marks, at, bytes)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      committed: db.prepare<[], number>('SELECT size FROM block_file').pluck(),
      commit: db.prepare<[number]>('UPDATE block_file SET size = ?'),
      dropAll: db.prepare('DELETE FROM entry_blocks'),
      dropGaps: db.prepare('DELETE FROM entry_block_gaps'),
    };
  }

  /**
   * Drops the blocks whose ranges the given newly stored entries fall into. Call inside the
   * transaction that stored them (their sequences are above every block's).
   */
  invalidate(tid: number, typeId: number, times: readonly number[]): void {
    const lastTime = this.q.lastTime.get(tid, typeId);
    if (lastTime === null || lastTime === undefined) return;
    for (const t of times) {
      // A new entry (t, newest seq) lies in (after, last] exactly when after_time <= t < last_time;
      // blocks do not overlap, so only the first block ending after t can hold it.
      if (t >= lastTime) continue;
      const hit = this.q.covering.get(tid, typeId, t);
      if (!hit || hit[1] > t) continue;
      this.q.drop.run(hit[0]);
      this.q.addGap.run(tid, typeId, hit[1], hit[2], hit[3], hit[4]);
    }
  }

  /** Up to `limit` entries from `fromMs` on (below `toMs`); the store's snapshot bounds them. */
  firstPage(tid: number, typeId: number, fromMs: number, toMs: number, limit: number): StoredPage {
    return (
      this.read(tid, typeId, { timeMs: fromMs - 1, seq: Number.MAX_SAFE_INTEGER }, toMs, Number.MAX_SAFE_INTEGER, limit) ??
      this.rows.firstPage(tid, typeId, fromMs, toMs, limit)
    );
  }

  /** Up to `limit` entries after `after` in [fromMs, toMs), none above `watermark`. */
  nextPage(tid: number, typeId: number, after: Resume, fromMs: number, toMs: number, watermark: number, limit: number): StoredPage {
    const start: Position = after.timeMs >= fromMs ? after : { timeMs: fromMs - 1, seq: Number.MAX_SAFE_INTEGER };
    return (
      this.read(tid, typeId, start, toMs, watermark, limit) ?? this.rows.nextPage(tid, typeId, after, fromMs, toMs, watermark, limit)
    );
  }

  /**
   * The page after `from` as far as blocks hold it, continued from rows where they stop;
   * undefined when no block holds its first entry (the caller reads rows).
   */
  private read(tid: number, typeId: number, from: Position, toMs: number, watermark: number, limit: number): StoredPage | undefined {
    const spans: Span[] = [];
    let count = 0;
    let pos = from;
    for (;;) {
      // One block at a time: two at once, with a bound LIMIT, measured slower under load.
      const b = this.q.blockAfter.get(tid, typeId, pos.timeMs, pos.timeMs, pos.seq);
      if (!b || precedes(pos.timeMs, pos.seq, b[0], b[1]) || b[4] > watermark) break;
      const marks = decodeMarks(b[5]);
      const n = marks.length / 3;
      // The first entry after `pos`: binary search over the marks.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (precedes(pos.timeMs, pos.seq, marks[mid * 3]!, marks[mid * 3 + 1]!)) hi = mid;
        else lo = mid + 1;
      }
      let i = lo;
      while (i < n && count < limit && marks[i * 3]! < toMs) {
        i++;
        count++;
      }
      if (i > lo) {
        const start = lo === 0 ? 0 : marks[(lo - 1) * 3 + 2]! + 1;
        const span = { at: b[6] + start, bytes: marks[(i - 1) * 3 + 2]! - start };
        const last = spans[spans.length - 1];
        // Blocks written one after the other are one stretch of the file, comma included.
        if (last && last.at + last.bytes + 1 === span.at) last.bytes += 1 + span.bytes;
        else spans.push(span);
        pos = { timeMs: marks[(i - 1) * 3]!, seq: marks[(i - 1) * 3 + 1]! };
      }
      if (i < n) {
        // The page ends inside this block: it is full, or the query ends here.
        const more = count === limit && marks[i * 3]! < toMs;
        return this.page(spans, count, more ? { ...pos, tied: marks[i * 3] === pos.timeMs } : null);
      }
      if (count === limit) return this.page(spans, count, this.rows.following(tid, typeId, pos, toMs, watermark));
      pos = { timeMs: b[2], seq: b[3] };
    }
    if (count === 0) return undefined;
    const head = this.page(spans, count, { ...pos });
    return head && joinPages(head, this.rows.nextPage(tid, typeId, pos, Number.MIN_SAFE_INTEGER, toMs, watermark, limit - count));
  }

  /** The texts of `spans`, read from the block file; undefined if the file lacks them. */
  private page(spans: readonly Span[], count: number, next: Resume | null): StoredPage | undefined {
    if (count === 0) return EMPTY_PAGE;
    this.file.reopenIfReplaced();
    const { room, text } = textWithRoom(spans.reduce((n, s) => n + s.bytes, spans.length - 1));
    let at = 0;
    for (const s of spans) {
      if (at > 0) text[at++] = COMMA_BYTE;
      if (!this.file.read(text, at, s.at, s.bytes)) return undefined;
      at += s.bytes;
    }
    return { text, count, next, room };
  }

  /**
   * Builds up to `budget` blocks, in one write transaction: first over gaps left by dropped
   * blocks, then extending each chain over the entries after it while a full block's worth is
   * there. Returns the number of entries put in blocks (0: nothing to do).
   */
  build(db: Database.Database, budget: number): number {
    // Looked at first without the write lock: an idle store is never written to.
    if (!this.hasWork()) return 0;
    return db
      .transaction(() => {
        this.file.reopenIfReplaced();
        const lost = this.file.size() < this.q.committed.get()!;
        if (lost) {
          // The file lost committed texts (it was truncated or replaced): start over.
          this.q.dropAll.run();
          this.q.dropGaps.run();
        }
        this.file.begin();
        let done = 0;
        let blocks = 0;
        for (const [tid, typeId, afterTime, afterSeq, untilTime, untilSeq] of this.q.gaps.all(budget)) {
          const from: Position = { timeMs: afterTime, seq: afterSeq };
          const until: Position = { timeMs: untilTime, seq: untilSeq };
          for (let n; blocks < budget && (n = this.fillGap(tid, typeId, from, until)) > 0; blocks++) done += n;
        }
        for (const [tid, typeId] of this.q.chains.all()) {
          for (let n; blocks < budget && (n = this.extend(tid, typeId)) > 0; blocks++) done += n;
        }
        const end = this.file.flush();
        if (done > 0 || lost) this.q.commit.run(end);
        return done;
      })
      .immediate();
  }

  /** Whether `build` has anything to do: a file to start over, a gap, or a chain to extend. */
  private hasWork(): boolean {
    this.file.reopenIfReplaced();
    if (this.file.size() < this.q.committed.get()! || this.q.anyGap.get() !== undefined) return true;
    return this.q.chains.all().some(([tid, typeId]) => {
      const last = this.q.chainEnd.get(tid, typeId);
      const at: Position = last ? { timeMs: last[0], seq: last[1] } : START;
      return this.q.countAfter.get(tid, typeId, at.timeMs, at.timeMs, at.seq, this.entries)! >= this.entries;
    });
  }

  close(): void {
    this.file.close();
  }

  /**
   * One block over what is not yet covered of the gap (from, until]; 0 when it is all covered
   * again (its record is then dropped), else the entries blocked.
   */
  private fillGap(tid: number, typeId: number, from: Position, until: Position): number {
    // Step over the blocks already built into the gap (and any that covers its start).
    let at = from;
    let next: BlockRecord | undefined;
    while (before(at, until)) {
      next = this.q.blockAfter.get(tid, typeId, at.timeMs, at.timeMs, at.seq);
      if (!next || precedes(at.timeMs, at.seq, next[0], next[1])) break;
      at = { timeMs: next[2], seq: next[3] };
    }
    const blocked = before(at, until) ? this.add(tid, typeId, at, this.rowsAfter(tid, typeId, at, this.gapEnd(next, until))) : 0;
    if (blocked === 0) this.q.dropGap.run(tid, typeId, from.timeMs, from.seq);
    return blocked;
  }

  /** Where a gap's filling stops: at its end, or before the next block if that starts sooner. */
  private gapEnd(next: BlockRecord | undefined, until: Position): Position {
    const starts: Position | undefined = next && { timeMs: next[0], seq: next[1] };
    return starts && before(starts, until) ? starts : until;
  }

  /** One more block at the end of a chain, if a full block's worth of entries follows it. */
  private extend(tid: number, typeId: number): number {
    const last = this.q.chainEnd.get(tid, typeId);
    const at: Position = last ? { timeMs: last[0], seq: last[1] } : START;
    const rows = this.rowsAfter(tid, typeId, at, null);
    return rows.length < this.entries ? 0 : this.add(tid, typeId, at, rows);
  }

  /** Up to a block's worth of entries after `at`, none beyond `end` (inclusive) when given. */
  private rowsAfter(tid: number, typeId: number, at: Position, end: Position | null): BlockRow[] {
    const k = this.entries;
    const rows = this.q.tiedRows.all(tid, typeId, at.timeMs, at.seq, k);
    if (rows.length < k) rows.push(...this.q.laterRows.all(tid, typeId, at.timeMs, end ? end.timeMs : Number.MAX_SAFE_INTEGER, k - rows.length));
    return end ? rows.filter(([t, s]) => !precedes(end.timeMs, end.seq, t, s)) : rows;
  }

  private add(tid: number, typeId: number, after: Position, rows: readonly BlockRow[]): number {
    if (rows.length === 0) return 0;
    const [lastTime, lastSeq] = rows[rows.length - 1]!;
    const maxSeq = rows.reduce((m, r) => Math.max(m, r[1]), 0);
    const { marks, text } = encodeMarks(rows);
    const at = this.file.add(text);
    this.q.add.run(tid, typeId, after.timeMs, after.seq, lastTime, lastSeq, maxSeq, rows.length, marks, at, text.length);
    return rows.length;
  }
}
