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
});
