/**
 * When access keys were last used: a request that authenticates (HTTP Basic, a token issued,
 * a Bearer token) notes its key here, in memory; the latest use of each key is written to the
 * store in the background about once a minute and when the app closes, never on the request's
 * path. A write that fails is logged and its uses are written with the next; the last one, when
 * the app closes, is tried again a few times first.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { KeyUse, Store } from '../store/store.ts';

/** How often the uses noted are written: a key's last use is known to within about this. */
export const KEY_USE_FLUSH_MS = 60_000;

/**
 * When the app closes, a write that fails is tried again after each of these pauses, while
 * STOP_WAIT_MS has not passed: another process may hold the store for a moment (a seal step,
 * another server writing its own uses as it stops), and what is not written then is lost.
 */
const STOP_RETRY_PAUSES_MS = [100, 200, 400, 800];
const STOP_WAIT_MS = 2_000;

export interface KeyUseOptions {
  /** The app's clock: a use is noted at its time. */
  now?: () => number;
  /** Between writes; 0 writes only when asked (`flush`, `stop`). */
  flushMs?: number;
  /** Told of a write that failed (without keys or secrets); it is tried again with the next. */
  warn?: (message: string, err: unknown) => void;
}

/** A failed write, as one warning line in `logger`: the error's message, no key, secret or payload. */
export function keyUseWarning(logger: Logger | undefined): (message: string, err: unknown) => void {
  return (message, err) => logger?.warn({ problem: err instanceof Error ? err.message : String(err) }, message);
}

export class KeyUseRecorder {
  /** The latest use of each key noted since the last write that succeeded. */
  private pending = new Map<string, number>();
  private readonly timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly now: () => number;
  private readonly warn: (message: string, err: unknown) => void;

  constructor(
    private readonly store: Pick<Store, 'recordKeyUse'>,
    options: KeyUseOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => {});
    const flushMs = options.flushMs ?? KEY_USE_FLUSH_MS;
    if (flushMs > 0) this.timer = setInterval(() => void this.flush(), flushMs).unref();
  }

  /** A request authenticated with `accessKey` now. */
  note(accessKey: string): void {
    this.keep(accessKey, this.now());
  }

  /** Keeps the later of `at` and the use already kept for the key. */
  private keep(accessKey: string, at: number): void {
    const seen = this.pending.get(accessKey);
    if (seen === undefined || at > seen) this.pending.set(accessKey, at);
  }

  /** Writes the uses noted so far (one write at a time); never rejects. */
  flush(): Promise<void> {
    return this.enqueue(async () => {
      const failed = await this.write();
      if (failed) this.warnOf(failed, 'trying again at the next write');
    });
  }

  /**
   * Stops the timer and writes what is left, trying again for a moment when the write fails
   * (uses it still cannot write are lost).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.enqueue(async () => {
      const started = this.now();
      for (const pause of [...STOP_RETRY_PAUSES_MS, undefined]) {
        const failed = await this.write();
        if (!failed) return;
        if (pause === undefined || this.now() - started >= STOP_WAIT_MS) return this.warnOf(failed, 'stopping, so they stay unrecorded');
        await sleep(pause);
      }
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.writing = this.writing.then(step);
    return this.writing;
  }

  private warnOf(failed: { count: number; err: unknown }, then: string): void {
    this.warn(`could not record when ${failed.count} access key(s) were last used; ${then}`, failed.err);
  }

  /** Writes the uses pending; when that fails, keeps them for the next write and says why. */
  private async write(): Promise<{ count: number; err: unknown } | undefined> {
    if (this.pending.size === 0) return undefined;
    const taken = this.pending;
    this.pending = new Map();
    const uses: KeyUse[] = [...taken].map(([accessKey, atMs]) => ({ accessKey, atMs }));
    try {
      await this.store.recordKeyUse(uses);
      return undefined;
    } catch (err) {
      // Kept for the next write, merged with the uses noted meanwhile (the later time of each).
      for (const [key, at] of taken) this.keep(key, at);
      return { count: uses.length, err };
    }
  }
}
