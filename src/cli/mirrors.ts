/**
 * `logwarden tenants mirrors` — what `sync` has mirrored into the store: per source, tenant and
 * log type, the event time up to which the source was read completely, and how long ago that
 * is; `--stale-after` makes it a check for cron or monitoring (exit 1 when a mirror lags), so a
 * sync that stopped is found before the source deletes what was not mirrored.
 */
import { type Command, Option } from 'commander';
import { normaliseBaseUrl } from '../client/transport.ts';
import type { Checkpoint } from '../store/store.ts';
import { noTenant, printJson, printTable, type StoreFlags, storeConfigFrom, storeOptions, withExistingStore } from './common.ts';
import { parseDuration } from './dates.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { sourceRetentionOf } from './remote.ts';

interface MirrorsFlags extends StoreFlags {
  staleAfter?: string;
  forget?: string;
  type?: string;
  json?: boolean;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** `3d 04h`, `5h 02m`, `12m`, `0m`: how long ago, to the minute. */
export function agoText(ms: number): string {
  const m = Math.floor(Math.max(0, ms) / MINUTE);
  if (m >= DAY / MINUTE) return `${Math.floor(m / (DAY / MINUTE))}d ${String(Math.floor((m % (DAY / MINUTE)) / 60)).padStart(2, '0')}h`;
  if (m >= 60) return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
  return `${m}m`;
}

const iso = (ms: number) => new Date(ms).toISOString();

function describe(c: Checkpoint, nowMs: number): string {
  return (
    `the mirror of ${c.logType} from ${c.source} into tenant ${c.tenantId} is complete only through ${iso(c.throughMs)} ` +
    `(${agoText(nowMs - c.throughMs)} ago; its last run saved it at ${c.updatedAt})`
  );
}

export function registerTenantMirrors(tenants: Command, now: () => number): void {
  storeOptions(
    tenants
      .command('mirrors')
      .description(
        'list what `logwarden sync` mirrors into the store: per source, tenant and log type, the time up to which the source ' +
          'was read completely and how long ago that is; with --stale-after, a check that fails when a mirror lags',
      )
      .argument('[tenant-id]', 'only the mirrors into this tenant')
      .option('--stale-after <duration>', 'exit 1 when a mirror is complete only through a time longer ago than this, e.g. 2d')
      .addOption(
        new Option('--forget <source-url>', "delete the tenant's checkpoints of a source it is no longer mirrored from (its entries stay)").conflicts(
          'staleAfter',
        ),
      )
      .option('--type <log-type>', 'with --forget: only this log type')
      .option('--json', 'print as JSON'),
  )
    .addHelpText(
      'after',
      `
COMPLETE THROUGH is the checkpoint of sync: every entry of the source dated before it is in the
store. BEHIND is how long ago that is; it grows while no sync runs, or while its runs fail.
A mirror behind by more than its source keeps the type's entries (Gong keeps AccessLog 14 days)
is marked "past the source's retention": entries of that stretch may be gone from the source.
LAST SAVED is when a run last moved the checkpoint. ENTRIES counts what the runs stored (a run
killed before it saved its checkpoint leaves its last pages to be counted by none).

A source that deletes old entries (Gong keeps its logs for a limited time) must be mirrored
before it does: run this with --stale-after from cron or a monitoring system, well inside the
source's retention, to learn that a sync stopped while there is time to run it again.

With --stale-after, the exit status is 1 when a mirror lags by more than that, naming each one
on stderr, and also when there is no mirror to check (none into the tenant given, or none in the
store): a check that nothing could fail is no check. Otherwise 0.

A mirror no longer run (a source given up, or given under another URL) stays listed, and
--stale-after fails on it, until it is forgotten: --forget URL deletes the tenant's checkpoints
of that source (of one --type), nothing else; the entries stay, and a later sync from it starts
again at its --since, storing only what the tenant does not hold.

Examples:
  logwarden tenants mirrors
  logwarden tenants mirrors 123456789012345678 --json
  logwarden tenants mirrors --stale-after 2d --data-dir /var/lib/logwarden     # from cron: mails on failure
  logwarden tenants mirrors 123456789012345678 --forget https://api.gong.io
`,
    )
    .action(async (tenantId: string | undefined, flags: MirrorsFlags) => {
      if (flags.forget !== undefined) return forget(tenantId, flags.forget, flags);
      if (flags.type !== undefined) throw new UsageError('--type goes with --forget (the type whose checkpoint to delete)');
      const staleMs = flags.staleAfter === undefined ? undefined : parseDuration(flags.staleAfter, '--stale-after');
      const config = storeConfigFrom(flags, []);
      await withExistingStore(config, async (store) => {
        if (tenantId !== undefined && !(await store.getTenant(tenantId))) throw noTenant(tenantId, config);
        const mirrors = await store.listCheckpoints(tenantId);
        const nowMs = now();
        const stale = (c: Checkpoint) => staleMs !== undefined && nowMs - c.throughMs > staleMs;
        // Behind by more than the source keeps the type's entries (Gong: AccessLog 14 days): some may be gone there.
        const pastRetention = (c: Checkpoint) => {
          const kept = sourceRetentionOf(c.source)(c.logType);
          return kept !== undefined && nowMs - c.throughMs > kept;
        };
        const notes = (c: Checkpoint) => [stale(c) ? 'stale' : '', pastRetention(c) ? "past the source's retention" : ''].filter(Boolean).join(', ');
        if (flags.json) {
          printJson(
            mirrors.map((c) => ({
              tenantId: c.tenantId,
              source: c.source,
              logType: c.logType,
              completeThrough: iso(c.throughMs),
              behindSeconds: Math.max(0, Math.floor((nowMs - c.throughMs) / 1000)),
              lastSaved: c.updatedAt,
              entriesMirrored: c.entriesSeen,
              pastSourceRetention: pastRetention(c),
              ...(staleMs !== undefined && { stale: stale(c) }),
            })),
          );
        } else if (mirrors.length === 0) {
          process.stdout.write(
            `no mirrors ${tenantId === undefined ? 'in this store' : `into tenant ${tenantId}`} yet: see \`logwarden sync --help\`\n`,
          );
        } else {
          printTable(
            ['TENANT', 'SOURCE', 'TYPE', 'COMPLETE THROUGH', 'BEHIND', 'LAST SAVED', 'ENTRIES'],
            mirrors.map((c) => [
              c.tenantId,
              c.source,
              c.logType,
              iso(c.throughMs),
              `${agoText(nowMs - c.throughMs)}${notes(c) ? ` (${notes(c)})` : ''}`,
              c.updatedAt,
              String(c.entriesSeen),
            ]),
          );
        }
        if (staleMs === undefined) return;
        if (mirrors.length === 0) {
          throw new CommandError(
            `--stale-after: there is no mirror ${tenantId === undefined ? 'in this store' : `into tenant ${tenantId}`} to check (has \`logwarden sync\` run against this store?)`,
          );
        }
        const lagging = mirrors.filter(stale);
        if (lagging.length === 0) return;
        for (const c of lagging) process.stderr.write(`logwarden: ${describe(c, nowMs)}\n`);
        throw new CommandError(
          `${lagging.length} of ${mirrors.length} mirrors lag by more than --stale-after ${flags.staleAfter}: run \`logwarden sync\` for them, and see why it stopped (its log, cron, credentials)`,
        );
      });
    });
}

/** `--forget URL`: deletes the tenant's checkpoints of a source (of one type), saying what went. */
async function forget(tenantId: string | undefined, url: string, flags: MirrorsFlags): Promise<void> {
  if (tenantId === undefined) throw new UsageError('--forget needs the tenant: logwarden tenants mirrors TENANT_ID --forget URL');
  let source: string;
  try {
    source = normaliseBaseUrl(url).href;
  } catch (err) {
    throw new UsageError(`--forget: ${(err as Error).message}`);
  }
  const config = storeConfigFrom(flags, []);
  await withExistingStore(config, async (store) => {
    if (!(await store.getTenant(tenantId))) throw noTenant(tenantId, config);
    const mirrors = (await store.listCheckpoints(tenantId)).filter(
      (c) => c.source === source && (flags.type === undefined || c.logType === flags.type),
    );
    if (mirrors.length === 0) {
      const sources = [
        ...new Set((await store.listCheckpoints(tenantId)).map((c) => (flags.type === undefined ? c.source : `${c.source} ${c.logType}`))),
      ];
      throw new CommandError(
        `tenant ${tenantId} has no mirror from ${source}${flags.type === undefined ? '' : ` of ${flags.type}`}; ` +
          (sources.length === 0 ? 'it has no mirrors' : `its mirrors: ${sources.join(', ')}`),
      );
    }
    await store.forgetCheckpoints(tenantId, source, flags.type);
    const types = mirrors.map((c) => c.logType);
    if (flags.json) printJson({ tenantId, source, forgotten: types });
    else
      process.stdout.write(
        `forgot the mirror of ${types.join(', ')} from ${source} into tenant ${tenantId}; its entries stay, and a later sync from it starts again at its --since\n`,
      );
  });
}
