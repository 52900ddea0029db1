import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseLossless } from '../../src/client/lossless-json.ts';

describe('parseLossless', () => {
  it('agrees with JSON.parse on any JSON without unsafe integers', () => {
    const safe = fc.jsonValue().filter((v) => !JSON.stringify(v).match(/\d{16,}/));
    fc.assert(
      fc.property(safe, fc.boolean(), (v, pretty) => {
        const text = JSON.stringify(v, null, pretty ? 2 : undefined);
        assert.deepEqual(parseLossless(text), JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps every digit of integers beyond 2^53 as bigint', () => {
    const v = parseLossless('{"a":12345678901234567890123,"b":-9007199254740993,"c":9007199254740991,"d":[1e30,2.5]}');
    assert.deepEqual(v, { a: 12345678901234567890123n, b: -9007199254740993n, c: 9007199254740991, d: [1e30, 2.5] });
  });

  it('adds "__proto__" as a member, never as the prototype', () => {
    const v = parseLossless('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('decodes escapes in keys and strings', () => {
    assert.deepEqual(parseLossless('{"k\\u00e9y":"a\\"b\\\\c\\n"}'), { kéy: 'a"b\\c\n' });
  });

  it('refuses malformed text', () => {
    for (const bad of ['{"a":}', '[1,]', '{"a" 1}', '[1] x', '-']) assert.throws(() => parseLossless(bad), SyntaxError, bad);
  });
});
