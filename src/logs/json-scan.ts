/**
 * A JSON value checked in its UTF-8 bytes, without building it: where it ends, whether it held
 * whitespace outside its strings, and where the members of the outermost object are. It accepts
 * exactly the texts JSON.parse accepts, given bytes that are valid UTF-8 (a byte above 0x7F is
 * then part of a character, allowed only inside strings, as JSON.parse allows such characters).
 * For reading many entries whose exact bytes are passed on: JSON.parse would make objects only
 * to be thrown away, the most of the work.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;

const OBJECT = 1;
const ARRAY = 2;

/** The characters that may follow a backslash (`u` is checked with its four hex digits apart). */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

const isWs = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
const isDigit = (c: number | undefined) => c !== undefined && c >= ZERO && c <= NINE;

/** Index just past the string whose opening quote is at `i`, or -1 (an unescaped control character, a bad escape, cut short). */
export function endOfValidString(b: Uint8Array, i: number): number {
  const n = b.length;
  for (i++; i < n; ) {
    const c = b[i]!;
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === undefined) return -1;
      if (SIMPLE_ESCAPE[e]) i += 2;
      else if (e === 0x75 /* u */ && HEX[b[i + 2]!]! & HEX[b[i + 3]!]! & HEX[b[i + 4]!]! & HEX[b[i + 5]!]!) i += 6;
      else return -1;
    } else if (c < 0x20) return -1;
    else i++;
  }
  return -1;
}

/** Index just past the number starting at `i` (-? int frac? exp?), or -1. */
function endOfNumber(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === ZERO) i++;
  else if (isDigit(b[i])) while (isDigit(b[++i]));
  else return -1;
  if (b[i] === DOT) {
    if (!isDigit(b[++i])) return -1;
    while (isDigit(b[++i]));
  }
  const e = b[i];
  if (e === 0x65 || e === 0x45) {
    const s = b[++i];
    if (s === PLUS || s === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[++i]));
  }
  return i;
}

function isWord(b: Uint8Array, i: number, word: readonly number[]): boolean {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}

const TRUE = [...'true'].map((c) => c.charCodeAt(0));
const FALSE = [...'false'].map((c) => c.charCodeAt(0));
const NULL = [...'null'].map((c) => c.charCodeAt(0));

/**
 * Told of each member of the outermost object a scan reads (not of members nested deeper):
 * its key's span and its value's span, quotes included. Returning false ends the scan as if
 * the value were invalid.
 */
export type MemberSink = (b: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number) => boolean;

export class JsonScanner {
  /** Whether the value last scanned held whitespace outside its strings. */
  spaced = false;
  /** Which kind of container each open level is. */
  private levels = new Uint8Array(64);
  private keyStart = 0;
  private keyEnd = 0;

  constructor(private readonly members?: MemberSink) {}

  /**
   * Index just past the JSON value starting exactly at `i` (whitespace after it is not read),
   * or -1 when no valid value starts there.
   */
  end(b: Uint8Array, i: number): number {
    const members = this.members;
    let depth = 0;
    let valueStart = 0;
    this.spaced = false;
    for (;;) {
      // A value starts at i.
      i = this.ws(b, i);
      if (depth === 1) valueStart = i;
      const c = b[i];
      if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        const kind = c === OPEN_OBJECT ? OBJECT : ARRAY;
        i = this.ws(b, i + 1);
        if (b[i] === (kind === OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) i++;
        else {
          this.open(depth++, kind);
          if (kind === OBJECT && (i = this.key(b, i, depth)) < 0) return -1;
          continue;
        }
      } else if (c === QUOTE) i = endOfValidString(b, i);
      else if (c === 0x74 /* t */) i = isWord(b, i, TRUE) ? i + 4 : -1;
      else if (c === 0x66 /* f */) i = isWord(b, i, FALSE) ? i + 5 : -1;
      else if (c === 0x6e /* n */) i = isWord(b, i, NULL) ? i + 4 : -1;
      else i = endOfNumber(b, i);
      if (i < 0) return -1;
      // A value ended at i: on to the next one, closing the containers it ends.
      for (;;) {
        if (depth === 1 && members && this.levels[0] === OBJECT && !members(b, this.keyStart, this.keyEnd, valueStart, i)) return -1;
        if (depth === 0) return i;
        i = this.ws(b, i);
        const kind = this.levels[depth - 1];
        const d = b[i];
        if (d === COMMA) {
          if (kind === OBJECT && (i = this.key(b, i + 1, depth)) < 0) return -1;
          if (kind === ARRAY) i++;
          break;
        }
        if (d !== (kind === OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1;
        i++;
        depth--;
      }
    }
  }

  /** Past the whitespace at `i`, noting that there was some. */
  private ws(b: Uint8Array, i: number): number {
    if (!isWs(b[i])) return i;
    this.spaced = true;
    while (isWs(b[++i]));
    return i;
  }

  private open(depth: number, kind: number): void {
    if (depth === this.levels.length) {
      const wider = new Uint8Array(depth * 2);
      wider.set(this.levels);
      this.levels = wider;
    }
    this.levels[depth] = kind;
  }

  /** Reads `"key" :` from `i`, whitespace around allowed; the index after the colon, or -1. The key is kept when at `depth` 1. */
  private key(b: Uint8Array, i: number, depth: number): number {
    i = this.ws(b, i);
    if (b[i] !== QUOTE) return -1;
    const start = i;
    i = endOfValidString(b, i);
    if (i < 0) return -1;
    if (depth === 1) {
      this.keyStart = start;
      this.keyEnd = i;
    }
    i = this.ws(b, i);
    return b[i] === COLON ? i + 1 : -1;
  }
}
