import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWhen } from '../../src/cli/dates.ts';
import { UsageError } from '../../src/cli/exit-codes.ts';

const NOW = Date.parse('2026-05-05T10:00:00.000Z');

describe('command-line dates', () => {
  it('takes an offset of hours only (+05) or without its colon (+0530), and writes it ±hh:mm for the wire', () => {
    for (const [given, iso] of [
      ['2026-01-01T05:00:00+05', '2026-01-01T05:00:00+05:00'],
      ['2026-01-01T05:30:00+0530', '2026-01-01T05:30:00+05:30'],
      ['2025-12-31T19:00-05', '2025-12-31T19:00-05:00'],
      ['2025-12-31T18:30:00.250-0530', '2025-12-31T18:30:00.250-05:30'],
      ['2026-01-01T00:00:00+00', '2026-01-01T00:00:00+00:00'],
    ] as const) {
      const w = parseWhen(given, '--from', NOW);
      assert.equal(w.iso, iso, given);
      assert.equal(w.ms, Date.parse(iso), given);
    }
    assert.equal(parseWhen('2026-01-01T05:00:00+05', '--from', NOW).ms, Date.parse('2026-01-01T00:00:00Z'));
    // What was accepted before is sent as it was given.
    for (const iso of ['2026-01-01T05:30:00+05:30', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00.0001Z']) {
      assert.equal(parseWhen(iso, '--from', NOW).iso, iso);
    }
  });

  it('refuses an offset that is neither ±hh, ±hhmm nor ±hh:mm, or is impossible', () => {
    for (const bad of [
      '2026-01-01T05:00:00+5',
      '2026-01-01T05:00:00+055',
      '2026-01-01T05:00:00+05:3',
      '2026-01-01T05:00:00+24',
      '2026-01-01T05:00:00+0560',
      '2026-01-01T05:00:00 +05',
      '2026-01-01+05',
    ]) {
      assert.throws(() => parseWhen(bad, '--from', NOW), UsageError, bad);
    }
  });

  it('takes a time ago in whole calendar years (3y), the same UTC date and time that many years back', () => {
    assert.equal(parseWhen('3y', '--from', NOW).iso, '2023-05-05T10:00:00.000Z');
    assert.equal(parseWhen('1y', '--from', NOW).ms, Date.parse('2025-05-05T10:00:00.000Z'));
    assert.equal(parseWhen('2025y', '--from', NOW).iso, '0001-05-05T10:00:00.000Z');
    // From a February 29, a year without one gives February 28; four years back, February 29 again.
    const leap = Date.parse('2028-02-29T23:30:00.000Z');
    assert.equal(parseWhen('1y', '--from', leap).iso, '2027-02-28T23:30:00.000Z');
    assert.equal(parseWhen('4y', '--from', leap).iso, '2024-02-29T23:30:00.000Z');
    assert.equal(parseWhen('0y', '--to', leap).ms, leap);
    assert.throws(() => parseWhen('2026y', '--from', NOW), /^UsageError: --from 2026y reaches back before the year 1; give fewer years, or a date$/);
    for (const bad of ['3Y', '3 y', '-3y', '1.5y', '10000y']) assert.throws(() => parseWhen(bad, '--from', NOW), UsageError, bad);
  });
});
