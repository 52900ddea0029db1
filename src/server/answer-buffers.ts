/**
 * Buffers kept for page answers and used again. A page of `GET /v2/logs` is about 80 KB; a new
 * buffer of that size for every answer costs the server more CPU than everything else it does
 * for the page (the memory is mapped, faulted in, and collected each time). A buffer taken here
 * comes back only when its response has finished, that is when Node has handed every byte of it
 * to the kernel; a response that ends any other way (the client went away, an error) leaves its
 * buffer to the garbage collector, so a byte still being sent is never overwritten.
 */
import type { ServerResponse } from 'node:http';

/** The smallest buffer made: a 100-entry page of typical entries fits. */
const MIN_BYTES = 128 * 1024;
/** Larger answers (pages of very large entries) get a buffer of their own, not kept. */
const MAX_KEPT_BYTES = 8 * 1024 * 1024;

export class AnswerBuffers {
  private readonly free: Buffer[] = [];

  /** `keep`: how many idle buffers are held at most (about the number of concurrent readers). */
  constructor(private readonly keep = 32) {}

  /**
   * A buffer of at least `bytes`, to be filled and sent as (part of) `res`'s body. It is returned
   * to the pool when `res` finishes.
   */
  take(bytes: number, res: ServerResponse): Buffer {
    let buf = this.free.pop();
    if (buf === undefined || buf.length < bytes) buf = Buffer.allocUnsafeSlow(sizeFor(bytes));
    if (buf.length <= MAX_KEPT_BYTES) {
      const kept = buf;
      res.once('finish', () => {
        if (this.free.length < this.keep) this.free.push(kept);
      });
    }
    return buf;
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.free.length;
  }
}

function sizeFor(bytes: number): number {
  let size = MIN_BYTES;
  while (size < bytes) size *= 2;
  return size;
}
