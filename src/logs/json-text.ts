/**
 * Raw JSON text handling. An audit record must come back exactly as it went in — key order,
 * duplicate-free text of every number (`1.0`, `1.5e-300`, 23-digit integers) — which a
 * round trip through JSON.parse cannot promise. These helpers work on the text itself: they
 * find the span of a member's value and strip insignificant whitespace, leaving every token
 * byte-identical. They expect text that JSON.parse has already accepted.
 */

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

function isWs(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

export function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

/** Index just after the closing quote of the string starting at `i` (which holds `"`). */
export function endOfString(s: string, i: number): number {
  let j = i + 1;
  for (;;) {
    const q = s.indexOf('"', j);
    if (q < 0) throw new SyntaxError('unterminated string');
    let backslashes = 0;
    for (let k = q - 1; k > i && s.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    j = q + 1;
  }
}

/** Index just after the JSON value starting at `i` (no leading whitespace). */
export function endOfValue(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === QUOTE) return endOfString(s, i);
  if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
    let depth = 0;
    let j = i;
    while (j < s.length) {
      const d = s.charCodeAt(j);
      if (d === QUOTE) {
        j = endOfString(s, j);
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    throw new SyntaxError('unterminated container');
  }
  // number, true, false, null: runs until a delimiter
  let j = i;
  while (j < s.length) {
    const d = s.charCodeAt(j);
    if (d === 0x2c || d === 0x7d || d === 0x5d || isWs(d)) break;
    j++;
  }
  return j;
}

export interface MemberSpan {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/** The members of the object starting at `i`, with the span of each value. */
export function objectMembers(s: string, i: number): MemberSpan[] {
  const members: MemberSpan[] = [];
  let j = skipWs(s, i + 1);
  if (s.charCodeAt(j) === 0x7d) return members;
  for (;;) {
    const keyEnd = endOfString(s, j);
    const rawKey = s.slice(j + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(s.slice(j, keyEnd)) as string) : rawKey;
    j = skipWs(s, keyEnd);
    j = skipWs(s, j + 1); // past ':'
    const end = endOfValue(s, j);
    members.push({ key, start: j, end });
    j = skipWs(s, end);
    if (s.charCodeAt(j) === 0x2c) {
      j = skipWs(s, j + 1);
      continue;
    }
    return members;
  }
}

/** The spans of the elements of the array starting at `i`. */
export function arrayElements(s: string, i: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let j = skipWs(s, i + 1);
  if (s.charCodeAt(j) === 0x5d) return out;
  for (;;) {
    const end = endOfValue(s, j);
    out.push([j, end]);
    j = skipWs(s, end);
    if (s.charCodeAt(j) === 0x2c) {
      j = skipWs(s, j + 1);
      continue;
    }
    return out;
  }
}

/** The text of s[start, end) without insignificant whitespace; every token kept byte for byte. */
export function minify(s: string, start = 0, end = s.length): string {
  let out = '';
  let runStart = start;
  let j = start;
  while (j < end) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) {
      j = endOfString(s, j);
      continue;
    }
    if (isWs(c)) {
      out += s.slice(runStart, j);
      j++;
      while (j < end && isWs(s.charCodeAt(j))) j++;
      runStart = j;
      continue;
    }
    j++;
  }
  return runStart === start && end === s.length ? s : out + s.slice(runStart, end);
}

/** One open container while scanning for depth: its member key or element index so far. */
interface Level {
  readonly object: boolean;
  key: string;
  index: number;
}

/**
 * Where `s` first nests objects and arrays more than `maxDepth` levels deep: the keys and
 * indices leading to the container that goes past it (`["logEntries", 3, "logRecord", …]`),
 * or undefined. One pass without recursion that stops at the first excess, so a
 * million-level array is refused before anything parses it. The text need not be valid JSON:
 * on malformed text the answer is a best effort and the parser reports the real problem.
 */
export function tooDeep(s: string, maxDepth: number): Array<string | number> | undefined {
  const stack: Level[] = [];
  let j = 0;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) {
      let end: number;
      try {
        end = endOfString(s, j);
      } catch {
        return undefined;
      }
      const top = stack[stack.length - 1];
      if (top?.object && s.charCodeAt(skipWs(s, end)) === 0x3a /* : */) {
        const raw = s.slice(j + 1, end - 1);
        try {
          top.key = raw.includes('\\') ? (JSON.parse(s.slice(j, end)) as string) : raw;
        } catch {
          top.key = raw;
        }
      }
      j = end;
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length === maxDepth) return stack.map((l) => (l.object ? l.key : l.index));
      stack.push({ object: c === 0x7b, key: '', index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top && !top.object) top.index++;
    }
    j++;
  }
  return undefined;
}
