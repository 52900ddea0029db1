/**
 * Reading pages from SQLite as few values as possible. A page is two statements over the same
 * index range: a probe that steps to the page's last entry and the one after it (index only,
 * no entry text), and an aggregate that returns the page's wire texts already joined, as one
 * blob, with their count. Handing a hundred rows to JavaScript one by one, or the texts as
 * strings, costs more than finding and reading them; so does formatting each entry's position.
 *
 * Both statements read entries no later than a snapshot watermark (or, for a first page, run in
 * one read transaction), so they see the same rows.
 */
import type Database from 'better-sqlite3';
import { EMPTY_PAGE, joinPages } from '../page.ts';
import type { Position, Resume, StoredPage } from '../store.ts';

type Params = number[];

/** The columns and order of every page query; `where` takes the parameters the caller binds. */
const rowsOf = (where: string, limit: string, order = 'event_time, seq') =>
  `FROM entries WHERE tid = ? AND type_id = ? AND ${where} ORDER BY ${order} LIMIT ${limit}`;

// The page size is written into the statements of full pages: as a bound parameter it makes
// SQLite's plan for a page of a hundred entries a quarter slower. Remainders after a run of
// entries sharing one time vary, and are read with bound limits.
const FIRST = 'event_time >= ? AND event_time < ?';
// A page resumes in two steps: the rest of the run of entries sharing the last one's time, then
// later times. As one row-value comparison, SQLite seeks only on the time and would step over
// the whole run first, however long.
const TIED = 'event_time = ? AND seq > ? AND seq <= ?';
const LATER = 'event_time > ? AND event_time < ? AND seq <= ?';

/**
 * The aggregate over `rows` (a subquery yielding body in page order). group_concat joins rows in
 * the order the subquery yields them, which SQLite does not promise in general; `ordered` asks
 * for the order explicitly, at the price of a sort. See `yieldsInOrder`.
 */
function aggregateSql(rows: string, ordered: boolean): string {
  const order = ordered ? ' ORDER BY event_time, seq' : '';
  return `SELECT count(*) AS n, CAST(group_concat(body, ','${order}) AS BLOB) AS text FROM (SELECT event_time, seq, body ${rows})`;
}

/**
 * Whether SQLite runs `sql` as a co-routine that walks the page index in order and hands each
 * row straight to the aggregate: then the joined texts are in page order by construction. Any
 * other plan (a sort, a materialised subquery, another index) gets the explicitly ordered form.
 */
function yieldsInOrder(db: Database.Database, sql: string, params: Params): boolean {
  const plan = db
    .prepare<Params, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...params)
    .map((r) => r.detail);
  return (
    plan.length === 3 &&
    /^CO-ROUTINE /.test(plan[0]!) &&
    /^SEARCH entries USING INDEX entries_by_time /.test(plan[1]!) &&
    /^SCAN /.test(plan[2]!)
  );
}

interface Aggregate {
  n: number;
  text: Buffer | null;
}

/** One shape of page query (where clause and limit), read as probe + aggregate. */
class PageQuery {
  private readonly probe: Database.Statement<Params, [number, number]>;
  private readonly aggregate: Database.Statement<Params, Aggregate>;
  /** Whether the aggregate orders its rows itself (the plan alone did not promise the order). */
  readonly sorts: boolean;

  /**
   * `limit` is a number written into the statements, or '?' for a limit bound last (the probe
   * then takes the offset of the page's last entry, the aggregate the limit).
   */
  constructor(db: Database.Database, where: string, limit: number | '?', forceOrdered: boolean) {
    const offset = limit === '?' ? '?' : String(limit - 1);
    this.probe = db.prepare<Params, [number, number]>(`SELECT event_time, seq ${rowsOf(where, `2 OFFSET ${offset}`)}`).raw();
    const rows = rowsOf(where, String(limit));
    const sample = new Array<number>((where.match(/\?/g)?.length ?? 0) + 2 + (limit === '?' ? 1 : 0)).fill(0);
    this.sorts = forceOrdered || !yieldsInOrder(db, aggregateSql(rows, false), sample);
    this.aggregate = db.prepare<Params, Aggregate>(aggregateSql(rows, this.sorts));
  }

  /**
   * Up to `limit` entries (the statement's, or the one passed for '?'), and where a next page
   * starts; `last` is the position of the page's last entry when the page is full.
   */
  read(params: Params, limit?: number): { page: StoredPage; last: Position | null } {
    const probed = limit === undefined ? this.probe.all(...params) : this.probe.all(...params, limit - 1);
    const r = limit === undefined ? this.aggregate.get(...params)! : this.aggregate.get(...params, limit)!;
    const [at, after] = probed;
    const last: Position | null = at ? { timeMs: at[0], seq: at[1] } : null;
    if (r.n === 0) return { page: EMPTY_PAGE, last };
    const next: Resume | null = at && after ? { timeMs: at[0], seq: at[1], tied: after[0] === at[0] } : null;
    return { page: { text: r.text!, count: r.n, next }, last };
  }
}

interface FullPageQueries {
  first: PageQuery;
  later: PageQuery;
}

/** Page sizes whose statements are kept; clients use one or two. */
const KEPT_SIZES = 16;

export interface PageReaderOptions {
  /** Always order the aggregates explicitly (for tests of that form). */
  readonly forceOrdered?: boolean;
}

export class PageReader {
  /** Statements by page size, least recently used first. */
  private readonly bySize = new Map<number, FullPageQueries>();
  private readonly tied: PageQuery;
  private readonly laterRest: PageQuery;
  private readonly tiedAny: Database.Statement<Params, unknown>;
  private readonly laterAny: Database.Statement<Params, unknown>;
  private readonly forceOrdered: boolean;

  constructor(
    private readonly db: Database.Database,
    options: PageReaderOptions = {},
  ) {
    this.forceOrdered = options.forceOrdered ?? false;
    this.tied = new PageQuery(db, TIED, '?', this.forceOrdered);
    this.laterRest = new PageQuery(db, LATER, '?', this.forceOrdered);
    // Most positions have no later entry at their very time: a plain probe answers that for a
    // fraction of what reading the run costs.
    this.tiedAny = db.prepare<Params, unknown>(`SELECT 1 ${rowsOf(TIED, '1', 'seq')}`).pluck();
    this.laterAny = db.prepare<Params, unknown>(`SELECT 1 ${rowsOf(LATER, '1')}`).pluck();
  }

  private full(limit: number): FullPageQueries {
    let q = this.bySize.get(limit);
    if (q) {
      this.bySize.delete(limit);
    } else {
      q = { first: new PageQuery(this.db, FIRST, limit, this.forceOrdered), later: new PageQuery(this.db, LATER, limit, this.forceOrdered) };
      if (this.bySize.size >= KEPT_SIZES) this.bySize.delete(this.bySize.keys().next().value!);
    }
    this.bySize.set(limit, q);
    return q;
  }

  /** Whether any statement reading pages of `limit` entries sorts its rows (see `yieldsInOrder`). */
  sortsPages(limit: number): boolean {
    const q = this.full(limit);
    return q.first.sorts || q.later.sorts || this.tied.sorts || this.laterRest.sorts;
  }

  /** Up to `limit` entries from `fromMs` on. */
  firstPage(tid: number, typeId: number, fromMs: number, toMs: number, limit: number): StoredPage {
    return this.full(limit).first.read([tid, typeId, fromMs, toMs]).page;
  }

  /** Up to `limit` entries after `after`, none above `watermark`. */
  nextPage(tid: number, typeId: number, after: Resume, fromMs: number, toMs: number, watermark: number, limit: number): StoredPage {
    // Entries up to the watermark never change, so the steps need no common snapshot.
    const laterParams = [tid, typeId, Math.max(after.timeMs, fromMs - 1), toMs, watermark];
    const tiedParams = [tid, typeId, after.timeMs, after.seq, watermark];
    const inRange = after.timeMs >= fromMs && after.timeMs < toMs;
    // The page that ended at `after` usually knew whether a run of its time goes on; if not, look.
    const tied = inRange && (after.tied ?? this.tiedAny.get(...tiedParams) !== undefined);
    if (!tied) return this.full(limit).later.read(laterParams).page;
    return this.resumeRun(tiedParams, laterParams, limit);
  }

  /**
   * Where a page that ended at `at` (an entry below `toMs`) resumes: null when no entry up to
   * `watermark` follows it before `toMs`.
   */
  following(tid: number, typeId: number, at: Position, toMs: number, watermark: number): Resume | null {
    if (this.tiedAny.get(tid, typeId, at.timeMs, at.seq, watermark) !== undefined) return { ...at, tied: true };
    return this.laterAny.get(tid, typeId, at.timeMs, toMs, watermark) !== undefined ? { ...at, tied: false } : null;
  }

  /** The rest of a run of entries sharing one time, then later entries. */
  private resumeRun(tiedParams: Params, laterParams: Params, limit: number): StoredPage {

    const tied = this.tied.read(tiedParams, limit);
    if (tied.page.next !== null) return tied.page; // the run fills this page and goes on
    const rest = limit - tied.page.count;
    if (rest === 0) {
      // The run fills the page exactly: the next page starts after it if later entries follow.
      const more = this.laterAny.get(...laterParams) !== undefined;
      return more ? { ...tied.page, next: { ...tied.last!, tied: false } } : tied.page;
    }
    return joinPages(tied.page, this.laterRest.read(laterParams, rest).page);
  }
}
