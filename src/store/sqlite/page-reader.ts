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

const FIRST = `SELECT event_time, seq, body FROM entries
  WHERE tid = ? AND type_id = ? AND event_time >= ? AND event_time < ?
  ORDER BY event_time, seq LIMIT ?`;
// A page resumes in two steps: the rest of the run of entries sharing the last one's time, then
// later times. As one row-value comparison, SQLite seeks only on the time and would step over
// the whole run first, however long.
const TIED = `SELECT event_time, seq, body FROM entries
  WHERE tid = ? AND type_id = ? AND event_time = ? AND seq > ? AND seq <= ?
  ORDER BY seq LIMIT ?`;
const LATER = `SELECT event_time, seq, body FROM entries
  WHERE tid = ? AND type_id = ? AND event_time > ? AND event_time < ? AND seq <= ?
  ORDER BY event_time, seq LIMIT ?`;

type Params = Array<number>;

class AggregateQuery {
  private readonly fast: Database.Statement<Params, Aggregate>;
  private readonly ordered: Database.Statement<Params, Aggregate>;

  constructor(db: Database.Database, rows: string) {
    this.fast = db.prepare<Params, Aggregate>(aggregate(rows, false));
    this.ordered = db.prepare<Params, Aggregate>(aggregate(rows, true));
  }

  /** Positions and joined texts of the rows, in page order. */
  run(params: Params): { entries: PageEntry[]; text: Buffer } {
    let r = this.fast.get(...params)!;
    let entries = parsePositions(r.positions);
    if (!inOrder(entries)) {
      r = this.ordered.get(...params)!;
      entries = parsePositions(r.positions);
    }
    return { entries, text: r.text ?? Buffer.alloc(0) };
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

export class PageReader {
  private readonly first;
  private readonly tied;
  private readonly later;

  constructor(db: Database.Database) {
    this.first = new AggregateQuery(db, FIRST);
    this.tied = new AggregateQuery(db, TIED);
    this.later = new AggregateQuery(db, LATER);
  }

  /** Up to `limit` entries from `fromMs` on, reading one more to learn whether more follow. */
  firstPage(tid: number, typeId: number, fromMs: number, toMs: number, limit: number): StoredPage {
    const r = this.first.run([tid, typeId, fromMs, toMs, limit + 1]);
    return pageOfText(r.entries, r.text, limit);
  }

  /** Up to `limit` entries after `after`, none above `watermark`. */
  nextPage(tid: number, typeId: number, afterTimeMs: number, afterSeq: number, fromMs: number, toMs: number, watermark: number, limit: number): StoredPage {
    const want = limit + 1;
    // Entries up to the watermark never change, so the two steps need no common snapshot.
    const inRange = afterTimeMs >= fromMs && afterTimeMs < toMs;
    const tied = inRange ? this.tied.run([tid, typeId, afterTimeMs, afterSeq, watermark, want]) : { entries: [], text: EMPTY_PAGE.text };
    if (tied.entries.length === want) return pageOfText(tied.entries, tied.text, limit);
    const later = this.later.run([tid, typeId, Math.max(afterTimeMs, fromMs - 1), toMs, watermark, want - tied.entries.length]);
    if (tied.entries.length === 0) return pageOfText(later.entries, later.text, limit);
    if (later.entries.length === 0) return pageOfText(tied.entries, tied.text, limit);
    const text = Buffer.concat([tied.text, Buffer.from(','), later.text]);
    return pageOfText([...tied.entries, ...later.entries], text, limit);
  }
}
