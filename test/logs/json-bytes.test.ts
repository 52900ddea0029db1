/**
 * The byte scans behind ingest and export (logs/json-bytes.ts) find the end of any JSON string,
 * short (scanned byte by byte) or long (searched), whatever runs of backslashes it holds.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { endOfContainerBytes, endOfStringBytes } from '../../src/logs/json-bytes.ts';

const utf8 = new TextEncoder();
/** Characters that make string ends hard to find: escapes, quotes, backslash runs, multi-byte text. */
const tricky = fc.string({ unit: fc.constantFrom('\\', '"', '\\\\', '\\"', 'a', 'é', '€', '\n', '/'), maxLength: 120 });

describe('json-bytes', () => {
  it('finds the end of a JSON string of any length, followed by more JSON', () => {
    fc.assert(
      fc.property(tricky, fc.nat({ max: 4 }), (s, lead) => {
        const text = JSON.stringify(s);
        const b = utf8.encode(' '.repeat(lead) + text + ',"next\\"",1]');
        assert.equal(endOfStringBytes(b, lead), lead + utf8.encode(text).length);
      }),
      { numRuns: 2000 },
    );
  });

  it('says -1 for a string that never ends, however long', () => {
    for (const body of ['"abc', `"${'x'.repeat(100)}`, `"${'x'.repeat(60)}\\"`, `"${'\\\\'.repeat(40)}\\"`]) {
      assert.equal(endOfStringBytes(utf8.encode(body), 0), -1, body);
    }
  });

  it('an escaped quote just past the bytes scanned one by one is still an escape', () => {
    for (let n = 40; n < 60; n++) {
      const text = JSON.stringify(`${'a'.repeat(n)}\\"${'b'.repeat(n)}"`);
      assert.equal(endOfStringBytes(utf8.encode(text + '}'), 0), text.length, `at ${n}`);
    }
  });

  it('finds the end of a container holding such strings', () => {
    fc.assert(
      fc.property(fc.array(tricky, { maxLength: 5 }), (strings) => {
        const text = JSON.stringify({ a: strings, b: { c: strings[0] ?? '' } });
        assert.equal(endOfContainerBytes(utf8.encode(text + ',{}'), 0, 3), utf8.encode(text).length);
      }),
    );
  });
});
