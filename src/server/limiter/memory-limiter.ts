import { countingWindow, type LimitDecision, type LimiterStore, type LimitWindow } from './limiter.ts';

interface Counter {
  window: number;
  count: number;
}

/** Counts in this process's memory: the default, for a single server process. */
export class MemoryLimiter implements LimiterStore {
  private readonly counters = new Map<string, Counter>();
  private sweeps = 0;

  async hit(key: string, windows: readonly LimitWindow[], nowMs: number): Promise<LimitDecision> {
    if (++this.sweeps >= 100_000) this.sweep(nowMs);
    let retryAfterMs = 0;
    const current: Counter[] = [];
    for (const w of windows) {
      const id = `${key}|${w.windowMs}`;
      const index = Math.floor(nowMs / w.windowMs);
      let c = this.counters.get(id);
      if (!c) {
        c = { window: index, count: 0 };
        this.counters.set(id, c);
      } else {
        const window = countingWindow(c.window, index);
        if (window > c.window) c.count = 0;
        c.window = window;
      }
      if (c.count >= w.limit) retryAfterMs = Math.max(retryAfterMs, (c.window + 1) * w.windowMs - nowMs);
      current.push(c);
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    for (const c of current) c.count++;
    return { allowed: true, retryAfterMs: 0 };
  }

  /** Drops counters of windows that have ended, so memory stays bounded by active keys. */
  private sweep(nowMs: number): void {
    this.sweeps = 0;
    for (const [id, c] of this.counters) {
      const windowMs = Number(id.slice(id.lastIndexOf('|') + 1));
      if (c.window < Math.floor(nowMs / windowMs)) this.counters.delete(id);
    }
  }

  /** This process's memory is always there. */
  async health(): Promise<void> {}

  async close(): Promise<void> {
    this.counters.clear();
  }
}
