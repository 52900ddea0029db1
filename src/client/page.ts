/**
 * One page of `GET /v2/logs` as the SDK hands it out, and the parser that builds it from the
 * response text. Each entry keeps its exact text (`raw`), because an audit record is evidence
 * and JSON.parse alone would round big integers and turn `1.0` into `1`.
 */
import type { Static } from 'typebox';
import { USER_FIELDS, type UserField } from '../logs/entry.ts';
import { minifiedElements, objectMembers, skipWs } from '../logs/json-text.ts';
import type { ListLogsResponse, WireEntrySchema } from '../server/schemas.ts';
import { type JsonObject, parseLossless } from './lossless-json.ts';

/** The entry's user fields and eventTime, typed from the server's own wire schema. */
type WireFields = Omit<Static<typeof WireEntrySchema>, 'logRecord'>;

export interface LogEntry extends Readonly<WireFields> {
  /**
   * The record, parsed without losing digits: integers beyond Number.MAX_SAFE_INTEGER are
   * `bigint`. For the exact text of every number (`1.0` stays `1.0`) use `logRecordText`.
   */
  readonly logRecord: JsonObject;
  /** The exact JSON text of `logRecord`, insignificant whitespace removed. */
  readonly logRecordText: string;
  /** The exact JSON text of the whole entry, insignificant whitespace removed. */
  readonly raw: string;
}

/** `totalRecords` (all pages), `currentPageSize`, `currentPageNumber`, and `cursor` unless this is the last page. */
export type PageRecords = Readonly<Static<typeof ListLogsResponse>['records']>;

export interface LogsPage {
  readonly requestId: string | undefined;
  readonly records: PageRecords;
  readonly logEntries: readonly LogEntry[];
}

/** A page that is well-formed JSON but not what the contract promises. */
export class PageShapeError extends Error {}

function count(v: unknown, name: string, fallback: number): number {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new PageShapeError(`records.${name} is not a count`);
  return v;
}

/**
 * Checks what the contract promises of entry `index` (`fields`: what JSON.parse made of it as
 * part of the page) and returns its eventTime: user fields are strings (a number is tolerated
 * and read again from the text, so that no digit is lost), `logRecord` an object.
 */
export function checkEntry(fields: unknown, index: number): string {
  const where = `logEntries[${index}]`;
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) throw new PageShapeError(`${where} is not an object`);
  const f = fields as Record<string, unknown>;
  for (const name of USER_FIELDS) {
    const v = f[name];
    if (v !== undefined && v !== null && typeof v !== 'string' && typeof v !== 'number') throw new PageShapeError(`${where}.${name} is not a string`);
  }
  if (typeof f.eventTime !== 'string') throw new PageShapeError(`${where}.eventTime is missing`);
  const lr = f.logRecord;
  if (typeof lr !== 'object' || lr === null || Array.isArray(lr)) throw new PageShapeError(`${where}.logRecord is not an object`);
  return f.eventTime;
}

/**
 * Builds one entry from its exact text `raw` (minified) and `fields`, what JSON.parse made of
 * the same text as part of the page (already checked). The user fields and eventTime are
 * strings, which JSON.parse keeps exactly; only a number in a user field is read again from
 * the text. `logRecord` is parsed (losslessly) on first use.
 */
/**
 * The entries this SDK built from a server's text (toEntry): only those are sent back as that
 * text. A copy (`{...entry, userId: …}`, a redaction) carries `raw` too, but not its changes.
 */
const builtEntries = new WeakSet<object>();

/** Whether `e` is an entry as read from a server, whose `raw` is its text. */
export function isReadEntry(e: object): e is LogEntry {
  return builtEntries.has(e);
}

/** The records parsed from an entry's `logRecordText`, with that text: a copy of the entry that keeps its record keeps its exact text. */
const recordTexts = new WeakMap<object, string>();

/** The exact text of a record as read from a server (the object its entry's `logRecord` gave), or undefined. */
export function readRecordText(record: object): string | undefined {
  return recordTexts.get(record);
}

function toEntry(raw: string, fields: Record<string, unknown>, eventTime: string): LogEntry {
  const span = objectMembers(raw, 0).findLast((m) => m.key === 'logRecord')!;
  const logRecordText = raw.slice(span.start, span.end);
  let record: JsonObject | undefined;
  // One literal with the getter (an own, enumerable property, as the other fields): cheaper
  // to build than defining the property afterwards.
  const entry = {
    eventTime,
    get logRecord(): JsonObject {
      if (record === undefined) {
        record = parseLossless(logRecordText) as JsonObject;
        recordTexts.set(record, logRecordText);
      }
      return record;
    },
    logRecordText,
    raw,
  } as Record<string, unknown>;
  let lossless: JsonObject | undefined;
  for (const f of USER_FIELDS) {
    const v = fields[f];
    if (v === undefined || v === null) continue;
    // Ids are strings in the contract; a server that sends a number still gets every digit kept.
    entry[f satisfies UserField] = typeof v === 'string' ? v : String((lossless ??= parseLossless(raw) as JsonObject)[f]);
  }
  builtEntries.add(entry);
  return entry as unknown as LogEntry;
}

/**
 * A page with each entry as its exact text only (and its eventTime): what an export that
 * passes the texts through needs, held to the same checks as a parsed page.
 */
export interface TextPage {
  readonly requestId: string | undefined;
  readonly records: PageRecords;
  /** Each entry's exact JSON text, insignificant whitespace removed (LogEntry.raw). */
  readonly texts: readonly string[];
  /** The same texts as UTF-8 bytes, for writing them on without decoding. */
  readonly textBytes: readonly Uint8Array[];
  readonly eventTimes: readonly string[];
}

interface PageParts {
  readonly requestId: string | undefined;
  readonly records: PageRecords;
  readonly texts: readonly string[];
  readonly eventTimes: readonly string[];
  /** What JSON.parse made of each entry. */
  readonly parsed: readonly Record<string, unknown>[];
}

interface PageTop {
  readonly top: Record<string, unknown>;
  readonly rec: Record<string, unknown>;
}

/** What JSON.parse made of a page body, checked to be an object with `records` and `logEntries` of the right kinds. */
export function pageTop(doc: unknown): PageTop {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new PageShapeError('the body is not a JSON object');
  const top = doc as Record<string, unknown>;
  const rec = (top.records ?? {}) as Record<string, unknown>;
  if (typeof rec !== 'object' || Array.isArray(rec)) throw new PageShapeError('records is not an object');
  if (top.logEntries !== undefined && !Array.isArray(top.logEntries)) throw new PageShapeError('logEntries is not an array');
  return { top, rec };
}

/** The requestId and records of a page of `size` entries (after pageTop and the entries' checks). */
export function pageHead(
  { top, rec }: PageTop,
  size: number,
  headerRequestId: string | undefined,
): { requestId: string | undefined; records: PageRecords } {
  const cursor = rec.cursor;
  if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') throw new PageShapeError('records.cursor is not a string');
  const records: PageRecords = {
    totalRecords: count(rec.totalRecords, 'totalRecords', size),
    currentPageSize: count(rec.currentPageSize, 'currentPageSize', size),
    currentPageNumber: count(rec.currentPageNumber, 'currentPageNumber', 0),
    ...(typeof cursor === 'string' && cursor !== '' ? { cursor } : {}),
  };
  const requestId = typeof top.requestId === 'string' ? top.requestId : headerRequestId;
  return { requestId, records };
}

/** Parses and checks a 200 response body. Throws SyntaxError or PageShapeError when it is not a page. */
function pageParts(text: string, headerRequestId: string | undefined): PageParts {
  const doc = JSON.parse(text) as unknown; // also rejects a truncated body
  const checked = pageTop(doc);
  // The entries' exact texts, cut out of the (last) logEntries member in the same pass that
  // walks the object.
  let texts: string[] = [];
  objectMembers(text, skipWs(text, 0), (key, start) => {
    if (key !== 'logEntries' || text.charCodeAt(start) !== 0x5b /* [ */) return undefined;
    texts = [];
    return minifiedElements(text, start, texts);
  });
  const parsed = (checked.top.logEntries ?? []) as Record<string, unknown>[];
  const eventTimes = new Array<string>(texts.length);
  for (let i = 0; i < texts.length; i++) eventTimes[i] = checkEntry(parsed[i], i);
  return { ...pageHead(checked, texts.length, headerRequestId), texts, eventTimes, parsed };
}

/** Parses a 200 response body. Throws SyntaxError or PageShapeError when it is not a page. */
export function parsePage(text: string, headerRequestId?: string): LogsPage {
  const { requestId, records, texts, eventTimes, parsed } = pageParts(text, headerRequestId);
  const logEntries = new Array<LogEntry>(texts.length);
  for (let i = 0; i < texts.length; i++) logEntries[i] = toEntry(texts[i]!, parsed[i]!, eventTimes[i]!);
  return { requestId, records, logEntries };
}

const utf8 = new TextEncoder();

/** Parses a 200 response body into entry texts (see TextPage); the checks of parsePage. */
export function parseTextPage(text: string, headerRequestId?: string): TextPage {
  const { requestId, records, texts, eventTimes } = pageParts(text, headerRequestId);
  let bytes: Uint8Array[] | undefined;
  return {
    requestId,
    records,
    texts,
    get textBytes(): Uint8Array[] {
      return (bytes ??= texts.map((t) => utf8.encode(t)));
    },
    eventTimes,
  };
}

/** The empty result: what Gong's 404 "no records" answer means. */
export function emptyPage(requestId: string | undefined): LogsPage {
  return { requestId, records: { totalRecords: 0, currentPageSize: 0, currentPageNumber: 0 }, logEntries: [] };
}

/** The empty result as a TextPage. */
export function emptyTextPage(requestId: string | undefined): TextPage {
  return { requestId, records: { totalRecords: 0, currentPageSize: 0, currentPageNumber: 0 }, texts: [], textBytes: [], eventTimes: [] };
}
