/**
 * An append's rows written with `COPY … FROM STDIN` in PostgreSQL's binary format: its new
 * entries (`entries`) and their idempotency keys (`entry_keys`).
 *
 * The rows stream to the server in messages of about 64 KiB, each turned into rows as it
 * arrives and stored a page at a time (PostgreSQL's multi-row insert). An `INSERT … SELECT
 * unnest(…)` of the same rows took about three times the server's CPU (bench/pg-entry-write.ts):
 * its parameters arrived as one message as large as the batch's texts, which the server
 * allocated, copied and split afresh for each statement, and then stored row by row.
 *
 * Texts go as their UTF-8 bytes; PostgreSQL checks them as it checks any text it is sent.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** The new entries of one append, in the order of their sequences (`firstSeq`, `firstSeq + 1`, …). */
export interface EntryRows {
  readonly tid: number;
  readonly firstSeq: number;
  /** When they were added (ms since the epoch), the sealer's clock. */
  readonly addedAt: number;
  readonly typeIds: readonly number[];
  readonly times: readonly number[];
  readonly texts: readonly (string | Uint8Array)[];
}

const COPY_ENTRIES = 'COPY entries (event_time, seq, tid, type_id, added_at, body) FROM STDIN (FORMAT binary)';

/** The binary format's header: its signature, then no flags and no header extension. */
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** Bytes of a row but its text: the field count, then each field's length and value (int8, int8, int4, int4, int8), then the text's length. */
const ROW_BYTES = 2 + (4 + 8) + (4 + 8) + (4 + 4) + (4 + 4) + (4 + 8) + 4;
const FIELDS = 6;
const KEY_FIELDS = 3;
/** The binary format's end: a field count of -1. */
const TRAILER_BYTES = 2;
/** The size of the messages the rows are sent in. */
const MESSAGE_BYTES = 64 * 1024;

/** Writes `rows` into the tenant's `entries` and returns the number of rows PostgreSQL stored. */
export async function copyEntries(client: pg.ClientBase, rows: EntryRows): Promise<number> {
  return copyRows(client, COPY_ENTRIES, messages(rows));
}

const COPY_KEYS = 'COPY entry_keys (tid, event_time, key) FROM STDIN (FORMAT binary)';
/** Bytes of a key row: the field count, then each field's length and value (int4, int8, int8). */
const KEY_ROW_BYTES = 2 + (4 + 4) + (4 + 8) + (4 + 8);

/**
 * Writes the keys of a chunk of entries into `entry_keys` (each key's first 8 bytes, its int8
 * big-endian) and returns the number of rows stored. A key already there fails the COPY with
 * PostgreSQL's unique violation (23505), and the transaction with it: the caller takes the keys
 * under a savepoint.
 */
export async function copyKeys(client: pg.ClientBase, tid: number, times: readonly number[], keys: readonly Uint8Array[]): Promise<number> {
  return copyRows(client, COPY_KEYS, keyMessages(tid, times, keys));
}

/** Runs a `COPY … FROM STDIN` with `data` as its data; the number of rows PostgreSQL stored. */
async function copyRows(client: pg.ClientBase, statement: string, data: Iterable<Buffer>): Promise<number> {
  const copy = client.query(copyFrom(statement));
  await pipeline(Readable.from(data), copy);
  return copy.rowCount;
}

/** The keys' COPY data, in messages of at most MESSAGE_BYTES (whole rows). */
function* keyMessages(tid: number, times: readonly number[], keys: readonly Uint8Array[]): Generator<Buffer> {
  const perMessage = Math.floor((MESSAGE_BYTES - HEADER.length - TRAILER_BYTES) / KEY_ROW_BYTES);
  let buf = Buffer.allocUnsafe(MESSAGE_BYTES);
  let at = HEADER.copy(buf, 0);
  for (let i = 0; i < times.length; i++) {
    if (i > 0 && i % perMessage === 0) {
      yield buf.subarray(0, at);
      buf = Buffer.allocUnsafe(MESSAGE_BYTES);
      at = 0;
    }
    at = buf.writeInt16BE(KEY_FIELDS, at);
    at = putInt4(buf, at, tid);
    at = putInt8(buf, at, times[i]!);
    at = buf.writeInt32BE(8, at);
    buf.set(keys[i]!.subarray(0, 8), at);
    at += 8;
  }
  at = buf.writeInt16BE(-1, at);
  yield buf.subarray(0, at);
}

/** An int8 field (length, then the value), for any safe integer. */
function putInt8(buf: Buffer, at: number, v: number): number {
  buf.writeInt32BE(8, at);
  const high = Math.floor(v / 2 ** 32);
  buf.writeInt32BE(high, at + 4);
  buf.writeUInt32BE(v - high * 2 ** 32, at + 8);
  return at + 12;
}

function putInt4(buf: Buffer, at: number, v: number): number {
  buf.writeInt32BE(4, at);
  buf.writeInt32BE(v, at + 4);
  return at + 8;
}

/** The COPY data, about MESSAGE_BYTES at a time (more for a row that does not fit in that). */
function* messages(rows: EntryRows): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(MESSAGE_BYTES);
  let at = HEADER.copy(buf, 0);
  for (let i = 0; i < rows.times.length; i++) {
    const text = rows.texts[i]!;
    // A string's UTF-8 takes at most three bytes per UTF-16 unit: measured only when that might not fit.
    let room = ROW_BYTES + (typeof text === 'string' ? text.length * 3 : text.byteLength);
    if (at + room > buf.length && typeof text === 'string') room = ROW_BYTES + Buffer.byteLength(text);
    if (at + room > buf.length) {
      yield buf.subarray(0, at);
      buf = Buffer.allocUnsafe(Math.max(MESSAGE_BYTES, room + TRAILER_BYTES));
      at = 0;
    }
    at = buf.writeInt16BE(FIELDS, at);
    at = putInt8(buf, at, rows.times[i]!);
    at = putInt8(buf, at, rows.firstSeq + i);
    at = putInt4(buf, at, rows.tid);
    at = putInt4(buf, at, rows.typeIds[i]!);
    at = putInt8(buf, at, rows.addedAt);
    const lengthAt = at;
    at += 4;
    const length = typeof text === 'string' ? buf.write(text, at, 'utf8') : (buf.set(text, at), text.byteLength);
    buf.writeInt32BE(length, lengthAt);
    at += length;
  }
  if (at + TRAILER_BYTES > buf.length) {
    yield buf.subarray(0, at);
    buf = Buffer.allocUnsafe(TRAILER_BYTES);
    at = 0;
  }
  at = buf.writeInt16BE(-1, at);
  yield buf.subarray(0, at);
}
