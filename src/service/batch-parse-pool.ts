/**
 * JSON ingest batches parsed on worker threads (batch-parse-worker.ts), so that the thread
 * that appends is free to store one batch while the next is parsed: parsing, validating and
 * hashing cost more per entry than the store's own statements, and on one thread they took
 * turns. A worker returns entries only for a body whose every entry passes; for any other the
 * caller parses it on its own thread as before, so errors and their wording do not change. A
 * worker that cannot start or fails is not fatal either: its batches, and later ones after
 * repeated failures, are parsed on the calling thread.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import type { NewEntry } from '../logs/entry.ts';
import type { LogTypes } from '../logs/log-types.ts';
import { type PackedArrays, PackedEntries } from '../logs/packed-entries.ts';
import { startWorker } from '../worker-thread.ts';

/** Smaller bodies are parsed where they are: the round trip would cost more than it saves. */
export const OFF_THREAD_MIN_BYTES = 256 * 1024;

export interface ParseJob {
  readonly id: number;
  readonly body: Uint8Array;
  /** The types clients may write (`LogTypes.writable`). */
  readonly writable: readonly string[];
}

export interface ParseReply {
  readonly id: number;
  readonly batch: PackedArrays | undefined;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, (batch: PackedArrays | undefined) => void>;
}

/** After this many workers failed, batches are parsed on the calling thread for good. */
const MAX_FAILURES = 3;

class BatchParsePool {
  private readonly threads: Thread[] = [];
  private nextId = 1;
  private failures = 0;

  constructor(private readonly size: number) {}

  get usable(): boolean {
    return this.failures < MAX_FAILURES;
  }

  /** The batch's entries parsed on a worker, or undefined: parse it here instead. */
  parse(body: Buffer, types: LogTypes): Promise<Iterable<NewEntry> | undefined> {
    const thread = this.thread();
    if (!thread) return Promise.resolve(undefined);
    const id = this.nextId++;
    return new Promise((resolve) => {
      thread.pending.set(id, (batch) => resolve(batch ? new PackedEntries(batch) : undefined));
      if (thread.pending.size === 1) thread.worker.ref();
      // A copy of the body's bytes is moved to the worker: the body stays the caller's, for
      // parsing here if need be (and a view's whole backing store is never sent).
      const copy = new Uint8Array(body.length);
      copy.set(body);
      thread.worker.postMessage({ id, body: copy, writable: types.writable } satisfies ParseJob, [copy.buffer]);
    });
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
      done?.(reply.batch);
    });
    const fail = () => {
      const i = this.threads.indexOf(thread);
      if (i < 0) return;
      this.threads.splice(i, 1);
      this.failures++;
      for (const done of thread.pending.values()) done(undefined);
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
 * The entries of a JSON batch body parsed on a worker thread, or undefined when the caller
 * should parse it itself: a small body, a faulty one (the caller's parse words the error), or
 * no worker to be had.
 */
export function parseBatchOffThread(body: Buffer, types: LogTypes): Promise<Iterable<NewEntry> | undefined> {
  if (body.length < OFF_THREAD_MIN_BYTES || !pool.usable) return Promise.resolve(undefined);
  return pool.parse(body, types);
}
