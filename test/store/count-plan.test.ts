import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BUCKET_MS, BucketTally, bucketOf, OPEN_BUCKET, planCount } from '../../src/store/count-plan.ts';

const H = BUCKET_MS;

/** Carries out a plan over a list of event times, as a store does over its tallies and its index. */
function countByPlan(times: readonly number[], fromMs: number, toMs: number | null): number {
  const plan = planCount(fromMs, toMs);
  let total = times.filter((t) => bucketOf(t) >= plan.fromBucket && bucketOf(t) < plan.toBucket).length;
  for (const r of plan.ranges) total += r.sign * times.filter((t) => t >= r.fromMs && t < r.toMs).length;
  return total;
}

describe('count plan', () => {
  it('counts exactly what the range holds, wherever its ends fall, before 1970 too', () => {
    // Entries anywhere, and on and around the places a plan cuts: the range's ends, the hours
    // around them and their halves.
    const near = fc.record({ anchor: fc.integer({ min: 0, max: 7 }), delta: fc.integer({ min: -2, max: 2 }) });
    const anywhere = fc.integer({ min: -5 * H, max: 5 * H });
    fc.assert(
      fc.property(
        fc.array(fc.oneof(anywhere, near), { maxLength: 60 }),
        anywhere,
        fc.option(
          fc.oneof(
            fc.integer({ min: 1, max: 8 * H }),
            fc.integer({ min: 1, max: 3 }).map((k) => k * H),
          ),
        ),
        (picks, fromMs, span) => {
          const toMs = span === null ? null : fromMs + span;
          const end = toMs ?? fromMs + 3 * H;
          const anchors = [fromMs, end, bucketOf(fromMs) * H, (bucketOf(fromMs) + 1) * H, bucketOf(end) * H, (bucketOf(end) + 1) * H];
          anchors.push(anchors[2]! + H / 2, anchors[4]! + H / 2);
          const times = picks.map((p) => (typeof p === 'number' ? p : anchors[p.anchor]! + p.delta));
          const want = times.filter((t) => t >= fromMs && (toMs === null || t < toMs)).length;
          assert.equal(countByPlan(times, fromMs, toMs), want);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never scans more than half an hour at either end', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 1, max: 1e9 }), (fromMs, span) => {
        const plan = planCount(fromMs, fromMs + span);
        assert.ok(plan.ranges.length <= 2);
        const whole = plan.fromBucket < plan.toBucket;
        for (const r of plan.ranges) assert.ok(!whole || r.toMs - r.fromMs <= H / 2, `a range of ${r.toMs - r.fromMs} ms`);
      }),
    );
  });

  it('sums every hour from the start on when the range has no end', () => {
    const plan = planCount(7 * H, null);
    assert.deepEqual(plan, { fromBucket: 7, toBucket: OPEN_BUCKET, ranges: [] });
  });

  it('tallies accepted entries by log type and hour', () => {
    const tally = new BucketTally();
    for (const [type, t] of [
      [1, 0],
      [1, H - 1],
      [1, H],
      [2, 0],
      [1, -1],
    ] as const)
      tally.add(type, t);
    assert.deepEqual(
      [...tally.entries()].sort((a, b) => a.typeId - b.typeId || a.hour - b.hour),
      [
        { typeId: 1, hour: -1, n: 1 },
        { typeId: 1, hour: 0, n: 2 },
        { typeId: 1, hour: 1, n: 1 },
        { typeId: 2, hour: 0, n: 1 },
      ],
    );
  });
});
