/**
 * Large batches stored on a thread of their own. Storing a batch of thousands of entries is
 * one synchronous transaction (about 13 µs an entry); on the thread that serves requests it
 * held every request meanwhile, including the next batches' bodies, which then waited to be
 * read and parsed until it ended. Here the thread that serves requests hands a batch already
 * parsed (logs/packed-entries.ts: its buffers moved, nothing copied) to a thread with its own
 * connection to the same database (append-thread-worker.ts), and goes on reading while it is
 * stored. To the database that thread is one more writer, as another process sharing the file
 * is: SQLite serialises the writes, and the tree, the signed checkpoints and the witness are
 * written in its transaction as they would be here.
 *
 * The thread answers each batch with the store's result or its error. Batches wait on the
 * calling thread until the thread has opened its store: a thread that cannot start leaves them
 * to be stored on the calling thread. A thread that stops later fails the batches it holds,
 * unanswered (no entry of them acknowledged; one sent again finds any stored entry a known
 * duplicate). After repeated failures batches stay on the calling thread.
 */
import type { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { movedBuffers, type PackedArrays, type PackedEntries } from '../../logs/packed-entries.ts';
import { startWorker } from '../../worker-thread.ts';
import type { AppendResult, BackgroundErrorReporter } from '../store.ts';
import { StoreInconsistencyError, StoreRolledBackError, UnknownTenantError } from '../store.ts';
import type { LogKeyOptions } from '../tree-keys.ts';

/** How the thread opens the store: what the calling thread's store was opened with. */
export interface AppendThreadOptions {
  readonly file: string;
  readonly log?: LogKeyOptions;
  readonly witnessDir?: string;
}

export interface AppendJob {
  readonly id: number;
  readonly tenantId: string;
  readonly entries: PackedArrays;
  /** When the entries count as stored (the calling store's clock). */
  readonly storedAt: number;
}

/** An error as it crosses threads. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly code?: unknown;
  readonly stack?: string;
}

export type AppendReply =
  | { readonly ready: true }
  | { readonly id: number; readonly result: AppendResult }
  | { readonly id: number; readonly error: ThreadError }
  | { readonly id: 0; readonly background: ThreadError };

/** After this many threads failed, batches are stored on the calling thread for good. */
const MAX_FAILURES = 3;

export function threadError(err: unknown): ThreadError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  return { name: err.name, message: err.message, code: (err as { code?: unknown }).code, stack: err.stack };
}

/** The error the thread raised, of the class the store's callers look for. */
export function raised(e: ThreadError): Error {
  let err: Error;
  switch (e.name) {
    case 'SqliteError':
      err = new Database.SqliteError(e.message, String(e.code));
      break;
    case 'UnknownTenantError':
      err = new UnknownTenantError(e.message.replace(/^unknown tenant /, ''));
      break;
    case 'StoreRolledBackError':
      err = new StoreRolledBackError(e.message);
      break;
    case 'StoreInconsistencyError':
      err = new StoreInconsistencyError(e.message);
      break;
    default:
      err = Object.assign(new Error(e.message), { name: e.name, ...(e.code === undefined ? {} : { code: e.code }) });
  }
  if (e.stack) err.stack = e.stack;
  return err;
}

/** A batch sent, or waiting for the thread to be ready. */
interface Job {
  readonly id: number;
  readonly tenantId: string;
  readonly entries: PackedEntries;
  readonly storedAt: number;
  readonly resolve: (r: AppendResult | undefined) => void;
  readonly reject: (err: Error) => void;
}

export class AppendThread {
  private worker: Worker | undefined;
  /** Whether the thread has opened its store: until then batches wait here, still the caller's. */
  private ready = false;
  private readonly waiting: Job[] = [];
  private readonly sent = new Map<number, Job>();
  private nextId = 1;
  private failures = 0;
  private closed = false;
  /** Closed before the thread was ready: it is told once the batches waiting are sent. */
  private closeWhenReady = false;
  /** terminate() called: the thread is kept alive until it has ended. */
  private ending = false;

  constructor(
    private readonly options: AppendThreadOptions,
    private readonly report: BackgroundErrorReporter,
  ) {}

  get usable(): boolean {
    return !this.closed && this.failures < MAX_FAILURES;
  }

  /**
   * Stores the entries on the thread: its result or its error; undefined when the thread could
   * not be started (the caller then stores them itself). The entries' buffers move to the
   * thread: once sent, a batch is the thread's, and a thread that stops before answering fails
   * it (AppendThreadStoppedError: it may or may not have been stored; sent again, its stored
   * entries are known duplicates).
   */
  append(tenantId: string, entries: PackedEntries, storedAt: number): Promise<AppendResult | undefined> {
    const worker = this.usable ? this.start() : undefined;
    if (!worker) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const job: Job = { id: this.nextId++, tenantId, entries, storedAt, resolve, reject };
      if (this.ready) this.send(worker, job);
      else this.waiting.push(job);
      worker.ref();
    });
  }

  /** Waits for the batches in hand, then stops the thread (its connection closed). */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    // Jobs are taken in order: the close message comes after every batch already sent.
    if (this.ready) worker.postMessage({ close: true });
    else this.closeWhenReady = true;
    worker.ref();
    await exited;
  }

  /**
   * Ends the thread at once, as a crash would: the batches it holds fail unanswered
   * (AppendThreadStoppedError) unless their answer was already on its way, those still waiting
   * are left to the caller, and the next batch starts a new thread. For tests of that path;
   * close() is the way to stop it.
   */
  async terminate(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    // Kept alive until it has ended (an answer arriving meanwhile leaves it referenced).
    this.ending = true;
    worker.ref();
    await worker.terminate();
  }

  private send(worker: Worker, job: Job): void {
    let entries: PackedArrays;
    try {
      entries = job.entries.move();
    } catch (err) {
      job.reject(err instanceof Error ? err : new Error(String(err)));
      this.unrefWhenIdle(worker);
      return;
    }
    this.sent.set(job.id, job);
    worker.postMessage({ id: job.id, tenantId: job.tenantId, entries, storedAt: job.storedAt } satisfies AppendJob, movedBuffers(entries));
  }

  /** An idle thread does not keep the process alive. */
  private unrefWhenIdle(worker: Worker): void {
    if (this.sent.size === 0 && this.waiting.length === 0 && !this.closed && !this.ending) worker.unref();
  }

  private start(): Worker | undefined {
    if (this.worker) return this.worker;
    let worker: Worker;
    try {
      worker = startWorker(import.meta.url, 'append-thread-worker', { workerData: this.options });
    } catch {
      this.failures++;
      return undefined;
    }
    this.ready = false;
    worker.unref();
    worker.on('message', (reply: AppendReply) => {
      if ('ready' in reply) {
        this.ready = true;
        for (const job of this.waiting.splice(0)) this.send(worker, job);
        if (this.closeWhenReady) worker.postMessage({ close: true });
        return;
      }
      if ('background' in reply) {
        this.report(raised(reply.background), false);
        return;
      }
      const job = this.sent.get(reply.id);
      this.sent.delete(reply.id);
      this.unrefWhenIdle(worker);
      if (!job) return;
      if ('result' in reply) job.resolve(reply.result);
      else job.reject(raised(reply.error));
    });
    const fail = (err?: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.ending = false;
      if (!this.closed) {
        this.failures++;
        this.report(new Error(`the store's append thread stopped${err ? `: ${err.message}` : ''}`), false);
      }
      // Batches not sent are still the caller's to store; those sent are lost to it.
      for (const job of this.waiting.splice(0)) job.resolve(undefined);
      for (const job of this.sent.values()) job.reject(new AppendThreadStoppedError());
      this.sent.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail());
    this.worker = worker;
    return worker;
  }
}

/** The append thread stopped before answering for a batch sent to it: it may or may not be stored. */
export class AppendThreadStoppedError extends Error {
  constructor() {
    super(
      "the store's append thread stopped before answering for a batch: it may or may not be stored; sent again, any entry stored is a known duplicate",
    );
    this.name = 'AppendThreadStoppedError';
  }
}
