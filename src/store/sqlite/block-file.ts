/**
 * The file holding page blocks' texts (see page-blocks.ts), beside the database. Append-only:
 * a block's text is written once, followed by a comma, so that the texts of blocks written one
 * after the other read as one page text across them. The database says where each block's text
 * lies and how much of the file is committed; anything beyond (a write whose transaction did
 * not commit) is never referenced.
 *
 * Writes happen only inside the database's write transaction, which serialises them across
 * processes; the text is flushed to disk before the rows that point at it commit.
 */
import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, writevSync } from 'node:fs';

export const BLOCK_FILE = 'page-blocks.dat';
const COMMA = Buffer.from(',');

export class BlockFile {
  private fd: number | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private base = 0;

  constructor(readonly path: string) {}

  private open(): number {
    this.fd ??= openSync(this.path, 'a+', 0o600);
    return this.fd;
  }

  /**
   * Opens the file again if the one open was deleted or replaced meanwhile, so that every
   * process reads and writes the same file.
   */
  reopenIfReplaced(): void {
    if (this.fd !== undefined && fstatSync(this.fd).nlink === 0) this.close();
  }

  /** The file's size: where the next text will start. Call inside the write transaction. */
  size(): number {
    return fstatSync(this.open()).size;
  }

  /**
   * Starts a batch of appends (inside the write transaction): `add` returns where each text
   * will lie; `flush` writes them all and makes them durable before the transaction commits.
   */
  begin(): void {
    this.base = this.size();
    this.pending = [];
    this.pendingBytes = 0;
  }

  add(text: Buffer): number {
    const at = this.base + this.pendingBytes;
    this.pending.push(text, COMMA);
    this.pendingBytes += text.length + 1;
    return at;
  }

  /** Writes the batch and flushes it; returns the file's size after it. */
  flush(): number {
    if (this.pending.length > 0) {
      const fd = this.open();
      let written = 0;
      // writev takes a bounded number of buffers at a time and may write less than asked.
      for (let i = 0; i < this.pending.length; ) {
        const chunk = this.pending.slice(i, i + 512);
        let n = writevSync(fd, chunk);
        if (n === 0) throw new Error('page blocks: the block file takes no more bytes');
        written += n;
        while (n > 0 && i < this.pending.length) {
          const b = this.pending[i]!;
          if (n >= b.length) {
            n -= b.length;
            i++;
          } else {
            this.pending[i] = b.subarray(n);
            n = 0;
          }
        }
      }
      if (written !== this.pendingBytes) throw new Error(`page blocks: wrote ${written} of ${this.pendingBytes} bytes`);
      fdatasyncSync(fd);
    }
    this.pending = [];
    const end = this.base + this.pendingBytes;
    this.pendingBytes = 0;
    return end;
  }

  /** Fills `into` from `offset` of the file; false when the file holds fewer bytes there. */
  read(into: Buffer, at: number, offset: number, length: number): boolean {
    const fd = this.open();
    let done = 0;
    while (done < length) {
      const n = readSync(fd, into, at + done, length - done, offset + done);
      if (n === 0) return false;
      done += n;
    }
    return true;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
