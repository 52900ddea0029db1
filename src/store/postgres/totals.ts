/**
 * A query's total and watermark, read in one statement (one snapshot). The total is the hourly
 * tallies of the whole hours corrected at the ragged ends by counting (count-plan.ts); an end is
 * counted from hot rows, from the sealed segments lying wholly inside it (their entry counts),
 * and from the at most two segments straddling its bounds, whose entries in range are counted
 * here from the decoded segment (cached, or sent by the same statement). Every entry that
 * statement sees is at or below the watermark it reads (index.ts), so no filtering is needed.
 */
import type pg from 'pg';
import { planCount } from '../count-plan.ts';
import { type DecodedSegment, decodeSegment, type SegmentOwner } from '../segment-codec.ts';
import { monthStart, nextMonthStart } from './migrations.ts';
import { type CachedSegment, type SegmentCache, StaleSegmentError, sameAs } from './segment-cache.ts';

/**
 * Entries of both kinds in [$p, $p+1), but for the segments straddling a bound; none when the
 * range is unused (its sign, $p+4, is 0), so that PostgreSQL plans no partition for it.
 * `first_time <` the end says nothing more (a segment begins before it ends) but lets it plan
 * only the partitions of the range's months rather than every later one.
 */
function wholeCount(p: number): string {
  const [from, to, sign] = [`$${p}`, `$${p + 1}`, `$${p + 4}`];
  return `(
    (SELECT count(*) FROM entries WHERE ${sign}::int <> 0 AND tid = $1 AND type_id = $2 AND event_time >= ${from} AND event_time < ${to})
    + (SELECT coalesce(sum(n), 0) FROM segments
       WHERE ${sign}::int <> 0 AND tid = $1 AND type_id = $2 AND first_time >= ${from} AND first_time < ${to}
         AND last_time >= ${from} AND last_time < ${to}))`;
}

/**
 * The segment straddling bound `$b` of a range (its sign `$s`), if one does. A segment never
 * crosses a month, so one that holds the bound begins in the bound's month, from `$m` to `$n`
 * (the next month's start): only that month's partition is planned and searched, and none for
 * an unused range. Searching every later month instead, as `first_time >= $m` alone did, made
 * each query plan every partition after its bounds (all of them for a range of whole hours,
 * whose unused ranges are at 0): on a store of decades of months, a second a query.
 */
function straddling(range: number, b: number, m: number, n: number, s: number): string {
  return `(SELECT ${range} AS range, id, first_time, last_time, last_seq, CASE WHEN id = ANY($15::int8[]) THEN NULL ELSE data END AS data,
      NULL::int8, NULL::numeric
    FROM segments WHERE $${s}::int <> 0 AND tid = $1 AND type_id = $2 AND first_time >= $${m} AND first_time < $${n} AND last_time >= $${b}
    ORDER BY last_time, last_seq LIMIT 1)`;
}

// $3-$4: the whole hours; ranges (from, to, from's month, to's month, sign): $5-$9 and $10-$14;
// $15: ids of segments whose bytes need not be sent; $16-$19: the next months' starts of the
// four bounds.
const SQL = `
  SELECT 0 AS range, NULL::int8 AS id, NULL::int8 AS first_time, NULL::int8 AS last_time, NULL::int8 AS last_seq, NULL::bytea AS data,
    s.last_seq AS watermark,
    coalesce((SELECT sum(n) FROM entry_counts WHERE tid = $1 AND type_id = $2 AND hour >= $3 AND hour < $4), 0)
      + $9::int * ${wholeCount(5)} + $14::int * ${wholeCount(10)} AS total
  FROM entry_seqs s WHERE s.tid = $1
  UNION ALL ${straddling(1, 5, 7, 16, 9)}
  UNION ALL ${straddling(1, 6, 8, 17, 9)}
  UNION ALL ${straddling(2, 10, 12, 18, 14)}
  UNION ALL ${straddling(2, 11, 13, 19, 14)}`;

interface Row {
  range: number;
  id: string | null;
  first_time: string | null;
  last_time: string | null;
  last_seq: string | null;
  data: Buffer | null;
  watermark: string | null;
  total: string | null;
}

export interface Totals {
  readonly total: number;
  readonly watermark: number;
}

type TotalsScope = { tid: number; typeId: number; owner: SegmentOwner; fromMs: number; toMs: number | null };

export async function readTotals(pool: pg.Pool, cache: SegmentCache, scope: TotalsScope): Promise<Totals | undefined> {
  try {
    return await readTotalsOnce(pool, cache, scope);
  } catch (err) {
    if (!(err instanceof StaleSegmentError)) throw err;
    // The database was put back under this process: nothing cached holds.
    cache.clear();
    return readTotalsOnce(pool, cache, scope);
  }
}

async function readTotalsOnce(pool: pg.Pool, cache: SegmentCache, scope: TotalsScope): Promise<Totals | undefined> {
  const plan = planCount(scope.fromMs, scope.toMs);
  const ranges = [0, 1].map((i) => plan.ranges[i] ?? { fromMs: 0, toMs: 0, sign: 0 });
  const known = ranges.flatMap((c) =>
    [c.fromMs, c.toMs].flatMap((t) => (c.sign === 0 ? [] : cache.after(scope.tid, scope.typeId, { timeMs: t, seq: -1 }, 1))),
  );
  const r = await pool.query<Row>({
    name: 'lw_totals',
    text: SQL,
    values: [
      scope.tid,
      scope.typeId,
      plan.fromBucket,
      plan.toBucket,
      ...ranges.flatMap((c) => [c.fromMs, c.toMs, monthStart(c.fromMs), monthStart(c.toMs), c.sign]),
      known.map((s) => s.id),
      ...ranges.flatMap((c) => [nextMonthStart(c.fromMs), nextMonthStart(c.toMs)]),
    ],
  });
  const head = r.rows.find((row) => row.range === 0);
  if (!head) return undefined;
  let total = Number(head.total);
  for (const [i, c] of ranges.entries()) {
    if (c.sign === 0) continue;
    const counted = new Set<string>();
    for (const row of r.rows) {
      // A straddling segment: it begins before a bound of the range and ends at or after it.
      if (row.range !== i + 1 || counted.has(row.id!) || Number(row.first_time) >= c.toMs) continue;
      const first = Number(row.first_time);
      const last = Number(row.last_time);
      if (first >= c.fromMs && last < c.toMs) continue; // wholly inside: counted by the statement
      counted.add(row.id!);
      const d = segmentOf(row, scope, cache, known);
      total += c.sign * (d.atOrAfter(c.toMs) - d.atOrAfter(c.fromMs));
    }
  }
  return { total, watermark: Number(head.watermark) };
}

function segmentOf(
  row: Row,
  scope: { tid: number; typeId: number; owner: SegmentOwner },
  cache: SegmentCache,
  known: readonly CachedSegment[],
): DecodedSegment {
  if (row.data === null) return sameAs(known.find((s) => s.id === row.id)!, Number(row.first_time), Number(row.last_time), Number(row.last_seq));
  const decoded = decodeSegment(row.data, scope.owner, Number(row.id));
  const last = { timeMs: Number(row.last_time), seq: Number(row.last_seq) };
  cache.put({ id: row.id!, tid: scope.tid, typeId: scope.typeId, last, decoded, bytes: decoded.bytes });
  return decoded;
}
