/**
 * Writing with the SDK: `POST /v2/logs` (a logwarden extension, SPEC §4), as JSON batches of
 * one log type or as NDJSON lines each carrying its own `logType`. Input of any length is cut
 * into requests that stay under the server's limits (10,000 entries and 32 MiB for a JSON
 * batch) and each request is held as text until answered, so it can be sent again: ingest
 * is idempotent (an entry already stored counts as a duplicate), which makes a retry after a
 * 429, a 5xx, a timeout or a dropped connection safe even when the first attempt was stored.
 * A few requests are in flight at once (`concurrency`); the first that fails stops the call.
 */
import type { Readable } from 'node:stream';
import { LogsApiError } from './errors.ts';
import type { JsonValue } from './lossless-json.ts';
import { isReadEntry, type LogEntry, readRecordText } from './page.ts';

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
  /**
   * Requests in flight at once (default 2, at most 8): the next batch is on its way while the
   * server stores one. Each request is still stored all or nothing and acknowledged on its own;
   * memory holds up to this many batches (each up to `maxBytes`) besides the one being filled.
   * Once a request fails, no further batch is sent; the requests in flight are answered first,
   * and the error names the failed batch and every entry acknowledged (`ingested`). Batches in
   * flight together may be stored in either order (the order of their leaves in the verifiable
   * log, and of entries sharing an eventTime); 1 sends one request after another, in input order.
   */
  concurrency?: number;
  /** Called after each request is stored, in the order they are answered, with the totals so far. */
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
export const DEFAULT_INGEST_CONCURRENCY = 2;
/** Half the server's default of ingest bodies read at once for one tenant (LOGWARDEN_MAX_CONCURRENT_INGESTS 16). */
export const MAX_INGEST_CONCURRENCY = 8;

/** Sends one request body and resolves to the server's counts; the client's request core does the retrying. */
export type SendBody = (body: string, contentType: string, signal: AbortSignal | undefined) => Promise<{ accepted: number; duplicates: number }>;

/**
 * Members of an entry not sent as its fields: its log type (an NDJSON line's comes first), and
 * the text of an entry read from a server, which a copy of it carries (`{...entry}`) and which
 * no longer says what the copy says.
 */
const NOT_FIELDS: ReadonlySet<string> = new Set(['logType', 'raw', 'logRecordText']);

/** JSON text of a value, `bigint`s written as their digits (JSON.stringify refuses them); `skip`: members of the object left out. */
function jsonText(v: unknown, skip?: ReadonlySet<string>): string {
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : jsonText(x))).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    // A record as read (`logRecord` of an entry read, kept by a copy of it): its exact text.
    const read = readRecordText(v);
    if (read !== undefined) return read;
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) if (x !== undefined && !skip?.has(k)) parts.push(`${JSON.stringify(k)}:${jsonText(x)}`);
    return `{${parts.join(',')}}`;
  }
  const text = JSON.stringify(v);
  if (text === undefined) throw new TypeError(`cannot be sent as JSON: ${typeof v}`);
  return text;
}

/** An entry's JSON text; with `logType` first for an NDJSON line. */
export function entryText(e: IngestEntry | LogEntry, logType?: string): string {
  // An entry as read is sent as its text, byte for byte; anything else (a copy, edited or not) from its fields.
  const body = isReadEntry(e) ? e.raw : jsonText(e, NOT_FIELDS);
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

function limitsFrom(options: IngestOptions, defaultBytes: number): { maxEntries: number; maxBytes: number; concurrency: number } {
  const maxEntries = options.maxEntries ?? MAX_BATCH_ENTRIES;
  const maxBytes = options.maxBytes ?? defaultBytes;
  const concurrency = options.concurrency ?? DEFAULT_INGEST_CONCURRENCY;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
  if (!Number.isInteger(maxBytes) || maxBytes < 1024) throw new TypeError('maxBytes must be an integer of at least 1024');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_INGEST_CONCURRENCY) {
    throw new TypeError(`concurrency must be an integer from 1 to ${MAX_INGEST_CONCURRENCY}`);
  }
  return { maxEntries, maxBytes, concurrency };
}

/** Input positions first–last (0-based, `last` included). */
interface Span {
  readonly first: number;
  readonly last: number;
}

/** How a kind of ingest words its failed request and the entries acknowledged, for the error's message. */
interface Wording {
  /** The failed request, e.g. `the batch of entries 4–5`. */
  request(span: Span): string;
  /** The acknowledged entries, e.g. `entries 0–3, 6–9`. */
  ranges(spans: readonly Span[]): string;
}

/** Spans in input order, consecutive ones joined: 0–3 and 4–7 are 0–7. */
function merged(spans: readonly Span[]): Span[] {
  const out: Span[] = [];
  for (const s of [...spans].sort((a, b) => a.first - b.first)) {
    const prev = out.at(-1);
    if (prev && prev.last + 1 === s.first) out[out.length - 1] = { first: prev.first, last: s.last };
    else out.push(s);
  }
  return out;
}

/** Adds where the failing request's entries sit in the whole input, and which entries the other requests stored. */
function withPlace(err: unknown, failed: Span, wording: Wording, done: IngestResult, acknowledged: readonly Span[]): unknown {
  if (!(err instanceof LogsApiError)) return err;
  const spans = merged(acknowledged);
  const which = spans.length === 0 ? '' : `: ${wording.ranges(spans)}`;
  // Without the server's messages, what the failure was is said by the error itself (HTTP 413 from a proxy, a network error).
  const idSuffix = ` (requestId ${err.requestId})`;
  const said = err.message.endsWith(idSuffix) ? err.message.slice(0, -idSuffix.length) : err.message;
  const why = err.messages.length === 0 ? `: ${said}` : '';
  return new LogsApiError(
    err.code,
    `${wording.request(failed)} failed (${done.accepted + done.duplicates} entries in ${done.requests} requests were stored or already there${which}; no other was acknowledged)${why}`,
    {
      status: err.status,
      requestId: err.requestId,
      messages: err.messages,
      retryAfterMs: err.retryAfterMs,
      attempts: err.attempts,
      cause: err,
      ingested: { ...done, acknowledged: spans },
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

/**
 * Sends batches with up to `concurrency` requests in flight. A failed request stops it: no
 * batch is sent after it, and `settle` waits for those in flight, then throws for the failed
 * batch first in input order.
 */
class BatchSender {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly acknowledged: Span[] = [];
  private failure: { span: Span; err: unknown } | undefined;

  constructor(
    private readonly concurrency: number,
    private readonly request: (texts: string[]) => Promise<{ accepted: number; duplicates: number }>,
    private readonly totals: Totals,
  ) {}

  /** Sends `texts` (input positions from `first` on) once fewer than `concurrency` requests are in flight; false, sending nothing, once one has failed. */
  async send(texts: string[], first: number): Promise<boolean> {
    while (this.failure === undefined && this.inFlight.size >= this.concurrency) await Promise.race(this.inFlight);
    if (this.failure !== undefined) return false;
    const span = { first, last: first + texts.length - 1 };
    const answered: Promise<void> = this.request(texts)
      .then(
        (counts) => {
          this.totals.add(counts);
          this.acknowledged.push(span);
        },
        (err: unknown) => {
          if (this.failure === undefined || span.first < this.failure.span.first) this.failure = { span, err };
        },
      )
      .finally(() => this.inFlight.delete(answered));
    this.inFlight.add(answered);
    return true;
  }

  /** Waits until no request is in flight; then throws the first failed batch's error, saying where it was and what was stored. */
  async settle(wording: Wording): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.failure) throw withPlace(this.failure.err, this.failure.span, wording, this.totals.result, this.acknowledged);
  }
}

/** JSON batches of one type: `{"logType": …, "logEntries": [ … ]}`, each within the limits. */
export async function ingestBatches(
  send: SendBody,
  logType: string,
  entries: Iterable<IngestEntry | LogEntry> | AsyncIterable<IngestEntry | LogEntry>,
  options: IngestOptions = {},
): Promise<IngestResult> {
  const { maxEntries, maxBytes, concurrency } = limitsFrom(options, MAX_BATCH_BYTES);
  const head = `{"logType":${JSON.stringify(logType)},"logEntries":[`;
  const batch = new Batch(maxEntries, maxBytes, Buffer.byteLength(head) + 2, 1);
  const totals = new Totals(options.onProgress);
  const sender = new BatchSender(concurrency, (texts) => send(`${head}${texts.join(',')}]}`, 'application/json', options.signal), totals);
  const span = (s: Span) => `${s.first}–${s.last}`;
  await sendInBatches(
    (async function* () {
      for await (const e of entries) yield entryText(e);
    })(),
    batch,
    sender,
    { request: (s) => `the batch of entries ${span(s)}`, ranges: (spans) => `entries ${spans.map(span).join(', ')}` },
  );
  return totals.result;
}

/**
 * Adds each text to `batch`, sending a full batch before the text that would overflow it, and
 * the rest at the end; stops reading at the first failed request. Returns once every request
 * sent is answered.
 */
async function sendInBatches(texts: AsyncIterable<string>, batch: Batch, sender: BatchSender, wording: Wording): Promise<void> {
  const flush = (nextIndex: number): Promise<boolean> => {
    const { texts, firstIndex } = batch.take(nextIndex);
    return texts.length === 0 ? Promise.resolve(true) : sender.send(texts, firstIndex);
  };
  let failed = false;
  try {
    let index = 0;
    for await (const text of texts) {
      const bytes = Buffer.byteLength(text);
      if (!batch.fits(bytes) && !(await flush(index))) {
        failed = true;
        break;
      }
      batch.add(text, bytes);
      index++;
    }
    if (!failed) await flush(index);
  } finally {
    // A failure to read the input, too, waits for the requests in flight: nothing is sent after the call has ended.
    await sender.settle(wording);
  }
}

/** Decodes a line's bytes, refusing bytes that are no UTF-8 (a replacement character in their place would be stored as if sent). */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** NDJSON text lines of a byte or text stream, without their line ends; blank lines skipped. */
async function* linesOf(stream: Readable | AsyncIterable<string | Buffer | Uint8Array>): AsyncGenerator<string> {
  let text = '';
  let bytes: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  const decoded = (line: Buffer, n: number): string => {
    try {
      return utf8.decode(line);
    } catch {
      throw new TypeError(`line ${n}: is not valid UTF-8`);
    }
  };
  for await (const chunk of stream as AsyncIterable<unknown>) {
    const lines: string[] = [];
    if (typeof chunk === 'string') {
      text += chunk;
      let nl: number;
      while ((nl = text.indexOf('\n')) >= 0) {
        lines.push(text.slice(0, nl));
        text = text.slice(nl + 1);
      }
    } else {
      // Split on the bytes, then decode each line whole: no character is cut between chunks.
      bytes = bytes.length === 0 ? Buffer.from(chunk as Uint8Array) : Buffer.concat([bytes, chunk as Uint8Array]);
      let start = 0;
      for (let nl = bytes.indexOf(0x0a); nl >= 0; nl = bytes.indexOf(0x0a, start)) {
        lines.push(decoded(bytes.subarray(start, nl), lineNo + lines.length + 1));
        start = nl + 1;
      }
      bytes = bytes.subarray(start);
    }
    for (const raw of lines) {
      lineNo++;
      const line = raw.replace(/\r$/, '');
      if (line.trim() !== '') yield line;
    }
  }
  const last = (bytes.length > 0 ? decoded(bytes, lineNo + 1) : text).replace(/\r$/, '');
  if (last.trim() !== '') yield last;
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
  const { maxEntries, maxBytes, concurrency } = limitsFrom(options, NDJSON_REQUEST_BYTES);
  const batch = new Batch(maxEntries, maxBytes, 1, 1);
  const totals = new Totals(options.onProgress);
  const sender = new BatchSender(concurrency, (texts) => send(texts.join('\n') + '\n', 'application/x-ndjson', options.signal), totals);
  const what = isByteStream(source) ? 'lines' : 'entries';
  // Counted from 1, as lines are.
  const span = (s: Span) => `${s.first + 1}–${s.last + 1}`;
  const texts: AsyncIterable<string> = isByteStream(source)
    ? linesOf(source)
    : (async function* () {
        for await (const e of source) yield entryText(e, e.logType);
      })();
  await sendInBatches(texts, batch, sender, {
    request: (s) => `the request of ${what} ${span(s)} of the input (blank lines not counted; its line n is input line ${s.first}+n)`,
    ranges: (spans) => `${what} ${spans.map(span).join(', ')}`,
  });
  return totals.result;
}

/** An entry read with the SDK, labelled with the type to store it under. */
export type LogEntryLine = LogEntry & { logType: string };
