/**
 * A JSON parser that loses no digits: integers beyond Number.MAX_SAFE_INTEGER become
 * `bigint` instead of being rounded as JSON.parse would (12345678901234567890123 would come
 * back as 12345678901234567000000). Everything else parses as JSON.parse parses it. The exact
 * text of every number (`1.0`, `1.5e-300`) is kept by the raw entry text, not here.
 */
import { endOfString, skipWs } from '../logs/json-text.ts';

export type JsonValue = null | boolean | number | bigint | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

class Parser {
  i: number;
  constructor(
    readonly s: string,
    start: number,
  ) {
    this.i = start;
  }

  fail(what: string): never {
    throw new SyntaxError(`${what} at position ${this.i}`);
  }

  value(): JsonValue {
    const s = this.s;
    this.i = skipWs(s, this.i);
    const c = s[this.i];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === 't' && s.startsWith('true', this.i)) return ((this.i += 4), true);
    if (c === 'f' && s.startsWith('false', this.i)) return ((this.i += 5), false);
    if (c === 'n' && s.startsWith('null', this.i)) return ((this.i += 4), null);
    return this.number();
  }

  string(): string {
    const end = endOfString(this.s, this.i);
    const inner = this.s.slice(this.i + 1, end - 1);
    const out = inner.includes('\\') ? (JSON.parse(this.s.slice(this.i, end)) as string) : inner;
    this.i = end;
    return out;
  }

  number(): number | bigint {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (!m) this.fail('unexpected character');
    this.i += m[0].length;
    const n = Number(m[0]);
    if (m[1] === undefined && m[2] === undefined && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  array(): JsonValue[] {
    const out: JsonValue[] = [];
    this.i = skipWs(this.s, this.i + 1);
    if (this.s[this.i] === ']') return (this.i++, out);
    for (;;) {
      out.push(this.value());
      this.i = skipWs(this.s, this.i);
      const c = this.s[this.i++];
      if (c === ']') return out;
      if (c !== ',') this.fail('expected , or ]');
    }
  }

  object(): JsonObject {
    const out: JsonObject = {};
    this.i = skipWs(this.s, this.i + 1);
    if (this.s[this.i] === '}') return (this.i++, out);
    for (;;) {
      this.i = skipWs(this.s, this.i);
      if (this.s[this.i] !== '"') this.fail('expected a key');
      const key = this.string();
      this.i = skipWs(this.s, this.i);
      if (this.s[this.i++] !== ':') this.fail('expected :');
      const v = this.value();
      // A plain assignment to "__proto__" would replace the prototype instead of adding a member.
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.i = skipWs(this.s, this.i);
      const c = this.s[this.i++];
      if (c === '}') return out;
      if (c !== ',') this.fail('expected , or }');
    }
  }
}

/** Parses the JSON value in `text[start, end)` (the whole text by default). */
export function parseLossless(text: string, start = 0, end = text.length): JsonValue {
  const p = new Parser(text, start);
  const v = p.value();
  if (skipWs(text, p.i) < end) p.fail('unexpected text after the value');
  return v;
}
