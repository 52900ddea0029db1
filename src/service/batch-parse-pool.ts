/**
 * JSON ingest batches parsed on worker threads (batch-parse-worker.ts), so that the thread
 * that appends is free to store one batch while the next is parsed: parsing, validating and
 * hashing cost more per entry than the store's own statements, and on one thread they took
 * turns. A worker returns entries only for a body whose every entry passes; for any other the
 * caller parses it on its own thread as before, so errors and their wording do not change. A
 * worker that cannot start is not fatal either: batches are then parsed on the calling thread.
 *
 * Bytes cross between the threads by moving their buffers, never by copying them, and the
 * buffers are used again: a body is moved to the worker (and back, when the caller must parse
 * it); the worker writes a batch's texts into a buffer it holds spare (a body it has parsed, or
 * the texts of a batch stored since), which moves to the caller with the entries; and once the
 * entries are stored, `release` moves it back. Each batch would otherwise fill two fresh
 * buffers of its size besides the request's body (the body's copy and the texts), and the
 * first touch of every page of a fresh buffer costs the system about as much as parsing the
 * text in it. A buffer is in one thread at a time: moving it away
 * empties every view of it left behind, so no stale view can ever see another batch's bytes.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { LogTypes } from '../logs/log-types.ts';
import { type PackedArrays, PackedEntries } from '../logs/packed-entries.ts';
import { startWorker } from '../worker-thread.ts';

/** Smaller bodies are parsed where they are: the round trip would cost more than it saves. */
export const OFF_THREAD_MIN_BYTES = 256 * 1024;

/** What the worker is sent: a body to parse (moved), or a buffer to use again (moved). */
export type WorkerJob =
  | {
      readonly id: number;
      readonly body: Uint8Array;
      /** The types clients may write (`LogTypes.writable`). */
      readonly writable: readonly string[];
    }
  | { readonly spare: ArrayBuffer };

/** The worker's answer to a body: its entries, or the body moved back for the caller to parse. */
export type ParseReply = { readonly id: number; readonly batch: PackedArrays } | { readonly id: number; readonly body: Uint8Array };

/** A batch parsed on a worker, or the body for the caller to parse itself. */
export type OffThreadParse =
  | {
      readonly entries: PackedEntries;
      /** Once the entries are stored (or refused): their texts' buffer goes back to the worker, and every view of it here is emptied. */
      release(): void;
    }
  | { readonly entries: undefined; readonly body: Buffer };

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, (reply: ParseReply | Error) => void>;
}

/** After this many workers failed, batches are parsed on the calling thread for good. */
const MAX_FAILURES = 3;

/** A worker gone with a batch of the caller's: its body went with it. */
export class ParseWorkerLostError extends Error {
  constructor() {
    super('the worker parsing the batch stopped');
    this.name = 'ParseWorkerLostError';
  }
}

class BatchParsePool {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private failures = 0;

  constructor(private readonly size: number) {}

  get usable(): boolean {
    return this.failures < MAX_FAILURES;
  }

  /** The batch's entries parsed on a worker, or its body (moved there and back) to parse here instead. */
  parse(body: Buffer, types: LogTypes): Promise<OffThreadParse> {
    const thread = this.thread();
    if (!thread) return Promise.resolve({ entries: undefined, body });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, (reply) => {
        if (reply instanceof Error) reject(reply);
        else if ('body' in reply) resolve({ entries: undefined, body: Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.byteLength) });
        else {
          const entries = new PackedEntries(reply.batch);
          resolve({ entries, release: () => this.release(thread, entries) });
        }
      });
      if (thread.pending.size === 1) thread.worker.ref();
      // The body's own buffer when it holds nothing else (as a request's body does), else a copy.
      const whole = body.buffer instanceof ArrayBuffer && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength;
      const own = whole ? new Uint8Array(body.buffer as ArrayBuffer) : new Uint8Array(body);
      thread.worker.postMessage({ id, body: own, writable: types.writable } satisfies WorkerJob, [own.buffer]);
    });
  }

  /** The texts' buffer of stored entries back to the worker that made them, unless the entries moved on to another thread. */
  private release(thread: Thread, entries: PackedEntries): void {
    if (entries.moved || !this.threads.includes(thread)) return;
    const spare = entries.move().text.buffer as ArrayBuffer;
    thread.worker.postMessage({ spare } satisfies WorkerJob, [spare]);
  }

  /** The least busy worker, started if there are fewer than `size`. */
  private thread(): Thread | undefined {
    if (!this.usable) return undefined;
    let best = this.threads[0];
    for (const t of this.threads) if (t.pending.size < best!.pending.size) best = t;
    if (best && (best.pending.size === 0 || this.threads.length >= this.size)) return best;
    try {
      return this.start();
    } catch {
      this.failures++;
      return best;
    }
  }

  private start(): Thread {
    const worker = startWorker(import.meta.url, 'batch-parse-worker');
    worker.unref();
    const thread: Thread = { worker, pending: new Map() };
    worker.on('message', (reply: ParseReply) => {
      const done = thread.pending.get(reply.id);
      thread.pending.delete(reply.id);
      if (thread.pending.size === 0) worker.unref();
      done?.(reply);
    });
    const fail = () => {
      const i = this.threads.indexOf(thread);
      if (i < 0) return;
      this.threads.splice(i, 1);
      this.failures++;
      for (const done of thread.pending.values()) done(new ParseWorkerLostError());
      thread.pending.clear();
      void worker.terminate();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.threads.push(thread);
    return thread;
  }
}

const pool = new BatchParsePool(Math.max(1, Math.min(4, availableParallelism() - 1)));

/**
 * The entries of a JSON batch body parsed on a worker thread, or the body when the caller
 * should parse it itself: a small body, a faulty one (the caller's parse words the error), or
 * no worker to be had. The body is the worker's from now on (its buffer moves there): the
 * caller uses only what this returns. Rejects with ParseWorkerLostError if the worker stops
 * while it holds the body.
 */
export function parseBatchOffThread(body: Buffer, types: LogTypes): Promise<OffThreadParse> {
  if (body.length < OFF_THREAD_MIN_BYTES || !pool.usable) return Promise.resolve({ entries: undefined, body });
  return pool.parse(body, types);
}
