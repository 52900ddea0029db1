/**
 * Holds validated entries of one streamed ingest request until the whole request has been
 * read, so that it can be committed all at once. Small requests stay in memory; past
 * `memoryBytes` the entries go to a temporary file, so a request of any size costs bounded
 * memory. Reading back is synchronous, for use inside a store transaction.
 *
 * The file is audit data outside the store, so it is created owner-only in a private folder
 * and unlinked at once: only the open descriptor reaches it, and when the process ends — even
 * killed with SIGKILL — the system frees it. Nothing is left for another user to read or for
 * anyone to sweep.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmdirSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogwardenError } from '../errors.ts';
import type { NewEntry } from './entry.ts';

/** What an entry held in memory costs beside its text: the object, its key's Buffer, its strings' headers. */
const ENTRY_OVERHEAD_BYTES = 300;

/** Why a temporary folder cannot be made other than a full disk: the directory removed, made read-only or closed to this user. */
const TEMP_DIR_GONE = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS']);

export class EntrySpool {
  private memory: NewEntry[] = [];
  private bytes = 0;
  private dir: string | undefined;
  private fd: number | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  count = 0;

  constructor(private readonly memoryBytes = 64 * 1024 * 1024) {}

  /**
   * Takes an entry; `sourceLength`, the length of the text it was parsed from (a line), when its
   * text may be a slice of that text and keep it alive while held. Memory is counted as two bytes
   * per character (V8 keeps text of any character past Latin-1 so) of the longer of the two,
   * plus what an entry costs beside its text.
   */
  push(e: NewEntry, sourceLength = 0): void {
    this.count++;
    if (this.fd === undefined) {
      this.memory.push(e);
      this.bytes += 2 * Math.max(e.body.length, sourceLength) + ENTRY_OVERHEAD_BYTES;
      if (this.bytes > this.memoryBytes) this.spill();
      return;
    }
    this.write(e);
  }

  private spill(): void {
    let dir: string;
    try {
      dir = mkdtempSync(join(tmpdir(), 'logwarden-spool-'));
    } catch (err) {
      // The temporary directory gone or made unwritable since start (a full disk is said as such by the error handler).
      const code = (err as NodeJS.ErrnoException).code;
      if (code === undefined || !TEMP_DIR_GONE.has(code)) throw err;
      throw new LogwardenError('unavailable', [
        `cannot spool a large request: the server's temporary directory cannot be written (${code}); nothing was stored; retry later`,
      ]);
    }
    const file = join(dir, 'entries');
    try {
      this.fd = openSync(file, 'wx+', 0o600);
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    try {
      unlinkSync(file);
      rmdirSync(dir);
    } catch {
      // A system that cannot unlink an open file: removed on dispose instead.
      this.dir = dir;
    }
    for (const e of this.memory) this.write(e);
    this.memory = [];
  }

  // One line per entry: type, time, key, body. Bodies are minified JSON: never a raw newline.
  private write(e: NewEntry): void {
    const line = `${e.logType}\t${e.eventTimeMs}\t${e.key.toString('hex')}\t${e.body}\n`;
    this.pending.push(line);
    this.pendingBytes += line.length;
    if (this.pendingBytes >= 1 << 20) this.flush();
  }

  /**
   * Writes what is pending whole. A write to a file may take fewer bytes than given without an
   * error (a nearly full disk, a file size limit); what it did not take is written again, and
   * the next write says why it cannot (ENOSPC, EFBIG): an entry cut short would otherwise be
   * lost, or run into the next line as one entry.
   */
  private flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    const data = Buffer.from(this.pending.join(''));
    this.pending = [];
    this.pendingBytes = 0;
    for (let at = 0; at < data.length; ) {
      const n = writeSync(this.fd, data, at, data.length - at);
      if (n <= 0) throw Object.assign(new Error('the spool file takes no more bytes'), { code: 'ENOSPC' });
      at += n;
    }
  }

  /** Every entry pushed, in order; throws when the file gives back another number of them. */
  *entries(): Generator<NewEntry> {
    if (this.fd === undefined) {
      yield* this.memory;
      return;
    }
    this.flush();
    const buf = Buffer.allocUnsafe(1 << 20);
    let position = 0;
    let rest = Buffer.alloc(0);
    let read = 0;
    for (;;) {
      const n = readSync(this.fd, buf, 0, buf.length, position);
      if (n === 0) break;
      position += n;
      // Decode only whole lines, so a multi-byte character is never split across reads.
      const data = rest.length === 0 ? buf.subarray(0, n) : Buffer.concat([rest, buf.subarray(0, n)]);
      const lastNl = data.lastIndexOf(0x0a);
      if (lastNl < 0) {
        rest = Buffer.from(data);
        continue;
      }
      const text = data.toString('utf8', 0, lastNl + 1);
      rest = Buffer.from(data.subarray(lastNl + 1));
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const line = text.slice(start, nl);
        start = nl + 1;
        const t1 = line.indexOf('\t');
        const t2 = line.indexOf('\t', t1 + 1);
        const t3 = line.indexOf('\t', t2 + 1);
        read++;
        yield {
          logType: line.slice(0, t1),
          eventTimeMs: Number(line.slice(t1 + 1, t2)),
          key: Buffer.from(line.slice(t2 + 1, t3), 'hex'),
          body: line.slice(t3 + 1),
        };
      }
    }
    if (rest.length > 0 || read !== this.count) {
      throw new Error(
        `the spool file holds ${read} whole entries${rest.length > 0 ? ' and part of another' : ''}, not the ${this.count} written to it`,
      );
    }
  }

  dispose(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
    this.fd = undefined;
    this.dir = undefined;
    this.memory = [];
  }
}
