/**
 * How the console shows times: in the zone of the browser, run here in zones off the whole hour,
 * with daylight saving time, and before standard time (offsets with seconds); the time and the
 * offset shown must add up to the instant stored.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  barLabel,
  formatTime,
  fromInputValue,
  isLaterReading,
  localInstants,
  localReading,
  parseLinkTime,
  readLimitMessage,
} from '../../src/console/time.ts';

const savedTz = process.env.TZ;

/** Runs `fn` in time zone `tz` (Node reads TZ again when it is set). */
function inZone<T>(tz: string, fn: () => T): T {
  process.env.TZ = tz;
  return fn();
}

/** The instant a shown local time denotes: `2026-11-01 01:30:00.000 -04:00` (an offset may have seconds). */
function instantOf(shown: string): number {
  const m = /^([+-]?\d+)-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3}) ([+-])(\d\d):(\d\d)(?::(\d\d))?$/.exec(shown);
  assert.ok(m, `not a local time with offset: ${shown}`);
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7]));
  const offset = (Number(m[9]) * 3600 + Number(m[10]) * 60 + Number(m[11] ?? 0)) * (m[8] === '-' ? -1 : 1);
  return d.getTime() - offset * 1000;
}

describe('console times', () => {
  afterEach(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it('shows a local time and an offset that add up to the instant, in any zone and year', () => {
    const instants = [
      '2026-11-01T05:30:00.000Z', // New York: 01:30 the second time (EST)
      '2026-11-01T04:30:00.000Z', // and the first (EDT)
      '2026-04-04T13:45:00.123Z', // Chatham: the hour clocks go back
      '1900-01-01T00:00:00.000Z', // Kathmandu +05:41:16, St John's -03:30:52: local mean time
      '1935-06-01T12:00:00.000Z', // St John's daylight time of -02:30:52
      '0099-06-01T00:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '9999-12-31T23:59:59.999Z',
    ].map(Date.parse);
    for (const tz of ['Asia/Kathmandu', 'America/St_Johns', 'Pacific/Chatham', 'America/New_York', 'UTC']) {
      inZone(tz, () => {
        for (const ms of instants)
          assert.equal(instantOf(formatTime(ms, false)), ms, `${tz} ${new Date(ms).toISOString()}: ${formatTime(ms, false)}`);
      });
    }
    inZone('Asia/Kathmandu', () => {
      assert.equal(formatTime(Date.parse('1900-01-01T00:00:00.000Z'), false), '1900-01-01 05:41:16.000 +05:41:16');
      assert.equal(formatTime(Date.parse('0099-06-01T00:00:00.000Z'), false), '0099-06-01 05:41:16.000 +05:41:16');
      assert.equal(formatTime(Date.parse('2026-11-01T00:00:00.000Z'), false), '2026-11-01 05:45:00.000 +05:45');
    });
    inZone('America/St_Johns', () => assert.equal(formatTime(Date.parse('2026-11-01T00:00:00.000Z'), false), '2026-10-31 21:30:00.000 -02:30'));
    assert.equal(formatTime(Date.parse('0099-06-01T00:00:00.000Z'), true), '0099-06-01 00:00:00.000 UTC');
  });

  it('labels the hours of a histogram with their offset, so the repeated hour where clocks go back reads twice, apart', () => {
    inZone('America/New_York', () => {
      const first = barLabel(Date.parse('2026-11-01T05:00:00.000Z'), 'hour', false);
      const second = barLabel(Date.parse('2026-11-01T06:00:00.000Z'), 'hour', false);
      assert.equal(first, '2026-11-01 01:00 -04:00');
      assert.equal(second, '2026-11-01 01:00 -05:00');
      assert.equal(barLabel(Date.parse('2026-11-01T06:00:00.000Z'), 'day', false), '2026-11-01');
    });
    inZone('Asia/Kathmandu', () => assert.equal(barLabel(Date.parse('2026-11-01T00:00:00.000Z'), 'hour', false), '2026-11-01 05:45 +05:45'));
    assert.equal(barLabel(Date.parse('2026-11-01T05:00:00.000Z'), 'hour', true), '2026-11-01 05:00 UTC');
  });

  it('says in which zone a used-up read limit ends', () => {
    const midnightUtc = Date.parse('2026-12-03T00:00:00.000Z');
    inZone('Asia/Kathmandu', () =>
      assert.equal(
        readLimitMessage(midnightUtc - 0.5),
        "This tenant's read limit is used up until 2026-12-03 05:45:00 +05:45 (the server answered 429). Reading goes on after that.",
      ),
    );
  });
  it('tells local times the clocks skipped or showed twice from those they showed once', () => {
    const cases: [string, string, ReturnType<typeof localReading>][] = [
      ['America/New_York', '2026-03-08T02:30', 'missing'],
      ['America/New_York', '2026-03-08T01:59:59.999', 'once'],
      ['America/New_York', '2026-03-08T03:00', 'once'],
      ['America/New_York', '2026-11-01T01:30:00', 'twice'],
      ['America/New_York', '2026-11-01T00:59', 'once'],
      ['America/New_York', '2026-11-01T02:00', 'once'],
      // Half-hour changes.
      ['Australia/Lord_Howe', '2026-10-04T02:15', 'missing'],
      ['Australia/Lord_Howe', '2026-04-05T01:45', 'twice'],
      ['Australia/Lord_Howe', '2026-04-05T02:15', 'once'],
      ['Asia/Kathmandu', '2026-11-01T01:30', 'once'],
      ['UTC', '2026-03-08T02:30', 'once'],
      ['America/New_York', 'not a date', 'once'],
    ];
    for (const [tz, value, reading] of cases)
      assert.equal(
        inZone(tz, () => localReading(value)),
        reading,
        `${value} in ${tz}`,
      );
  });

  it("reads a link's bounds and the inputs' values with one strict parser: real dates and times only", () => {
    assert.equal(parseLinkTime('2026-11-01T06:30:00.000Z'), Date.parse('2026-11-01T06:30:00.000Z'));
    assert.equal(parseLinkTime('2026-11-01T01:30-05:00'), Date.parse('2026-11-01T06:30:00.000Z'));
    assert.equal(parseLinkTime('2026-11-01T12:15:30.5+05:45'), Date.parse('2026-11-01T06:30:30.500Z'));
    // What the browser's Date parser takes (rolled over, a bare date, words, no zone) is no bound.
    for (const bad of [
      '2026-02-30T00:00Z',
      '2026-11-01T24:00Z',
      '2026-11-01',
      'March 1, 2026',
      '2026',
      '2026-11-01T01:30',
      '2026-11-01T01:30+24:00',
      '',
    ])
      assert.equal(parseLinkTime(bad), undefined, bad);
    assert.equal(fromInputValue('2026-02-30T10:00', true), undefined);
    assert.equal(fromInputValue('2026-02-30T10:00', false), undefined);
    assert.equal(fromInputValue('2026-02-28T10:00:00.5', true), '2026-02-28T10:00:00.500Z');
  });

  it('gives both instants of a local time the clocks showed twice, and reads the one asked for', () => {
    const iso = (list: number[]) => list.map((ms) => new Date(ms).toISOString());
    inZone('America/New_York', () => {
      assert.deepEqual(iso(localInstants('2026-11-01T01:30')), ['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z']);
      assert.deepEqual(iso(localInstants('2026-03-08T02:30')), []);
      assert.deepEqual(iso(localInstants('2026-06-01T12:00')), ['2026-06-01T16:00:00.000Z']);
      assert.equal(fromInputValue('2026-11-01T01:30', false), '2026-11-01T05:30:00.000Z');
      assert.equal(fromInputValue('2026-11-01T01:30', false, true), '2026-11-01T06:30:00.000Z');
      assert.equal(fromInputValue('2026-06-01T12:00', false, true), '2026-06-01T16:00:00.000Z');
      assert.equal(isLaterReading(Date.parse('2026-11-01T06:30:00.000Z')), true);
      assert.equal(isLaterReading(Date.parse('2026-11-01T05:30:00.000Z')), false);
    });
    // A change of half an hour, and one at midnight.
    inZone('Australia/Lord_Howe', () =>
      assert.deepEqual(iso(localInstants('2026-04-05T01:45')), ['2026-04-04T14:45:00.000Z', '2026-04-04T15:15:00.000Z']),
    );
    inZone('America/Havana', () => assert.equal(localInstants('2026-11-01T00:30').length, 2));
  });
});
