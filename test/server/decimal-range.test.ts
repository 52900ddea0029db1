import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decimalRangePattern } from '../../src/server/decimal-range.ts';

/** What the pattern must mean: 1 to 6 decimal digits whose value is from 1 to max. */
function allowed(text: string, max: number): boolean {
  return /^\d{1,6}$/.test(text) && Number(text) >= 1 && Number(text) <= max;
}

describe('decimalRangePattern', () => {
  it('matches exactly the spellings of 1 to max, for any max', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 999_999 }),
        fc.oneof(
          fc.integer({ min: 0, max: 2_000_000 }).map(String),
          fc.tuple(fc.nat({ max: 6 }), fc.integer({ min: 0, max: 99_999 })).map(([zeros, n]) => '0'.repeat(zeros) + n),
          fc.string({ maxLength: 8 }),
        ),
        (max, text) => {
          const re = new RegExp(decimalRangePattern(max), 'u');
          assert.equal(re.test(text), allowed(text, max), `max ${max}, text ${JSON.stringify(text)}`);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('holds at the edges of every max up to 1,200', () => {
    for (let max = 1; max <= 1200; max++) {
      const re = new RegExp(decimalRangePattern(max), 'u');
      for (const n of [0, 1, max - 1, max, max + 1, 9, 10, 99, 100, 999, 1000]) {
        for (const text of [String(n), `0${n}`]) assert.equal(re.test(text), allowed(text, max), `max ${max}, text ${text}`);
      }
    }
  });

  it('refuses a max it cannot express', () => {
    assert.throws(() => decimalRangePattern(0), RangeError);
    assert.throws(() => decimalRangePattern(1.5), RangeError);
    assert.throws(() => decimalRangePattern(1_000_000), RangeError);
  });
});
