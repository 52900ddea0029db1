/**
 * JsonScanner accepts exactly what JSON.parse accepts (on UTF-8 bytes), finds where a value
 * ends, notices whitespace outside strings, and reports the outermost object's members with
 * their spans.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { endOfValidString, JsonScanner } from '../../src/logs/json-scan.ts';

const utf8 = new TextEncoder();
const scanner = new JsonScanner();

/** Whether the scanner takes `text` as one JSON value with only whitespace after it (JSON.parse's rule). */
function scans(text: string): boolean {
  const b = utf8.encode(text);
  let i = scanner.end(b, 0);
  if (i < 0) return false;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0x0a || b[i] === 0x0d || b[i] === 0x09)) i++;
  return i === b.length;
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Pieces of JSON, valid and not, that random joins of make near-misses of every rule. */
const piece = fc.constantFrom(
  ...'{}[]":,-+.0123456789eEtrufalsn \t\n\r\\/bu"aZ\x00\x1f\x7f\u00e9\u20ac\u{1F600}\u2028\ufeff\f\v'.split(''),
  '"a"',
  'true',
  'false',
  'null',
  '\\u00e9',
  '\\uD800',
  '\\u12G4',
  '1.5e+3',
  '-0',
  '01',
  '{"k":',
  '"k":1',
  '[1,',
);

describe('JsonScanner', () => {
  it('accepts what JSON.parse accepts and refuses what it refuses, on joins of near-misses', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 24 }), (pieces) => {
        const text = pieces.join('');
        assert.equal(scans(text), parses(text), JSON.stringify(text));
      }),
      { numRuns: 20_000 },
    );
  });

  it('accepts any JSON, spaced or not, and refuses it with one character put in, taken out or changed where JSON.parse does', () => {
    const json = fc.oneof(
      fc.json({ maxDepth: 4 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v, null, 1)),
    );
    const edit = fc.constantFrom(' ', '\n', ',', ':', ']', '}', '[', '{', '"', '\\', 'x', '0', '-', '.', 'e', '\u0001', '');
    fc.assert(
      fc.property(json, fc.nat(), edit, fc.boolean(), (text, at, put, replace) => {
        assert.ok(scans(text), text);
        const k = at % (text.length + 1);
        const edited = text.slice(0, k) + put + text.slice(k + (replace || put === '' ? 1 : 0));
        assert.equal(scans(edited), parses(edited), JSON.stringify(edited));
      }),
      { numRuns: 20_000 },
    );
  });

  it('reads a value that ends before the bytes do, and says where it ends', () => {
    const b = utf8.encode('{"a":[1,{"b":"}"}]} ,{"c":2}');
    assert.equal(scanner.end(b, 0), 19);
    assert.equal(scanner.end(b, 21), 28);
    assert.equal(scanner.end(utf8.encode('123,'), 0), 3);
    assert.equal(scanner.end(utf8.encode('{"a":1'), 0), -1);
    assert.equal(scanner.end(utf8.encode('"abc'), 0), -1);
  });

  it('notices whitespace outside strings only', () => {
    const spaced = (text: string) => {
      assert.ok(scanner.end(utf8.encode(text), 0) >= 0, text);
      return scanner.spaced;
    };
    assert.equal(spaced('{"a b":[1,"\\t\\n x"],"c":{}}'), false);
    for (const text of ['{ "a":1}', '{"a" :1}', '{"a": 1}', '{"a":1 }', '[ ]', '[1 ,2]', '{"a":[1,\n2]}', '{\t}'])
      assert.equal(spaced(text), true, text);
  });

  it('reports each member of the outermost object, key and value spans, and none nested deeper', () => {
    const seen: string[] = [];
    const s = new JsonScanner((b, ks, ke, vs, ve) => {
      const text = Buffer.from(b);
      seen.push(`${text.toString('utf8', ks, ke)}=${text.toString('utf8', vs, ve)}`);
      return true;
    });
    const text = '{ "a" : 1 , "b":{"c":[2,{"d":3}]},"e":"x\\"y", "a":null,"f":[]}';
    assert.equal(s.end(utf8.encode(text), 0), text.length);
    assert.deepEqual(seen, ['"a"=1', '"b"={"c":[2,{"d":3}]}', '"e"="x\\"y"', '"a"=null', '"f"=[]']);
    seen.length = 0;
    assert.ok(s.end(utf8.encode('[{"a":1}]'), 0) > 0);
    assert.deepEqual(seen, [], 'an array holds no members');
  });

  it('ends the scan when a member is refused', () => {
    const s = new JsonScanner((b, ks) => b[ks + 1] !== 0x78 /* x */);
    assert.equal(s.end(utf8.encode('{"a":1,"x":2}'), 0), -1);
    assert.equal(s.end(utf8.encode('{"a":{"x":2}}'), 0), 13);
  });

  it('nests as deep as JSON.parse does', () => {
    const deep = `${'{"a":['.repeat(10_000)}1${']}'.repeat(10_000)}`;
    assert.ok(parses(deep));
    assert.ok(scans(deep));
  });

  it('checks strings: escapes, control characters and the end', () => {
    for (const [text, ok] of [
      ['"\\u00e9\\uD800\\/\\b\\f\\n\\r\\t\\"\\\\"', true],
      ['"\\x"', false],
      ['"\\u12"', false],
      ['"a\u0009b"', false],
      ['"a\u007fb"', true],
      ['"a\\', false],
    ] as const) {
      const b = utf8.encode(text);
      assert.equal(endOfValidString(b, 0) === b.length, ok, text);
      assert.equal(parses(text), ok, text);
    }
  });
});
