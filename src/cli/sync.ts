/**
 * `logwarden sync` — mirrors a remote Gong-compatible source into a local tenant, type by
 * type, resumably (see ../service/mirror-logs.ts); `--follow` repeats it at an interval until stopped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { LogsClient } from '../client/index.ts';
import { GONG_LOG_TYPES, LOG_TYPE_NAME, LogTypes } from '../logs/log-types.ts';
import { isIncomplete, type MirrorRound, type MirrorTarget, mirrorTypes } from '../service/mirror-logs.ts';
import { effectiveRetention, retentionCutoff } from '../store/retention-policy.ts';
import type { RetentionDays, Store } from '../store/store.ts';
import { printJson, printTable, type StoreFlags, storeConfigFrom, storeOptions, withExistingStore } from './common.ts';
import { parseDuration, parseWhen, WHEN_HELP } from './dates.ts';
import { CommandError, InterruptedError, UsageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';
import { clientFrom, pageSizeFor, pageSizeFrom, type RemoteFlags, remoteOptions, sourceRetentionOf } from './remote.ts';

interface SyncFlags extends RemoteFlags, StoreFlags {
  tenant: string;
  types: string;
  since: string;
  overlap: string;
  follow?: boolean;
  interval: string;
  silentAfter: string;
  json?: boolean;
}

function typesFrom(flag: string, known: LogTypes): string[] {
  if (flag.trim() === 'all') return [...GONG_LOG_TYPES];
  const list = [
    ...new Set(
      flag
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (list.length === 0) throw new UsageError('--types needs "all" or a comma-separated list of log types');
  if (list.includes('all')) throw new UsageError('--types: "all" stands alone (it means every type); or give a comma-separated list of log types');
  for (const t of list) {
    if (!LOG_TYPE_NAME.test(t) || !known.canWrite(t))
      throw new UsageError(`--types: unknown log type ${JSON.stringify(t)} (expected all, or some of ${known.describeWritable()})`);
  }
  return list;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One pass over every type (a failing type is reported and the others still run). */
async function syncOnce(
  target: MirrorTarget,
  client: LogsClient,
  types: string[],
  flags: SyncFlags,
  signal: AbortSignal,
  silent: Set<string>,
  clock: () => number,
  serverDays: RetentionDays,
): Promise<MirrorRound> {
  const now = clock();
  // The completeness check never reaches back past the local retention, to entries purged here on purpose.
  const retention = await target.store.getRetention(target.tenantId);
  const retainedFrom = (logType: string) => retentionCutoff(effectiveRetention(retention, logType, serverDays, types), now);
  const since = parseWhen(flags.since, '--since', now);
  const overlapMs = parseDuration(flags.overlap, '--overlap');
  const silentAfterMs = parseDuration(flags.silentAfter, '--silent-after');
  const pageSize = pageSizeFor(flags, client.baseUrl);
  return mirrorTypes(
    target,
    client,
    {
      types,
      sinceMs: since.ms,
      overlapMs,
      untilMs: now,
      pageSize,
      silentAfterMs,
      retainedFrom,
      sourceRetention: sourceRetentionOf(client.baseUrl),
      signal,
      progress: (logType) => createProgress(logType.padEnd(26), 'entries', 0, process.stderr.isTTY === true && !flags.json),
    },
    silent,
  );
}

function printRound(round: MirrorRound, flags: SyncFlags): void {
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
              ...(o.report.interrupted ? { interrupted: true } : {}),
              // The source may have deleted entries of this range before they were read (its retention).
              ...(o.report.pastSourceRetention
                ? { pastSourceRetention: { from: iso(o.report.pastSourceRetention.fromMs), to: iso(o.report.pastSourceRetention.toMs) } }
                : {}),
              // A first run's --since further back than the source keeps the type: it holds entries from `from` only.
              ...(o.report.sinceBeforeSourceRetention ? { sourceHoldsFrom: iso(o.report.sinceBeforeSourceRetention.fromMs) } : {}),
              // The range mirrored before this run's overlap window, counted on both sides (null: nothing to check).
              check: o.report.check
                ? {
                    from: iso(o.report.check.fromMs),
                    to: iso(o.report.check.toMs),
                    source: o.report.check.sourceCount,
                    mirror: o.report.check.mirrorCount,
                    missing: o.report.check.missing,
                    recovered: o.report.check.recovered,
                    identical: o.report.check.identical,
                    stillMissing: o.report.check.stillMissing,
                    complete: o.report.check.stillMissing === 0,
                  }
                : null,
            }
          : { logType: o.logType, error: o.error },
      ),
      warnings: round.warnings,
    };
    // Following, one line per round, so the output is NDJSON a log shipper can read.
    if (flags.follow) process.stdout.write(JSON.stringify(body) + '\n');
    else printJson(body);
  } else if (round.outcomes.length > 0) {
    // (None when stopped before the first type finished: no table of nothing.)
    printTable(
      // RECOVERED: entries dated before the overlap window that the completeness check found missing and stored.
      ['TYPE', 'FETCHED', 'STORED', 'DUPLICATES', 'RECOVERED', 'CHECKPOINT'],
      round.outcomes.map((o) =>
        o.report
          ? [
              o.logType,
              String(o.report.fetched),
              String(o.report.stored),
              String(o.report.duplicates),
              String(o.report.check?.recovered ?? 0),
              `${iso(o.report.throughMs)}${o.report.interrupted ? ' (interrupted)' : ''}`,
            ]
          : [o.logType, '-', '-', '-', '-', 'failed'],
      ),
    );
  }
  for (const w of round.warnings) process.stderr.write(`logwarden: warning: ${w}\n`);
}

async function run(
  flags: SyncFlags,
  store: Store,
  client: LogsClient,
  types: string[],
  clock: () => number,
  serverDays: RetentionDays,
): Promise<void> {
  const target: MirrorTarget = { store, tenantId: flags.tenant, source: client.baseUrl };
  const interval = parseInterval(flags.interval);
  const silent = new Set<string>();
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    for (;;) {
      const round = await syncOnce(target, client, types, flags, ac.signal, silent, clock, serverDays);
      printRound(round, flags);
      if (ac.signal.aborted) {
        if (flags.follow) return;
        throw new InterruptedError('interrupted; run the same command again to resume from the checkpoints');
      }
      const failed = round.outcomes.filter((o) => o.error).map((o) => o.logType);
      const incomplete = round.outcomes.filter((o) => isIncomplete(o.report)).map((o) => o.logType);
      if (!flags.follow) {
        if (failed.length > 0 || incomplete.length > 0) {
          const what = [
            failed.length > 0 ? `sync failed for ${failed.join(', ')}` : '',
            incomplete.length > 0 ? `the mirror is incomplete for ${incomplete.join(', ')}` : '',
          ];
          throw new CommandError(what.filter(Boolean).join('; '));
        }
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

/** The time between runs of --follow: from 1s to 24d (the longest wait a timer keeps). */
function parseInterval(text: string): number {
  const interval = parseDuration(text, '--interval');
  if (interval < 1000) throw new UsageError(`--interval must be at least 1s: the time between runs (got ${JSON.stringify(text)})`);
  if (interval > 24 * 86_400_000) throw new UsageError(`--interval must be at most 24d (got ${JSON.stringify(text)})`);
  return interval;
}

/** `clock` gives the time a relative --since counts back from. */
export function registerSync(program: Command, clock: () => number = Date.now): void {
  storeOptions(
    remoteOptions(
      program
        .command('sync')
        .description(
          'mirror a remote Gong-compatible source (Gong itself or another logwarden) into a local tenant, ' +
            'incrementally and resumably: a checkpoint per source, tenant and log type, an overlap window ' +
            're-read on every run, and idempotent storage make the mirror exactly-once; after each run a count of ' +
            'what was mirrored before the overlap catches entries that reached the source even later, and reads them.',
        )
        .requiredOption('--tenant <id>', 'the local tenant that receives the entries (see `logwarden tenants create`)')
        .option('--types <list>', 'all, or a comma-separated list of log types', 'all')
        .option('--since <when>', `where to start for a type without a checkpoint: ${WHEN_HELP}`, '14d')
        .option('--overlap <duration>', 'how far before the checkpoint each run re-reads, for entries that reach the source late', '10m')
        .option('--follow', 'keep running: sync again every --interval until SIGINT or SIGTERM')
        .option('--interval <duration>', 'time between runs with --follow', '15m')
        .option(
          '--silent-after <duration>',
          'warn about a type that had entries when it has had no new one for this long (the default is longer than a weekend)',
          '72h',
        )
        .option('--json', 'print the report as JSON (with --follow: one line per run)'),
    ),
  )
    .addHelpText(
      'after',
      `
Each type's checkpoint is the event time up to which the source has been read completely; it
is kept in the local store and moves only after the entries before it are stored. A run killed
at any moment loses nothing: the next one re-reads from the checkpoint (minus --overlap) and
skips what it already has. --since is where a type's first run starts; on later runs it only
reaches the completeness check further back.

Completeness: an entry that reaches the source later than --overlap, dated before the window
re-read, would be missed. So after each type's run, sync asks the source how many entries it
holds from the mirror's oldest entry of the type (or --since, if earlier; no earlier than the
local retention) to the start of the overlap window (one GET /v2/logs request with a page of
one: \`records.totalRecords\`) and counts the mirror's (a source that has deleted its old
entries, as Gong does, holds fewer: then the range from --since, and then the week before the
window, are counted on their own).
When the source holds more, the range
is narrowed down by such counts and the stretches that differ are read again (their entries
already stored count as duplicates); a warning names the type, the range and the entries
recovered (the table's RECOVERED column). Identical entries (same type and text) are stored once, as by ingest, and are not
counted as missing. Entries still missing after that make a warning that says what to do
(re-run with an --overlap reaching back over the range) and exit status 1.

Pacing: at most --rate requests per second (default 3, Gong's limit and logwarden's default
one). Pages hold 1000 entries when the source is not Gong (Gong always sends 100), so from a
logwarden the mirror is ten times faster at the same rate; raise --rate when the source's
limit allows it (logwarden: \`logwarden tenants limits ID --per-second N\` on the source).

Credentials: the access key and secret of the source (for Gong: the API page of your company
settings), from LOGWARDEN_ACCESS_KEY / LOGWARDEN_SECRET or the flags.

Examples:
  logwarden tenants create --name "Gong mirror" --json      # once; note the id
  export LOGWARDEN_ACCESS_KEY=… LOGWARDEN_SECRET=…
  logwarden sync --url https://us-12345.api.gong.io --tenant 123456789012345678 --since 14d
  logwarden sync --url https://api.gong.io --tenant 123456789012345678 --follow --interval 1h
  logwarden sync --url http://10.0.0.5:8080 --tenant 123456789012345678 --types AccessLog,UserActivityLog --json

Exit status: 0 when every type synced and its mirror is complete, 1 when one failed (the others
still run) or its mirror is still incomplete after reading the missing range again, 130 when
stopped by Ctrl-C (the checkpoints keep what was stored); with --follow, a stop by Ctrl-C or
SIGTERM is its normal end, exit status 0. A type that had entries before and
has had no new one for longer than --silent-after (default 72h, so that a weekend without
activity is not one) is reported as a warning, once per silence: an empty run alone is an
ordinary quiet window. A type whose checkpoint is older than the source keeps its entries
(Gong: AccessLog 14 days) is warned about too: what the source held from the checkpoint to that
many days ago may have been deleted before this run read it. Check that sync keeps running with
\`logwarden tenants mirrors --stale-after 2d\`.`,
    )
    .action(async (flags: SyncFlags, command: Command) => {
      if (command.getOptionValueSource('interval') === 'cli' && !flags.follow) {
        throw new UsageError('--interval goes with --follow (the time between runs); without --follow, sync runs once');
      }
      const config = storeConfigFrom(flags, ['extraLogTypes', 'retentionDays', 'accessKey', 'secret']);
      const types = typesFrom(flags.types, new LogTypes(config.extraLogTypes));
      const now = clock();
      if (parseWhen(flags.since, '--since', now).ms > now)
        throw new UsageError(`--since ${flags.since} is in the future: there is nothing to mirror after it yet`);
      parseDuration(flags.overlap, '--overlap');
      parseInterval(flags.interval);
      parseDuration(flags.silentAfter, '--silent-after');
      pageSizeFrom(flags);
      const client = clientFrom(flags, config);
      // The mirror's tenant is made first (`tenants create`): a mistyped --data-dir makes no store.
      await withExistingStore(
        config,
        async (store) => {
          if (!(await store.getTenant(flags.tenant))) {
            throw new CommandError(`no local tenant ${flags.tenant}; create one with \`logwarden tenants create --name NAME\``);
          }
          await run(flags, store, client, types, clock, config.retentionDays);
        },
        { writesEntries: true },
      );
    });
}
