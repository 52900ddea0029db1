/** `logwarden tenants create|list|show|limits|retention|mirrors` */
import { type Command, Option } from 'commander';
import { cliActor } from '../admin/actor.ts';
import {
  daysText,
  isTenantLogType,
  type PurgePreview,
  purgePreview,
  retentionRows,
  retentionView,
  serverRetention,
  setRetentionAct,
  typesToShow,
  withRetention,
} from '../admin/retention.ts';
import { changeLimitsAct, createTenantAct } from '../admin/tenants.ts';
import type { Config } from '../config.ts';
import { ADMIN_LOG_TYPE, LogTypes } from '../logs/log-types.ts';
import { heldBack, type PurgeClock, purgeClock } from '../store/purge-clock.ts';
import { isRetentionDays, MAX_RETENTION_DAYS } from '../store/retention-policy.ts';
import type { RetentionDays, Store, Tenant } from '../store/store.ts';
import {
  counted,
  intFlag,
  jsonOutput,
  noTenant,
  plainTextFlag,
  printJson,
  printTable,
  type StoreFlags,
  storeConfigFrom,
  storeOptions,
  withExistingStore,
  withStore,
  writeOut,
} from './common.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { registerTenantMirrors } from './mirrors.ts';

function effectiveLimits(t: Tenant, config: Pick<Config, 'readPerSecond' | 'readPerDay' | 'ingestPerSecond'>) {
  return {
    readPerSecond: t.limits.readPerSecond ?? config.readPerSecond,
    readPerDay: t.limits.readPerDay ?? config.readPerDay,
    ingestPerSecond: t.limits.ingestPerSecond ?? config.ingestPerSecond,
  };
}

function limitCell(own: number | null, effective: number): string {
  return own === null ? `${effective} (default)` : String(own);
}

/** The tenant's retention per type: the configured types and any other it holds. */
async function retentionOf(store: Store, config: Pick<Config, 'extraLogTypes' | 'retentionDays'>, tenantId: string) {
  const settings = (await store.getRetention(tenantId)) ?? { perType: {} };
  const types = typesToShow(new LogTypes(config.extraLogTypes).names, await store.logTypes(tenantId));
  return retentionView(settings, serverRetention(config), types);
}

/** What `tenants retention` sets: days, forever (null), or no setting (undefined); absent: only show. */
function retentionChange(opts: { days?: string; forever?: boolean; clear?: boolean }): { days: RetentionDays | undefined } | undefined {
  if (opts.days !== undefined) {
    const days = /^\d+$/.test(opts.days.trim()) ? Number(opts.days.trim()) : Number.NaN;
    if (!isRetentionDays(days))
      throw new UsageError(`--days must be a whole number of days from 1 to ${MAX_RETENTION_DAYS} (got ${JSON.stringify(opts.days)})`);
    return { days };
  }
  if (opts.forever) return { days: null };
  if (opts.clear) return { days: undefined };
  return undefined;
}

export function registerTenants(program: Command, now: () => number = Date.now): void {
  const tenants = program
    .command('tenants')
    .description('create and list tenants (companies), set their rate limits and retention, and see what sync mirrors into them')
    .addHelpText(
      'after',
      '\nExamples:\n  logwarden tenants create --name "Acme Corp"\n  logwarden tenants list\n  logwarden tenants show 123456789012345678\n' +
        '  logwarden tenants limits 123456789012345678 --per-second 10\n  logwarden tenants retention 123456789012345678 --type AccessLog --days 365\n' +
        '  logwarden tenants mirrors --stale-after 2d\n',
    );

  registerTenantCreate(tenants, now);
  registerTenantList(tenants);
  registerTenantShow(tenants);
  registerTenantLimits(tenants, now);
  registerTenantRetention(tenants, now);
  registerTenantMirrors(tenants, now);
}

/** `tenants create`: a new tenant with a fresh id. */
function registerTenantCreate(tenants: Command, now: () => number): void {
  storeOptions(
    tenants
      .command('create')
      .description('create a tenant; prints its id')
      .requiredOption('--name <name>', 'a name for people, e.g. "Acme Corp"')
      .option('--json', 'print {"id", "name"} as JSON')
      .addHelpText(
        'after',
        '\nExamples:\n  logwarden tenants create --name "Acme Corp"\n' +
          '  TENANT=$(logwarden tenants create --name "Acme Corp" --json | node -pe \'JSON.parse(require("fs").readFileSync(0)).id\')\n',
      ),
  ).action(async (opts: StoreFlags & { name: string; json?: boolean }) => {
    const name = plainTextFlag('--name', opts.name.trim());
    if (name === '') throw new UsageError('--name is blank: give the tenant a name');
    if (name.length > 200) throw new UsageError(`--name must be at most 200 characters (got ${name.length})`);
    await withStore(storeConfigFrom(opts), async (store) => {
      const t = await createTenantAct(store, name, cliActor(), now);
      try {
        await writeOut(opts.json ? jsonOutput({ id: t.id, name: t.name }) : `${t.id}\n`);
      } catch (err) {
        throw new CommandError(`${(err as Error).message}; the tenant was created: its id is ${t.id} (\`logwarden tenants list\` shows it)`);
      }
    });
  });
}

/** `tenants list`: every tenant with its effective rate limits. */
function registerTenantList(tenants: Command): void {
  storeOptions(
    tenants
      .command('list')
      .description('list tenants with their rate limits')
      .option('--json', 'print as JSON')
      .addHelpText('after', '\nExamples:\n  logwarden tenants list\n  logwarden tenants list --json --data-dir /var/lib/logwarden\n'),
  ).action(async (opts: StoreFlags & { json?: boolean }) => {
    const config = storeConfigFrom(opts, ['readPerSecond', 'readPerDay', 'ingestPerSecond']);
    await withExistingStore(config, async (store) => {
      const list = await store.listTenants();
      if (opts.json) {
        printJson(list.map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt, limits: effectiveLimits(t, config) })));
        return;
      }
      if (list.length === 0) {
        process.stdout.write('no tenants yet: create one with `logwarden tenants create --name NAME`\n');
        return;
      }
      printTable(
        ['ID', 'NAME', 'CREATED', 'READS/S', 'READS/DAY', 'INGEST/S'],
        list.map((t) => {
          const e = effectiveLimits(t, config);
          return [
            t.id,
            t.name,
            t.createdAt,
            limitCell(t.limits.readPerSecond, e.readPerSecond),
            limitCell(t.limits.readPerDay, e.readPerDay),
            limitCell(t.limits.ingestPerSecond, e.ingestPerSecond),
          ];
        }),
      );
    });
  });
}

/** `tenants show`: one tenant's settings and its verifiable log. */
function registerTenantShow(tenants: Command): void {
  storeOptions(
    tenants
      .command('show')
      .description(
        "show a tenant: its name, rate limits, retention per log type, legal holds, mirrors, and its verifiable log's origin, verifier key and size",
      )
      .argument('<tenant-id>', 'the tenant')
      .option('--json', 'print as JSON')
      .addHelpText(
        'after',
        '\nThe verifier key (note form <name>+<key id>+<base64>) is what auditors pin to check the\n' +
          "tenant's signed checkpoints; the same key is served at GET /v2/tlog/<tenant-id>/key.\n" +
          '\nExamples:\n  logwarden tenants show 123456789012345678\n  logwarden tenants show 123456789012345678 --json\n',
      ),
  ).action(async (id: string, opts: StoreFlags & { json?: boolean }) => {
    const config = storeConfigFrom(opts, ['readPerSecond', 'readPerDay', 'ingestPerSecond', 'extraLogTypes', 'retentionDays']);
    await withExistingStore(config, async (store) => {
      const t = await store.getTenant(id);
      if (!t) throw noTenant(id, config);
      const log = store.log ? await store.log(id) : undefined;
      const e = effectiveLimits(t, config);
      const tree = log && { origin: log.origin, verifierKey: log.verifierKey, treeSize: log.checkpoint.size };
      const retention = await retentionOf(store, config, id);
      const activeHolds = (await store.listHolds({ tenantId: id })).length;
      const mirrors = await store.listCheckpoints(id);
      const oldest = mirrors.length === 0 ? undefined : Math.min(...mirrors.map((m) => m.throughMs));
      if (opts.json) {
        printJson({
          id: t.id,
          name: t.name,
          createdAt: t.createdAt,
          limits: e,
          retention,
          activeHolds,
          mirrors: mirrors.length,
          // Every mirror into the tenant is complete at least through this time (null: none).
          mirrorsCompleteThrough: oldest === undefined ? null : new Date(oldest).toISOString(),
          log: tree ?? null,
        });
        return;
      }
      printTable(
        ['FIELD', 'VALUE'],
        [
          ['id', t.id],
          ['name', t.name],
          ['created', t.createdAt],
          ['reads per second', limitCell(t.limits.readPerSecond, e.readPerSecond)],
          ['reads per day', limitCell(t.limits.readPerDay, e.readPerDay)],
          ['ingest per second', limitCell(t.limits.ingestPerSecond, e.ingestPerSecond)],
          ...retentionRows(retention).map(([type, kept]) => [`retention ${type}`, kept!]),
          ['legal holds', activeHolds === 0 ? 'none active' : `${activeHolds} active (logwarden holds list --tenant ${id})`],
          [
            'mirrors',
            oldest === undefined
              ? 'none'
              : `${mirrors.length}, all complete through ${new Date(oldest).toISOString()} (logwarden tenants mirrors ${id})`,
          ],
          ['log origin', tree?.origin ?? '(this store keeps no verifiable log)'],
          ['log entries', tree ? String(tree.treeSize) : '-'],
          ['verifier key', tree?.verifierKey ?? '-'],
        ],
      );
      process.stdout.write("Server defaults are this command's LOGWARDEN_* settings: a server started with other values applies its own.\n");
    });
  });
}

/** `tenants limits`: show or change a tenant's rate limits. */
function registerTenantLimits(tenants: Command, now: () => number): void {
  storeOptions(
    tenants
      .command('limits')
      .description("show or change a tenant's rate limits; running servers pick up a change within seconds")
      .argument('<tenant-id>', 'the tenant')
      .option('--per-second <n>', 'reads (GET /v2/logs) per second')
      .option('--per-day <n>', 'reads per UTC day')
      .option('--ingest-per-second <n>', 'ingest and token requests per second')
      .addOption(new Option('--reset', 'go back to the server defaults for every limit').conflicts(['perSecond', 'perDay', 'ingestPerSecond']))
      .option('--json', 'print as JSON')
      .addHelpText(
        'after',
        '\nExamples:\n  logwarden tenants limits 123456789012345678\n  logwarden tenants limits 123456789012345678 --per-second 10 --per-day 50000\n',
      ),
  ).action(
    async (id: string, opts: StoreFlags & { perSecond?: string; perDay?: string; ingestPerSecond?: string; reset?: boolean; json?: boolean }) => {
      const change = {
        ...(opts.perSecond !== undefined && { readPerSecond: intFlag('--per-second', opts.perSecond, 1, 1_000_000) }),
        ...(opts.perDay !== undefined && { readPerDay: intFlag('--per-day', opts.perDay, 1, 1_000_000_000) }),
        ...(opts.ingestPerSecond !== undefined && { ingestPerSecond: intFlag('--ingest-per-second', opts.ingestPerSecond, 1, 1_000_000) }),
        ...(opts.reset && { readPerSecond: null, readPerDay: null, ingestPerSecond: null }),
      };
      const config = storeConfigFrom(opts, ['readPerSecond', 'readPerDay', 'ingestPerSecond']);
      await withExistingStore(config, async (store) => {
        const t = await changeLimitsAct(store, id, change, cliActor(), now);
        if (!t) throw noTenant(id, config);
        const e = effectiveLimits(t, config);
        if (opts.json) {
          printJson({
            id: t.id,
            limits: e,
            defaults: {
              readPerSecond: t.limits.readPerSecond === null,
              readPerDay: t.limits.readPerDay === null,
              ingestPerSecond: t.limits.ingestPerSecond === null,
            },
          });
          return;
        }
        printTable(
          ['LIMIT', 'VALUE'],
          [
            ['reads per second', limitCell(t.limits.readPerSecond, e.readPerSecond)],
            ['reads per day', limitCell(t.limits.readPerDay, e.readPerDay)],
            ['ingest per second', limitCell(t.limits.ingestPerSecond, e.ingestPerSecond)],
          ],
        );
      });
    },
  );
}

/** `tenants retention`: show or change how long a tenant's entries are kept. */
function registerTenantRetention(tenants: Command, now: () => number): void {
  storeOptions(
    tenants
      .command('retention')
      .description("show or change how long a tenant's entries are kept, for all its log types or one (--type)")
      .argument('<tenant-id>', 'the tenant')
      .option('--type <log-type>', 'one log type (default: the tenant-wide setting, for every type without its own)')
      .addOption(
        new Option('--days <n>', `keep entries this many days after their eventTime (1 to ${MAX_RETENTION_DAYS})`).conflicts(['forever', 'clear']),
      )
      .addOption(new Option('--forever', 'keep entries forever').conflicts(['days', 'clear']))
      .addOption(
        new Option('--clear', 'remove the setting: the tenant default (for a type) or the server default applies').conflicts(['days', 'forever']),
      )
      .option('--dry-run', 'change nothing: count what the next purge would delete under the change (or the settings as they are)')
      .option('--json', 'print as JSON')
      .addHelpText(
        'after',
        "\nA type uses its own setting, else the tenant's, else the server's (LOGWARDEN_RETENTION_DAYS), else\n" +
          "forever. The server's background purge (every LOGWARDEN_PURGE_INTERVAL_SECONDS) deletes each\n" +
          "entry whose eventTime is more than N × 24 hours (N: its days) before the purge's time, except\n" +
          "under a legal hold (`logwarden holds`). The purge's time is the server's clock, but never more\n" +
          'than a day past the end of the hour of the latest entry stored (the admin trail aside): while\n' +
          'no entry arrives for over a day, entries expire no sooner than that. A shorter retention deletes at\n' +
          'the next purge, with no undo (place a hold first to keep a range); a change binds every purge\n' +
          'step that commits after it.\n' +
          'The admin trail (LogwardenAdminLog) is kept at least as long as\n' +
          "the longest of the other types. Each change is written to the tenant's admin trail. Without\n" +
          '--days, --forever or --clear the settings are only shown. In --json, days are a number,\n' +
          '"forever", or null for no setting of its own.\n' +
          '\n--dry-run counts, for each type the tenant holds entries of, the entries the purge would\n' +
          "delete at its time (this machine's clock, held back alike, and said so, when more than a day\n" +
          'ahead of the latest entry) and those a legal hold keeps. After a change that deletes, the\n' +
          'same counts are printed.\n' +
          '\nExamples:\n  logwarden tenants retention 123456789012345678 --days 365 --dry-run\n' +
          '  logwarden tenants retention 123456789012345678 --days 365\n' +
          '  logwarden tenants retention 123456789012345678 --type AccessLog --days 14\n' +
          '  logwarden tenants retention 123456789012345678 --type UserActivityLog --forever\n' +
          '  logwarden tenants retention 123456789012345678 --type AccessLog --clear --json\n',
      ),
  ).action(async (id: string, opts: StoreFlags & RetentionFlags) => {
    const change = retentionChange(opts);
    const config = storeConfigFrom(opts, ['extraLogTypes', 'retentionDays']);
    await withExistingStore(config, async (store) => {
      if (!(await store.getTenant(id))) throw noTenant(id, config);
      const logType = opts.type === undefined ? null : opts.type.trim();
      if (logType !== null && !(await isTenantLogType(store, config.extraLogTypes, id, logType))) {
        throw new UsageError(
          `--type: unknown log type ${JSON.stringify(logType)} (expected one of ${new LogTypes(config.extraLogTypes).describe()})`,
        );
      }
      if (change && logType === ADMIN_LOG_TYPE) {
        throw new UsageError(
          `--type ${ADMIN_LOG_TYPE}: the admin trail's retention is not set; it is kept as long as the longest of the tenant's other types`,
        );
      }
      if (opts.dryRun) {
        await previewRetention(store, config, id, change && { logType, days: change.days }, now(), opts.json === true);
        return;
      }
      if (change) await setRetentionAct(store, id, logType, change.days, cliActor(), now);
      const view = await retentionOf(store, config, id);
      // After a change: what the server's next purge deletes under it, counted now.
      const clock = change ? await purgeClock(store, now()) : undefined;
      const preview = clock
        ? await purgePreview(store, id, (await store.getRetention(id)) ?? { perType: {} }, serverRetention(config), clock.asOfMs)
        : undefined;
      if (opts.json) {
        printJson({ id, ...view, ...(preview && { purge: preview }) });
        return;
      }
      printTable(['LOG TYPE', 'KEPT'], retentionRows(view));
      const days = (d: number | 'forever' | null) => (d === null ? 'none' : d === 'forever' ? 'forever' : `${d} days`);
      process.stdout.write(
        `tenant default: ${days(view.tenantDays)}; server default: ${days(view.serverDays)} ` +
          '(LOGWARDEN_RETENTION_DAYS as this command reads it: a server started with another value purges by its own)\n',
      );
      if (clock && heldBack(clock)) process.stdout.write(`${heldBackNote(clock)}\n`);
      if (preview) {
        const deleted = preview.filter((p) => p.deleted > 0);
        if (deleted.length > 0) {
          process.stdout.write(
            `the server's next purge deletes ${deleted.map((p) => `${counted(p.deleted, 'entry', 'entries')} of ${p.logType}`).join(', ')} ` +
              `(${holdsNote(preview)})\n`,
          );
        }
      }
    });
  });
}

interface RetentionFlags {
  type?: string;
  days?: string;
  forever?: boolean;
  clear?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/** Why the purge's time is not this machine's clock (purge-clock.ts). */
function heldBackNote(clock: PurgeClock): string {
  const at = (ms: number) => new Date(ms).toISOString();
  if (clock.asOfMs === null) return "the purge deletes nothing while the store holds no entry but the admin trail's to check the clock by";
  return (
    `this machine's clock (${at(clock.clockMs)}) is more than a day ahead of the latest entry stored (the hour before ${at(clock.latestMs ?? clock.asOfMs)}): ` +
    `the purge measures retention as of ${at(clock.asOfMs)}`
  );
}

function holdsNote(preview: readonly PurgePreview[]): string {
  const kept = preview.reduce((n, p) => n + p.keptByHolds, 0);
  return kept === 0 ? 'no expired entry is under a legal hold' : `${counted(kept, 'expired entry', 'expired entries')} kept by legal holds`;
}

/** `tenants retention --dry-run`: what the purge would delete now, under the change if any; nothing stored. */
async function previewRetention(
  store: Store,
  config: Pick<Config, 'retentionDays'>,
  tenantId: string,
  change: { logType: string | null; days: RetentionDays | undefined } | undefined,
  nowMs: number,
  json: boolean,
): Promise<void> {
  const current = (await store.getRetention(tenantId)) ?? { perType: {} };
  const settings = change ? withRetention(current, change.logType, change.days) : current;
  const clock = await purgeClock(store, nowMs);
  const preview = await purgePreview(store, tenantId, settings, serverRetention(config), clock.asOfMs);
  if (json) {
    const at = clock.asOfMs === null ? null : new Date(clock.asOfMs).toISOString();
    printJson({ id: tenantId, dryRun: true, at, purge: preview });
    return;
  }
  process.stdout.write(
    `dry run, nothing changed: what the next purge would delete ${change ? 'after this change' : 'under the settings as they are'}, counted now\n`,
  );
  if (heldBack(clock)) process.stdout.write(`${heldBackNote(clock)}\n`);
  printTable(
    ['LOG TYPE', 'KEPT', 'OLDER THAN', 'WOULD DELETE', 'KEPT BY HOLDS'],
    preview.map((p) => [p.logType, daysText(p.effectiveDays), p.before ?? 'never', String(p.deleted), String(p.keptByHolds)]),
  );
  if (preview.length === 0) process.stdout.write('(the tenant holds no entries)\n');
}
