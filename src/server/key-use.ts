/**
 * When access keys were last used: a request that authenticates (HTTP Basic, a token issued,
 * a Bearer token) notes its key here, in memory; the latest use of each key is written to the
 * store in the background about once a minute and when the app closes, never on the request's
 * path. A write that fails is logged and its uses are written with the next.
 */
import type { Logger } from 'pino';
import type { KeyUse, Store } from '../store/store.ts';

/** How often the uses noted are written: a key's last use is known to within about this. */
export const KEY_USE_FLUSH_MS = 60_000;

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
    private readonly store: Store,
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
    return this.enqueue(false);
  }

  /** Stops the timer and writes what is left (a last try: uses it cannot write are lost). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.enqueue(true);
  }

  private enqueue(last: boolean): Promise<void> {
    this.writing = this.writing.then(() => this.write(last));
    return this.writing;
  }

  private async write(last: boolean): Promise<void> {
    if (this.pending.size === 0) return;
    const taken = this.pending;
    this.pending = new Map();
    const uses: KeyUse[] = [...taken].map(([accessKey, atMs]) => ({ accessKey, atMs }));
    try {
      await this.store.recordKeyUse(uses);
    } catch (err) {
      // Kept for the next write, merged with the uses noted meanwhile (the later time of each).
      for (const [key, at] of taken) this.keep(key, at);
      const then = last ? 'stopping, so they stay unrecorded' : 'trying again at the next write';
      this.warn(`could not record when ${uses.length} access key(s) were last used; ${then}`, err);
    }
  }
}
