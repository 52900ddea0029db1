/**
 * The export's byte path (client/page-bytes.ts) gives exactly what the string path
 * (`parseTextPage`) gives, however the body is spaced, chunked or damaged: the same texts, byte
 * for byte, the same records, and the same error when the body is not a page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseTextPage, type TextPage } from '../../src/client/page.ts';
import { parseTextPageChunks } from '../../src/client/page-bytes.ts';

const utf8 = new TextEncoder();

/** The body cut into chunks at the given points (as a socket might deliver it). */
function chunked(body: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (body.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of [...points, body.length]) {
    if (p > at) out.push(body.subarray(at, p));
    at = p;
  }
  return out.length > 0 ? out : [body];
}

function outcome(parse: () => TextPage): unknown {
  try {
    const p = parse();
    return {
      requestId: p.requestId,
      records: p.records,
      texts: p.texts,
      bytes: p.textBytes.map((b) => Buffer.from(b).toString('hex')),
      eventTimes: p.eventTimes,
    };
  } catch (err) {
    return { error: (err as Error).constructor.name, message: (err as Error).message };
  }
}

const entry = fc.record(
  {
    userId: fc.oneof(fc.string(), fc.integer(), fc.constant(true)),
    userEmailAddress: fc.string(),
    eventTime: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01Z') },
      { weight: 1, arbitrary: fc.integer() },
    ),
    logRecord: fc.oneof(
      { weight: 8, arbitrary: fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) },
    ),
  },
  { requiredKeys: [] },
);

const page = fc.record(
  {
    requestId: fc.oneof(fc.string(), fc.integer()),
    records: fc.record(
      {
        totalRecords: fc.nat(),
        currentPageSize: fc.nat(),
        currentPageNumber: fc.oneof(fc.nat(), fc.constant(-1)),
        cursor: fc.oneof(fc.string(), fc.constant(null), fc.nat()),
      },
      { requiredKeys: [] },
    ),
    logEntries: fc.oneof(
      { weight: 10, arbitrary: fc.array(entry, { maxLength: 6 }) },
      { weight: 1, arbitrary: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }) },
    ),
  },
  { requiredKeys: ['logEntries'] },
);

describe('the byte path of a text page', () => {
  it('gives what the string path gives on any page, spaced or not, in any chunks', () => {
    fc.assert(
      fc.property(page, fc.constantFrom(undefined, 1, '\t'), fc.array(fc.nat(), { maxLength: 6 }), (value, indent, cuts) => {
        const text = JSON.stringify(value, null, indent);
        const body = utf8.encode(text);
        assert.deepEqual(
          outcome(() => parseTextPageChunks(chunked(body, cuts), 'h1')),
          outcome(() => parseTextPage(text, 'h1')),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('gives what the string path gives on damaged bodies: cut short, bytes changed, not UTF-8', () => {
    const good = utf8.encode(
      JSON.stringify({
        requestId: 'r',
        records: { totalRecords: 2, currentPageSize: 2, currentPageNumber: 0, cursor: 'c' },
        logEntries: [
          { userId: '1', eventTime: '2026-01-01T00:00:00.000Z', logRecord: { n: 'é ü 日本', big: 1 } },
          { eventTime: '2026-01-01T00:00:01.000Z', logRecord: {} },
        ],
      }),
    );
    fc.assert(
      fc.property(fc.nat(good.length), fc.nat(255), fc.boolean(), fc.array(fc.nat(), { maxLength: 4 }), (at, byte, truncate, cuts) => {
        const body = truncate ? good.slice(0, at) : good.slice();
        if (!truncate) body[at % body.length] = byte;
        assert.deepEqual(
          outcome(() => parseTextPageChunks(chunked(body, cuts))),
          outcome(() => parseTextPage(new TextDecoder().decode(body))),
        );
      }),
      { numRuns: 600 },
    );
  });

  it('gives what the string path gives on pages of any characters, with entries spread over several pieces', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const big = fc.record({
      userId: fc.oneof(text, fc.integer()),
      eventTime: fc.oneof({ weight: 6, arbitrary: fc.constant('2026-01-01T00:00:00.000Z') }, { weight: 1, arbitrary: text }),
      logRecord: fc.record({ k: fc.dictionary(text, text, { maxKeys: 3 }), pad: fc.nat(40_000).map((n) => 'é'.repeat(n % 3) + 'x'.repeat(n)) }),
    });
    const bigPage = fc.record({
      requestId: fc.oneof(text, fc.constant('r1')),
      records: fc.record({
        totalRecords: fc.nat(),
        currentPageSize: fc.nat(),
        currentPageNumber: fc.nat(),
        cursor: fc.oneof(text, fc.constant('c1')),
      }),
      logEntries: fc.array(big, { maxLength: 9 }),
    });
    fc.assert(
      fc.property(bigPage, fc.option(fc.nat()), fc.nat(255), (value, at, byte) => {
        const body = utf8.encode(JSON.stringify(value));
        if (at !== null) body[at % body.length] = byte;
        assert.deepEqual(
          outcome(() => parseTextPageChunks([body], 'h1')),
          outcome(() => parseTextPage(new TextDecoder().decode(body), 'h1')),
        );
      }),
      { numRuns: 150 },
    );
  });

  it('refuses a comma with no entry after it, as the string path does', () => {
    const e = '{"eventTime":"2026-01-01T00:00:00Z","logRecord":{}}';
    for (const text of [`{"logEntries":[${e},]}`, `{"logEntries":[${e},,${e}]}`, `{"logEntries":[,${e}]}`, `{"logEntries":[${e} , ]}`]) {
      const answer = outcome(() => parseTextPageChunks([utf8.encode(text)]));
      assert.deepEqual(
        answer,
        outcome(() => parseTextPage(text)),
        text,
      );
      assert.ok('error' in (answer as object), text);
    }
  });

  it('takes the last logEntries member, a byte-order mark and an empty page as the string path does', () => {
    const bodies = [
      '{"logEntries":[{"eventTime":"2026-01-01T00:00:00Z","logRecord":{}}],"logEntries":[]}',
      '\uFEFF{"logEntries":[{"eventTime":"2026-01-01T00:00:00Z","logRecord":{}}]}',
      '{"records":{},"logEntries":[]}',
      String.raw`{"logEntries":[{"eventTime":"2026-01-01T00:00:00Z","logRecord":{"a":"x\\","b":"\"q\\\"","c\\":"}{]["}}]}`,
      '{"records":{}}',
      ' { "logEntries" : [ { "eventTime" : "2026-01-01T00:00:00Z" , "logRecord" : { "a" : [ 1 , 2 ] } } ] } ',
    ];
    for (const text of bodies) {
      assert.deepEqual(
        outcome(() => parseTextPageChunks([utf8.encode(text)])),
        outcome(() => parseTextPage(new TextDecoder().decode(utf8.encode(text)))),
        text,
      );
    }
  });

  it('judges repeated, escaped and odd members of an entry as the string path does', () => {
    const t = '"2026-01-01T00:00:00Z"';
    const entries = [
      `{"userId":true,"userId":"1","eventTime":${t},"logRecord":{}}`,
      `{"userId":"1","userId":true,"eventTime":${t},"logRecord":{}}`,
      `{"userId":-12.5e3,"impersonatorCompanyId":null,"eventTime":${t},"logRecord":{}}`,
      `{"userId":[],"eventTime":${t},"logRecord":{}}`,
      `{"userFullName":{},"eventTime":${t},"logRecord":{}}`,
      `{"eventTime":5,"eventTime":${t},"logRecord":{}}`,
      `{"eventTime":${t},"eventTime":5,"logRecord":{}}`,
      `{"eventTime":${t},"logRecord":{},"logRecord":[]}`,
      `{"eventTime":${t},"logRecord":[],"logRecord":{"a":1}}`,
      `{"event\\u0054ime":${t},"logRecord":{}}`,
      `{"eventTime":${t},"eventTim\\u0065":7,"logRecord":{}}`,
      `{"eventTime":${t},"log\\u0052ecord":{}}`,
      `{"eventTime":"2026-01-01T00:00:00\\u005a","logRecord":{}}`,
      `{"eventTime":"2026-01-01T00:00:00Z\u00e9","logRecord":{}}`,
      `{"eventTime":${t}}`,
      `{"logRecord":{}}`,
      `{"eventTime":${t},"logRecord":{},"other":{"userId":true,"eventTime":1}}`,
      `{"eventTime":${t},"logRecord":{"eventTime":1,"logRecord":2}}`,
    ];
    for (const e of entries) {
      for (const text of [`{"logEntries":[${e}]}`, `{"logEntries":[{"eventTime":${t},"logRecord":{}},${e}]}`]) {
        assert.deepEqual(
          outcome(() => parseTextPageChunks([utf8.encode(text)])),
          outcome(() => parseTextPage(text)),
          text,
        );
      }
    }
  });

  it('keeps each page its own bytes when pages are parsed one after another', () => {
    const body = (n: number) =>
      utf8.encode(
        JSON.stringify({
          logEntries: Array.from({ length: 300 }, (_, i) => ({ eventTime: '2026-01-01T00:00:00Z', logRecord: { n, i, pad: 'x'.repeat(500) } })),
        }),
      );
    const first = parseTextPageChunks(chunked(body(1), [1000, 70_000]));
    const copy = first.textBytes.map((b) => Buffer.from(b).toString());
    parseTextPageChunks(chunked(body(2), [5, 90_000]));
    assert.deepEqual(
      first.textBytes.map((b) => Buffer.from(b).toString()),
      copy,
    );
    assert.ok(copy.every((t, i) => t.includes(`"n":1,"i":${i},`)));
  });
});
