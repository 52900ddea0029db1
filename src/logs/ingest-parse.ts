/**
 * Turns ingest input into validated entries: the JSON batch form
 * `{"logType": …, "logEntries": […]}` and single NDJSON lines. Errors locate the problem
 * (`logEntries[17].eventTime: …`, `line 5: …`); nothing is partially accepted.
 */
import { invalid } from '../errors.ts';
import { EntryProblem, type NewEntry, toNewEntry } from './entry.ts';
import { elementSpans, type MemberSpan, minify, objectMembers, skipWs, tooDeep } from './json-text.ts';
import { ADMIN_LOG_TYPE, ADMIN_LOG_TYPE_REFUSAL, type LogTypes } from './log-types.ts';

export const MAX_BATCH_ENTRIES = 10_000;
/**
 * How deep a `logRecord` may nest objects and arrays, the record itself being level 1. Gong's
 * records are a few levels deep; the bound keeps a hostile record from costing a deep parse
 * and from being stored for every reader to choke on.
 */
export const MAX_LOG_RECORD_DEPTH = 64;

const TOO_DEEP = `nests objects and arrays more than ${MAX_LOG_RECORD_DEPTH} levels deep (the limit)`;

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const detail = err instanceof SyntaxError ? err.message : 'nesting too deep';
    throw invalid(`${where}is not valid JSON (${detail})`);
  }
}

function checkLogType(value: unknown, types: LogTypes, where: string): string {
  if (value === undefined || value === null) throw invalid(`${where}logType: is required`);
  if (value === ADMIN_LOG_TYPE) throw invalid(`${where}logType: ${ADMIN_LOG_TYPE_REFUSAL}`);
  if (typeof value !== 'string' || !types.canWrite(value)) {
    throw invalid(`${where}logType: unknown log type ${JSON.stringify(String(value)).slice(0, 80)} (expected one of ${types.describeWritable()})`);
  }
  return value;
}

function duplicateKey(members: readonly MemberSpan[]): string | undefined {
  if (members.length > 16) {
    const seen = new Set<string>();
    for (const m of members) {
      if (seen.has(m.key)) return m.key;
      seen.add(m.key);
    }
    return undefined;
  }
  // A valid entry has at most nine members: comparing pairs beats building a Set for each.
  for (let a = 1; a < members.length; a++) {
    const key = members[a]!.key;
    for (let b = 0; b < a; b++) if (members[b]!.key === key) return key;
  }
  return undefined;
}

/** The minified raw text of the entry object's `logRecord`; a repeated entry field is refused. */
function logRecordText(text: string, objectStart: number): string | undefined {
  const members = objectMembers(text, objectStart);
  const dup = duplicateKey(members);
  if (dup) throw new EntryProblem(dup, 'appears more than once');
  const span = members.find((m) => m.key === 'logRecord');
  return span && minify(text, span.start, span.end);
}

/** Parses and validates a JSON batch body. */
export function parseJsonBatch(text: string, types: LogTypes, maxEntries = MAX_BATCH_ENTRIES): NewEntry[] {
  if (skipWs(text, 0) === text.length) throw invalid('body is empty: send {"logType": …, "logEntries": […]}');
  // The body object, logEntries and the entry object come before a logRecord's own levels.
  const deep = tooDeep(text, 3 + MAX_LOG_RECORD_DEPTH);
  if (deep) {
    const [top, index, field] = deep;
    const where =
      top === 'logEntries' && typeof index === 'number'
        ? `logEntries[${index}]${typeof field === 'string' ? `.${field}` : ''}`
        : typeof top === 'string'
          ? top
          : 'body';
    throw invalid(`${where}: ${TOO_DEEP}`);
  }
  const doc = parseJson(text, 'body ');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw invalid('body must be a JSON object {"logType": …, "logEntries": […]}');
  }
  // The entries' spans are found in the same pass that walks the body object.
  let spans: Array<[number, number]> = [];
  const members = objectMembers(text, skipWs(text, 0), (key, start) => {
    if (key !== 'logEntries' || text.charCodeAt(start) !== 0x5b /* [ */) return undefined;
    spans = [];
    return elementSpans(text, start, spans);
  });
  const dup = duplicateKey(members);
  if (dup) throw invalid(`${dup}: appears more than once`);
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'logType' && k !== 'logEntries') throw invalid(`${k}: unknown field (allowed: logType, logEntries)`);
  }
  const logType = checkLogType(top.logType, types, '');
  const list = top.logEntries;
  if (!Array.isArray(list)) throw invalid('logEntries: must be an array of entries');
  if (list.length > maxEntries) throw invalid(`logEntries: at most ${maxEntries} entries per request (got ${list.length})`);
  const out: NewEntry[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const where = `logEntries[${i}]`;
    const item = list[i];
    try {
      if (typeof item === 'object' && item !== null && !Array.isArray(item)) {
        out[i] = toNewEntry(logType, item, logRecordText(text, spans[i]![0]));
      } else {
        out[i] = toNewEntry(logType, item, undefined);
      }
    } catch (err) {
      if (err instanceof EntryProblem) throw invalid(`${where}${err.field ? '.' + err.field : ''}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

/** Parses one NDJSON line (1-based `lineNo`), which carries its own `logType`. */
export function parseNdjsonLine(line: string, lineNo: number, types: LogTypes): NewEntry {
  const where = `line ${lineNo}: `;
  // The entry object comes before its logRecord's own levels.
  const deep = tooDeep(line, 1 + MAX_LOG_RECORD_DEPTH);
  if (deep) throw invalid(`${where}${typeof deep[0] === 'string' ? `${deep[0]}: ` : ''}${TOO_DEEP}`);
  const value = parseJson(line, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${where}must be a JSON object (one entry per line, with its logType)`);
  }
  const logType = checkLogType((value as Record<string, unknown>).logType, types, where);
  try {
    return toNewEntry(logType, value, logRecordText(line, skipWs(line, 0)), ['logType']);
  } catch (err) {
    if (err instanceof EntryProblem) throw invalid(`${where}${err.field ? err.field + ': ' : ''}${err.message}`);
    throw err;
  }
}
