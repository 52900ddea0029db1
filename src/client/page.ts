/**
 * One page of `GET /v2/logs` as the SDK hands it out, and the parser that builds it from the
 * response text. Each entry keeps its exact text (`raw`), because an audit record is evidence
 * and JSON.parse alone would round big integers and turn `1.0` into `1`.
 */
import type { Static } from 'typebox';
import { USER_FIELDS, type UserField } from '../logs/entry.ts';
import { arrayElements, minify, objectMembers, skipWs } from '../logs/json-text.ts';
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

/** Builds one entry from its text `s[start, end)` (already known to be valid JSON). */
function toEntry(s: string, start: number, end: number, index: number): LogEntry {
  const where = `logEntries[${index}]`;
  if (s[start] !== '{') throw new PageShapeError(`${where} is not an object`);
  const raw = minify(s, start, end);
  const parsed = parseLossless(raw) as JsonObject;
  const entry: Record<string, unknown> = {};
  for (const f of USER_FIELDS) {
    const v = parsed[f];
    if (v === undefined || v === null) continue;
    // Ids are strings in the contract; a server that sends a number still gets every digit kept.
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') entry[f satisfies UserField] = String(v);
    else throw new PageShapeError(`${where}.${f} is not a string`);
  }
  if (typeof parsed.eventTime !== 'string') throw new PageShapeError(`${where}.eventTime is missing`);
  entry.eventTime = parsed.eventTime;
  const lr = parsed.logRecord;
  if (typeof lr !== 'object' || lr === null || Array.isArray(lr)) throw new PageShapeError(`${where}.logRecord is not an object`);
  const span = objectMembers(raw, 0).findLast((m) => m.key === 'logRecord')!;
  entry.logRecord = lr;
  entry.logRecordText = raw.slice(span.start, span.end);
  entry.raw = raw;
  return entry as unknown as LogEntry;
}

/** Parses a 200 response body. Throws SyntaxError or PageShapeError when it is not a page. */
export function parsePage(text: string, headerRequestId?: string): LogsPage {
  const doc = JSON.parse(text) as unknown; // also rejects a truncated body
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new PageShapeError('the body is not a JSON object');
  const top = doc as Record<string, unknown>;
  const rec = (top.records ?? {}) as Record<string, unknown>;
  if (typeof rec !== 'object' || Array.isArray(rec)) throw new PageShapeError('records is not an object');
  if (top.logEntries !== undefined && !Array.isArray(top.logEntries)) throw new PageShapeError('logEntries is not an array');
  const logEntries: LogEntry[] = [];
  const span = objectMembers(text, skipWs(text, 0)).findLast((m) => m.key === 'logEntries');
  if (span) {
    arrayElements(text, span.start).forEach(([start, end], i) => logEntries.push(toEntry(text, start, end, i)));
  }
  const cursor = rec.cursor;
  if (cursor !== undefined && cursor !== null && typeof cursor !== 'string') throw new PageShapeError('records.cursor is not a string');
  const records: PageRecords = {
    totalRecords: count(rec.totalRecords, 'totalRecords', logEntries.length),
    currentPageSize: count(rec.currentPageSize, 'currentPageSize', logEntries.length),
    currentPageNumber: count(rec.currentPageNumber, 'currentPageNumber', 0),
    ...(typeof cursor === 'string' && cursor !== '' ? { cursor } : {}),
  };
  const requestId = typeof top.requestId === 'string' ? top.requestId : headerRequestId;
  return { requestId, records, logEntries };
}

/** The empty result: what Gong's 404 "no records" answer means. */
export function emptyPage(requestId: string | undefined): LogsPage {
  return { requestId, records: { totalRecords: 0, currentPageSize: 0, currentPageNumber: 0 }, logEntries: [] };
}
