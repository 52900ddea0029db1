/**
 * When the synthetic company is busy, and filling one hour of data. Data is generated hour by
 * hour, each hour from its own random stream keyed by (seed, hour), so an hour's entries do
 * not depend on what surrounds it: that makes large sets cheap to stream and lets overlapping
 * windows of the same seed agree entry for entry.
 */
import { entryKey, type NewEntry } from '../logs/entry.ts';
import { adminAction, type Context, callView, externalVisit, type Sink, webVisit } from './activities.ts';
import type { Population } from './population.ts';
import { mix32, Random } from './random.ts';

export const HOUR_MS = 3_600_000;

/** The company works on US Eastern time (standard time; daylight saving is not worth modelling). */
const LOCAL_OFFSET_HOURS = -5;

/** Relative activity by local hour on a working day. */
const WORKDAY = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.12, 0.35, 0.8, 1, 1, 1, 0.8, 1, 1, 1, 1, 0.7, 0.45, 0.3, 0.25, 0.25, 0.15, 0.12];
const WEEKEND_FACTOR = 0.2;
/** Nobody is ever completely idle: someone always has a tab open somewhere. */
const FLOOR = 0.1;

function baseWeight(localHour: number, weekend: boolean): number {
  return Math.max(FLOOR, WORKDAY[localHour]! * (weekend ? WEEKEND_FACTOR : 1));
}

/** Mean weight over a week, so a rate per day can be turned into a rate per unit weight. */
export const MEAN_WEIGHT = (() => {
  let sum = 0;
  for (let h = 0; h < 24; h++) sum += 5 * baseWeight(h, false) + 2 * baseWeight(h, true);
  return sum / (7 * 24);
})();

/** Activity of the absolute UTC hour `hour` (ms / HOUR_MS); busy days vary by ±15%. */
export function hourWeight(seed: number, hour: number): number {
  const local = hour + LOCAL_OFFSET_HOURS;
  const day = Math.floor(local / 24);
  const weekday = (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday; 0 is Sunday
  const dayFactor = 0.85 + (0.3 * mix32(mix32(seed >>> 0) ^ (day >>> 0))) / 4294967296;
  return baseWeight(local - day * 24, weekday === 0 || weekday === 6) * dayFactor;
}

/** Entries are produced in windows of about this many, so little is held in memory at once. */
const WINDOW_ENTRIES = 1000;

class Slot implements Sink {
  held: NewEntry[] = [];
  private budget = 0;

  /** `only`: the log types kept; the others are still acted out (activities mix types) but dropped. */
  constructor(
    private readonly endMs: number,
    private readonly only: ReadonlySet<string> | undefined,
  ) {}

  get open(): boolean {
    return this.budget > 0;
  }

  grant(budget: number): void {
    this.budget = budget;
  }

  add(logType: string, ms: number, body: string): boolean {
    if (ms >= this.endMs || this.budget === 0) return false;
    if (this.only && !this.only.has(logType)) return true;
    this.budget--;
    // Hashing right away also flattens the body while the pieces it was built from are
    // still young garbage; held as ropes until later, they would survive collections.
    this.held.push({ logType, eventTimeMs: ms, body, key: entryKey(logType, body) });
    return true;
  }

  /** Removes and returns, in time order, the held entries earlier than `ms`. */
  takeBefore(ms: number): NewEntry[] {
    this.held.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
    let i = 0;
    while (i < this.held.length && this.held[i]!.eventTimeMs < ms) i++;
    const done = this.held.slice(0, i);
    this.held = this.held.slice(i);
    return done;
  }
}

/** Separates the hours' streams from the population's, which uses the plain seed. */
const HOUR_STREAM_SALT = 0x5bd1e995;

/**
 * Exactly `count` entries with times in [startMs, endMs) (which lie within hour `hour`), in
 * ascending time order. The slot is cut into windows, each given an equal share of the
 * entries. Activities start uniformly within their window and may run on into later ones,
 * but never log before their start: once a window's own activities are done, no entry
 * earlier than its end can still come, and those are released. An activity running past
 * `endMs` is cut short. With `only`, entries of other log types are left out and do not count.
 */
export function* fillSlot(
  pop: Population,
  seed: number,
  hour: number,
  startMs: number,
  endMs: number,
  count: number,
  only?: ReadonlySet<string>,
): Generator<NewEntry> {
  const rng = new Random(seed ^ HOUR_STREAM_SALT, hour);
  const slot = new Slot(endMs, only);
  const ctx: Context = { rng, pop, sink: slot };
  const span = endMs - startMs;
  const windows = Math.ceil(count / WINDOW_ENTRIES);
  let granted = 0;
  for (let w = 1; w <= windows; w++) {
    const from = startMs + Math.floor((span * (w - 1)) / windows);
    const to = w === windows ? endMs : startMs + Math.floor((span * w) / windows);
    const target = Math.round((count * w) / windows);
    slot.grant(target - granted);
    granted = target;
    while (slot.open) {
      const ms = from + rng.int(to - from);
      const r = rng.float();
      if (r < 0.54) webVisit(ctx, ms);
      else if (r < 0.7) callView(ctx, ms);
      else if (r < 0.92) adminAction(ctx, ms);
      else externalVisit(ctx, ms);
    }
    yield* slot.takeBefore(to);
  }
}
