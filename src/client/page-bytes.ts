/**
 * A page of entry texts read from the body's bytes as they arrived (an export's path). One pass
 * over the bytes finds each entry's span and checks it (JsonScanner: valid JSON as JSON.parse
 * reads it, and the contract's shape), building no object for it; JSON.parse reads only the
 * page around the entries. The spans are then handed on as the entries' exact bytes, never
 * decoded and encoded again.
 *
 * The checks are those of `parseTextPage`. Anything unusual (bytes that are not UTF-8, a
 * byte-order mark, a logEntries member twice, an element that is not an object, a member name
 * written with an escape, a body cut short) sends the page down the string path, which gives
 * the answer and the error it always gave.
 */
import { isUtf8 } from 'node:buffer';
import { USER_FIELDS } from '../logs/entry-fields.ts';
import {
  endOfContainerBytes,
  endOfStringBytes as endOfString,
  isWsByte as isWs,
  skipWsBytes as skipWs,
  startsWithBytes,
} from '../logs/json-bytes.ts';
import { JsonScanner } from '../logs/json-scan.ts';
import { minify } from '../logs/json-text.ts';
import { pageHead, pageTop, parseTextPage, type TextPage } from './page.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const LOG_ENTRIES = new TextEncoder().encode('"logEntries"');

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NOT_ASCII = /[^\x00-\x7f]/;
const isAscii = (s: string) => !NOT_ASCII.test(s);
const lenient = new TextDecoder();
const utf8 = new TextEncoder();

/** Just past the value starting at `i` (the parse of the body outside the entries checks it); -1 when cut short. */
function endOfValue(b: Uint8Array, i: number): number {
  const c = b[i];
  if (c === QUOTE) return endOfString(b, i);
  if (c === 0x7b || c === 0x5b) return endOfContainerBytes(b, i, Number.POSITIVE_INFINITY);
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

const EVENT_TIME = new TextEncoder().encode('"eventTime"');
const LOG_RECORD = new TextEncoder().encode('"logRecord"');
const USER_NAMES = USER_FIELDS.map((f) => new TextEncoder().encode(`"${f}"`));

/**
 * What `checkEntry` looks at in one entry, gathered from its members as the scanner reads them
 * (the last of a name counts, as in JSON.parse). A member the checks would refuse, or whose
 * name is written with an escape (it could spell any name), ends the scan: the string path
 * then judges the page.
 */
class EntryMembers {
  eventTime = -1;
  eventTimeEnd = -1;
  logRecord = -1;

  reset(): void {
    this.eventTime = this.eventTimeEnd = this.logRecord = -1;
  }

  readonly sink = (b: Uint8Array, keyStart: number, keyEnd: number, valueStart: number, valueEnd: number): boolean => {
    const length = keyEnd - keyStart;
    if (length === EVENT_TIME.length && startsWithBytes(b, keyStart, EVENT_TIME)) {
      this.eventTime = valueStart;
      this.eventTimeEnd = valueEnd;
      return true;
    }
    if (length === LOG_RECORD.length && startsWithBytes(b, keyStart, LOG_RECORD)) {
      this.logRecord = valueStart;
      return true;
    }
    for (const name of USER_NAMES) {
      if (length !== name.length || !startsWithBytes(b, keyStart, name)) continue;
      // A string, a number or null; anything else is refused by the checks.
      const c = b[valueStart]!;
      return c === QUOTE || c === 0x6e /* n */ || c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39);
    }
    for (let k = keyStart + 1; k < keyEnd - 1; k++) if (b[k] === BACKSLASH) return false;
    return true;
  };

  /** The entry's eventTime, when it is a string of ASCII characters with no escape, and its logRecord an object; else undefined. */
  checked(b: Buffer): string | undefined {
    if (this.logRecord < 0 || b[this.logRecord] !== OPEN_OBJECT) return undefined;
    const start = this.eventTime;
    const end = this.eventTimeEnd - 1;
    if (start < 0 || b[start] !== QUOTE) return undefined;
    for (let k = start + 1; k < end; k++) if (b[k]! >= 0x80 || b[k] === BACKSLASH) return undefined;
    return b.toString('latin1', start + 1, end);
  }
}

const members = new EntryMembers();
const scanner = new JsonScanner(members.sink);

interface Cut {
  /** Where the logEntries array opens ('[') and closes (']'). */
  readonly open: number;
  readonly close: number;
  /** Per entry: start, end, and 1 when it holds insignificant whitespace. */
  readonly entries: number[];
  readonly eventTimes: string[];
}

/** The logEntries array, its entries' spans and eventTimes, the entries checked; undefined for anything the string path must judge. */
function cut(b: Buffer): Cut | undefined {
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
      const eventTimes: string[] = [];
      i = skipWs(b, i + 1);
      while (b[i] !== 0x5d) {
        if (b[i] !== OPEN_OBJECT) return undefined;
        members.reset();
        const end = scanner.end(b, i);
        if (end < 0) return undefined;
        const eventTime = members.checked(b);
        if (eventTime === undefined) return undefined;
        entries.push(i, end, scanner.spaced ? 1 : 0);
        eventTimes.push(eventTime);
        i = skipWs(b, end);
        if (b[i] === 0x2c) {
          i = skipWs(b, i + 1);
          // A comma with no entry after it is refused, as JSON.parse refuses it.
          if (b[i] !== OPEN_OBJECT) return undefined;
        } else if (b[i] !== 0x5d) return undefined;
      }
      found = { open, close: i, entries, eventTimes };
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

/**
 * The page around its entries, parsed (JSON.parse of the body with the logEntries array left
 * empty), after a strict UTF-8 check of the whole body: the text is read one byte a character,
 * which JSON.parse accepts and refuses alike once the bytes are UTF-8 (a byte of a multi-byte
 * character is a character above 0x7F either way, allowed only inside strings). Only requestId
 * and cursor are taken from it: one holding a character above 0x7F sends the page down the
 * string path.
 */
function pageAround(bytes: Buffer, c: Cut): unknown {
  try {
    return JSON.parse(bytes.toString('latin1', 0, c.open + 1) + bytes.toString('latin1', c.close, bytes.length));
  } catch (err) {
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

function fastPage(b: Uint8Array, headerRequestId: string | undefined): TextPage | undefined {
  if (!isUtf8(b)) return undefined;
  const bytes = Buffer.from(b.buffer, b.byteOffset, b.length);
  const c = cut(bytes);
  if (!c) return undefined;
  const doc = pageAround(bytes, c);
  if (doc === undefined) return undefined;
  const checked = pageTop(doc);
  const n = c.entries.length / 3;
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
    eventTimes: c.eventTimes,
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
