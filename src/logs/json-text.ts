/**
 * Raw JSON text handling. An audit record must come back exactly as it went in — key order,
 * duplicate-free text of every number (`1.0`, `1.5e-300`, 23-digit integers) — which a
 * round trip through JSON.parse cannot promise. These helpers work on the text itself: they
 * find the span of a member's value and strip insignificant whitespace, leaving every token
 * byte-identical. They expect text that JSON.parse has already accepted.
 */

import { BACKSLASH, isWsByte as isWs, QUOTE } from './json-bytes.ts';

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

/**
 * The members of the object starting at `i`, with the span of each value. `scan`, when given,
 * may take over scanning a member's value (returning where it ends) so that a caller which
 * needs to look into one value does not pass over it twice.
 */
export function objectMembers(s: string, i: number, scan?: (key: string, start: number) => number | undefined): MemberSpan[] {
  const members: MemberSpan[] = [];
  let j = skipWs(s, i + 1);
  if (s.charCodeAt(j) === 0x7d) return members;
  for (;;) {
    const keyEnd = endOfString(s, j);
    const rawKey = s.slice(j + 1, keyEnd - 1);
    const key = rawKey.includes('\\') ? (JSON.parse(s.slice(j, keyEnd)) as string) : rawKey;
    j = skipWs(s, keyEnd);
    j = skipWs(s, j + 1); // past ':'
    const end = scan?.(key, j) ?? endOfValue(s, j);
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
  elementSpans(s, i, out);
  return out;
}

/** Appends the spans of the elements of the array starting at `i` to `out`; returns the index just after the array. */
export function elementSpans(s: string, i: number, out: Array<[number, number]>): number {
  let j = skipWs(s, i + 1);
  if (s.charCodeAt(j) === 0x5d) return j + 1;
  for (;;) {
    const end = endOfValue(s, j);
    out.push([j, end]);
    j = skipWs(s, end);
    if (s.charCodeAt(j) === 0x2c) {
      j = skipWs(s, j + 1);
      continue;
    }
    return j + 1; // past ']'
  }
}

/**
 * Appends to `out` the elements of the array starting at `i`, each without insignificant
 * whitespace, and returns the index just after the array: one pass
 * over the text that finds where each element ends and whether it holds any whitespace outside
 * its strings; an element without (what a compact server sends) is cut out as it is.
 */
export function minifiedElements(s: string, i: number, out: string[]): number {
  let j = skipWs(s, i + 1);
  if (s.charCodeAt(j) === 0x5d) return j + 1;
  for (;;) {
    const start = j;
    const c = s.charCodeAt(j);
    let spaced = false;
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      let depth = 0;
      for (;;) {
        if (j >= s.length) throw new SyntaxError('unterminated container');
        const d = s.charCodeAt(j);
        if (d === QUOTE) {
          j = endOfString(s, j);
          continue;
        }
        j++;
        if (d === 0x7b || d === 0x5b) depth++;
        else if (d === 0x7d || d === 0x5d) {
          if (--depth === 0) break;
        } else if (isWs(d)) spaced = true;
      }
    } else {
      j = endOfValue(s, j);
    }
    out.push(spaced ? minify(s, start, j) : s.slice(start, j));
    j = skipWs(s, j);
    if (s.charCodeAt(j) === 0x2c) {
      j = skipWs(s, j + 1);
      continue;
    }
    return j + 1; // past ']'
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
  // Almost every text is within the bound: a pass that only counts levels says so without
  // noting the keys; the keys are worked out only for a text that goes past it.
  if (!deeperThan(s, maxDepth)) return undefined;
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

/** Whether `s` nests objects and arrays more than `maxDepth` levels deep, as `tooDeep` counts them. */
function deeperThan(s: string, maxDepth: number): boolean {
  let depth = 0;
  let j = 0;
  while (j < s.length) {
    const c = s.charCodeAt(j);
    if (c === QUOTE) {
      try {
        j = endOfString(s, j);
      } catch {
        return false; // malformed: the parser reports the real problem
      }
      continue;
    }
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === maxDepth) return true;
      depth++;
    } else if ((c === 0x7d /* } */ || c === 0x5d) /* ] */ && depth > 0) {
      depth--;
    }
    j++;
  }
  return false;
}
