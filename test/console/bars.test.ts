/**
 * The histogram's bars from the server's hourly counts: what lies in the range is drawn, what is
 * dated after its end (a range open to the latest entry ends now) is counted apart.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bars } from '../../src/console/bars.ts';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-06-01T12:20:00.000Z');
const at = (ms: number, count: number) => ({ start: new Date(ms).toISOString(), count });

describe('histogram bars', () => {
  it('counts the hours after the end of the range apart, so that drawn and later add up to every count', () => {
    const hours = [
      at(NOW - 40 * 60_000 - 20 * 60_000, 3), // 11:00
      at(NOW - 20 * 60_000, 2), // 12:00, the hour of now: drawn, counted whole
      at(NOW + 40 * 60_000, 5), // 13:00, ahead of this clock
      at(Date.parse('9999-12-31T23:00:00.000Z'), 1),
    ];
    const b = bars(hours, NOW - HOUR, NOW, true);
    assert.equal(b.unit, 'hour');
    assert.deepEqual(
      b.bars.map((x) => [new Date(x.startMs).toISOString(), x.count]),
      [
        ['2026-06-01T11:00:00.000Z', 3],
        ['2026-06-01T12:00:00.000Z', 2],
      ],
    );
    assert.equal(b.later, 6);
    const days = bars(hours, NOW - 30 * 24 * HOUR, NOW, true);
    assert.equal(days.unit, 'day');
    assert.equal(days.bars.reduce((a, x) => a + x.count, 0) + days.later, 11);
  });
});
