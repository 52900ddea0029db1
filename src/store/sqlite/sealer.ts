/**
 * The store's background work: sealing hot rows into compressed segments once they are older
 * than the seal age, and compacting late entries (those whose position falls inside an already
 * sealed range) into the segments they belong to. Started when the store opens, stopped when
 * it closes; it runs under steady ingest too, in bounded steps, each one write transaction:
 *
 *   1. take the oldest hot rows (by sequence) old enough to seal (or stored later than now: the
 *      clock was put back since), of one tenant and log type;
 *   2. for each, find the segment its position falls before (the first whose last entry lies
 *      after it); rows with none go at the newest end, with the newest segment if it is short;
 *   3. rewrite such a segment (one per step) merged with its rows, and every other hot row old
 *      enough that falls into it, as new segments (new ids); delete the old ones and the rows.
 *
 * Segments of one tenant and type therefore never overlap, every entry lives in exactly one
 * place at any commit, and what a rewrite replaces is freed in the same transaction (SQLite
 * reuses the pages; with incremental auto-vacuum, which new databases get, the sealer gives
 * them back to the file system as it goes).
 *
 * Several processes may seal one database: each step re-reads what it works on inside its
 * write transaction, so two sealers never rewrite the same thing twice.
 *
 * A group (tenant and type) whose data fails its checks (a corrupt segment, a hot row altered
 * where it is stored) is left unsealed and reported, and the steps go on past its rows: one
 * tenant's damaged data never keeps every other tenant's entries hot. It is tried again at the
 * next slice (each meeting after the first reported as a repeat).
 */
import type Database from 'better-sqlite3';
import { SEGMENT_BYTES, SEGMENT_ENTRIES, type SegmentEntry } from '../segment-codec.ts';
import { cutSegments, type HotEntry, mergeEntries, precedes } from '../segment-pages.ts';
import { type BackgroundErrorReporter, backgroundProblem, CorruptEntryError, CorruptSegmentError } from '../store.ts';
import type { HotRowCheck } from './hot-rows.ts';
import type { Owner, SegmentRow, Segments } from './segments.ts';

/**
 * Hot rows looked at per step: about one segment's worth, so that a step (one write
 * transaction, compressing what it seals) holds the event loop about 10 ms, not 40. Rows are
 * read until they hold SEGMENT_BYTES of text too (at least one row), so a step over entries of
 * megabytes each holds one segment's worth of them, not 256.
 */
const STEP_ROWS = SEGMENT_ENTRIES;
/** Segments rewritten per step at most (each with the late entries that fall into it). */
const STEP_SEGMENTS = 1;
/** Late hot rows merged into one segment per step at most. */
const LATE_ROWS_PER_SEGMENT = SEGMENT_ENTRIES;
/** Time one slice of background work may hold the event loop before yielding. */
const SLICE_MS = 25;
/** Free pages the sealer lets accumulate before handing them back to the file system. */
const FREE_PAGES_KEPT = 256;
/**
 * Free pages handed back by one `incremental_vacuum` (its own write transaction). Handing a page
 * back moves the file's last page into a free slot, and in a large file with a small page cache
 * that is slow (about 600 pages/s measured on a 10 GB file): one unbounded call after sealing a
 * large backlog held the write lock for tens of minutes and grew the WAL by gigabytes.
 */
const VACUUM_PAGES_PER_CALL = 64;

export interface SealerOptions {
  /** Hot rows stored longer ago than this are sealed. */
  readonly sealAgeMs: number;
  /** How often the background looks for work when it found none. */
  readonly intervalMs: number;
  readonly now: () => number;
  /** Told of a failure of background work, once per distinct failure while they repeat. */
  readonly report: BackgroundErrorReporter;
  /** Holds a hot row against its digest before it is sealed: a checksum must never vouch for altered text. */
  readonly check: HotRowCheck;
}

type HotRow = [seq: number, tid: number, typeId: number, timeMs: number, body: Buffer, storedAt: number];

const groupKey = (tid: number, typeId: number): string => `${tid}/${typeId}`;
const NO_GROUPS: ReadonlySet<string> = new Set();

/** A group left unsealed: the failure its data met, and the problem reported for it. */
interface Left {
  readonly err: CorruptSegmentError | CorruptEntryError;
  readonly problem: Error;
}

export class Sealer {
  private readonly q;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The last failure of background work (it retries at the next interval). */
  lastError: unknown = undefined;
  /** The group of the step under way (`tid/typeId`), to leave it out when its data fails its checks. */
  private working: string | undefined;
  /** Damaged data already reported, by group and what failed: meeting it again is a repeat. */
  private readonly damaged = new Set<string>();

  constructor(
    private readonly db: Database.Database,
    private readonly segments: Segments,
    private readonly ownerOf: (tid: number, typeId: number) => Owner,
    private readonly options: SealerOptions,
  ) {
    this.q = {
      oldest: db
        .prepare<[number], HotRow>(
          'SELECT seq, tid, type_id, event_time, CAST(body AS BLOB), stored_at FROM entries ORDER BY seq LIMIT CAST(? AS INTEGER)',
        )
        .raw(),
      // The same but for the rows of the groups left unsealed (a JSON array of `tid/typeId`):
      // their texts are passed over inside SQLite, never read out.
      oldestPast: db
        .prepare<[string, number], HotRow>(
          `SELECT seq, tid, type_id, event_time, CAST(body AS BLOB), stored_at FROM entries
           WHERE NOT EXISTS (SELECT 1 FROM json_each(?) j WHERE j.value = tid || '/' || type_id)
           ORDER BY seq LIMIT CAST(? AS INTEGER)`,
        )
        .raw(),
      inRange: db
        .prepare<[number, number, number, number, number], [seq: number, timeMs: number, body: Buffer, storedAt: number]>(
          `SELECT seq, event_time, CAST(body AS BLOB), stored_at FROM entries
           WHERE tid = ? AND type_id = ? AND event_time >= ? AND event_time <= ? ORDER BY event_time, seq LIMIT CAST(? AS INTEGER)`,
        )
        .raw(),
      deleteRow: db.prepare<[number]>('DELETE FROM entries WHERE seq = ?'),
      freePages: db.prepare<[], number>('PRAGMA freelist_count').pluck(),
      autoVacuum: db.prepare<[], number>('PRAGMA auto_vacuum').pluck(),
    };
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.options.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.slice(), ms);
    this.timer.unref();
  }

  /**
   * Steps for up to SLICE_MS, then yields: when work remains, for a quarter of the time it took
   * (requests waiting meanwhile get the event loop for a few turns, not one), after the interval
   * otherwise.
   */
  private slice(): void {
    if (this.stopped || !this.db.open) return;
    const started = performance.now();
    let more = false;
    const left: Left[] = [];
    const passed = new Set<string>();
    try {
      while ((more = this.stepPast(this.options.now(), passed, left) > 0) && performance.now() - started < SLICE_MS);
      this.giveBackSpace();
      this.lastError = left[0]?.problem;
    } catch (err) {
      // Retried at the next interval; a retry failing the same way is reported as a repeat.
      const problem = backgroundProblem(err, 'sealing failed, retrying');
      this.options.report(problem, this.lastError instanceof Error && this.lastError.message === problem.message);
      this.lastError = problem;
      more = false;
    }
    this.schedule(more ? Math.max(1, Math.round((performance.now() - started) / 4)) : this.options.intervalMs);
  }

  /**
   * Seals and compacts everything there is, however recent; returns the entries sealed. A group
   * whose data fails its checks is left unsealed, the others sealed, and then the first such
   * failure is thrown.
   */
  settle(): number {
    let total = 0;
    const left: Left[] = [];
    const passed = new Set<string>();
    for (let n; (n = this.stepPast(Number.POSITIVE_INFINITY, passed, left)) > 0; ) total += n;
    this.giveBackSpace(Number.POSITIVE_INFINITY);
    if (left.length > 0) throw left[0]!.err;
    return total;
  }

  /**
   * A step leaving out the groups in `passed`; a group whose data fails its checks in it is
   * reported (once; a repeat after), added to `passed` and its failure to `left`, and the step
   * is taken again without it.
   */
  private stepPast(nowMs: number, passed: Set<string>, left: Left[]): number {
    for (;;) {
      try {
        return this.step(nowMs, passed);
      } catch (err) {
        const group = this.working;
        if (!(err instanceof CorruptSegmentError || err instanceof CorruptEntryError) || group === undefined || passed.has(group)) throw err;
        const [tid, typeId] = group.split('/');
        const problem = backgroundProblem(err, `sealing tenant ${tid}, log type ${typeId} stopped (left unsealed)`);
        const key = `${group}/${err instanceof CorruptSegmentError ? (err.segmentId ?? '?') : err.message}`;
        this.options.report(problem, this.damaged.has(key));
        this.damaged.add(key);
        passed.add(group);
        left.push({ err, problem });
      }
    }
  }

  /**
   * giveBackSpace after a purge step has committed: a failure (the file busy, the disk failing)
   * is reported, not thrown, because the step's receipt must still reach its caller (it is
   * written into the tenant's log next); the sealer's next slice gives the space back.
   */
  giveBackPurgedSpace(): void {
    try {
      this.giveBackSpace();
    } catch (err) {
      this.options.report(backgroundProblem(err, 'giving back the space of purged entries failed (retried by the sealer)'), false);
    }
  }

  /**
   * With incremental auto-vacuum, returns free pages beyond a reserve to the file system, a few
   * at a time (each call its own short write transaction, so writers and the WAL checkpoint get
   * in between), for up to `budgetMs` (at least one call). Returns the pages given back.
   */
  giveBackSpace(budgetMs = SLICE_MS): number {
    if (this.q.autoVacuum.get() !== 2) return 0;
    const started = performance.now();
    let given = 0;
    for (let free = this.q.freePages.get()!; free > FREE_PAGES_KEPT; free = this.q.freePages.get()!) {
      const pages = Math.min(VACUUM_PAGES_PER_CALL, free - FREE_PAGES_KEPT / 2);
      this.db.pragma(`incremental_vacuum(${pages})`);
      given += pages;
      if (performance.now() - started >= budgetMs) break;
    }
    return given;
  }

  /**
   * One step at `nowMs`: seals hot rows ripe then (`ripe`), of the tenant and type of the oldest
   * such row not of a group in `passed`. Returns the rows sealed; 0 when there was nothing to seal.
   */
  step(nowMs: number, passed: ReadonlySet<string> = NO_GROUPS): number {
    this.working = undefined;
    try {
      const sealed = this.db.transaction(() => this.stepInTransaction(nowMs, passed)).immediate();
      this.segments.committed();
      return sealed;
    } catch (err) {
      this.segments.rolledBack();
      throw err;
    }
  }

  /** The oldest hot rows, at most STEP_ROWS, but for those of the groups in `passed`. */
  private *oldestRows(passed: ReadonlySet<string>): IterableIterator<HotRow> {
    if (passed.size === 0) {
      yield* this.q.oldest.iterate(STEP_ROWS);
      return;
    }
    yield* this.q.oldestPast.iterate(JSON.stringify([...passed]), STEP_ROWS);
  }

  /**
   * Whether a row stored at `storedAt` is sealed at `nowMs`: stored at least the seal age ago,
   * or later than `nowMs`. A row stored later than now was stored before the clock was put back
   * (NTP stepping it, a clock set right after running ahead): its age is unknown, and waiting for
   * the clock to reach it again would keep it, and every row stored after it, hot for as long as
   * the clock had been ahead.
   */
  private ripe(storedAt: number, nowMs: number): boolean {
    return storedAt <= nowMs - this.options.sealAgeMs || storedAt > nowMs;
  }

  private stepInTransaction(nowMs: number, passed: ReadonlySet<string>): number {
    const rows = firstRows(this.oldestRows(passed), (r) => r[4].length);
    const first = rows[0];
    if (first === undefined) return 0;
    const [, tid, typeId, , , firstStoredAt] = first;
    if (!this.ripe(firstStoredAt, nowMs)) return 0;
    this.working = groupKey(tid, typeId);
    const owner = this.ownerOf(tid, typeId);
    const mine: HotEntry[] = [];
    const seqs: number[] = [];
    for (const [seq, rowTid, rowTypeId, timeMs, body, storedAt] of rows) {
      if (!this.ripe(storedAt, nowMs)) break;
      if (rowTid !== tid || rowTypeId !== typeId) continue;
      this.options.check(tid, owner.names.logType, timeMs, seq, body);
      mine.push({ seq, timeMs, body });
    }
    mine.sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq);

    // Rows by the segment they fall before (late entries), and those after every segment.
    const into: { segment: SegmentRow; rows: HotEntry[] }[] = [];
    const newest: HotEntry[] = [];
    for (const row of mine) {
      const current = into[into.length - 1];
      if (current && precedes(row.timeMs, row.seq, current.segment.lastTime, current.segment.lastSeq)) {
        current.rows.push(row);
        continue;
      }
      const segment = this.segments.firstAfter(owner, row);
      if (segment === undefined) {
        newest.push(row);
        continue;
      }
      if (into.length === STEP_SEGMENTS) continue; // the next step takes it
      into.push({ segment, rows: [row] });
    }

    for (const { segment, rows: late } of into) {
      // Every hot row old enough that falls into this segment goes with these: late entries
      // spread over a sealed range would otherwise rewrite each segment once per step.
      const more = this.lateRowsOf(owner, segment, nowMs, new Set(late.map((r) => r.seq)));
      const all = more.length === 0 ? late : [...late, ...more].sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq);
      this.replace(owner, [segment], all, 'even');
      seqs.push(...all.map((r) => r.seq));
    }
    if (newest.length > 0) {
      // The newest segment is extended while it is short, so a trickle of entries does not
      // leave a trail of tiny segments.
      const tail = this.segments.newest(owner);
      const short = tail && tail.n < SEGMENT_ENTRIES && this.segments.decoded(owner, tail).text.length < SEGMENT_BYTES;
      this.replace(owner, short ? [tail] : [], newest, 'fill');
      seqs.push(...newest.map((r) => r.seq));
    }
    for (const seq of seqs) this.q.deleteRow.run(seq);
    return seqs.length;
  }

  /**
   * Hot rows of `owner` ripe at `nowMs` whose position falls into `segment` (after the segment
   * before it, not after its last entry), other than those in `taken`; at most
   * LATE_ROWS_PER_SEGMENT.
   */
  private lateRowsOf(owner: Owner, segment: SegmentRow, nowMs: number, taken: ReadonlySet<number>): HotEntry[] {
    const prev = this.segments.before(owner, segment);
    const out: HotEntry[] = [];
    const rows = this.q.inRange.iterate(owner.tid, owner.typeId, prev?.lastTime ?? Number.MIN_SAFE_INTEGER, segment.lastTime, LATE_ROWS_PER_SEGMENT);
    for (const [seq, timeMs, body, storedAt] of firstRows(rows, (r) => r[2].length)) {
      if (!this.ripe(storedAt, nowMs) || taken.has(seq)) continue;
      if (prev && !precedes(prev.lastTime, prev.lastSeq, timeMs, seq)) continue;
      if (precedes(segment.lastTime, segment.lastSeq, timeMs, seq)) continue;
      this.options.check(owner.tid, owner.names.logType, timeMs, seq, body);
      out.push({ seq, timeMs, body });
    }
    return out;
  }

  /** Writes `old` segments merged with `rows` as new segments, and deletes the old ones. */
  private replace(owner: Owner, old: readonly SegmentRow[], rows: readonly HotEntry[], how: 'fill' | 'even'): void {
    const merged: SegmentEntry[] = mergeEntries(
      old.map((s) => this.segments.decoded(owner, s)),
      rows,
    );
    for (const s of old) this.segments.delete(owner, s);
    for (const part of cutSegments(merged, SEGMENT_ENTRIES, SEGMENT_BYTES, how)) this.segments.insert(owner, part);
  }
}

/** The first `rows` up to SEGMENT_BYTES of text (`bytes` of each), at least one; the rest are not read. */
function firstRows<R>(rows: IterableIterator<R>, bytes: (row: R) => number): R[] {
  const out: R[] = [];
  let total = 0;
  for (const row of rows) {
    out.push(row);
    total += bytes(row);
    if (total >= SEGMENT_BYTES) break;
  }
  return out;
}
