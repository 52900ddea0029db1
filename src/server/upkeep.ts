/**
 * The store's background upkeep while a server runs (SQLite: building page blocks). One
 * bounded step at a time on the event loop, followed by a pause twice as long as the step, so
 * that catching up on a large store takes at most a third of the process's time; nothing while
 * entries are being appended (the store waits for a quiet second); a look every second otherwise.
 */
import type { Logger } from 'pino';
import type { Store } from '../store/store.ts';

/** Blocks per step: two hundred entries each, a few milliseconds in all. */
const STEP_BUDGET = 4;
const QUIET_MS = 1000;
const IDLE_MS = 1000;

export interface Upkeep {
  stop(): void;
}

export function startUpkeep(store: Store, logger: Logger): Upkeep {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(step, ms);
    timer.unref();
  };
  const step = async () => {
    if (stopped || !store.maintain) return;
    const started = performance.now();
    let done = 0;
    try {
      done = await store.maintain(STEP_BUDGET, QUIET_MS);
    } catch (err) {
      logger.warn({ err }, 'store upkeep failed; retrying later');
    }
    schedule(done > 0 ? Math.max(1, 2 * (performance.now() - started)) : IDLE_MS);
  };
  if (store.maintain) schedule(IDLE_MS);
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
