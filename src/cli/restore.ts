/** `logwarden restore` — puts a backup of the SQLite store in place, keeping what it replaces, and says what the witness makes of it. */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CodedError } from '../errors.ts';
import type { BackupCheck } from '../store/sqlite/backup-file.ts';
import { StoreRolledBackError } from '../store/store.ts';
import { StoreInUseError } from '../store/store-transfer.ts';
import { BackupRefused, backupFiles, checkBackup, megabytes, say, tenantLines } from './backup.ts';
import { counted, fileProblem, printJson, type StoreFlags, storeConfigFrom, storeOptions, storePlace, withStore, writeFailure } from './common.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { DATABASE_FILE } from './serve-errors.ts';

interface RestoreFlags extends StoreFlags {
  json?: boolean;
}

const HELP = `
Puts a backup made by \`logwarden backup\` in place of the store of --data-dir. First the
backup is copied into a folder of the data directory only its owner can enter (one that a
restore killed outright left there is removed first), and that copy,
which is what will be put in place, is checked before anything else is touched: SQLite's
integrity check, that it is a logwarden store of a schema this version reads, and (of this
version's schema) per tenant its entries and verifiable log. Then, refused while any process
(a server, a command) has the store open, the store is held so that none can open it until:
  - the store it replaces is kept aside, never deleted: logwarden.db.replaced-<time>, with
    what its write-ahead log held folded in (no stale logwarden.db-wal is left for SQLite to
    replay onto the restored file);
  - the backup is copied in as logwarden.db, readable by its owner only (mode 0600);
  - log-witness.db is left where it is.
Stop the servers first all the same: one started during the restore waits for the store (up to
5 seconds), and one that gets it after the swap may be holding the replaced database.

Last, the store is opened as \`logwarden serve\` opens it. Entries acknowledged after the
backup began are not in it: when servers signed more of a tenant's log than the backup holds,
the witness (log-witness.db) says so, and servers refuse to sign over the earlier log. The
restore then exits 1 (it stays done) with the ways on: restore a newer backup; or begin a
new series of checkpoints with a new LOGWARDEN_LOG_ORIGIN_PREFIX (give auditors the new
verifier keys, \`logwarden tenants show\`); or delete log-witness.db knowingly (a verifier
that saw a later checkpoint then reports a rollback or a fork).

Give the same LOGWARDEN_LOG_SIGNING_SECRET, LOGWARDEN_LOG_ORIGIN_PREFIX and
LOGWARDEN_LOG_WITNESS_DIR as the servers, if they set them.
`;

/** The refusal of a PostgreSQL store: its own tools, with an example. */
const PG_RESTORE =
  'restore puts a backup of the embedded SQLite store in place (--data-dir); a PostgreSQL store is restored with pg_restore, e.g. ' +
  'pg_restore --clean --if-exists --dbname "$LOGWARDEN_DATABASE_URL" logwarden-2026-06-01.dump';

export function registerRestore(program: Command, now: () => number): void {
  storeOptions(
    program
      .command('restore')
      .description('put a backup made by `logwarden backup` in place of the SQLite store (the one it replaces is kept)')
      .argument('<file>', 'the backup file')
      .option('--json', 'print {"file", "dataDir", "schemaVersion", "replaced", "entries", "tenants", "witness"} as JSON')
      .addHelpText(
        'after',
        `${HELP}
Examples:
  # stop the servers of the data directory first
  logwarden restore /backups/logwarden-2026-06-01.db --data-dir /var/lib/logwarden
  LOGWARDEN_DATA_DIR=/var/lib/logwarden logwarden restore /backups/logwarden-2026-06-01.db --json
`,
      ),
  ).action(async (file: string, opts: RestoreFlags) => {
    const config = storeConfigFrom(opts);
    if (config.databaseUrl) throw new UsageError(PG_RESTORE);
    const source = resolve(file);
    const target = join(config.dataDir, DATABASE_FILE);
    if (source === target) throw new UsageError(`${source} is the database of --data-dir itself: give a backup file`);
    let bytes: number;
    try {
      const st = statSync(source);
      if (st.isDirectory()) throw new CommandError(`cannot read ${source}: it is a folder; give a backup file`);
      accessSync(source, constants.R_OK);
      bytes = st.size;
    } catch (err) {
      if (err instanceof CommandError) throw err;
      throw new CommandError(`cannot read ${source}: ${fileProblem(err, true)}`);
    }
    const place = storePlace(config);
    say(`checking ${source} (${megabytes(bytes)})…`);
    const { restoreBackupFile } = await backupFiles();
    const replacing = existsSync(target);
    let check: BackupCheck;
    let replaced: string | undefined;
    try {
      ({ checked: check, replaced } = await restoreBackupFile(config.dataDir, source, now(), (copy) => checkBackup(copy, config)));
    } catch (err) {
      if (err instanceof BackupRefused) throw new CommandError(`${source} cannot be restored: ${err.message}; nothing was changed`);
      if (err instanceof StoreInUseError) throw new CommandError(`${place}: ${err.message}; nothing was changed`);
      if (err instanceof CodedError) throw err;
      throw new CommandError(`${writeFailure(config.dataDir, err)}; the store was not replaced`);
    }
    // As a server would open it: the witness, left in place, tells a log put back behind what was signed.
    let behind: string | undefined;
    try {
      await withStore(config, async () => {});
    } catch (err) {
      if (!(err instanceof StoreRolledBackError))
        throw new CommandError(`${done(source, place, replaced)}, but it cannot be opened: ${(err as Error).message}`);
      behind = err.message;
    }
    const summary = check.summary;
    if (opts.json) {
      printJson({
        file: source,
        dataDir: config.dataDir,
        schemaVersion: check.schemaVersion,
        replaced: replaced ?? null,
        entries: summary?.entries ?? null,
        tenants: summary?.tenants ?? null,
        witness: behind === undefined ? { behind: false } : { behind: true, problem: behind },
      });
    } else {
      process.stdout.write(
        [
          `${done(source, place, replaced)}:`,
          ...tenantLines(check),
          summary === undefined
            ? `a store of schema version ${check.schemaVersion}, upgraded to this version's as it was opened.`
            : `${counted(summary.tenants.length, 'tenant')}, ${counted(summary.entries, 'entry', 'entries')}.`,
          ...(behind !== undefined ? [] : [replacing ? 'Start the servers again.' : 'Start the servers on it.']),
        ].join('\n') + '\n',
      );
    }
    if (behind !== undefined) {
      const undo =
        replaced === undefined
          ? ''
          : ` To undo the restore: logwarden restore ${JSON.stringify(replaced)} --data-dir ${JSON.stringify(config.dataDir)}`;
      throw new CommandError(
        `the backup is restored (that stays done), but its verifiable log is behind what servers signed, so servers and commands refuse the store: ${behind}.${undo}`,
      );
    }
  });
}

/** What the restore did, as a sentence begins. */
function done(source: string, place: string, replaced: string | undefined): string {
  const kept = replaced === undefined ? '' : ` (the database it replaced is kept as ${replaced})`;
  return `restored ${source} into ${place}${kept}`;
}
