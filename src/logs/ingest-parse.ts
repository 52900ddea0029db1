/**
 * Turns ingest input into validated entries: the JSON batch form
 * `{"logType": …, "logEntries": […]}` and single NDJSON lines. Errors locate the problem
 * (`logEntries[17].eventTime: …`, `line 5: …`); nothing is partially accepted.
 */
import { invalid, invalidInput } from '../errors.ts';
import { ENTRY_FIELDS, EntryProblem, type NewEntry, type RenderedEntry, renderEntry, toNewEntry, USER_FIELDS } from './entry.ts';
import { endOfContainerBytes, endOfStringBytes, skipWsBytes, startsWithBytes } from './json-bytes.ts';
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

/** Field names a message may name in the server's log; any other is the client's text, and may be payload. */
const KNOWN_NAMES: ReadonlySet<string> = new Set([...ENTRY_FIELDS, ...USER_FIELDS, 'logType', 'logEntries']);
const logName = (name: string) => (KNOWN_NAMES.has(name) ? name : '…');

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    // JSON.parse quotes a piece of the text: the client is told, the log is not.
    const detail = err instanceof SyntaxError ? err.message : 'nesting too deep';
    throw invalidInput(`${where}is not valid JSON (${detail})`, `${where}is not valid JSON`);
  }
}

/**
 * A 400 naming fields of the client's choosing: `say` words it with a way to name a field; the
 * client is told every name, the log only the known ones.
 */
function naming(say: (name: (n: string) => string) => string): Error {
  return invalidInput(
    say((n) => n),
    say(logName),
  );
}

/** An entry's problem as a 400 (`say` words it with its field), its field named as `naming` does. */
function entryProblem(err: EntryProblem, say: (field: string) => string): Error {
  return naming((name) => say(err.field && name(err.field)));
}

function checkLogType(value: unknown, types: LogTypes, where: string): string {
  if (value === undefined || value === null) throw invalid(`${where}logType: is required`);
  if (value === ADMIN_LOG_TYPE) throw invalid(`${where}logType: ${ADMIN_LOG_TYPE_REFUSAL}`);
  if (typeof value !== 'string') throw invalid(`${where}logType: must be a string, the name of a log type (one of ${types.describeWritable()})`);
  if (!types.canWrite(value)) {
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

/**
 * The most elements an array directly inside the body object holds (logEntries, or any other),
 * counted over the text's characters without parsing it: a body of millions of elements (32 MiB
 * of `{},`) is refused before JSON.parse builds them all, which held the event loop, and every
 * tenant's requests, for seconds and took gigabytes. Text that is not JSON is counted as far as
 * it goes; JSON.parse words its error after.
 */
export function longestMemberArray(text: string): number {
  let depth = 0;
  let inString = false;
  // Of the array at depth 2 (a member of the body object) under way: its elements so far.
  let counting = false;
  let elements = 0;
  let longest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    // A value begins right after the array opens or after a comma in it.
    if (counting && depth === 2 && elements === 0 && c !== 0x5d /* ] */) elements = 1;
    if (c === 0x22 /* " */) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      depth++;
      if (depth === 2 && c === 0x5b) {
        counting = true;
        elements = 0;
      }
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      if (depth === 2 && counting) {
        counting = false;
        if (elements > longest) longest = elements;
      }
      depth--;
    } else if (c === 0x2c /* , */ && counting && depth === 2) elements++;
  }
  return counting && elements > longest ? elements : longest;
}

/** Parses and validates a JSON batch body. */
export function parseJsonBatch(text: string, types: LogTypes, maxEntries = MAX_BATCH_ENTRIES): NewEntry[] {
  if (skipWs(text, 0) === text.length) throw invalid('body is empty: send {"logType": …, "logEntries": […]}');
  const longest = longestMemberArray(text);
  if (longest > maxEntries) throw invalid(`logEntries: at most ${maxEntries} entries per request (got ${longest})`);
  // The body object, logEntries and the entry object come before a logRecord's own levels.
  const deep = tooDeep(text, 3 + MAX_LOG_RECORD_DEPTH);
  if (deep) {
    const [top, index, field] = deep;
    const where = (name: (n: string) => string) =>
      top === 'logEntries' && typeof index === 'number'
        ? `logEntries[${index}]${typeof field === 'string' ? `.${name(field)}` : ''}`
        : typeof top === 'string'
          ? name(top)
          : 'body';
    throw naming((name) => `${where(name)}: ${TOO_DEEP}`);
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
  if (dup) throw naming((name) => `${name(dup)}: appears more than once`);
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (k !== 'logType' && k !== 'logEntries') throw naming((name) => `${name(k)}: unknown field (allowed: logType, logEntries)`);
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
      if (err instanceof EntryProblem) throw entryProblem(err, (field) => `${where}${field ? '.' + field : ''}: ${err.message}`);
      throw err;
    }
  }
  return out;
}

const LOG_TYPE_KEY = Buffer.from('"logType"');
const LOG_ENTRIES_KEY = Buffer.from('"logEntries"');

/**
 * Parses and validates a JSON batch body given as UTF-8 bytes (valid UTF-8: the caller checks),
 * for a store to take entry by entry: the same entries as parseJsonBatch of its text, and the
 * same error, thrown here or while the entries are iterated (a store's append runs in one
 * transaction, so a batch is still stored whole or not at all).
 *
 * A body of the usual shape has its structure checked here, and each entry is decoded, parsed
 * and validated only when the store asks for it. The body is never made one string, nor one
 * object graph of all its records, and each entry's garbage dies young: holding 10,000 parsed
 * entries until the store took them cost a quarter of the parse in garbage collection. Any
 * other body (a fault, an escaped key, a repeated member) is parsed by parseJsonBatch of its
 * whole text, which words the error.
 */
export function parseJsonBatchBytes(body: Buffer, types: LogTypes, maxEntries = MAX_BATCH_ENTRIES): Iterable<NewEntry> {
  const plan = batchPlan(body, types, maxEntries);
  if (!plan) return parseJsonBatch(body.toString('utf8'), types, maxEntries);
  return planEntries(body, plan, types, maxEntries, toNewEntry);
}

/**
 * The entries of a JSON batch body of the usual shape, validated and rendered but not keyed
 * (for a caller that keys them from their bytes: EntryKeys); undefined for any other body,
 * which parseJsonBatchBytes takes. Faults throw as there.
 */
export function renderJsonBatchBytes(body: Buffer, types: LogTypes, maxEntries = MAX_BATCH_ENTRIES): Iterable<RenderedEntry> | undefined {
  const plan = batchPlan(body, types, maxEntries);
  return plan && planEntries(body, plan, types, maxEntries, renderEntry);
}

/** How an entry object becomes an entry: toNewEntry, or renderEntry (no key). */
type EntryMaker<E> = (logType: string, value: unknown, logRecordText: string | undefined) => E;

/** A body of the usual shape: its log type, and the start and end of each entry, back to back. */
interface BatchPlan {
  readonly logType: string;
  readonly spans: readonly number[];
}

function* planEntries<E>(b: Buffer, plan: BatchPlan, types: LogTypes, maxEntries: number, make: EntryMaker<E>): Generator<E> {
  for (let k = 0; k < plan.spans.length / 2; k++) {
    const entry = entryAt(b, plan, k, make);
    if (entry === undefined) {
      // The parser on text finds the first fault of the body and words it.
      parseJsonBatch(b.toString('utf8'), types, maxEntries);
      throw new Error(`the ingest parsers disagree on entry ${k}`);
    }
    yield entry;
  }
}

/** Entry `k` of a planned body, or undefined when it does not parse or pass. */
function entryAt<E>(b: Buffer, plan: BatchPlan, k: number, make: EntryMaker<E>): E | undefined {
  const text = b.toString('utf8', plan.spans[2 * k]!, plan.spans[2 * k + 1]!);
  try {
    return make(plan.logType, JSON.parse(text), logRecordText(text, 0));
  } catch {
    return undefined;
  }
}

/**
 * All the entries of a body of the usual shape, or undefined: what parseJsonBatchBytes takes
 * without the parser on text (exported for its tests).
 */
export function batchFromBytes(b: Buffer, types: LogTypes, maxEntries = MAX_BATCH_ENTRIES): NewEntry[] | undefined {
  const plan = batchPlan(b, types, maxEntries);
  if (!plan) return undefined;
  const out: NewEntry[] = new Array(plan.spans.length / 2);
  for (let k = 0; k < out.length; k++) {
    const entry = entryAt(b, plan, k, toNewEntry);
    if (entry === undefined) return undefined;
    out[k] = entry;
  }
  return out;
}

/**
 * The plan of a body of the usual shape: `{"logType": "…", "logEntries": [{…}, …]}`, the two
 * members in either order, each once, the log type one that may be written, at most
 * `maxEntries` entries, each an object; or undefined. When every entry then parses and passes,
 * parseJsonBatch gives the same entries: the body's structure is checked here byte by byte and
 * every other byte is in a span JSON.parse accepted, so the whole body is valid JSON; an entry
 * nests at most 1 + MAX_LOG_RECORD_DEPTH levels, so the body at most 3 + MAX_LOG_RECORD_DEPTH.
 */
function batchPlan(b: Buffer, types: LogTypes, maxEntries: number): BatchPlan | undefined {
  let i = skipWsBytes(b, 0);
  if (b[i] !== 0x7b /* { */) return undefined;
  i = skipWsBytes(b, i + 1);
  let logType: string | undefined;
  let spans: number[] | undefined;
  for (;;) {
    if (startsWithBytes(b, i, LOG_TYPE_KEY) && logType === undefined) {
      i = skipWsBytes(b, i + LOG_TYPE_KEY.length);
      if (b[i] !== 0x3a /* : */) return undefined;
      i = skipWsBytes(b, i + 1);
      if (b[i] !== 0x22 /* " */) return undefined;
      const end = endOfStringBytes(b, i);
      if (end < 0) return undefined;
      try {
        logType = checkLogType(JSON.parse(b.toString('utf8', i, end)), types, '');
      } catch {
        return undefined;
      }
      i = end;
    } else if (startsWithBytes(b, i, LOG_ENTRIES_KEY) && spans === undefined) {
      i = skipWsBytes(b, i + LOG_ENTRIES_KEY.length);
      if (b[i] !== 0x3a /* : */) return undefined;
      spans = [];
      i = entrySpans(b, skipWsBytes(b, i + 1), spans, maxEntries);
      if (i < 0) return undefined;
    } else {
      return undefined;
    }
    i = skipWsBytes(b, i);
    if (b[i] === 0x2c /* , */) {
      i = skipWsBytes(b, i + 1);
      continue;
    }
    if (b[i] !== 0x7d /* } */) return undefined;
    break;
  }
  if (skipWsBytes(b, i + 1) !== b.length || logType === undefined || spans === undefined) return undefined;
  return { logType, spans };
}

/**
 * Notes in `out` the start and end of each element of the array at `i`, each an object of at
 * most 1 + MAX_LOG_RECORD_DEPTH levels, at most `max` of them; the index after the array, or -1.
 */
function entrySpans(b: Buffer, i: number, out: number[], max: number): number {
  if (b[i] !== 0x5b /* [ */) return -1;
  i = skipWsBytes(b, i + 1);
  if (b[i] === 0x5d /* ] */) return i + 1;
  for (;;) {
    if (b[i] !== 0x7b /* { */ || out.length === 2 * max) return -1;
    const end = endOfContainerBytes(b, i, 1 + MAX_LOG_RECORD_DEPTH);
    if (end < 0) return -1;
    out.push(i, end);
    i = skipWsBytes(b, end);
    if (b[i] === 0x5d /* ] */) return i + 1;
    if (b[i] !== 0x2c /* , */) return -1;
    i = skipWsBytes(b, i + 1);
  }
}

/** Parses one NDJSON line (1-based `lineNo`), which carries its own `logType`. */
export function parseNdjsonLine(line: string, lineNo: number, types: LogTypes): NewEntry {
  const where = `line ${lineNo}: `;
  if (line.startsWith('\uFEFF')) throw invalid(`${where}starts with a UTF-8 byte-order mark (EF BB BF): send the lines without one`);
  // The entry object comes before its logRecord's own levels.
  const deep = tooDeep(line, 1 + MAX_LOG_RECORD_DEPTH);
  if (deep) {
    const field = deep[0];
    throw naming((name) => `${where}${typeof field === 'string' ? `${name(field)}: ` : ''}${TOO_DEEP}`);
  }
  const value = parseJson(line, where);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`${where}must be a JSON object (one entry per line, with its logType)`);
  }
  const logType = checkLogType((value as Record<string, unknown>).logType, types, where);
  try {
    return toNewEntry(logType, value, logRecordText(line, skipWs(line, 0)), ['logType']);
  } catch (err) {
    if (err instanceof EntryProblem) throw entryProblem(err, (field) => `${where}${field ? field + ': ' : ''}${err.message}`);
    throw err;
  }
}
