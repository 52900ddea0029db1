/** `logwarden seed --tenant ID --entries N` — fill a tenant with synthetic entries, fast. */
import type { Command } from 'commander';
import { cliActor } from '../admin/actor.ts';
import { DEFAULT_DEMO_DAYS, DEFAULT_DEMO_SEED, generateDemoEntries } from '../demo/demo-data.ts';
import { requireSeedableTenant } from '../demo/demo-tenant.ts';
import type { NewEntry } from '../logs/entry.ts';
import { GONG_LOG_TYPES } from '../logs/log-types.ts';
import { formatEventTime } from '../logs/time.ts';
import type { Store } from '../store/store.ts';
import { intFlag, noTenant, printJson, type StoreFlags, storeConfigFrom, storeOptions, withExistingStore } from './common.ts';
import { parseWhen, WHEN_HELP } from './dates.ts';
import { UsageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';

/**
 * Entries per transaction. Larger ones load no faster (on SQLite, 3 million entries went in
 * at the same rate, within noise, in batches of 50k, 200k and 500k) but would hold the write
 * lock longer, while a server may be ingesting into the same store.
 */
const BATCH = 50_000;
const DAY_MS = 86_400_000;

interface SeedFlags extends StoreFlags {
  tenant: string;
  entries: string;
  days?: string;
  seed?: string;
  until?: string;
  types?: string;
  json?: boolean;
}

/** The next `n` items of `source`, produced as the consumer asks for them. */
function* take<T>(source: Iterator<T>, n: number): Generator<T> {
  for (let i = 0; i < n; i++) {
    const r = source.next();
    if (r.done) return;
    yield r.value;
  }
}

function untilFlag(value: string | undefined, clock: () => number): number {
  return value === undefined ? clock() : parseWhen(value, '--until', clock()).ms;
}

function typesFlag(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const types = value.split(',').map((t) => t.trim());
  const known: readonly string[] = GONG_LOG_TYPES;
  if (types.some((t) => !known.includes(t)))
    throw new UsageError(`--types must list log types among ${known.join(', ')} (got ${JSON.stringify(value)})`);
  return types;
}

/** `clock` gives the default --until (now). */
export function registerSeed(program: Command, clock: () => number = Date.now): void {
  storeOptions(
    program
      .command('seed')
      .description(
        "fill a tenant with realistic synthetic entries of all five log types (one company's users, calls, " +
          'play sessions, admin changes with some impersonation, outside viewers of shared calls), spread over ' +
          'the last D days with more activity in working hours. Deterministic: with --until given, the same ' +
          '--seed, --entries, --days and --until always give the same entries, so a second run stores nothing new. ' +
          'Only into a tenant of its own: one holding nothing but its admin trail, which seed marks a demo tenant ' +
          '(`tenant.demo` in the trail), or a demo tenant already; a tenant with real entries is refused, nothing written.',
      )
      .requiredOption('--tenant <id>', 'the tenant to fill')
      .requiredOption('--entries <n>', 'how many entries to generate')
      .option('--days <d>', `how many days back from --until the entries cover (default: ${DEFAULT_DEMO_DAYS})`)
      .option('--seed <s>', `seed of the generator, 0 to 4294967295 (default: ${DEFAULT_DEMO_SEED})`)
      .option('--until <when>', `end of the covered range (exclusive): ${WHEN_HELP} (default: now)`)
      .option('--types <list>', 'only these log types, comma-separated, e.g. AccessLog,UserCallPlay (default: all five)')
      .option('--json', 'print {"tenant", "entries", "stored", "duplicates", "seconds", "entriesPerSecond", "from", "to", "seed"} as JSON')
      .addHelpText(
        'after',
        '\nExamples:\n' +
          '  logwarden seed --tenant 123456789012345678 --entries 100000\n' +
          '  logwarden seed --tenant 123456789012345678 --entries 10000000 --days 90 --seed 7 --until 2026-01-01T00:00:00Z\n' +
          '  logwarden seed --tenant 123456789012345678 --entries 500000 --types AccessLog\n',
      ),
  ).action(async (opts: SeedFlags) => {
    const { entries, days, seed, toMs, types } = seedPlan(opts, clock);
    const fromMs = toMs - days * DAY_MS;
    const config = storeConfigFrom(opts);
    await withExistingStore(
      config,
      async (store) => {
        if (!(await store.getTenant(opts.tenant))) throw noTenant(opts.tenant, config, ' (list them with `logwarden tenants list`)');
        let source: Iterator<NewEntry>;
        try {
          source = generateDemoEntries({ seed, count: entries, fromMs, toMs, types });
        } catch (err) {
          if (err instanceof RangeError) throw new UsageError(`--until and --days: ${err.message}`);
          throw err;
        }
        await requireSeedableTenant(store, opts.tenant, cliActor(), clock);
        const started = performance.now();
        const { stored, duplicates } = await appendInBatches(store, opts.tenant, source, entries);
        const seconds = (performance.now() - started) / 1000;
        printSeedReport(opts, { entries, stored, duplicates, seconds, fromMs, toMs, seed });
      },
      { writesEntries: true },
    );
  });
}

/** The flags, checked: how many entries, over how many days up to when, from which seed, of which types. */
function seedPlan(opts: SeedFlags, clock: () => number) {
  if (!/^\d{1,20}$/.test(opts.tenant)) throw new UsageError(`--tenant must be a tenant id of up to 20 digits (got ${JSON.stringify(opts.tenant)})`);
  const entries = intFlag('--entries', opts.entries, 1, 1_000_000_000)!;
  const days = intFlag('--days', opts.days, 1, 36_500) ?? DEFAULT_DEMO_DAYS;
  const seed = intFlag('--seed', opts.seed, 0, 0xffff_ffff) ?? DEFAULT_DEMO_SEED;
  const toMs = untilFlag(opts.until, clock);
  const types = typesFlag(opts.types);
  return { entries, days, seed, toMs, types };
}

/** Appends `entries` entries of `source` in transactions of BATCH, drawing progress. */
async function appendInBatches(
  store: Store,
  tenantId: string,
  source: Iterator<NewEntry>,
  entries: number,
): Promise<{ stored: number; duplicates: number }> {
  const progress = createProgress('seeding', 'entries', entries);
  let stored = 0;
  let duplicates = 0;
  try {
    for (let done = 0; done < entries; ) {
      const size = Math.min(BATCH, entries - done);
      // The batch is generated while the store consumes it, so no batch is ever held in memory.
      const r = await store.append(tenantId, take(source, size));
      stored += r.accepted;
      duplicates += r.duplicates;
      done += size;
      progress.update(done);
    }
  } finally {
    progress.stop();
  }
  return { stored, duplicates };
}

interface SeedOutcome {
  readonly entries: number;
  readonly stored: number;
  readonly duplicates: number;
  readonly seconds: number;
  readonly fromMs: number;
  readonly toMs: number;
  readonly seed: number;
}

function printSeedReport(opts: SeedFlags, o: SeedOutcome): void {
  const { entries, stored, duplicates, seconds, fromMs, toMs, seed } = o;
  const rate = Math.round(entries / seconds);
  if (opts.json) {
    printJson({
      tenant: opts.tenant,
      entries,
      stored,
      duplicates,
      seconds: Number(seconds.toFixed(3)),
      entriesPerSecond: rate,
      from: formatEventTime(fromMs),
      to: formatEventTime(toMs),
      seed,
    });
  } else {
    process.stdout.write(
      `stored ${stored.toLocaleString('en-US')} entries, ${duplicates.toLocaleString('en-US')} duplicates skipped, ` +
        `in ${seconds.toFixed(1)} s (${rate.toLocaleString('en-US')} entries/s); ` +
        `${formatEventTime(fromMs)} to ${formatEventTime(toMs)}, seed ${seed}\n`,
    );
  }
  // The generator is deterministic: a repeat (or a seed after `serve --demo`) adds little.
  if (duplicates * 2 > entries) {
    process.stderr.write(
      `logwarden: ${duplicates.toLocaleString('en-US')} of ${entries.toLocaleString('en-US')} generated entries were already stored: ` +
        `the same --seed over the same days generates the same entries (\`serve --demo\` uses seed ${DEFAULT_DEMO_SEED}); ` +
        `to add new ones, change --seed (e.g. --seed ${(seed + 1) % 0x1_0000_0000})\n`,
    );
  }
}
