/**
 * Reading pages from SQLite as few values as possible: one row holding the entries' positions
 * (a JSON array) and their wire texts already joined (one blob). Handing a hundred rows to
 * JavaScript one by one, and the texts as strings, costs more than finding and reading them.
 */
import type Database from 'better-sqlite3';
import { EMPTY_PAGE, pageOfText } from '../page.ts';
import type { PageEntry, StoredPage } from '../store.ts';

interface Aggregate {
  positions: string | null;
  text: Buffer | null;
}

/**
 * The page of `rows` (a query yielding event_time, seq, body in page order), aggregated.
 * `ordered` asks SQLite to order the aggregates explicitly: otherwise they follow the order the
 * subquery yields its rows in, which SQLite does not promise, and which is checked.
 */
function aggregate(rows: string, ordered: boolean): string {
  const order = ordered ? ' ORDER BY event_time, seq' : '';
  return `SELECT '[' || group_concat(event_time || ',' || seq || ',' || length(CAST(body AS BLOB)), ','${order}) || ']' AS positions,
                 CAST(group_concat(body, ','${order}) AS BLOB) AS text
          FROM (${rows})`;
}

// The limit is written into the statement: as a bound parameter it makes SQLite's plan for a
// page of a hundred entries a quarter slower.
const FIRST = (limit: number) => `SELECT event_time, seq, body FROM entries
  WHERE tid = ? AND type_id = ? AND event_time >= ? AND event_time < ?
  ORDER BY event_time, seq LIMIT ${limit}`;
// A page resumes in two steps: the rest of the run of entries sharing the last one's time, then
// later times. As one row-value comparison, SQLite seeks only on the time and would step over
// the whole run first, however long.
const TIED = (limit: number) => `SELECT event_time, seq, body FROM entries
  WHERE tid = ? AND type_id = ? AND event_time = ? AND seq > ? AND seq <= ?
  ORDER BY seq LIMIT ${limit}`;
// Most positions have no later entry at their very time: a plain probe answers that for a
// fraction of what the aggregate over no rows costs.
const TIED_ANY = `SELECT 1 FROM entries WHERE tid = ? AND type_id = ? AND event_time = ? AND seq > ? AND seq <= ? LIMIT 1`;
const LATER = (limit: number) => `SELECT event_time, seq, body FROM entries
  WHERE tid = ? AND type_id = ? AND event_time > ? AND event_time < ? AND seq <= ?
  ORDER BY event_time, seq LIMIT ${limit}`;

type Params = number[];

class AggregateQuery {
  private readonly fast: Database.Statement<Params, Aggregate>;
  private ordered: Database.Statement<Params, Aggregate> | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly rows: string,
  ) {
    this.fast = db.prepare<Params, Aggregate>(aggregate(rows, false));
  }

  /** Positions and joined texts of the rows, in page order. */
  run(params: Params): { entries: PageEntry[]; text: Buffer } {
    let r = this.fast.get(...params)!;
    let entries = parsePositions(r.positions);
    if (!inOrder(entries)) {
      this.ordered ??= this.db.prepare<Params, Aggregate>(aggregate(this.rows, true));
      r = this.ordered.get(...params)!;
      entries = parsePositions(r.positions);
    }
    return { entries, text: r.text ?? EMPTY_PAGE.text };
  }
}

function parsePositions(json: string | null): PageEntry[] {
  if (json === null) return [];
  const flat = JSON.parse(json) as number[];
  const out: PageEntry[] = [];
  for (let i = 0; i < flat.length; i += 3) out.push({ timeMs: flat[i]!, seq: flat[i + 1]!, bytes: flat[i + 2]! });
  return out;
}

function inOrder(entries: readonly PageEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) {
    const a = entries[i - 1]!;
    const b = entries[i]!;
    if (a.timeMs > b.timeMs || (a.timeMs === b.timeMs && a.seq >= b.seq)) return false;
  }
  return true;
}

interface Queries {
  first: AggregateQuery;
  tied: AggregateQuery;
  later: AggregateQuery;
}

/** Page sizes whose statements are kept; clients use one or two. */
const KEPT_SIZES = 16;

export class PageReader {
  /** Statements by the number of rows they read (page size + 1), least recently used first. */
  private readonly bySize = new Map<number, Queries>();
  private readonly tiedAny: Database.Statement<Params, unknown>;

  constructor(private readonly db: Database.Database) {
    this.tiedAny = db.prepare<Params, unknown>(TIED_ANY).pluck();
  }

  private queries(rows: number): Queries {
    let q = this.bySize.get(rows);
    if (q) {
      this.bySize.delete(rows);
    } else {
      q = { first: new AggregateQuery(this.db, FIRST(rows)), tied: new AggregateQuery(this.db, TIED(rows)), later: new AggregateQuery(this.db, LATER(rows)) };
      if (this.bySize.size >= KEPT_SIZES) this.bySize.delete(this.bySize.keys().next().value!);
    }
    this.bySize.set(rows, q);
    return q;
  }

  /** Up to `limit` entries from `fromMs` on, reading one more to learn whether more follow. */
  firstPage(tid: number, typeId: number, fromMs: number, toMs: number, limit: number): StoredPage {
    const r = this.queries(limit + 1).first.run([tid, typeId, fromMs, toMs]);
    return pageOfText(r.entries, r.text, limit);
  }

  /** Up to `limit` entries after `after`, none above `watermark`. */
  nextPage(tid: number, typeId: number, afterTimeMs: number, afterSeq: number, fromMs: number, toMs: number, watermark: number, limit: number): StoredPage {
    const q = this.queries(limit + 1);
    // Entries up to the watermark never change, so the two steps need no common snapshot.
    const tiedParams = [tid, typeId, afterTimeMs, afterSeq, watermark];
    const inRange = afterTimeMs >= fromMs && afterTimeMs < toMs;
    const tied = inRange && this.tiedAny.get(...tiedParams) !== undefined ? q.tied.run(tiedParams) : { entries: [], text: EMPTY_PAGE.text };
    if (tied.entries.length > limit) return pageOfText(tied.entries, tied.text, limit);
    // Reads up to a full page more, a little more than the tied run leaves to fill: simpler than a
    // statement for every remainder, and the extra rows are cut off below.
    const later = q.later.run([tid, typeId, Math.max(afterTimeMs, fromMs - 1), toMs, watermark]);
    if (tied.entries.length === 0) return pageOfText(later.entries, later.text, limit);
    if (later.entries.length === 0) return pageOfText(tied.entries, tied.text, limit);
    const text = Buffer.concat([tied.text, Buffer.from(','), later.text]);
    return pageOfText([...tied.entries, ...later.entries], text, limit);
  }
}
