/**
 * Exact totals over huge ranges without scanning them. Each store keeps, in the transaction
 * that appends entries, the number of entries per (tenant, log type, hour): a range's total is
 * the sum of the hours it covers, corrected at its two ragged ends by counting entries through
 * the time index. An end is counted from whichever side of its hour is nearer, so no more than
 * half an hour of entries is ever scanned per end, however long the range.
 *
 * The plan is pure arithmetic; each store runs it inside the snapshot that also fixes its
 * watermark, so the total stays exact under concurrent appends.
 */

export const BUCKET_MS = 3_600_000;

/** Stands for "no upper bound" among bucket numbers: beyond any hour of a renderable time. */
export const OPEN_BUCKET = Number.MAX_SAFE_INTEGER;

/** The hours `from <= hour < to` that overlap `fromMs <= eventTime < toMs` (`toMs` null: no upper bound). */
export function overlappingBuckets(fromMs: number, toMs: number | null): { from: number; to: number } {
  return { from: bucketOf(fromMs), to: toMs === null ? OPEN_BUCKET : bucketOf(toMs - 1) + 1 };
}

/** The hour an event time falls in (floor division: times before 1970 are negative). */
export function bucketOf(ms: number): number {
  return Math.floor(ms / BUCKET_MS);
}

export interface CountRange {
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  /** +1: the range's entries are added; -1: they are subtracted. */
  readonly sign: 1 | -1;
}

export interface CountPlan {
  /** Buckets to sum, `fromBucket <= hour < toBucket`; none when `fromBucket >= toBucket`. */
  readonly fromBucket: number;
  readonly toBucket: number;
  /** At most two ranges to count through the time index. */
  readonly ranges: readonly CountRange[];
}

/** How to count `fromMs <= eventTime < toMs` (`toMs` null: no upper bound). */
export function planCount(fromMs: number, toMs: number | null): CountPlan {
  const first = bucketOf(fromMs);
  if (toMs !== null && bucketOf(toMs - 1) === first) {
    // Within one hour: counting it directly costs no more than any correction would.
    return { fromBucket: 0, toBucket: 0, ranges: [{ fromMs, toMs, sign: 1 }] };
  }
  const ranges: CountRange[] = [];
  let fromBucket = first;
  const firstStart = first * BUCKET_MS;
  if (fromMs > firstStart) {
    if (fromMs - firstStart <= BUCKET_MS / 2) {
      ranges.push({ fromMs: firstStart, toMs: fromMs, sign: -1 });
    } else {
      fromBucket = first + 1;
      ranges.push({ fromMs, toMs: fromBucket * BUCKET_MS, sign: 1 });
    }
  }
  if (toMs === null) return { fromBucket, toBucket: OPEN_BUCKET, ranges };
  const last = bucketOf(toMs - 1);
  let toBucket = last + 1;
  const lastEnd = toBucket * BUCKET_MS;
  if (toMs < lastEnd) {
    if (lastEnd - toMs <= BUCKET_MS / 2) {
      ranges.push({ fromMs: toMs, toMs: lastEnd, sign: -1 });
    } else {
      toBucket = last;
      ranges.push({ fromMs: last * BUCKET_MS, toMs, sign: 1 });
    }
  }
  return { fromBucket, toBucket, ranges };
}

/** Tallies accepted entries per (log type id, hour), to add to the stored counts at commit. */
export class BucketTally {
  private readonly byType = new Map<number, Map<number, number>>();

  add(typeId: number, eventTimeMs: number): void {
    let hours = this.byType.get(typeId);
    if (!hours) this.byType.set(typeId, (hours = new Map()));
    const hour = bucketOf(eventTimeMs);
    hours.set(hour, (hours.get(hour) ?? 0) + 1);
  }

  *entries(): Generator<{ typeId: number; hour: number; n: number }> {
    for (const [typeId, hours] of this.byType) for (const [hour, n] of hours) yield { typeId, hour, n };
  }
}
