/** `logwarden backup` — a checked copy of the embedded SQLite store in one file, made while servers run. */
import { closeSync, existsSync, linkSync, lstatSync, openSync, realpathSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config.ts';
import type { BackupCheck, Staging } from '../store/sqlite/backup-file.ts';
import { type LinkStep, linked } from '../store/sqlite/hard-link.ts';
import { CopyMismatchError } from '../store/store-copy.ts';
import type { LogKeyOptions } from '../store/tree-keys.ts';
import { counted, noStore, printJson, type StoreConfig, type StoreFlags, storeConfigFrom, storeOptions, storePlace, writeFailure } from './common.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';
import { DATABASE_FILE, explainStoreFailure } from './serve-errors.ts';

/** The SQLite side of backups, loaded when used: the command line stays free of the driver until then. */
export const backupFiles = () => import('../store/sqlite/backup-file.ts');

interface BackupFlags extends StoreFlags {
  out: string;
  force?: boolean;
  json?: boolean;
}

const HELP = `
Writes a copy of the embedded SQLite store (--data-dir) into one file, while servers run and
ingest: a consistent copy, as of the moment it began, holding every entry acknowledged before
then. Nothing else is needed to restore it (no -wal file): \`logwarden restore FILE\`.

The file is readable by its owner only (mode 0600). It is written under a temporary name in
the folder of --out and linked to its name at the end (renamed, where the file system has no
hard links), after it was checked: SQLite's integrity check, then per tenant its entries and
its verifiable log (size, root recomputed from the stored hashes, the last signed checkpoint
verified with the tenant's key). An existing file is replaced only with --force. --out is
refused in the data directory (and the witness folder): with --force it could take the place
of the store's own files, and a backup on the store's disk is lost with it.

A backup cut short leaves no file under the name of --out. Ctrl-C (or SIGTERM) ends it at
once, its temporary folder removed. One killed outright (kill -9, a power cut) leaves its
folder (.FILE.backup-XXXXXX) behind: the next backup into the same folder removes it, once the
lock its process held there is free (which proves that process gone).

A store written by an earlier version is backed up as it is, not upgraded (only SQLite's
integrity check applies then): back it up so before starting a new version on it.

Give the same LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX as the servers, if
they set them. The witness (log-witness.db) is not part of the backup: it stays where it is,
and tells when a backup put back holds an earlier log than was signed.

A PostgreSQL store (--database-url) is backed up with PostgreSQL's own tools (pg_dump).
`;

/** The refusal of a PostgreSQL store: its own tools, with an example. */
const PG_DUMP =
  'backup copies the embedded SQLite store (--data-dir); a PostgreSQL store is backed up with pg_dump, e.g. ' +
  'pg_dump --format=custom --file=logwarden-$(date +%F).dump "$LOGWARDEN_DATABASE_URL" (pg_restore puts it back)';

export function registerBackup(program: Command): void {
  storeOptions(
    program
      .command('backup')
      .description('write a checked copy of the SQLite store into one file, while servers run (mode 0600)')
      .requiredOption('--out <file>', 'the backup file to write')
      .option('--force', 'replace --out if it exists')
      .option('--json', 'print {"file", "bytes", "schemaVersion", "entries", "tenants"} as JSON')
      .addHelpText(
        'after',
        `${HELP}
Examples:
  logwarden backup --data-dir /var/lib/logwarden --out /backups/logwarden-$(date +%F).db
  # crontab: every night at 02:15, mailed only when it fails (% is special in crontab, hence \\%)
  15 2 * * *  logwarden backup --data-dir /var/lib/logwarden --out /backups/logwarden-$(date +\\%F).db > /dev/null
`,
      ),
  ).action(async (opts: BackupFlags) => {
    const config = storeConfigFrom(opts);
    if (config.databaseUrl) throw new UsageError(PG_DUMP);
    const database = join(config.dataDir, DATABASE_FILE);
    if (!existsSync(database)) throw noStore(config.dataDir);
    const { backupStaging, removeAbandonedBackups, syncFile, vacuumInto } = await backupFiles();
    const out = resolve(opts.out);
    refuseOut(out, config, opts.force === true);
    for (const left of removeAbandonedBackups(dirname(out))) say(`removed ${left}, left by a backup that was cut short`);
    let check: BackupCheck;
    let bytes: number;
    // Listened for before the folder is made: with no listener, a signal ends the process at once.
    let staging: Staging | undefined;
    const interruptible = onInterrupt(() => staging?.remove(), out);
    try {
      try {
        // Owner-only, in the folder of --out so that the end is one link (or rename).
        staging = backupStaging(dirname(out), basename(out));
      } catch (err) {
        throw new CommandError(writeFailure(dirname(out), err));
      }
      const staged = join(staging.path, basename(out));
      closeSync(openSync(staged, 'wx', 0o600));
      const total = storeBytes(config.dataDir);
      say(`backing up ${storePlace(config)} (${megabytes(total)}) into ${out}…`);
      const bar = createProgress('copying', 'MiB', total / MIB);
      try {
        // The database as it is: a store of an earlier version's schema is not upgraded first.
        await vacuumInto(database, staged, (bytes) => bar.update(bytes / MIB));
        // The total was the store's size, free pages included: the copy is done at its own.
        const written = statSync(staged).size / MIB;
        bar.update(written, written);
      } catch (err) {
        throw copyFailure(err, config, out);
      } finally {
        bar.stop();
      }
      say('checking the backup…');
      check = await checkCopy(staged, config);
      bytes = statSync(staged).size;
      syncFile(staged);
      placeBackup(staged, out, opts.force === true);
      syncFile(dirname(out));
    } finally {
      interruptible.dispose();
      staging?.remove();
    }
    const summary = check.summary;
    if (opts.json) {
      printJson({ file: out, bytes, schemaVersion: check.schemaVersion, entries: summary?.entries ?? null, tenants: summary?.tenants ?? null });
      return;
    }
    process.stdout.write(
      [
        `backed up ${storePlace(config)} into ${out} (${megabytes(bytes)}) and checked it:`,
        ...tenantLines(check),
        summary === undefined
          ? `a store of schema version ${check.schemaVersion}, an earlier logwarden's: SQLite's integrity check passed; its logs are checked when this version opens it.`
          : `${counted(summary.tenants.length, 'tenant')}, ${counted(summary.entries, 'entry', 'entries')}.`,
      ].join('\n') + '\n',
    );
  });
}

/** Per tenant, as backup and restore say what a backup holds. */
export function tenantLines(check: BackupCheck): string[] {
  return (check.summary?.tenants ?? []).map(
    (t) =>
      `  tenant ${t.tenantId} (${t.name}): ${counted(t.entries, 'entry', 'entries')}, tree size ${t.treeSize} root ${t.root}: ` +
      'the tree gives its last signed checkpoint',
  );
}

/** The log keys the servers sign with, as opening the store takes them (open.ts). */
function logKeysOf(config: Pick<Config, 'logSigningSecret' | 'logOriginPrefix'>): LogKeyOptions {
  return { signingSecret: config.logSigningSecret ?? null, originPrefix: config.logOriginPrefix ?? null };
}

async function checkCopy(staged: string, config: Pick<Config, 'logSigningSecret' | 'logOriginPrefix'>): Promise<BackupCheck> {
  try {
    return await checkBackup(staged, config);
  } catch (err) {
    if (err instanceof BackupRefused) throw new CommandError(`the backup failed its check (${err.message}); no backup was written`);
    throw err;
  }
}

/** Why a backup file is not to be trusted, in words (a BackupFileError, or the problems a check of its logs found). */
export class BackupRefused extends Error {
  override name = 'BackupRefused';
}

/** checkBackupFile with the servers' log keys; what is wrong with the file is a BackupRefused. */
export async function checkBackup(file: string, config: Pick<Config, 'logSigningSecret' | 'logOriginPrefix'>): Promise<BackupCheck> {
  const { BackupFileError, checkBackupFile } = await backupFiles();
  try {
    return await checkBackupFile(file, logKeysOf(config));
  } catch (err) {
    if (err instanceof CopyMismatchError) throw new BackupRefused(err.problems.join('; '));
    if (err instanceof BackupFileError) throw new BackupRefused(err.message);
    throw err;
  }
}

/**
 * Refuses an --out that is no place for the backup, before anything is copied: a folder; an
 * existing file (or symbolic link) without `force`; any name in the folder of the store or of
 * its witness, where with --force it would take the place of `logwarden.db`, its write-ahead
 * log or `log-witness.db` under running servers (and a backup there is lost with that disk).
 */
function refuseOut(out: string, config: StoreConfig, force: boolean): void {
  const folder = realFolder(dirname(out));
  for (const [place, dir] of [
    ['data directory', config.dataDir],
    ['witness folder (LOGWARDEN_LOG_WITNESS_DIR)', config.logWitnessDir],
  ] as const) {
    if (dir !== null && realFolder(dir) === folder) {
      throw new UsageError(`${out} is in the store's ${place} ${resolve(dir)}: give --out a file in another folder (another disk, best)`);
    }
  }
  const found = lstatSync(out, { throwIfNoEntry: false });
  if (found === undefined) return;
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory()) throw new CommandError(`${out} is a folder: give --out a file name`);
  if (!force) throw new CommandError(`${out} exists: give another --out, or --force to replace it`);
}

/** A folder's path with its symbolic links followed, as far as it exists. */
function realFolder(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** A failure of the copy: the store's (held by another process, not a database) as opening it says them, else one to write. */
function copyFailure(err: unknown, config: StoreConfig, out: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    const explained = explainStoreFailure(err, config);
    if (explained instanceof CommandError) return new CommandError(`${explained.message}; no backup was written`);
  }
  return new CommandError(`${writeFailure(out, err)}; no backup was written`);
}

/**
 * Puts the checked copy `staged` under its name `out`: never over a file that appeared meanwhile,
 * unless `force`. A hard link does that in one step (it fails if `out` exists); where the file
 * system has none, a rename does it after `out` was checked to be absent. `link` is the link step
 * (a test gives one that fails as such a file system does).
 */
export function placeBackup(staged: string, out: string, force: boolean, link: LinkStep = linkSync): void {
  const exists = () => new CommandError(`${out} exists: give another --out, or --force to replace it`);
  try {
    if (force) renameSync(staged, out);
    else if (!linked(staged, out, link)) {
      // No hard links: the rename would replace a file made in the instant between this check and
      // it (by another program, a second backup run at once to the same name). That window is a
      // few system calls wide; the file replaced would be lost, not damaged.
      if (lstatSync(out, { throwIfNoEntry: false }) !== undefined) throw exists();
      renameSync(staged, out);
    }
  } catch (err) {
    if (err instanceof CommandError) throw err;
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw exists();
    throw new CommandError(`${writeFailure(out, err)}; no backup was written`);
  }
}

/**
 * Ctrl-C or SIGTERM ends a backup at once: `cleanUp` removes its temporary folder, then the
 * signal is raised again with no listener, so the process ends as the signal ends it (exit 130
 * in a shell for Ctrl-C) without waiting for the copy on its thread, which SQLite does not let go
 * of before it is done. Putting the checked copy in place runs with no await in between, so a
 * signal comes before it (no backup) or after it (the backup is written).
 */
function onInterrupt(cleanUp: () => void, out: string): { dispose(): void } {
  const stop = (signal: NodeJS.Signals) => {
    dispose();
    cleanUp();
    process.stderr.write(`\nlogwarden: interrupted: no backup was written (${out} is as it was)\n`);
    process.kill(process.pid, signal);
  };
  const dispose = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { dispose };
}

/** What a long step is doing, on a terminal (off one, as from cron, a backup that succeeds prints only its summary). */
export function say(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

const MIB = 1048576;

/** The bytes of the store's database with its write-ahead log: about those of the copy. */
function storeBytes(dataDir: string): number {
  const files = [DATABASE_FILE, `${DATABASE_FILE}-wal`].map((name) => join(dataDir, name)).filter((path) => existsSync(path));
  return files.reduce((sum, path) => sum + statSync(path).size, 0);
}

export function megabytes(bytes: number): string {
  return `${(bytes / MIB).toFixed(1)} MiB`;
}
