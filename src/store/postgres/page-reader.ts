/**
 * Reads a page: the merge of sealed segments and hot rows after a position, entries above the
 * query's watermark left out.
 *
 * Each statement sees every committed entry exactly once (a seal moves rows in one
 * transaction), and every entry at or below a watermark was committed before the watermark was
 * read (a tenant's appends commit in sequence order, index.ts). So the entries at or below the
 * watermark in any key range are the same in every later snapshot, and a page may be stitched
 * from several statements, each covering a key range completely: one statement reads the next
 * few segments and the next hot rows, and covers the keys up to where the shorter of the two
 * lists ends. Segment bytes the cache holds are not sent again. Each hot row read comes with its
 * check (hot-rows.ts): one that fails it fails the page, none of its text served.
 *
 * A statement over the partitioned tables is planned anew at every run: a plan kept for it
 * would lock every month's partitions at each run (PostgreSQL 15 locks all of a kept plan's
 * partitions before it prunes), and planning over the months of its bounds cost PostgreSQL
 * about 0.27 ms of each page's 0.45. So a page within a month that has its own partitions is read
 * from them by name, in a statement whose plan each connection keeps (its first five runs
 * planned as usual); it covers the keys up to the month's end at most. Which months have
 * partitions is read every REFRESH_MS: a month attached since is read through the parents
 * meanwhile (as every month was), and a month dropped since (retention drops a month only once
 * it is empty) fails its statement, which is then run through the parents. A month that
 * holds nothing more of the page is passed over through the parents too, so empty months in a
 * range cost one statement, not one each.
 */
import type pg from 'pg';
import { corruptHotRow, hotKeyPrefix } from '../hot-rows.ts';
import { pageOfStretches } from '../page.ts';
import { type DecodedSegment, decodeSegment, type SegmentOwner } from '../segment-codec.ts';
import type { Position, StoredPage } from '../store.ts';
import { hotRowOk } from './hot-rows.ts';
import { attachedMonths, monthOf, monthStart, monthTable, nextMonthStart } from './migrations.ts';
import { type CachedSegment, compare, type SegmentCache, StaleSegmentError, sameAs } from './segment-cache.ts';

/**
 * Segments read per statement: one, since a segment holds more than a usual page and reading
 * more would send and decode segments the page does not reach; two when the first is cached
 * and the page runs past its end, which saves the second statement. Each count has its own
 * prepared statement with the count written in, so that neither is planned for an unknown limit.
 */
const SEGMENTS_PER_READ = 1;
const SEGMENTS_PER_CROSSING_READ = 2;
const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
const END: Position = { timeMs: Number.POSITIVE_INFINITY, seq: 0 };

const sqlFor = (segments: number): string => `
  SELECT id, first_time, last_time, last_seq, CASE WHEN id = ANY($8::int8[]) THEN NULL ELSE data END AS data,
         NULL::int8 AS seq, NULL::text AS body, NULL::boolean AS ok
  FROM (
    SELECT id, first_time, last_time, last_seq, data FROM segments
    WHERE tid = $1 AND type_id = $2 AND first_time >= $5 AND first_time < $6 AND last_time >= $3 AND (last_time, last_seq) > ($3, $4)
    ORDER BY last_time, last_seq LIMIT ${segments}
  ) s
  UNION ALL
  (SELECT NULL, event_time, NULL, NULL, NULL, seq, body, ${hotRowOk('$10', 'entries', { from: '$3', to: '$6' })} FROM entries
   WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND (event_time, seq) > ($3, $4) AND event_time < $6 AND seq <= $7
   ORDER BY event_time, seq LIMIT $9)`;
const SQL = { [SEGMENTS_PER_READ]: sqlFor(SEGMENTS_PER_READ), [SEGMENTS_PER_CROSSING_READ]: sqlFor(SEGMENTS_PER_CROSSING_READ) };

/**
 * The same over one month's partitions, named: no bounds on a segment's first time (the
 * partition holds only its month's), and a segment beginning at or after the query's end comes
 * without its bytes (`read` leaves it out). Parameters: tid, type id, the position (time,
 * sequence), the query's end, the watermark, cached segment ids, rows wanted, the key prefix.
 */
const monthSqlText = (segments: number, month: number): string => `
  SELECT id, first_time, last_time, last_seq, CASE WHEN id = ANY($7::int8[]) OR first_time >= $5 THEN NULL ELSE data END AS data,
         NULL::int8 AS seq, NULL::text AS body, NULL::boolean AS ok
  FROM (
    SELECT id, first_time, last_time, last_seq, data FROM ${monthTable('segments', month)}
    WHERE tid = $1 AND type_id = $2 AND last_time >= $3 AND (last_time, last_seq) > ($3, $4)
    ORDER BY last_time, last_seq LIMIT ${segments}
  ) s
  UNION ALL
  (SELECT NULL, event_time, NULL, NULL, NULL, seq, body, ${hotRowOk('$9', 'h', undefined, monthTable('entry_keys', month))} FROM ${monthTable('entries', month)} h
   WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND (event_time, seq) > ($3, $4) AND event_time < $5 AND seq <= $6
   ORDER BY event_time, seq LIMIT $8)`;

/** The statements of monthSqlText, made once each. */
const monthSql = new Map<string, string>();
function monthSqlFor(segments: number, month: number): string {
  const key = `${segments}/${month}`;
  let text = monthSql.get(key);
  if (text === undefined) monthSql.set(key, (text = monthSqlText(segments, month)));
  return text;
}

/** How long a reading of which months have partitions is used. */
const REFRESH_MS = 30_000;

/** PostgreSQL's code for a table that does not exist. */
const UNDEFINED_TABLE = '42P01';

/** The months with their own partitions, as last read: only which statement reads a page depends on it. */
class AttachedMonths {
  private months = new Set<number>();
  private readAtMs = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | null = null;

  constructor(private readonly pool: pg.Pool) {}

  async has(month: number): Promise<boolean> {
    if (performance.now() - this.readAtMs > REFRESH_MS) await (this.reading ??= this.read());
    return this.months.has(month);
  }

  forget(month: number): void {
    this.months.delete(month);
  }

  private async read(): Promise<void> {
    try {
      this.months = new Set(await attachedMonths(this.pool));
    } catch {
      // Read through the parents until the next try.
      this.months = new Set();
    } finally {
      this.readAtMs = performance.now();
      this.reading = null;
    }
  }
}

interface Row {
  id: string | null;
  first_time: string;
  last_time: string | null;
  last_seq: string | null;
  data: Buffer | null;
  seq: string | null;
  body: string | null;
  /** A hot row's check (hot-rows.ts); null for a segment. */
  ok: boolean | null;
}

export interface PageScope {
  readonly tid: number;
  readonly typeId: number;
  readonly owner: SegmentOwner;
  readonly fromMs: number;
  readonly toMs: number | null;
  readonly watermark: number;
}

/** An entry chosen for a page: a hot row's text, or entry `i` of a decoded segment. */
interface Picked {
  timeMs: number;
  seq: number;
  text?: Buffer;
  segment?: DecodedSegment;
  i?: number;
}

export class PageReader {
  private readonly months: AttachedMonths;

  constructor(
    private readonly pool: pg.Pool,
    private readonly cache: SegmentCache,
  ) {
    this.months = new AttachedMonths(pool);
  }

  async read(scope: PageScope, after: Position, limit: number): Promise<StoredPage> {
    try {
      return await this.readOnce(scope, after, limit);
    } catch (err) {
      if (!(err instanceof StaleSegmentError)) throw err;
      // The database was put back under this process: nothing cached holds.
      this.cache.clear();
      return this.readOnce(scope, after, limit);
    }
  }

  private async readOnce(scope: PageScope, after: Position, limit: number): Promise<StoredPage> {
    const want = limit + 1;
    const toMs = scope.toMs ?? NO_UPPER_BOUND;
    const picked: Picked[] = [];
    const prefix = hotKeyPrefix(scope.owner.logType);
    let pos = after;
    // Whether the next statement may read a month's partitions by name (see the top).
    let byMonth = true;
    while (picked.length < want) {
      const known = this.cache.after(scope.tid, scope.typeId, pos, SEGMENTS_PER_CROSSING_READ);
      const first = known[0]?.decoded;
      const crossing = first !== undefined && first.count - first.after(pos.timeMs, pos.seq) < want - picked.length;
      const reach = crossing ? SEGMENTS_PER_CROSSING_READ : SEGMENTS_PER_READ;
      const asked = want - picked.length;
      const ids = known.map((s) => s.id);
      const month = monthOf(pos.timeMs);
      let r: pg.QueryResult<Row> | undefined;
      // Covered by the statement at most: the month's end when it read only that month.
      let monthEnd: Position = END;
      if (byMonth && (await this.months.has(month))) {
        try {
          r = await this.pool.query<Row>({
            name: `lw_page_${reach}_m${month}`,
            text: monthSqlFor(reach, month),
            values: [scope.tid, scope.typeId, pos.timeMs, pos.seq, toMs, scope.watermark, ids, asked, prefix],
          });
          monthEnd = { timeMs: nextMonthStart(pos.timeMs), seq: 0 };
        } catch (err) {
          if ((err as { code?: unknown }).code !== UNDEFINED_TABLE) throw err;
          this.months.forget(month);
        }
      }
      r ??= await this.pool.query<Row>({
        name: `lw_page_${reach}`,
        text: SQL[reach]!,
        values: [scope.tid, scope.typeId, pos.timeMs, pos.seq, monthStart(pos.timeMs), toMs, scope.watermark, ids, asked, prefix],
      });
      const segments: DecodedSegment[] = [];
      const hot: Picked[] = [];
      let segmentsEnd: Position = END;
      let segmentRows = 0;
      const present = new Set<string>();
      for (const row of r.rows) {
        if (row.id === null) {
          if (row.ok !== true) throw corruptHotRow(Number(row.seq), scope.tid, scope.owner.logType);
          hot.push({ timeMs: Number(row.first_time), seq: Number(row.seq), text: Buffer.from(row.body!) });
          continue;
        }
        segmentRows++;
        present.add(row.id);
        const last = { timeMs: Number(row.last_time), seq: Number(row.last_seq) };
        segmentsEnd = last;
        if (Number(row.first_time) >= toMs) continue;
        segments.push(this.segment(row, last, scope, known));
      }
      // Every segment ending after `pos` up to segmentsEnd was read: cached ones not among them are
      // gone. With fewer than asked for, every one beginning before the range's end (or the
      // month's) was: those ending before it, at least (later ones were not looked for, and may
      // well be there).
      if (segmentRows < reach) segmentsEnd = monthEnd;
      this.cache.forgetGone(scope.tid, scope.typeId, pos, segmentsEnd === END ? { timeMs: toMs, seq: -1 } : segmentsEnd, present);
      const hotEnd = hot.length < asked ? monthEnd : hot[hot.length - 1]!;
      const cover = compare(segmentsEnd, hotEnd) < 0 ? segmentsEnd : hotEnd;
      byMonth = segmentRows > 0 || hot.length > 0;
      merge(segments, hot, pos, cover, scope.watermark, toMs, want - picked.length, picked);
      if (cover === END || cover.timeMs >= toMs) break;
      pos = cover;
    }
    const shown = picked.length > limit ? picked.slice(0, limit) : picked;
    const last = shown[shown.length - 1];
    return pageOfStretches(
      pageStretches(shown),
      shown.length,
      picked.length > limit && last ? { timeMs: last.timeMs, seq: last.seq } : null,
      shown.map((p) => p.seq),
    );
  }

  /** The decoded segment of a row: from the cache when the query left its bytes out. */
  private segment(row: Row, last: Position, scope: PageScope, known: readonly CachedSegment[]): DecodedSegment {
    const id = row.id!;
    if (row.data === null) {
      // Held since the query was built, so an eviction meanwhile changes nothing.
      const hit = known.find((s) => s.id === id)!;
      this.cache.get(id, scope.tid, scope.typeId); // marks it as recently used
      return sameAs(hit, Number(row.first_time), last.timeMs, last.seq);
    }
    const decoded = decodeSegment(row.data, scope.owner, Number(id));
    this.cache.put({ id, tid: scope.tid, typeId: scope.typeId, last, decoded, bytes: decoded.bytes });
    return decoded;
  }
}

/**
 * The page's texts in stretches: consecutive entries of one segment taken as one stretch of its
 * text (segment-codec.ts keeps them contiguous), a hot entry's text as one.
 */
function pageStretches(shown: readonly Picked[]): Buffer[] {
  const parts: Buffer[] = [];
  for (let k = 0; k < shown.length; ) {
    const p = shown[k]!;
    if (!p.segment) {
      parts.push(p.text!);
      k++;
      continue;
    }
    let end = k + 1;
    while (end < shown.length && shown[end]!.segment === p.segment && shown[end]!.i === p.i! + (end - k)) end++;
    parts.push(p.segment.span(p.i!, p.i! + (end - k)));
    k = end;
  }
  return parts;
}

/**
 * Appends to `out`, in page order, up to `max` entries with keys in (pos, cover] from the
 * segments (disjoint, in order) and the hot rows (in order, already filtered by the query),
 * leaving out sealed entries above the watermark or at or beyond `toMs`.
 */
function merge(
  segments: readonly DecodedSegment[],
  hot: readonly Picked[],
  pos: Position,
  cover: Position,
  watermark: number,
  toMs: number,
  max: number,
  out: Picked[],
): void {
  let taken = 0;
  let h = 0;
  const emitHotBefore = (key: Position | null): void => {
    while (taken < max && h < hot.length && (key === null || compare(hot[h]!, key) < 0) && compare(hot[h]!, cover) <= 0) {
      out.push(hot[h++]!);
      taken++;
    }
  };
  for (const d of segments) {
    for (let i = d.after(pos.timeMs, pos.seq); i < d.count && taken < max; i++) {
      const key = { timeMs: d.timeMs(i), seq: d.seq(i) };
      if (compare(key, cover) > 0 || key.timeMs >= toMs) break;
      emitHotBefore(key);
      if (taken >= max) return;
      if (key.seq > watermark) continue;
      out.push({ timeMs: key.timeMs, seq: key.seq, segment: d, i });
      taken++;
    }
  }
  emitHotBefore(null);
}
