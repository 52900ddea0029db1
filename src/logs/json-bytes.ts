/**
 * JSON structure found in UTF-8 bytes, for input too large to be worth one string (ingest
 * bodies, pages `fetch` reads): where a string or a container ends, and how deep a container
 * nests. The character codes are shared with json-text.ts, which does the same on strings. These helpers decide nothing
 * about validity beyond what they say (JSON.parse of the spans they find does that); -1 means
 * the text does not have the shape asked for.
 */

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/** Whether the byte is JSON whitespace. */
export function isWsByte(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

/** Index of the first byte at or after `i` that is not JSON whitespace. */
export function skipWsBytes(b: Uint8Array, i: number): number {
  while (i < b.length && isWsByte(b[i]!)) i++;
  return i;
}

/** Strings this long are searched with indexOf (memchr); shorter ones byte by byte, which is cheaper than the call. */
const NEAR = 48;

/** Index just after the closing quote of the string starting at `i` (which holds `"`), or -1. */
export function endOfStringBytes(b: Uint8Array, i: number): number {
  let j = i + 1;
  const near = Math.min(b.length, j + NEAR);
  while (j < near) {
    const c = b[j]!;
    if (c === QUOTE) return j + 1;
    j += c === BACKSLASH ? 2 : 1;
  }
  // `j` is where a character starts (never the one an escape is made of), so only the
  // backslashes from `j` on decide whether a quote is escaped.
  for (let from = j; ; ) {
    const q = b.indexOf(QUOTE, from);
    if (q < 0) return -1;
    // Escaped when an odd number of backslashes precede it.
    let k = q - 1;
    while (k >= j && b[k] === BACKSLASH) k--;
    if ((q - 1 - k) % 2 === 0) return q + 1;
    from = q + 1;
  }
}

/**
 * Index just after the object or array starting at `i`, when it nests at most `maxDepth`
 * levels (itself being level 1); -1 when it is unterminated or deeper.
 */
export function endOfContainerBytes(b: Uint8Array, i: number, maxDepth: number): number {
  let depth = 0;
  let j = i;
  while (j < b.length) {
    const c = b[j]!;
    if (c === QUOTE) {
      j = endOfStringBytes(b, j);
      if (j < 0) return -1;
      continue;
    }
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (++depth > maxDepth) return -1;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (--depth === 0) return j + 1;
    }
    j++;
  }
  return -1;
}

/** Whether `b[i..]` starts with the bytes of `word`. */
export function startsWithBytes(b: Uint8Array, i: number, word: Uint8Array): boolean {
  if (i + word.length > b.length) return false;
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return false;
  return true;
}
