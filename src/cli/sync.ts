/**
 * `logwarden sync` — mirrors a remote Gong-compatible source into a local tenant, type by
 * type, resumably (see sync-mirror.ts); `--follow` repeats it at an interval until stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { isLogsApiError, type LogsClient } from '../client/index.ts';
import { GONG_LOG_TYPES, LOG_TYPE_NAME, LogTypes } from '../logs/log-types.ts';
import type { Store } from '../store/store.ts';
import { configFrom, printJson, printTable, storeOptions, withStore, type StoreFlags } from './common.ts';
import { WHEN_HELP, parseDuration, parseWhen } from './dates.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';
import { clientFrom, pageSizeFrom, remoteOptions, type RemoteFlags } from './remote.ts';
import { mirrorType, type MirrorReport, type MirrorTarget } from './sync-mirror.ts';

interface SyncFlags extends RemoteFlags, StoreFlags {
  tenant: string;
  types: string;
  since: string;
  overlap: string;
  follow?: boolean;
  interval: string;
  json?: boolean;
}

interface TypeOutcome {
  readonly logType: string;
  readonly report?: MirrorReport;
  readonly error?: string;
}

interface Round {
  readonly source: string;
  readonly tenant: string;
  readonly startedAt: string;
  readonly outcomes: TypeOutcome[];
  readonly warnings: string[];
}

function typesFrom(flag: string, known: LogTypes): string[] {
  if (flag.trim() === 'all') return [...GONG_LOG_TYPES];
  const list = [...new Set(flag.split(',').map((s) => s.trim()).filter(Boolean))];
  if (list.length === 0) throw new UsageError('--types needs "all" or a comma-separated list of log types');
  for (const t of list) {
    if (!LOG_TYPE_NAME.test(t) || !known.has(t)) throw new UsageError(`--types: unknown log type ${JSON.stringify(t)} (expected all, or some of ${known.describe()})`);
  }
  return list;
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * One pass over every type; a failing type is reported and the others still run. `silent`
 * holds the types already reported silent, so `--follow` warns once per silence, not every round.
 */
async function syncOnce(
  target: MirrorTarget,
  client: LogsClient,
  types: string[],
  flags: SyncFlags,
  signal: AbortSignal,
  silent: Set<string>,
): Promise<Round> {
  const now = Date.now();
  const since = parseWhen(flags.since, '--since', now);
  const overlapMs = parseDuration(flags.overlap, '--overlap');
  const round: Round = { source: target.source, tenant: target.tenantId, startedAt: iso(now), outcomes: [], warnings: [] };
  for (const logType of types) {
    if (signal.aborted) break;
    const bar = createProgress(logType.padEnd(26), 'entries', 0, process.stderr.isTTY === true && !flags.json);
    try {
      const report = await mirrorType(target, client, {
        logType,
        sinceMs: since.ms,
        overlapMs,
        untilMs: now,
        pageSize: pageSizeFrom(flags),
        signal,
        onPage: (done, total) => bar.update(done, total),
      });
      round.outcomes.push({ logType, report });
      if (!report.silent) silent.delete(logType);
      else if (!silent.has(logType)) {
        silent.add(logType);
        round.warnings.push(
          `${logType}: the source returned no entries from ${iso(report.fromMs)} to ${iso(report.untilMs)}, ` +
            `although ${report.storedBefore} were mirrored before; if this type should have activity, check the source and the key's permissions`,
        );
      }
    } catch (err) {
      if (isLogsApiError(err, 'aborted')) break;
      const message = err instanceof Error ? err.message : String(err);
      round.outcomes.push({ logType, error: message });
      round.warnings.push(`${logType}: ${message}`);
    } finally {
      bar.stop();
    }
  }
  return round;
}

function printRound(round: Round, flags: SyncFlags): void {
  if (flags.json) {
    const body = {
      source: round.source,
      tenant: round.tenant,
      startedAt: round.startedAt,
      types: round.outcomes.map((o) =>
        o.report
          ? {
              logType: o.logType,
              from: iso(o.report.fromMs),
              to: iso(o.report.untilMs),
              fetched: o.report.fetched,
              stored: o.report.stored,
              duplicates: o.report.duplicates,
              checkpoint: iso(o.report.throughMs),
              silent: o.report.silent,
            }
          : { logType: o.logType, error: o.error },
      ),
      warnings: round.warnings,
    };
    // Following, one line per round, so the output is NDJSON a log shipper can read.
    if (flags.follow) process.stdout.write(JSON.stringify(body) + '\n');
    else printJson(body);
  } else {
    printTable(
      ['TYPE', 'FETCHED', 'STORED', 'DUPLICATES', 'CHECKPOINT'],
      round.outcomes.map((o) =>
        o.report
          ? [o.logType, String(o.report.fetched), String(o.report.stored), String(o.report.duplicates), iso(o.report.throughMs)]
          : [o.logType, '-', '-', '-', 'failed'],
      ),
    );
  }
  for (const w of round.warnings) process.stderr.write(`logwarden: warning: ${w}\n`);
}

async function run(flags: SyncFlags, store: Store, client: LogsClient, types: string[]): Promise<void> {
  const target: MirrorTarget = { store, tenantId: flags.tenant, source: client.baseUrl };
  const interval = parseDuration(flags.interval, '--interval');
  const silent = new Set<string>();
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    for (;;) {
      const round = await syncOnce(target, client, types, flags, ac.signal, silent);
      printRound(round, flags);
      if (ac.signal.aborted) {
        if (flags.follow) return;
        throw new CommandError('interrupted; run the same command again to resume from the checkpoints');
      }
      const failed = round.outcomes.filter((o) => o.error).map((o) => o.logType);
      if (!flags.follow) {
        if (failed.length > 0) throw new CommandError(`sync failed for ${failed.join(', ')}`);
        return;
      }
      try {
        await sleep(interval, undefined, { signal: ac.signal });
      } catch {
        return; // stopped while waiting: a clean end of --follow
      }
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

export function registerSync(program: Command): void {
  storeOptions(
    remoteOptions(
      program
        .command('sync')
        .description(
          'mirror a remote Gong-compatible source (Gong itself or another logwarden) into a local tenant, ' +
            'incrementally and resumably: a checkpoint per source, tenant and log type, an overlap window ' +
            're-read on every run, and idempotent storage make the mirror exactly-once.',
        )
        .requiredOption('--tenant <id>', 'the local tenant that receives the entries (see `logwarden tenants create`)')
        .option('--types <list>', 'all, or a comma-separated list of log types', 'all')
        .option('--since <when>', `where to start for a type without a checkpoint: ${WHEN_HELP}`, '14d')
        .option('--overlap <duration>', 'how far before the checkpoint each run re-reads, for entries that reach the source late', '10m')
        .option('--follow', 'keep running: sync again every --interval until SIGINT or SIGTERM')
        .option('--interval <duration>', 'time between runs with --follow', '15m')
        .option('--json', 'print the report as JSON (with --follow: one line per run)'),
    ),
  )
    .addHelpText(
      'after',
      `
Each type's checkpoint is the event time up to which the source has been read completely; it
is kept in the local store and moves only after the entries before it are stored. A run killed
at any moment loses nothing: the next one re-reads from the checkpoint (minus --overlap) and
skips what it already has. --since only matters the first time a type is synced.

Credentials: the access key and secret of the source (for Gong: the API page of your company
settings), from LOGWARDEN_ACCESS_KEY / LOGWARDEN_SECRET or the flags.

Examples:
  logwarden tenants create --name "Gong mirror" --json      # once; note the id
  export LOGWARDEN_ACCESS_KEY=… LOGWARDEN_SECRET=…
  logwarden sync --url https://us-12345.api.gong.io --tenant 123456789012345678 --since 14d
  logwarden sync --url https://api.gong.io --tenant 123456789012345678 --follow --interval 1h
  logwarden sync --url http://10.0.0.5:8080 --tenant 123456789012345678 --types AccessLog,UserActivityLog --json

Exit status: 0 when every type synced, 1 when one failed (the others still run).
A type that had data before and returns nothing now is reported as a warning.`,
    )
    .action(async (flags: SyncFlags) => {
      const config = configFrom(flags);
      const types = typesFrom(flags.types, new LogTypes(config.extraLogTypes));
      parseWhen(flags.since, '--since', Date.now());
      parseDuration(flags.overlap, '--overlap');
      parseDuration(flags.interval, '--interval');
      pageSizeFrom(flags);
      const client = clientFrom(flags, config);
      await withStore(config, async (store) => {
        if (!(await store.getTenant(flags.tenant))) {
          throw new CommandError(`no local tenant ${flags.tenant}; create one with \`logwarden tenants create --name NAME\``);
        }
        await run(flags, store, client, types);
      });
    });
}
