/**
 * The documented ingest body (server/schemas.ts `ingestBatch`) and the parser that really
 * checks it (logs/ingest-parse.ts) give the same answer: whatever the parser accepts, the
 * reference accepts; whatever the reference refuses, the parser refuses; and where only the
 * parser's own checks are at stake (the event time's meaning), the reference's yes is the
 * parser's yes. So the API reference cannot drift from what POST /v2/logs takes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { MAX_USER_FIELD_LENGTH, USER_FIELDS } from '../../src/logs/entry.ts';
import { parseJsonBatch } from '../../src/logs/ingest-parse.ts';
import { ADMIN_LOG_TYPE, LogTypes } from '../../src/logs/log-types.ts';
import { ingestBatch } from '../../src/server/schemas.ts';

const types = new LogTypes(['BadgeSwipe']);
const validate = new Ajv({ strict: false }).compile(ingestBatch(types));

function parserAccepts(body: unknown): boolean {
  try {
    parseJsonBatch(JSON.stringify(body), types);
    return true;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'invalid_request') throw err;
    return false;
  }
}

const GOOD_TIMES = ['2026-01-01T00:00:00Z', '2026-03-04T05:06:07.891+02:00', '1999-12-31T23:59:59.999999Z'];
const BAD_TIMES = ['yesterday', '2026-02-30T00:00:00Z', '2026-01-01T00:00:00', ''];

/** Mostly what a client sends, sometimes one of the faults either side must catch. */
const userValue = fc.oneof(
  { weight: 40, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(MAX_USER_FIELD_LENGTH)) },
  { weight: 1, arbitrary: fc.constant('x'.repeat(MAX_USER_FIELD_LENGTH + 1)) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.constant({ a: 1 }) },
);

/** An optional member: absent, present, or (rarely) a wrong value. */
function member<T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 10, arbitrary: good }, { weight: 1, arbitrary: bad });
}

const entry = fc
  .record(
    {
      ...Object.fromEntries(USER_FIELDS.map((f) => [f, userValue])),
      eventTime: member(fc.constantFrom(...GOOD_TIMES), fc.oneof(fc.constantFrom(...BAD_TIMES), fc.constant(null), fc.integer())),
      logRecord: member(fc.constantFrom({ action: 'x', n: 1 }, {}), fc.constantFrom([1], null, 'text')),
      extra: fc.constant(true),
    },
    { requiredKeys: ['eventTime', 'logRecord'] },
  )
  .chain((e) =>
    fc.constantFrom(
      e,
      Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'extra')),
      Object.fromEntries(Object.entries(e).filter(([k]) => k !== 'extra' && k !== 'eventTime' && k !== 'logRecord')),
    ),
  );

const batch = fc
  .record(
    {
      logType: member(fc.constantFrom(...types.writable), fc.constantFrom(ADMIN_LOG_TYPE, 'NoSuchLog', null, 7)),
      logEntries: member(fc.array(entry, { maxLength: 3 }), fc.constantFrom({}, 'entries')),
      extra: fc.constant(1),
    },
    { requiredKeys: ['logType', 'logEntries'] },
  )
  .chain((b) => fc.constantFrom(b, Object.fromEntries(Object.entries(b).filter(([k]) => k !== 'extra')), { logEntries: b.logEntries }));

/** Whether every event time in the body, where given as a string, is one the parser takes. */
function timesAreGood(body: Record<string, unknown>): boolean {
  const list = body.logEntries;
  if (!Array.isArray(list)) return true;
  return list.every(
    (e) => typeof (e as { eventTime?: unknown }).eventTime !== 'string' || GOOD_TIMES.includes((e as { eventTime: string }).eventTime),
  );
}

describe('the documented ingest body and the ingest parser', () => {
  it('agree on random bodies', () => {
    let accepted = 0;
    fc.assert(
      fc.property(batch, (body) => {
        const parsed = parserAccepts(body);
        const documented = validate(body);
        accepted += parsed ? 1 : 0;
        if (parsed) assert.ok(documented, `the parser took a body the reference refuses: ${JSON.stringify(validate.errors)}`);
        if (documented && timesAreGood(body)) assert.ok(parsed, 'the reference takes a body the parser refuses');
      }),
      { numRuns: 3000 },
    );
    // Enough of the bodies are valid for the second implication to be tested. About one in ten
    // is (mean 312 of 3,000 over repeated runs, standard deviation about 17), so 200 is far below
    // any run's count and far above a generator that has stopped making valid bodies.
    assert.ok(accepted > 200, `only ${accepted} of 3000 random bodies were valid`);
  });

  it('agree at the batch size limit', () => {
    const one = { eventTime: GOOD_TIMES[0], logRecord: {} };
    for (const n of [0, 1, 10_000, 10_001]) {
      const body = { logType: 'AccessLog', logEntries: Array.from({ length: n }, () => one) };
      assert.equal(validate(body), n <= 10_000, `${n} entries`);
      assert.equal(parserAccepts(body), n <= 10_000, `${n} entries`);
    }
  });

  it("names the deployment's own writable types, and not the admin trail", () => {
    assert.ok(validate({ logType: 'BadgeSwipe', logEntries: [] }));
    assert.ok(!validate({ logType: ADMIN_LOG_TYPE, logEntries: [] }));
  });
});
