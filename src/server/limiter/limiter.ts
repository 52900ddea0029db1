/**
 * The rate limiter's store contract. Windows are fixed and aligned to the epoch, so a
 * one-second window turns over on each second and a one-day window at midnight UTC; the
 * time a rejected client must wait is therefore exact, which keeps `Retry-After` truthful.
 * Rejected requests are not counted.
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

/** Milliseconds from `nowMs` until the window holding it ends. */
export function untilWindowEnds(windowMs: number, nowMs: number): number {
  return (Math.floor(nowMs / windowMs) + 1) * windowMs - nowMs;
}
