import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PageShapeError, parsePage, parseTextPage } from '../../src/client/page.ts';
import { arrayElements, minifiedElements, minify, tooDeep } from '../../src/logs/json-text.ts';

const ENTRY_A =
  '{"userId":"1234567890123456789","eventTime":"2026-01-01T00:00:00.000Z","logRecord":{"n":12345678901234567890123,"f":1.0,"s":"a b\\" c"}}';
const ENTRY_B = '{"eventTime":"2026-01-01T00:00:01.000Z","logRecord":{}}';

function page(entries: string, extra = ''): string {
  return `{"requestId":"r1","records":{"totalRecords":2,"currentPageSize":2,"currentPageNumber":0${extra}},"logEntries":[${entries}]}`;
}

describe('parseTextPage and parsePage', () => {
  it('give the same exact texts, compact or spaced out, and the same records', () => {
    const spaced = ` {\n "userId" : "1234567890123456789",\t"eventTime":"2026-01-01T00:00:00.000Z", "logRecord": { "n": 12345678901234567890123 , "f":1.0, "s":"a b\\" c" } }`;
    for (const body of [page(`${ENTRY_A},${ENTRY_B}`, ',"cursor":"c1"'), page(`${spaced} ,\n${ENTRY_B}`, ',"cursor":"c1"')]) {
      const full = parsePage(body);
      const texts = parseTextPage(body);
      assert.deepEqual(texts.texts, [ENTRY_A, ENTRY_B]);
      assert.deepEqual(
        full.logEntries.map((e) => e.raw),
        [ENTRY_A, ENTRY_B],
      );
      assert.deepEqual(texts.eventTimes, ['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z']);
      assert.deepEqual(texts.records, full.records);
      assert.equal(texts.records.cursor, 'c1');
      assert.equal(texts.requestId, 'r1');
    }
  });

  it('parsePage keeps every digit and the exact record text, with logRecord an own enumerable field', () => {
    const [e] = parsePage(page(ENTRY_A)).logEntries;
    assert.equal(e!.userId, '1234567890123456789');
    assert.equal(e!.logRecordText, '{"n":12345678901234567890123,"f":1.0,"s":"a b\\" c"}');
    assert.deepEqual(e!.logRecord, { n: 12345678901234567890123n, f: 1, s: 'a b" c' });
    assert.ok(Object.keys(e!).includes('logRecord'));
    assert.deepEqual({ ...e! }.logRecord, e!.logRecord);
  });

  it('parsePage reads a number sent as an id again from the text, losing no digit', () => {
    const [e] = parsePage(page('{"userId":12345678901234567890,"eventTime":"2026-01-01T00:00:00.000Z","logRecord":{}}')).logEntries;
    assert.equal(e!.userId, '12345678901234567890');
  });

  it('both refuse what is not a page of entries, alike', () => {
    const bad = [
      page('{"eventTime":"2026-01-01T00:00:00.000Z","logRecord":[]}'),
      page('{"logRecord":{}}'),
      page('{"userId":true,"eventTime":"2026-01-01T00:00:00.000Z","logRecord":{}}'),
      page('[1]'),
      '{"records":{},"logEntries":{}}',
    ];
    for (const body of bad) {
      assert.throws(() => parsePage(body), PageShapeError, body);
      assert.throws(() => parseTextPage(body), PageShapeError, body);
    }
    const cut = page(`${ENTRY_A},${ENTRY_B}`);
    assert.throws(() => parseTextPage(cut.slice(0, cut.length >> 1)), SyntaxError);
  });
});

describe('minifiedElements', () => {
  it('agrees with arrayElements + minify on any JSON array, and ends just after it', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue()), fc.constantFrom(undefined, 1, '\t'), (values, indent) => {
        const text = JSON.stringify(values, null, indent) + ' ,x';
        const out: string[] = [];
        const end = minifiedElements(text, 0, out);
        assert.deepEqual(
          out,
          arrayElements(text, 0).map(([s, e]) => minify(text, s, e)),
        );
        assert.equal(text.slice(end), ' ,x');
      }),
      { numRuns: 300 },
    );
  });
});

describe('tooDeep', () => {
  it('finds the same excess as before on any nesting, and none within the bound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 1, max: 6 }), (v, max) => {
        const text = JSON.stringify({ logEntries: [v] });
        const depth = (x: unknown): number => (x !== null && typeof x === 'object' ? 1 + Math.max(0, ...Object.values(x).map(depth)) : 0);
        const found = tooDeep(text, max);
        assert.equal(found !== undefined, depth({ logEntries: [v] }) > max);
      }),
      { numRuns: 300 },
    );
    assert.deepEqual(tooDeep('{"a":[{"b":[[1]]}]}', 3), ['a', 0, 'b']);
    assert.equal(tooDeep(']]]]{"a":[[1]]}', 3), undefined);
  });
});
