/**
 * Realistic synthetic audit logs of all five Gong log types, for `serve --demo`, `logwarden
 * seed` and tests. Deterministic: the same seed and parameters give the same entries, byte
 * for byte, on any machine. One company's users browse, play calls, change settings (some
 * while impersonated by support) and share calls with outside viewers, more on working hours
 * than at night (see demo/).
 */

import type { NewEntry } from '../logs/entry.ts';
import { GONG_LOG_TYPES } from '../logs/log-types.ts';
import { isRenderable } from '../logs/time.ts';
import type { AppendResult, Store } from '../store/store.ts';
import { makePopulation } from './population.ts';
import { fillSlot, HOUR_MS, hourWeight, MEAN_WEIGHT } from './schedule.ts';

export const DEFAULT_DEMO_SEED = 1;
export const DEFAULT_DEMO_ENTRIES = 40_000;
export const DEFAULT_DEMO_DAYS = 30;

export interface DemoWindow {
  /** Any integer; taken modulo 2^32. */
  readonly seed?: number;
  /** Inclusive. */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
}

function checkWindow(w: DemoWindow): number {
  if (!Number.isSafeInteger(w.fromMs) || !Number.isSafeInteger(w.toMs) || !isRenderable(w.fromMs) || !isRenderable(w.toMs - 1)) {
    throw new RangeError('demo data needs whole-millisecond bounds within years 0000-9999');
  }
  if (w.fromMs >= w.toMs) throw new RangeError('demo data needs fromMs < toMs');
  return (w.seed ?? DEFAULT_DEMO_SEED) >>> 0;
}

/**
 * Exactly `count` entries in [fromMs, toMs), in ascending time order, spread by time of
 * day and day of week; with `types`, only entries of those log types. Lazy, and memory stays
 * flat however many are asked for. Bad options throw RangeError at the call, before anything
 * is generated.
 */
export function generateDemoEntries(
  options: DemoWindow & { readonly count: number; readonly types?: readonly string[] | undefined },
): Generator<NewEntry> {
  const seed = checkWindow(options);
  if (!Number.isSafeInteger(options.count) || options.count < 0) throw new RangeError('count must be a non-negative integer');
  let only: ReadonlySet<string> | undefined;
  if (options.types !== undefined) {
    const unknown = options.types.filter((t) => !(GONG_LOG_TYPES as readonly string[]).includes(t));
    if (unknown.length > 0 || options.types.length === 0) {
      throw new RangeError(`types must be among ${GONG_LOG_TYPES.join(', ')}${unknown.length > 0 ? ` (got ${unknown.join(', ')})` : ''}`);
    }
    only = new Set(options.types);
  }
  return countedEntries(seed, options.fromMs, options.toMs, options.count, only);
}

function* countedEntries(seed: number, fromMs: number, toMs: number, count: number, only: ReadonlySet<string> | undefined): Generator<NewEntry> {
  if (count === 0) return;
  const first = Math.floor(fromMs / HOUR_MS);
  const last = Math.floor((toMs - 1) / HOUR_MS);
  // Each hour gets a share by its activity and by how much of it lies in the window.
  const weights: number[] = [];
  let total = 0;
  for (let h = first; h <= last; h++) {
    const covered = Math.min(toMs, (h + 1) * HOUR_MS) - Math.max(fromMs, h * HOUR_MS);
    const w = (hourWeight(seed, h) * covered) / HOUR_MS;
    weights.push(w);
    total += w;
  }
  const pop = makePopulation(seed);
  let cumulative = 0;
  let assigned = 0;
  for (let h = first; h <= last; h++) {
    cumulative += weights[h - first]!;
    const target = h === last ? count : Math.min(count, Math.round((cumulative / total) * count));
    const n = target - assigned;
    if (n <= 0) continue;
    assigned = target;
    yield* fillSlot(pop, seed, h, Math.max(fromMs, h * HOUR_MS), Math.min(toMs, (h + 1) * HOUR_MS), n, only);
  }
}

/**
 * Entries at a steady rate of about `perDay` a day (more on working hours), in ascending
 * time order. Each hour's entries depend only on the seed and the rate, never on the
 * window, so two overlapping windows yield identical entries where they overlap: loading
 * "the last 30 days" again later adds only what is new.
 */
export function generateSteadyDemoEntries(options: DemoWindow & { readonly perDay: number }): Generator<NewEntry> {
  const seed = checkWindow(options);
  if (!(options.perDay >= 0) || !Number.isFinite(options.perDay)) throw new RangeError('perDay must be a non-negative number');
  return steadyEntries(seed, options.fromMs, options.toMs, options.perDay);
}

function* steadyEntries(seed: number, fromMs: number, toMs: number, perDay: number): Generator<NewEntry> {
  const perUnitWeight = perDay / 24 / MEAN_WEIGHT;
  const pop = makePopulation(seed);
  const last = Math.floor((toMs - 1) / HOUR_MS);
  for (let h = Math.floor(fromMs / HOUR_MS); h <= last; h++) {
    const n = Math.round(perUnitWeight * hourWeight(seed, h));
    if (n === 0) continue;
    for (const e of fillSlot(pop, seed, h, h * HOUR_MS, (h + 1) * HOUR_MS, n)) {
      if (e.eventTimeMs >= fromMs && e.eventTimeMs < toMs) yield e;
    }
  }
}

/** The entry as one line of NDJSON ingest input (`logwarden ingest`, `POST /v2/logs`): its wire text plus `logType`. */
export function toIngestLine(entry: NewEntry): string {
  return `{"logType":${JSON.stringify(entry.logType)},${entry.body.slice(1)}`;
}

export interface LoadDemoOptions {
  /** How many days back from `now` to fill. */
  readonly days?: number;
  readonly now?: number;
  readonly seed?: number;
  /** About how many entries the whole window holds. */
  readonly count?: number;
  /**
   * Days each listed log type is kept: its entries older than that at `now` are not loaded (a
   * tenant with that retention would not keep them, and a restarted demo must not bring back
   * what retention deleted).
   */
  readonly retentionDays?: Readonly<Record<string, number>>;
}

const LOAD_BATCH = 10_000;

/**
 * Fills a tenant with demo data for the last `days` days up to `now`, including the last
 * hour. Idempotent: a second call stores nothing new, and a later call (a restarted demo
 * server) adds only the entries of the time passed since.
 */
export async function loadDemoData(store: Store, tenantId: string, options: LoadDemoOptions = {}): Promise<AppendResult> {
  const days = options.days ?? DEFAULT_DEMO_DAYS;
  const now = options.now ?? Date.now();
  const count = options.count ?? DEFAULT_DEMO_ENTRIES;
  if (!(days > 0)) throw new RangeError('days must be positive');
  const entries = generateSteadyDemoEntries({ seed: options.seed, fromMs: Math.floor(now - days * 86_400_000), toMs: now, perDay: count / days });
  let accepted = 0;
  let duplicates = 0;
  let batch: NewEntry[] = [];
  const flush = async (): Promise<void> => {
    const r = await store.append(tenantId, batch);
    accepted += r.accepted;
    duplicates += r.duplicates;
    batch = [];
  };
  const cutoffs = new Map(Object.entries(options.retentionDays ?? {}).map(([type, d]) => [type, now - d * 86_400_000]));
  for (const e of entries) {
    const cutoff = cutoffs.get(e.logType);
    if (cutoff !== undefined && e.eventTimeMs < cutoff) continue;
    batch.push(e);
    if (batch.length === LOAD_BATCH) await flush();
  }
  if (batch.length > 0) await flush();
  return { accepted, duplicates };
}
