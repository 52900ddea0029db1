/**
 * A range read newest-first from an API that pages ascending only. The range is cut into time
 * windows from its end backwards, each sized from the histogram's hourly counts to hold about
 * one page; a window is read ascending and handed over reversed. A window found to hold more
 * than one page of the reader (the counts are per whole hour, so estimates) is cut, newer part
 * first, by its exact total, until one page holds it: the newest entries of a dense stretch
 * come from one page of it, not from reading all of it through. Only a single millisecond
 * holding more than a page (which no time bound can cut) is read through, page after page. Windows
 * tile the range exactly ([start, end) bounds, end of one = start of the next older), so every
 * entry is read once and none is skipped.
 */
import type { Page, Row } from './page.ts';

/** An hour's count from the histogram (`GET /v2/logs/histogram`). */
export interface HourCount {
  readonly start: string;
  readonly count: number;
}

const HOUR_MS = 3_600_000;

/** Reads the entries of [fromMs, toMs) (toMs null: no upper bound), the first page or the one `cursor` points at. */
export type ReadWindow = (fromMs: number, toMs: number | null, cursor?: string) => Promise<Page>;

export class NewestFirst {
  /** Everything in [fromMs, end) is still to be read; null: no upper bound yet. */
  private end: number | null;
  private readonly counts: Map<number, number>;

  /**
   * @param nowMs stands for the open upper bound when windows are sized.
   * @param perWindow entries a window should hold (at most one page of the reader).
   */
  constructor(
    private readonly read: ReadWindow,
    private readonly fromMs: number,
    toMs: number | null,
    hours: readonly HourCount[],
    private readonly nowMs: number,
    private readonly perWindow = 500,
  ) {
    this.end = toMs;
    // By UTC hour: the histogram splits an hour a local midnight falls in (its timeZone).
    this.counts = new Map();
    for (const h of hours) {
      const hour = Math.floor(Date.parse(h.start) / HOUR_MS) * HOUR_MS;
      this.counts.set(hour, (this.counts.get(hour) ?? 0) + h.count);
    }
  }

  /** Whether the whole range has been read. */
  get done(): boolean {
    return this.end !== null && this.end <= this.fromMs;
  }

  /** The start of the next window below `end`: as many whole hours as fit `perWindow` entries by their counts. */
  private windowStart(end: number): number {
    let sum = 0;
    let start = end;
    for (let hour = Math.floor((end - 1) / HOUR_MS) * HOUR_MS; start > this.fromMs; hour -= HOUR_MS) {
      const from = Math.max(hour, this.fromMs);
      const n = this.counts.get(hour) ?? 0;
      if (sum + n > this.perWindow) {
        if (sum > 0) break;
        // An hour that alone holds more than a window: its newest part, in proportion.
        const top = Math.min(end, hour + HOUR_MS);
        return Math.max(from, Math.min(end - 1, top - Math.floor(((top - from) * this.perWindow) / n)));
      }
      sum += n;
      start = from;
      // Past the last counted hour, the rest of the range is empty: one window takes it all.
      if (sum === 0 && !this.anyCountBefore(hour)) return this.fromMs;
    }
    return start;
  }

  private anyCountBefore(hour: number): boolean {
    for (const h of this.counts.keys()) if (h < hour && h + HOUR_MS > this.fromMs) return true;
    return false;
  }

  /** The next older entries, newest first; an empty array only once the range is done. */
  async next(): Promise<Row[]> {
    while (!this.done) {
      const end = this.end;
      const top = end ?? Math.max(this.nowMs, this.fromMs + 1);
      let start = this.windowStart(top);
      for (;;) {
        const first = await this.read(start, end);
        // One page holds the window (or it is a single millisecond, read through); else it shrinks.
        if (first.cursor === undefined || top - start <= 1) {
          const rows = [...first.rows];
          for (let c = first.cursor; c !== undefined; ) {
            const p = await this.read(start, end, c);
            rows.push(...p.rows);
            c = p.cursor;
          }
          this.end = start;
          // What is left of a partly read hour is counted without the entries read.
          for (const r of rows) {
            const hour = Math.floor(r.ms / HOUR_MS) * HOUR_MS;
            const n = this.counts.get(hour);
            if (n !== undefined) this.counts.set(hour, Math.max(0, n - 1));
          }
          if (rows.length > 0) return rows.reverse();
          break;
        }
        // Too many: the newer part of the window, sized by the exact total as if spread evenly
        // (at most half of it, so a burst in one instant is reached in a few halvings too).
        start = top - Math.max(1, Math.floor((top - start) * Math.min(0.5, this.perWindow / first.total)));
      }
    }
    return [];
  }
}
