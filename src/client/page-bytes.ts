/**
 * A page of entry texts read from the body's bytes as they arrived (an export's path). One pass
 * over the bytes finds each entry's span; JSON.parse of the body in pieces of some 64 KB (see
 * parseApart) checks it (strict UTF-8, valid JSON, the contract's shape): cheaper than one parse
 * of the whole body, whose string is fresh memory for every page, and than 1,000 parses of
 * small texts. The spans are then handed on as the entries' exact bytes, never decoded and
 * encoded again.
 *
 * The checks are those of `parseTextPage`. Anything unusual (bytes that are not UTF-8, a
 * byte-order mark, a logEntries member twice, an element that is not an object, a body cut
 * short) sends the page down the string path, which gives the answer and the error it always
 * gave.
 */
import { isUtf8 } from 'node:buffer';
import { endOfStringBytes as endOfString, isWsByte as isWs, skipWsBytes as skipWs, startsWithBytes } from '../logs/json-bytes.ts';
import { minify } from '../logs/json-text.ts';
import { checkEntry, pageHead, pageTop, parseTextPage, type TextPage } from './page.ts';

const QUOTE = 0x22;
const LOG_ENTRIES = new TextEncoder().encode('"logEntries"');

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NOT_ASCII = /[^\x00-\x7f]/;
const isAscii = (s: string) => !NOT_ASCII.test(s);
const lenient = new TextDecoder();
const utf8 = new TextEncoder();

/** Just past the object or array opening at `i`, and whether it holds whitespace outside its strings; -1 when cut short. */
function endOfContainer(b: Uint8Array, i: number): [end: number, spaced: boolean] {
  let depth = 0;
  let spaced = false;
  while (i < b.length) {
    const c = b[i]!;
    if (c === QUOTE) {
      i = endOfString(b, i);
      if (i < 0) return [-1, spaced];
      continue;
    }
    i++;
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return [i, spaced];
    } else if (isWs(c)) spaced = true;
  }
  return [-1, spaced];
}

/** Just past the value starting at `i` (the parse of the body outside the entries checks it); -1 when cut short. */
function endOfValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return endOfString(b, i);
  if (c === 0x7b || c === 0x5b) return endOfContainer(b, i)[0];
  while (i < b.length) {
    const d = b[i]!;
    if (d === 0x2c || d === 0x7d || d === 0x5d || isWs(d)) return i;
    i++;
  }
  return -1;
}

function isLogEntriesKey(b: Uint8Array, start: number, end: number): boolean {
  return end - start === LOG_ENTRIES.length && startsWithBytes(b, start, LOG_ENTRIES);
}

interface Cut {
  /** Where the logEntries array opens ('[') and closes (']'). */
  readonly open: number;
  readonly close: number;
  /** Per entry: start, end, and 1 when it holds insignificant whitespace. */
  readonly entries: number[];
}

/** The logEntries array and its entries' spans; undefined for anything the string path must judge. */
function cut(b: Uint8Array): Cut | undefined {
  let i = skipWs(b, 0);
  if (b[i] !== 0x7b) return undefined;
  i = skipWs(b, i + 1);
  let found: Cut | undefined;
  while (b[i] !== 0x7d) {
    if (b[i] !== QUOTE) return undefined;
    const keyEnd = endOfString(b, i);
    if (keyEnd < 0) return undefined;
    const isEntries = isLogEntriesKey(b, i, keyEnd);
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a /* : */) return undefined;
    i = skipWs(b, i + 1);
    if (isEntries) {
      if (found || b[i] !== 0x5b) return undefined;
      const open = i;
      const entries: number[] = [];
      i = skipWs(b, i + 1);
      while (b[i] !== 0x5d) {
        if (b[i] !== 0x7b) return undefined;
        const [end, spaced] = endOfContainer(b, i);
        if (end < 0) return undefined;
        entries.push(i, end, spaced ? 1 : 0);
        i = skipWs(b, end);
        if (b[i] === 0x2c) {
          i = skipWs(b, i + 1);
          // The entries are parsed apart from the body: a comma with no entry after it is judged here.
          if (b[i] !== 0x7b) return undefined;
        } else if (b[i] !== 0x5d) return undefined;
      }
      found = { open, close: i, entries };
      i++;
    } else {
      i = endOfValue(b, i);
      if (i < 0) return undefined;
    }
    i = skipWs(b, i);
    if (b[i] === 0x2c) i = skipWs(b, i + 1);
    else if (b[i] !== 0x7d) return undefined;
  }
  return found;
}

/** Copies small pieces into shared 64 KiB blocks, never rewriting a piece handed out. */
class Blocks {
  private block = new Uint8Array(0);
  private at = 0;

  copy(src: Uint8Array): Uint8Array {
    if (src.length > BLOCK_BYTES / 4) return new Uint8Array(src);
    if (this.at + src.length > this.block.length) {
      this.block = new Uint8Array(BLOCK_BYTES);
      this.at = 0;
    }
    const out = this.block.subarray(this.at, this.at + src.length);
    out.set(src);
    this.at += src.length;
    return out;
  }
}

const BLOCK_BYTES = 64 * 1024;
const blocks = new Blocks();
/** The body joined, when it came in several chunks; used again by the next page (nothing keeps a view of it). */
let joined = new Uint8Array(0);

function contiguous(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let size = 0;
  for (const c of chunks) size += c.length;
  if (joined.length < size) {
    let n = Math.max(joined.length, 1024 * 1024);
    while (n < size) n *= 2;
    joined = new Uint8Array(n);
  }
  let at = 0;
  for (const c of chunks) {
    joined.set(c, at);
    at += c.length;
  }
  return joined.subarray(0, size);
}

/** Entries parsed together up to this many bytes: a longer string is a large object for V8, each one fresh memory. */
const GROUP_BYTES = 64 * 1024;

/**
 * JSON.parse of the body in pieces: the page with its logEntries array left empty, then the
 * entries a group at a time. Each piece is under V8's large-object size: a string of the whole
 * body (about 800 KB for 1,000 entries) was fresh memory for every page and made decoding take
 * most of an export's time. Together the pieces are valid exactly when the body is (`cut` has
 * checked what lies between them).
 *
 * Strict UTF-8 is checked on the bytes, and the pieces are read one byte a character: JSON.parse
 * accepts and refuses the same texts (a byte of a multi-byte character is a character above
 * 0x7F either way, which JSON allows only inside strings), and every member name the checks look
 * up is ASCII. Of the strings parsed, only eventTime, requestId and cursor are handed on: one
 * holding a character above 0x7F sends the page down the string path.
 */
function parseApart(b: Uint8Array, c: Cut, each: (k: number, entry: unknown) => void): { doc: unknown } | undefined {
  if (!isUtf8(b)) return undefined;
  const bytes = Buffer.from(b.buffer, b.byteOffset, b.length);
  const spans = c.entries;
  const n = spans.length / 3;
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('latin1', 0, c.open + 1) + bytes.toString('latin1', c.close, b.length));
    for (let k = 0; k < n; ) {
      const start = spans[3 * k]!;
      let j = k + 1;
      while (j < n && spans[3 * j + 1]! - start <= GROUP_BYTES) j++;
      const group = JSON.parse(`[${bytes.toString('latin1', start, spans[3 * (j - 1) + 1]!)}]`) as unknown[];
      if (group.length !== j - k) return undefined;
      // Checked at once, so that what the parse made dies young.
      for (let g = 0; g < group.length; g++) each(k + g, group[g]);
      k = j;
    }
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
  return { doc };
}

function fastPage(b: Uint8Array, headerRequestId: string | undefined): TextPage | undefined {
  const c = cut(b);
  if (!c) return undefined;
  const n = c.entries.length / 3;
  const eventTimes = new Array<string>(n);
  let ascii = true;
  const parsed = parseApart(b, c, (k, entry) => {
    const eventTime = checkEntry(entry, k);
    ascii &&= isAscii(eventTime);
    eventTimes[k] = eventTime;
  });
  if (parsed === undefined || !ascii) return undefined;
  const checked = pageTop(parsed.doc);
  const textBytes = new Array<Uint8Array>(n);
  for (let k = 0; k < n; k++) {
    const text = b.subarray(c.entries[3 * k]!, c.entries[3 * k + 1]!);
    textBytes[k] = c.entries[3 * k + 2] ? utf8.encode(minify(strict.decode(text))) : blocks.copy(text);
  }
  const head = pageHead(checked, n, headerRequestId);
  if (!isAscii(head.requestId ?? '') || !isAscii(head.records.cursor ?? '')) return undefined;
  let texts: string[] | undefined;
  return {
    ...head,
    get texts(): string[] {
      return (texts ??= textBytes.map((t) => lenient.decode(t)));
    },
    textBytes,
    eventTimes,
  };
}

/**
 * Parses a 200 response body, given as the chunks it arrived in, into entry texts (see
 * TextPage). Throws SyntaxError or PageShapeError when it is not a page, as `parseTextPage`.
 */
export function parseTextPageChunks(chunks: readonly Uint8Array[], headerRequestId?: string): TextPage {
  const body = contiguous(chunks);
  let page: TextPage | undefined;
  try {
    page = fastPage(body, headerRequestId);
  } catch {
    page = undefined;
  }
  // Whatever the fast path declined or refused, the string path decides (and words the error).
  return page ?? parseTextPage(lenient.decode(body), headerRequestId);
}

const RECORDS = new TextEncoder().encode('"records"');
const CURSOR_PEEK = new TextDecoder();

/**
 * The cursor the page in `chunks` seems to carry, read from its `records` before anything else
 * is checked (undefined when `records` does not come before `logEntries` in the first chunk):
 * enough to ask for the next page early. The parse of the page has the last word.
 */
export function peekCursor(chunks: readonly Uint8Array[]): string | undefined {
  const b = chunks[0];
  if (!b) return undefined;
  let i = skipWs(b, 0);
  if (b[i] !== 0x7b) return undefined;
  i = skipWs(b, i + 1);
  while (b[i] === QUOTE) {
    const keyEnd = endOfString(b, i);
    if (keyEnd < 0 || isLogEntriesKey(b, i, keyEnd)) return undefined;
    const isRecords = keyEnd - i === RECORDS.length && startsWithBytes(b, i, RECORDS);
    i = skipWs(b, keyEnd);
    if (b[i] !== 0x3a /* : */) return undefined;
    i = skipWs(b, i + 1);
    const end = endOfValue(b, i);
    if (end < 0) return undefined;
    if (isRecords) {
      try {
        const cursor = (JSON.parse(CURSOR_PEEK.decode(b.subarray(i, end))) as { cursor?: unknown } | null)?.cursor;
        return typeof cursor === 'string' && cursor !== '' ? cursor : undefined;
      } catch {
        return undefined;
      }
    }
    i = skipWs(b, end);
    if (b[i] !== 0x2c) return undefined;
    i = skipWs(b, i + 1);
  }
  return undefined;
}
