/**
 * formatEventTime renders as Date's toISOString does, over the whole range it accepts (years
 * 0000-9999), and refuses what lies outside.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatEventTime, isRenderable, parseDateTime } from '../../src/logs/time.ts';

const first = new Date('0000-01-01T00:00:00.000Z').getTime();
const last = new Date('9999-12-31T23:59:59.999Z').getTime();

describe('formatEventTime', () => {
  it('renders as toISOString at any millisecond of years 0000-9999', () => {
    fc.assert(
      fc.property(fc.integer({ min: first, max: last }), (ms) => assert.equal(formatEventTime(ms), new Date(ms).toISOString())),
      { numRuns: 20_000 },
    );
  });

  it('renders runs of nearby instants (the day kept from call to call) and the edges of days and of the range', () => {
    const around = [
      first,
      last,
      0,
      -1,
      1,
      86_400_000 - 1,
      86_400_000,
      -86_400_000,
      Date.UTC(2024, 1, 29, 23, 59, 59, 999),
      Date.UTC(1969, 11, 31, 23, 59, 59, 999),
    ];
    for (const at of around) {
      for (let d = -3; d <= 3; d++) {
        const ms = at + d;
        if (isRenderable(ms)) assert.equal(formatEventTime(ms), new Date(ms).toISOString(), String(ms));
      }
    }
    fc.assert(
      fc.property(
        fc.integer({ min: first, max: last - 10_000_000 }),
        fc.array(fc.integer({ min: 0, max: 10_000_000 }), { maxLength: 20 }),
        (start, steps) => {
          for (const step of steps) assert.equal(formatEventTime(start + step), new Date(start + step).toISOString());
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses instants outside years 0000-9999', () => {
    assert.throws(() => formatEventTime(first - 1), RangeError);
    assert.throws(() => formatEventTime(last + 1), RangeError);
    assert.equal(formatEventTime(first), '0000-01-01T00:00:00.000Z');
    assert.equal(formatEventTime(last), '9999-12-31T23:59:59.999Z');
  });
});

describe('parseDateTime', () => {
  it('takes any number of fraction digits (to its 64-character cap), keeping the digits past the millisecond', () => {
    for (const [text, ms, sub] of [
      ['2026-11-30T00:00:00.1Z', 100, ''],
      ['2026-11-30T00:00:00.123456789012Z', 123, '456789012'],
      ['2026-11-30T00:00:00.1234567890123456789+00:00', 123, '4567890123456789'],
      ['2026-11-30T00:00:00,5000000000000000000000Z', 500, ''],
    ] as const) {
      const r = parseDateTime(text);
      assert.ok(r.ok, text);
      assert.deepEqual(r.instant, { ms: Date.UTC(2026, 10, 30) + ms, sub }, text);
    }
    assert.equal(parseDateTime(`2026-11-30T00:00:00.${'1'.repeat(50)}Z`).ok, false);
  });

  it('takes the offset in each of the ISO-8601 forms (±hh:mm, ±hhmm, ±hh) as the same instant, and no other', () => {
    const utc = Date.UTC(2026, 10, 30, 3, 0);
    for (const text of [
      '2026-11-30T08:30:00+05:30',
      '2026-11-30T08:30:00+0530',
      '2026-11-30T08:00+05',
      '2026-11-30T03:00:00+00',
      '2026-11-29T22:00:00.000-05',
    ]) {
      const r = parseDateTime(text);
      assert.ok(r.ok, text);
      assert.deepEqual(r.instant, { ms: utc, sub: '' }, text);
    }
    for (const text of [
      '2026-11-30T08:00:00+5',
      '2026-11-30T08:00:00+05:',
      '2026-11-30T08:00:00+053',
      '2026-11-30T08:00:00+05:3',
      '2026-11-30T08:00:00+24',
    ]) {
      assert.equal(parseDateTime(text).ok, false, text);
    }
    const bad = parseDateTime('2026-11-30T08:00:00+24');
    assert.ok(!bad.ok && bad.problem === 'has an impossible UTC offset (+24:00)');
  });
});
