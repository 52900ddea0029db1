/**
 * Where `logwarden fetch` writes: the three formats (fetch-formats.ts), and a sink that respects backpressure so
 * memory stays flat however large the export. Each record is written as one chunk, so an
 * interrupted export ends on a record boundary.
 */

import { once } from 'node:events';
import { accessSync, closeSync, constants, createWriteStream, fstatSync, openSync, readSync, rmSync, statSync, truncateSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { EVIDENCE_FORMAT } from '../client/index.ts';
import { ENTRY_FIELDS } from '../logs/entry-fields.ts';
import { CANNOT_WRITE, writeFailure } from './common.ts';
import { CommandError } from './exit-codes.ts';
import type { CsvIdStyle, Format, Formatter } from './fetch-formats.ts';

export { CSV_ID_STYLES, type CsvIdStyle, csvCell, csvUserCell, FORMATS, type Format, type Formatter, formatter } from './fetch-formats.ts';

/**
 * Says in words why `path` cannot be written (a folder, a missing folder, no permission), or
 * nothing: checked before any request, without creating or truncating the file.
 */
export function outputProblem(path: string): string | undefined {
  try {
    if (statSync(path).isDirectory()) return `--out ${path} is a folder; give a file name`;
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return writeFailure(path, err);
  }
  const folder = dirname(path);
  try {
    if (!statSync(folder).isDirectory()) return `cannot write to ${path} (${folder} is a file)`;
    accessSync(folder, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return `cannot write to ${path} (${folder}: ${CANNOT_WRITE[code] ?? (err as Error).message})`;
  }
}

/**
 * A writable destination; remembers a failure (EPIPE when a reader quits, ENOSPC when the disk
 * is full). Each write resolves once the system took its bytes, so what was written is known
 * exactly: after a failed write, a file is cut back to the end of the last whole write (a
 * record or a page of records), never left ending in a cut-short record. A file is opened on
 * the first write, so an export that fails before its first page (a refused key, an
 * unreachable server) leaves an existing file as it was and makes no new one.
 */
export class Sink {
  private failure: Error | undefined;
  private stream: Writable | undefined;
  /** Bytes of the file before this run (appending), then of every write the system took. */
  private kept = 0;
  /** Whether this run adds to the file, and its bytes before: what `discard` cuts it back to. */
  private appending = false;
  private before = 0;

  private constructor(
    stream: Writable | undefined,
    private readonly path: string | undefined,
    private readonly open?: () => Promise<Writable>,
  ) {
    if (stream) this.attach(stream);
  }

  private attach(stream: Writable): Writable {
    this.stream = stream;
    stream.on('error', (err) => (this.failure ??= err));
    return stream;
  }

  static stdout(): Sink {
    return new Sink(process.stdout, undefined);
  }

  /** A file, opened on the first write; `append` keeps what is there. */
  static file(path: string, append: boolean): Sink {
    const sink: Sink = new Sink(undefined, path, async () => {
      sink.kept = append && isNonEmptyFile(path) ? statSync(path).size : 0;
      sink.appending = append;
      sink.before = sink.kept;
      // Made readable by its owner only: an export holds people's emails and addresses.
      const stream = createWriteStream(path, { flags: append ? 'a' : 'w', mode: 0o600 });
      try {
        await once(stream, 'open');
      } catch (err) {
        // What the check before the first request could not see (root on a read-only folder).
        throw new CommandError(writeFailure(path, err));
      }
      return stream;
    });
    return sink;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** The failure in words, naming the destination (`cannot write to FILE (no space left on device)`). */
  get errorMessage(): string | undefined {
    return this.failure && writeFailure(this.path ?? 'standard output', this.failure);
  }

  /** Opens the file now (made, or emptied unless appending), even if nothing is written to it. */
  async touch(): Promise<void> {
    if (!this.stream && this.open) this.attach(await this.open());
  }

  async write(text: string): Promise<void> {
    if (text !== '') await this.writeBytes(Buffer.from(text));
  }

  /** Writes `bytes`, resolving once the system took them: the caller may then fill the buffer again. */
  async writeBytes(bytes: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (bytes.length === 0) return;
    const stream = this.stream ?? this.attach(await this.open!());
    await new Promise<void>((resolve) =>
      stream.write(bytes, (err) => {
        if (err) this.failure ??= err;
        else this.kept += bytes.length;
        resolve();
      }),
    );
    if (this.failure) throw this.failure;
  }

  /**
   * Closes the file and takes back what this run wrote: an appended file is cut back to its
   * size before the run, a file this run made (or replaced) is removed. Standard output cannot
   * be taken back.
   */
  async discard(): Promise<Discarded> {
    const stream = this.stream;
    if (!stream || this.path === undefined) return 'none';
    if (!stream.destroyed) stream.end();
    if (!stream.closed) await once(stream, 'close').catch(() => undefined);
    if (this.appending) {
      truncateSync(this.path, this.before);
      return 'restored';
    }
    rmSync(this.path, { force: true });
    return 'removed';
  }

  /** Closes the file (standard output stays open); after a failed write, cuts it back to its whole writes. */
  async close(): Promise<void> {
    const stream = this.stream;
    if (!stream || this.path === undefined) return;
    // A stream that failed is destroyed already: only its close is waited for.
    if (!stream.destroyed) stream.end();
    if (!stream.closed) await once(stream, 'close').catch(() => undefined);
    if (this.failure) {
      try {
        if (statSync(this.path).size > this.kept) truncateSync(this.path, this.kept);
      } catch {
        // Cannot be cut back (gone, or not ours to change): the failure already says the write failed.
      }
    }
  }
}

/** What `Sink.discard` did to the file. */
export type Discarded = 'none' | 'removed' | 'restored';
/** What an export file holds, or what a run writes: `csv` alone is a CSV whose id style cannot be told. */
type Held = 'ndjson' | 'csv' | 'csv-text' | 'csv-plain' | 'json' | 'bundle' | 'json-document' | 'other';

const HELD_WORDS: Readonly<Record<Exclude<Held, 'other'>, string>> = {
  ndjson: 'NDJSON (--format ndjson)',
  csv: 'CSV (--format csv)',
  'csv-text': 'CSV with text ids (--format csv --csv-ids text)',
  'csv-plain': 'CSV with plain ids (--format csv --csv-ids plain)',
  json: 'a JSON document (--format json), which cannot be added to',
  bundle: 'an evidence bundle (--format bundle), which cannot be added to',
  'json-document': 'a JSON document, which cannot be added to',
};

/** How many bytes of an existing file are read to tell its format: the CSV header and the start of a row, or an NDJSON line's start. */
const PROBE_BYTES = 64 * 1024;

/** The format of an export from its first bytes (`head`): fetch's own NDJSON, CSV, JSON or bundle, or something else. */
function heldIn(head: string): Held {
  const nl = head.indexOf('\n');
  const first = (nl < 0 ? head : head.slice(0, nl)).replace(/\r$/, '');
  if (first.startsWith('{')) {
    if (/^\{"logType":"(?:[^"\\]|\\.)*","logEntries":\[/.test(first)) return 'json';
    if (first.trim() === '{') {
      return /^\{\s*"format"\s*:\s*"([^"]*)"/.exec(head)?.[1] === EVIDENCE_FORMAT ? 'bundle' : 'json-document';
    }
    return 'ndjson';
  }
  if (first !== ENTRY_FIELDS.join(',')) return 'other';
  // The id style shows in the first row's userId cell: a quoted tab then the digits, or the bare digits.
  const row = nl < 0 ? '' : head.slice(nl + 1);
  if (row.startsWith('"\t')) return 'csv-text';
  if (/^\d/.test(row)) return 'csv-plain';
  return 'csv';
}

/**
 * Says in words why `--append` cannot add this run's records to `path` (its content is of
 * another format, another CSV id style, or ends in the middle of a line), or nothing (it is
 * missing, empty, or of the same format). Read before any request, without changing the file.
 */
export function appendProblem(path: string, format: Exclude<Format, 'json'>, idStyle: CsvIdStyle): string | undefined {
  let head: string;
  let endsWithLineBreak: boolean;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined; // missing (made on the first write); not writable is outputProblem's to say
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return undefined;
    const buf = Buffer.alloc(Math.min(size, PROBE_BYTES));
    const n = readSync(fd, buf, 0, buf.length, 0);
    head = buf.subarray(0, n).toString('utf8');
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    endsWithLineBreak = last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
  const writes = format === 'ndjson' ? 'ndjson' : idStyle === 'text' ? 'csv-text' : 'csv-plain';
  const held = heldIn(head);
  const same = held === writes || (held === 'csv' && writes !== 'ndjson');
  if (!same) {
    const nl = head.search(/\r?\n/);
    const first = nl < 0 ? head : head.slice(0, nl);
    const words =
      held === 'other'
        ? `neither NDJSON nor CSV with fetch's header (its first line: ${JSON.stringify(first.length > 60 ? `${first.slice(0, 60)}…` : first)})`
        : HELD_WORDS[held];
    return `--append: ${path} holds ${words}; this run would write ${HELD_WORDS[writes]}. Append only to an export made with the same --format and --csv-ids, or give another --out`;
  }
  if (!endsWithLineBreak) {
    return `--append: ${path} does not end with a line break (its last record is cut short?), so the first entry added would be joined to it. Remove the unfinished last line, or give another --out`;
  }
  return undefined;
}

export function isNonEmptyFile(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

/**
 * A page's records made from its entries' exact texts as bytes (`Formatter.pass`), in one
 * buffer used again for every page: the caller writes it with `Sink.writeBytes` before filling
 * it again. Nothing is decoded or encoded but the formats' own short leads.
 */
export class RecordBytes {
  private buf = Buffer.alloc(0);
  private readonly encoded = new Map<string, Buffer>();

  constructor(private readonly out: Formatter) {}

  private bytes(s: string): Buffer {
    let b = this.encoded.get(s);
    if (b === undefined) this.encoded.set(s, (b = Buffer.from(s)));
    return b;
  }

  /** The records of `texts`, the first being record `firstIndex` of the output. */
  fill(texts: readonly Uint8Array[], firstIndex: number): Buffer {
    const pass = this.out.pass;
    if (!pass) throw new Error('this format does not pass texts through');
    const trail = this.bytes(pass.trail);
    const leads = texts.map((_, k) => this.bytes(pass.lead(firstIndex + k)));
    let size = 0;
    for (let k = 0; k < texts.length; k++) size += leads[k]!.length + texts[k]!.length - pass.from + trail.length;
    if (this.buf.length < size) this.buf = Buffer.allocUnsafeSlow(Math.max(size, 2 * this.buf.length));
    let at = 0;
    for (let k = 0; k < texts.length; k++) {
      at += leads[k]!.copy(this.buf, at);
      this.buf.set(texts[k]!.subarray(pass.from), at);
      at += texts[k]!.length - pass.from;
      at += trail.copy(this.buf, at);
    }
    return this.buf.subarray(0, at);
  }
}
