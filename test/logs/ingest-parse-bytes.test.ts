/**
 * The JSON batch parser on bytes (parseJsonBatchBytes) against the one on text (parseJsonBatch):
 * on random bodies — whitespace anywhere, members in either order, repeated or escaped keys,
 * records at the nesting bound, bad values, and single-byte damage — the same entries or the
 * same error. Its fast path (batchFromBytes) answers only when the text parser agrees, and it
 * does answer for ordinary bodies.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { NewEntry } from '../../src/logs/entry.ts';
import {
  batchFromBytes,
  longestMemberArray,
  MAX_BATCH_ENTRIES,
  MAX_LOG_RECORD_DEPTH,
  parseJsonBatch,
  parseJsonBatchBytes,
} from '../../src/logs/ingest-parse.ts';
import { ADMIN_LOG_TYPE, LogTypes } from '../../src/logs/log-types.ts';

const types = new LogTypes(['BadgeSwipe']);
const MAX = 3;

/** A JSON fragment: its text given the whitespace to put between tokens. */
type Render = (ws: () => string) => string;

const lit =
  (text: string): Render =>
  () =>
    text;
const obj =
  (members: Array<[key: string, value: Render]>): Render =>
  (ws) =>
    `{${ws()}${members.map(([k, v]) => `${k}${ws()}:${ws()}${v(ws)}`).join(`${ws()},${ws()}`)}${ws()}}`;
const arr =
  (items: Render[]): Render =>
  (ws) =>
    `[${ws()}${items.map((v) => v(ws)).join(`${ws()},${ws()}`)}${ws()}]`;

/** Objects nested `depth` levels. */
const nested = (depth: number): Render => (depth <= 1 ? lit('{}') : obj([['"x"', nested(depth - 1)]]));

const scalar = fc.oneof(
  fc.string({ maxLength: 8 }).map((s) => lit(JSON.stringify(s))),
  fc.constantFrom('1.0', '-0', '1.5e-300', '12345678901234567890123', 'true', 'null', '"é\\u00e9\\n😀"', '"\\""').map(lit),
);
const record: fc.Arbitrary<Render> = fc.oneof(
  { weight: 30, arbitrary: fc.array(fc.tuple(fc.constantFrom('"a"', '"b"', '"__proto__"', '"c\\u0064"'), scalar), { maxLength: 4 }).map(obj) },
  { weight: 1, arbitrary: fc.integer({ min: MAX_LOG_RECORD_DEPTH - 1, max: MAX_LOG_RECORD_DEPTH + 1 }).map(nested) },
  { weight: 1, arbitrary: fc.constantFrom('[1]', 'null', '"text"').map(lit) },
);
/** Now and then a value, mostly none. */
const rarely = <T>(value: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 12, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: value });

/** Mostly a good value, now and then a bad one. */
const mostly = (good: string[], bad: string[]): fc.Arbitrary<Render> =>
  fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...good).map(lit) }, { weight: 1, arbitrary: fc.constantFrom(...bad).map(lit) });
const eventTime = mostly(['"2026-01-01T00:00:00Z"', '"2026-03-04T05:06:07.891+02:00"'], ['"2026-02-30T00:00:00Z"', '7', 'null']);
const userId = mostly(['"u1"', '"6029384756019283746"', 'null'], ['12']);

const entry: fc.Arbitrary<Render> = fc
  .record({
    userId: fc.option(userId, { nil: undefined }),
    eventTime: fc.option(eventTime, { freq: 40, nil: undefined }),
    logRecord: fc.option(record, { freq: 40, nil: undefined }),
    extra: rarely(fc.constantFrom<[string, Render]>(['"extra"', lit('1')], ['"userId"', lit('"again"')])),
    order: fc.boolean(),
  })
  .map(({ userId, eventTime, logRecord, extra, order }) => {
    const members: Array<[string, Render]> = [];
    if (userId) members.push(['"userId"', userId]);
    if (eventTime) members.push(['"eventTime"', eventTime]);
    if (logRecord) members.push(['"logRecord"', logRecord]);
    if (extra) members.push(extra);
    return obj(order ? members : members.reverse());
  });

const logTypeValue = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom('"AccessLog"', '"BadgeSwipe"', '"Badge\\u0053wipe"').map(lit) },
  { weight: 1, arbitrary: fc.constantFrom(`"${ADMIN_LOG_TYPE}"`, '"NoSuchLog"', '7', 'null').map(lit) },
);
const logEntries = fc.oneof(
  { weight: 20, arbitrary: fc.array(entry, { maxLength: MAX }).map(arr) },
  { weight: 1, arbitrary: fc.array(entry, { minLength: MAX + 1, maxLength: MAX + 1 }).map(arr) },
  { weight: 1, arbitrary: fc.constantFrom('{}', '"entries"', '[1]', '[{}, 2]').map(lit) },
);
const batch: fc.Arbitrary<Render> = fc
  .record({
    logType: logTypeValue,
    logEntries,
    reversed: fc.boolean(),
    extra: rarely(
      fc.constantFrom<[string, Render]>(['"extra"', lit('1')], ['"logType"', lit('"AccessLog"')], ['"log\\u0054ype"', lit('"AccessLog"')]),
    ),
    drop: rarely(fc.constantFrom('logType', 'logEntries')),
  })
  .map(({ logType, logEntries, reversed, extra, drop }) => {
    const members: Array<[string, Render]> = [];
    if (drop !== 'logType') members.push(['"logType"', logType]);
    if (drop !== 'logEntries') members.push(['"logEntries"', logEntries]);
    if (reversed) members.reverse();
    if (extra) members.push(extra);
    return obj(members);
  });

const mostlyText = (good: string[], bad: string[]): fc.Arbitrary<string> =>
  fc.oneof({ weight: 30, arbitrary: fc.constantFrom(...good) }, { weight: 1, arbitrary: fc.constantFrom(...bad) });

/** A body's text: the batch with whitespace drawn from `spaces`, wrapped, maybe damaged in one byte. */
const body = fc
  .record({
    batch,
    spaces: fc.array(fc.constantFrom('', '', '', ' ', '\n', '\t', '\r\n', '  '), { minLength: 1, maxLength: 16 }),
    lead: mostlyText(['', ' ', '\n'], ['\uFEFF']),
    trail: mostlyText(['', ' \n'], ['x', ',', '}']),
    damage: rarely(fc.tuple(fc.nat(), fc.constantFrom('', '{', '}', '[', ']', ',', ':', '"', '\\', ' ', 'a', '\u0001'))),
  })
  .map(({ batch, spaces, lead, trail, damage }) => {
    let n = 0;
    let text = lead + batch(() => spaces[n++ % spaces.length]!) + trail;
    if (damage) {
      const at = damage[0] % (text.length + 1);
      // An empty replacement deletes a character; any other is put in front of it.
      text = damage[1] === '' ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + damage[1] + text.slice(at);
    }
    return text;
  });

type Outcome = { entries: NewEntry[] } | { error: string; code: unknown };

function outcome(parse: () => NewEntry[]): Outcome {
  try {
    return { entries: parse() };
  } catch (err) {
    return { error: (err as Error).message, code: (err as { code?: unknown }).code };
  }
}

describe("the count of a body's entries, made before it is parsed", () => {
  it('counts the elements of the arrays in the body object, whatever strings, nesting and escapes they hold', () => {
    assert.equal(longestMemberArray('{"logType":"AccessLog","logEntries":[]}'), 0);
    assert.equal(longestMemberArray('{"logEntries":[ {} ]}'), 1);
    assert.equal(longestMemberArray('{"logEntries":[{"a":[1,2,3]},{"b":"x,y]"},"s\\"",[4,[5,6]],7]}'), 5);
    assert.equal(longestMemberArray('{"a":[1,2],"logEntries":[{},{},{}],"b":{"c":[1,2,3,4,5]}}'), 3);
    assert.equal(longestMemberArray('{"logEntries":[{},{},'), 3, 'cut short: as far as it goes');
  });

  it('refuses a body of more entries than a request takes before parsing it, whatever its shape', () => {
    for (const n of [MAX_BATCH_ENTRIES + 1, 200_000]) {
      const entries = `[${'{},'.repeat(n - 1)}{}]`;
      for (const text of [`{"logType":"AccessLog","logEntries":${entries}}`, `{"logType":"AccessLog","log\\u0045ntries":${entries}}`]) {
        assert.deepEqual(
          outcome(() => [...parseJsonBatchBytes(Buffer.from(text), types)]),
          {
            error: `logEntries: at most ${MAX_BATCH_ENTRIES} entries per request (got ${n})`,
            code: 'invalid_request',
          },
        );
      }
    }
  });
});

describe('the JSON batch parser on bytes', () => {
  it('gives the entries or the error the parser on text gives, on random bodies', () => {
    fc.assert(
      fc.property(body, (text) => {
        const bytes = Buffer.from(text);
        const want = outcome(() => parseJsonBatch(bytes.toString('utf8'), types, MAX));
        // Faults in entries are thrown while the entries are taken, as a store takes them.
        assert.deepEqual(
          outcome(() => [...parseJsonBatchBytes(bytes, types, MAX)]),
          want,
        );
      }),
      { numRuns: 3000 },
    );
  });

  it('answers from its fast path only with what the parser on text gives, and does so for ordinary bodies', () => {
    let fast = 0;
    let accepted = 0;
    fc.assert(
      fc.property(body, (text) => {
        const bytes = Buffer.from(text);
        const want = outcome(() => parseJsonBatch(bytes.toString('utf8'), types, MAX));
        if ('entries' in want) accepted++;
        const got = batchFromBytes(bytes, types, MAX);
        if (got === undefined) return;
        fast++;
        assert.deepEqual({ entries: got }, want);
      }),
      { numRuns: 3000 },
    );
    // Bodies the text parser takes are nearly all ordinary: the fast path must take most of them.
    assert.ok(accepted >= 200, `only ${accepted} accepted bodies among 3000`);
    assert.ok(fast >= accepted * 0.8, `the fast path took ${fast} of ${accepted} accepted bodies`);
  });

  it('takes the usual body on its fast path, entries exactly as the parser on text makes them', () => {
    const text = `{"logType":"AccessLog","logEntries":[${Array.from(
      { length: 50 },
      (_, i) => `{"userId":"${i}","eventTime":"2026-01-01T00:00:${String(i).padStart(2, '0')}.5Z","logRecord":{"n":${i}.0,"s":"é\\u00e9"}}`,
    ).join(',')}]}`;
    const got = batchFromBytes(Buffer.from(text), types);
    assert.ok(got);
    assert.equal(got.length, 50);
    assert.deepEqual(got, parseJsonBatch(text, types));
  });
});
