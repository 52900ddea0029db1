/**
 * Writing with the SDK: `POST /v2/logs` (a logwarden extension, SPEC §4), as JSON batches of
 * one log type or as NDJSON lines each carrying its own `logType`. Input of any length is cut
 * into requests that stay under the server's limits (10,000 entries and 32 MiB for a JSON
 * batch) and each request is held as text until answered, so it can be sent again: ingest
 * is idempotent (an entry already stored counts as a duplicate), which makes a retry after a
 * 429, a 5xx, a timeout or a dropped connection safe even when the first attempt was stored.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { LogsApiError } from './errors.ts';
import type { JsonValue } from './lossless-json.ts';
import type { LogEntry } from './page.ts';

/**
 * One entry to store, in the read shape (SPEC §2). Ids are strings (they exceed a double's
 * precision); `logRecord` may hold `bigint`s (as the SDK's reads hand them out). An entry read
 * with the SDK (a `LogEntry`) can be passed as it is: its exact text is sent.
 */
export interface IngestEntry {
  eventTime: string | Date;
  logRecord: { readonly [key: string]: JsonValue | undefined };
  userId?: string | null;
  userEmailAddress?: string | null;
  userFullName?: string | null;
  impersonatorUserId?: string | null;
  impersonatorEmailAddress?: string | null;
  impersonatorFullName?: string | null;
  impersonatorCompanyId?: string | null;
}

/** An NDJSON line as an object: an entry with its own `logType`. */
export interface IngestLine extends IngestEntry {
  logType: string;
}

export interface IngestOptions {
  /** Entries per request at most (default 10,000: the server's limit for a JSON batch). */
  maxEntries?: number;
  /** Bytes per request body at most (default 32 MiB for JSON, 8 MiB for NDJSON). */
  maxBytes?: number;
  /** Called after each request is stored, with the totals so far. */
  onProgress?: (totals: IngestResult) => void;
  signal?: AbortSignal;
}

export interface IngestResult {
  /** Entries newly stored. */
  accepted: number;
  /** Entries the server already held (a replay, or a retried request that had been stored). */
  duplicates: number;
  /** Requests it took. */
  requests: number;
}

export const MAX_BATCH_ENTRIES = 10_000;
export const MAX_BATCH_BYTES = 32 * 1024 * 1024;
export const NDJSON_REQUEST_BYTES = 8 * 1024 * 1024;

/** Sends one request body and resolves to the server's counts; the client's request core does the retrying. */
export type SendBody = (body: string, contentType: string, signal: AbortSignal | undefined) => Promise<{ accepted: number; duplicates: number }>;

function isLogEntry(e: object): e is LogEntry {
  return typeof (e as Partial<LogEntry>).raw === 'string' && typeof (e as Partial<LogEntry>).logRecordText === 'string';
}

/** JSON text of a value, `bigint`s written as their digits (JSON.stringify refuses them). */
function jsonText(v: unknown, skipKey?: string): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : jsonText(x))).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined && k !== skipKey) parts.push(`${JSON.stringify(k)}:${jsonText(x)}`);
    return `{${parts.join(',')}}`;
  }
  const text = JSON.stringify(v);
  if (text === undefined) throw new TypeError(`cannot be sent as JSON: ${typeof v}`);
  return text;
}

/** An entry's JSON text; with `logType` first for an NDJSON line. */
export function entryText(e: IngestEntry | LogEntry, logType?: string): string {
  const body = isLogEntry(e) ? e.raw : jsonText(e, 'logType');
  if (logType === undefined) return body;
  const rest = body.slice(1);
  return `{"logType":${JSON.stringify(logType)}${rest === '}' ? '' : ','}${rest}`;
}

/** A batch being filled: texts, their bytes, and whether one more fits. */
class Batch {
  texts: string[] = [];
  bytes = 0;
  firstIndex = 0;
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly overhead: number,
    private readonly separator: number,
  ) {}

  fits(textBytes: number): boolean {
    if (this.texts.length === 0) return true; // an entry too big alone is sent alone: the server's 413 names the problem
    return this.texts.length < this.maxEntries && this.overhead + this.bytes + this.separator + textBytes <= this.maxBytes;
  }

  add(text: string, textBytes: number): void {
    this.bytes += textBytes + (this.texts.length === 0 ? 0 : this.separator);
    this.texts.push(text);
  }

  take(nextIndex: number): { texts: string[]; firstIndex: number } {
    const out = { texts: this.texts, firstIndex: this.firstIndex };
    this.texts = [];
    this.bytes = 0;
    this.firstIndex = nextIndex;
    return out;
  }
}

function limitsFrom(options: IngestOptions, defaultBytes: number): { maxEntries: number; maxBytes: number } {
  const maxEntries = options.maxEntries ?? MAX_BATCH_ENTRIES;
  const maxBytes = options.maxBytes ?? defaultBytes;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
  if (!Number.isInteger(maxBytes) || maxBytes < 1024) throw new TypeError('maxBytes must be an integer of at least 1024');
  return { maxEntries, maxBytes };
}

/** Adds where the failing request's entries sit in the whole input, and what was stored before it. */
function withPlace(err: unknown, what: string, done: IngestResult): unknown {
  if (!(err instanceof LogsApiError)) return err;
  return new LogsApiError(
    err.code,
    `${what} failed (after ${done.accepted + done.duplicates} entries in ${done.requests} requests were stored or already there)`,
    {
      status: err.status,
      requestId: err.requestId,
      messages: err.messages,
      retryAfterMs: err.retryAfterMs,
      attempts: err.attempts,
      cause: err,
      ingested: { ...done },
    },
  );
}

class Totals {
  readonly result: IngestResult = { accepted: 0, duplicates: 0, requests: 0 };
  constructor(private readonly onProgress: IngestOptions['onProgress']) {}
  add(r: { accepted: number; duplicates: number }): void {
    this.result.accepted += r.accepted;
    this.result.duplicates += r.duplicates;
    this.result.requests++;
    this.onProgress?.({ ...this.result });
  }
}

/** JSON batches of one type: `{"logType": …, "logEntries": [ … ]}`, each within the limits. */
export async function ingestBatches(
  send: SendBody,
  logType: string,
  entries: Iterable<IngestEntry | LogEntry> | AsyncIterable<IngestEntry | LogEntry>,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const { maxEntries, maxBytes } = limitsFrom(options, MAX_BATCH_BYTES);
  const head = `{"logType":${JSON.stringify(logType)},"logEntries":[`;
  const batch = new Batch(maxEntries, maxBytes, Buffer.byteLength(head) + 2, 1);
  const totals = new Totals(options.onProgress);
  const flush = async (nextIndex: number) => {
    const { texts, firstIndex } = batch.take(nextIndex);
    if (texts.length === 0) return;
    try {
      totals.add(await send(`${head}${texts.join(',')}]}`, 'application/json', options.signal));
    } catch (err) {
      throw withPlace(err, `the batch of entries ${firstIndex}–${firstIndex + texts.length - 1}`, totals.result);
    }
  };
  await sendInBatches(
    (async function* () {
      for await (const e of entries) yield entryText(e);
    })(),
    batch,
    flush,
  );
  return totals.result;
}

/** Adds each text to `batch`, flushing a full batch before the text that would overflow it, and the rest at the end. */
async function sendInBatches(texts: AsyncIterable<string>, batch: Batch, flush: (nextIndex: number) => Promise<void>): Promise<void> {
  let index = 0;
  for await (const text of texts) {
    const bytes = Buffer.byteLength(text);
    if (!batch.fits(bytes)) await flush(index);
    batch.add(text, bytes);
    index++;
  }
  await flush(index);
}

/** NDJSON text lines of a byte or text stream, without their line ends; blank lines skipped. */
async function* linesOf(stream: Readable | AsyncIterable<string | Buffer | Uint8Array>): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream as AsyncIterable<unknown>) {
    rest += typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer);
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).replace(/\r$/, '');
      rest = rest.slice(nl + 1);
      if (line.trim() !== '') yield line;
    }
  }
  rest += decoder.end();
  if (rest.trim() !== '') yield rest.replace(/\r$/, '');
}

function isByteStream(source: unknown): source is Readable {
  return (
    typeof source === 'object' &&
    source !== null &&
    typeof (source as Readable).pipe === 'function' &&
    typeof (source as Readable).read === 'function'
  );
}

/**
 * NDJSON: from a Readable of NDJSON bytes (a file, stdin, a response body), whose lines are
 * sent exactly as they are, or from an iterable of entries that each carry a `logType`.
 * Sent as consecutive requests of whole lines; each request is stored all or nothing.
 */
export async function ingestLines(
  send: SendBody,
  source: Readable | Iterable<IngestLine | LogEntryLine> | AsyncIterable<IngestLine | LogEntryLine>,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const { maxEntries, maxBytes } = limitsFrom(options, NDJSON_REQUEST_BYTES);
  const batch = new Batch(maxEntries, maxBytes, 1, 1);
  const totals = new Totals(options.onProgress);
  const flush = async (nextLine: number) => {
    const { texts, firstIndex } = batch.take(nextLine);
    if (texts.length === 0) return;
    try {
      totals.add(await send(texts.join('\n') + '\n', 'application/x-ndjson', options.signal));
    } catch (err) {
      const first = firstIndex + 1;
      const what = isByteStream(source) ? 'lines' : 'entries';
      throw withPlace(
        err,
        `the request of ${what} ${first}–${first + texts.length - 1} of the input (blank lines not counted; its line n is input line ${firstIndex}+n)`,
        totals.result,
      );
    }
  };
  const texts: AsyncIterable<string> = isByteStream(source)
    ? linesOf(source)
    : (async function* () {
        for await (const e of source) yield entryText(e, e.logType);
      })();
  await sendInBatches(texts, batch, flush);
  return totals.result;
}

/** An entry read with the SDK, labelled with the type to store it under. */
export type LogEntryLine = LogEntry & { logType: string };
