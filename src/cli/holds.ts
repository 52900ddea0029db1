/** `logwarden holds create|list|release` — legal holds: what they cover is never deleted by retention. */
import type { Command } from 'commander';
import { cliActor } from '../admin/actor.ts';
import { createHoldAct, holdJson, releaseHoldAct } from '../admin/holds.ts';
import { isTenantLogType } from '../admin/retention.ts';
import { LogTypes } from '../logs/log-types.ts';
import { ceilMs } from '../logs/time.ts';
import type { LegalHold } from '../store/store.ts';
import { noTenant, plainTextFlag, printJson, printTable, type StoreFlags, storeConfigFrom, storeOptions, withExistingStore } from './common.ts';
import { checkLater, parseWhen, WHEN_HELP } from './dates.ts';
import { CommandError, UsageError } from './exit-codes.ts';

const MAX_REASON = 1000;

function reasonFlag(value: string): string {
  const reason = plainTextFlag('--reason', value.trim());
  if (reason === '') throw new UsageError('--reason is blank: say why, for the record (it goes to the admin trail)');
  if (reason.length > MAX_REASON) throw new UsageError(`--reason must be at most ${MAX_REASON} characters (got ${reason.length})`);
  return reason;
}

function printHolds(list: readonly LegalHold[]): void {
  if (list.length === 0) {
    process.stdout.write('no holds\n');
    return;
  }
  printTable(
    ['HOLD', 'TENANT', 'TYPE', 'FROM', 'TO', 'CREATED', 'BY', 'REASON', 'RELEASED'],
    list.map((h) => {
      const j = holdJson(h);
      return [
        j.id,
        j.tenantId,
        j.logType ?? '(all types)',
        j.from ?? '-',
        j.to ?? '-',
        j.createdAt,
        j.createdBy,
        j.reason,
        j.releasedAt ? `${j.releasedAt} by ${j.releasedBy}` : '-',
      ];
    }),
  );
}

export function registerHolds(program: Command, now: () => number = Date.now): void {
  const holds = program
    .command('holds')
    .description('legal holds: entries a hold covers are never deleted, whatever the retention, until it is released')
    .addHelpText(
      'after',
      '\nExamples:\n  logwarden holds create --tenant 123456789012345678 --reason "Litigation 2026-114"\n' +
        '  logwarden holds list --tenant 123456789012345678\n  logwarden holds release hold_k3x7qmb2zv5tw4nyh6ja --reason "Case closed"\n',
    );

  storeOptions(
    holds
      .command('create')
      .description("put a tenant's entries (of one type, in a time range, or all) under a legal hold")
      .requiredOption('--tenant <id>', 'the tenant')
      .option('--type <log-type>', 'only entries of this log type (default: every type)')
      .option('--from <when>', `only entries with eventTime at or after this (${WHEN_HELP}); default: unbounded`)
      .option('--to <when>', 'only entries with eventTime before this; default: unbounded')
      .requiredOption('--reason <text>', 'why, for the record (written to the admin trail)')
      .option('--json', 'print the hold as JSON')
      .addHelpText(
        'after',
        "\nThe hold takes effect at once: the server's purge skips what it covers. Its creation, with who\n" +
          "and why, is written to the tenant's admin trail (LogwardenAdminLog).\n" +
          '\nExamples:\n  logwarden holds create --tenant 123456789012345678 --reason "Litigation 2026-114"\n' +
          '  logwarden holds create --tenant 123456789012345678 --type AccessLog --from 2026-01-01 --to 2026-04-01 --reason "Incident 77"\n',
      ),
  ).action(async (opts: StoreFlags & { tenant: string; type?: string; from?: string; to?: string; reason: string; json?: boolean }) => {
    const reason = reasonFlag(opts.reason);
    const nowMs = now();
    const from = opts.from === undefined ? undefined : parseWhen(opts.from, '--from', nowMs);
    const to = opts.to === undefined ? undefined : parseWhen(opts.to, '--to', nowMs);
    if (from && to) checkLater(from, to);
    // Event times are whole milliseconds: the first one at or after each bound is where the
    // hold starts and ends, as a read of the same window counts them (`…T12:00:00.0005Z` as an
    // end covers the entry of 12:00:00.000).
    const fromMs = from ? ceilMs(from.instant) : null;
    const toMs = to ? ceilMs(to.instant) : null;
    if (fromMs !== null && toMs !== null && fromMs >= toMs) {
      throw new UsageError('--from and --to hold no whole millisecond between them: event times are kept to the millisecond');
    }
    const config = storeConfigFrom(opts, ['extraLogTypes']);
    await withExistingStore(config, async (store) => {
      if (!(await store.getTenant(opts.tenant))) throw noTenant(opts.tenant, config);
      const logType = opts.type === undefined ? null : opts.type.trim();
      if (logType !== null && !(await isTenantLogType(store, config.extraLogTypes, opts.tenant, logType))) {
        throw new UsageError(
          `--type: unknown log type ${JSON.stringify(logType)} (expected one of ${new LogTypes(config.extraLogTypes).describe()})`,
        );
      }
      const hold = await createHoldAct(store, { tenantId: opts.tenant, logType, fromMs, toMs, reason }, cliActor(), now);
      if (opts.json) printJson(holdJson(hold));
      else process.stdout.write(`${hold.id}\n`);
    });
  });

  storeOptions(
    holds
      .command('list')
      .description('list active legal holds (--all: released ones too)')
      .option('--tenant <id>', "only this tenant's holds")
      .option('--all', 'include released holds')
      .option('--json', 'print as JSON')
      .addHelpText('after', '\nExamples:\n  logwarden holds list\n  logwarden holds list --tenant 123456789012345678 --all --json\n'),
  ).action(async (opts: StoreFlags & { tenant?: string; all?: boolean; json?: boolean }) => {
    const config = storeConfigFrom(opts);
    await withExistingStore(config, async (store) => {
      if (opts.tenant !== undefined && !(await store.getTenant(opts.tenant))) throw noTenant(opts.tenant, config);
      const list = await store.listHolds({ ...(opts.tenant !== undefined && { tenantId: opts.tenant }), includeReleased: opts.all === true });
      if (opts.json) printJson(list.map(holdJson));
      else printHolds(list);
    });
  });

  storeOptions(
    holds
      .command('release')
      .description('release a legal hold: retention proceeds for what it covered')
      .argument('<hold-id>', 'the hold, from `holds list`')
      .requiredOption('--reason <text>', 'why, for the record (written to the admin trail)')
      .option('--json', 'print the released hold as JSON')
      .addHelpText('after', '\nExample:\n  logwarden holds release hold_k3x7qmb2zv5tw4nyh6ja --reason "Case 2026-114 closed"\n'),
  ).action(async (id: string, opts: StoreFlags & { reason: string; json?: boolean }) => {
    const reason = reasonFlag(opts.reason);
    await withExistingStore(storeConfigFrom(opts), async (store) => {
      const released = await releaseHoldAct(store, id, reason, cliActor(), now);
      if (!released) {
        const known = (await store.listHolds({ includeReleased: true })).find((h) => h.id === id);
        if (!known) throw new CommandError(`no hold ${id}`);
        throw new CommandError(`hold ${id} was already released on ${known.releasedAt} by ${known.releasedBy}`);
      }
      if (opts.json) printJson(holdJson(released));
      else process.stdout.write(`released ${released.id}\n`);
    });
  });
}
