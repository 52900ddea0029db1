/**
 * The rate limiter's store contract. Windows are fixed and aligned to the epoch, so a
 * one-second window turns over on each second and a one-day window at midnight UTC; the
 * time a rejected client must wait is therefore exact, which keeps `Retry-After` truthful.
 * Rejected requests are not counted. A count never starts afresh because the clock went back
 * (see countingWindow).
 */
export interface LimitWindow {
  readonly limit: number;
  readonly windowMs: number;
}

export interface LimitDecision {
  readonly allowed: boolean;
  /** When rejected: milliseconds until every full window has turned over. */
  readonly retryAfterMs: number;
}

export interface LimiterStore {
  /** Counts one request against every window of `key` unless one of them is full. */
  hit(key: string, windows: readonly LimitWindow[], nowMs: number): Promise<LimitDecision>;
  /** Resolves when the counts can be reached; throws (the connection's error) when they cannot. */
  health(): Promise<void>;
  close(): Promise<void>;
}

export const SECOND_MS = 1000;
export const DAY_MS = 86_400_000;

/**
 * The window a request at window `index` counts in, given the latest window `latest` its
 * counter counted in. Forward, the clock's window (a later one starts at zero). Back by one
 * window (a step back over midnight UTC, or clocks of processes a little apart), the latest
 * one still, so its count goes on until the clock has passed its end. Back further (a clock
 * that ran far ahead, set right), the clock's window, carrying the count: waiting for a window
 * far ahead would shut the client out for as long as the clock was wrong.
 */
export function countingWindow(latest: number, index: number): number {
  return index === latest - 1 ? latest : index;
}
