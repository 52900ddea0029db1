/**
 * A backup of the embedded store is one SQLite file, written by `vacuumInto` from the store's
 * database as it is (of an earlier version's schema too: a backup made before an upgrade is
 * one of the store as that version left it). Here: what a backup file is checked for before it
 * is trusted (`checkBackupFile`), and putting one in place of a data directory's database
 * (`restoreBackupFile`), keeping the database it replaces.
 */
import { chmodSync, closeSync, constants, copyFileSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type CopySummary, checkStore } from '../store-copy.ts';
import type { LogKeyOptions } from '../tree-keys.ts';
import { holdExclusively } from './exclusive.ts';
import { DATABASE_FILE, openSqliteFileReadOnly } from './index.ts';
import { SCHEMA_VERSION } from './migrations.ts';

import { makeStaging, removeAbandoned, type Staging } from './staging.ts';

export type { Staging } from './staging.ts';
export { vacuumInto } from './vacuum-into.ts';

/** A backup's temporary folder, beside the file it becomes: `.<name>.backup-XXXXXX` (staging.ts). */
export function backupStaging(folder: string, name: string): Staging {
  return makeStaging(folder, `.${name}.backup-`);
}

/** Removes the temporary folders in `folder` of backups cut short (their process gone); returns their paths. */
export function removeAbandonedBackups(folder: string): string[] {
  return removeAbandoned(folder, '\\..+\\.backup-');
}

/** Tables every logwarden store has had, from its first schema version on. */
const STORE_TABLES = ['tenants', 'secrets', 'entries'];

/** Raised when a file is not a sound backup of a logwarden store; the message says what is wrong. */
export class BackupFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackupFileError';
  }
}

export interface BackupCheck {
  readonly schemaVersion: number;
  /**
   * Per tenant, its entries and verifiable log, checked (store-copy.ts `checkStore`): only for a
   * backup of this version's schema (an earlier one is upgraded by the first process that opens
   * it once restored, which checks its logs then).
   */
  readonly summary: CopySummary | undefined;
}

/**
 * Checks `file`, read-only: SQLite's integrity check, that it is a logwarden store,
 * of a schema version this logwarden reads; and, of this version's schema, the store itself
 * opened read-only with the log keys of `log` (its own unless given). BackupFileError says what
 * is wrong; CopyMismatchError names the problems of its logs.
 */
export async function checkBackupFile(file: string, log: LogKeyOptions | undefined): Promise<BackupCheck> {
  let schemaVersion: number;
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new BackupFileError(`cannot open it (${(err as Error).message})`);
  }
  try {
    let problems: string[];
    try {
      problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check);
    } catch (err) {
      throw new BackupFileError(`it is not a sound SQLite database (${(err as Error).message})`);
    }
    if (problems.length !== 1 || problems[0] !== 'ok') {
      throw new BackupFileError(`it is damaged (SQLite's integrity check: ${problems.slice(0, 3).join('; ')})`);
    }
    schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const tables = new Set(db.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all());
    if (schemaVersion < 1 || STORE_TABLES.some((t) => !tables.has(t)))
      throw new BackupFileError('it is an SQLite database, but not a logwarden store');
    if (schemaVersion > SCHEMA_VERSION) {
      throw new BackupFileError(
        `its schema is version ${schemaVersion}, newer than this logwarden understands (${SCHEMA_VERSION}): restore it with the version that made it`,
      );
    }
  } finally {
    db.close();
  }
  if (schemaVersion < SCHEMA_VERSION) return { schemaVersion, summary: undefined };
  const store = openSqliteFileReadOnly(file, log === undefined ? {} : { log });
  try {
    return { schemaVersion, summary: await checkStore(store) };
  } finally {
    await store.close();
  }
}

/** The data directory's database and the files SQLite keeps beside it. */
const COMPANIONS = ['', '-wal', '-shm', '-journal'];

/**
 * Puts the backup `file` in place of the data directory's database. It is copied first into a
 * folder of the data directory only its owner can enter (mode 0600), and that copy is what
 * `check` checks (it throws to refuse) and what is put in place: nothing else is touched until
 * it passed, and a data directory made for it is removed again when it did not. Then, refused
 * with StoreInUseError while any process has the database open, the database it replaces is
 * moved aside, never deleted: `logwarden.db.replaced-<time>`, with its write-ahead log folded
 * in (or, when SQLite cannot open it, its `-wal` and `-shm` moved aside with it under the same
 * name), so that no stale write-ahead log is left for SQLite to replay onto the restored file.
 * The copy is renamed into place last; `log-witness.db` is left as it is. Returns what `check`
 * found, and where the replaced database was moved (none when the data directory held none).
 */
export async function restoreBackupFile<T>(
  dataDir: string,
  file: string,
  now: number,
  check: (copy: string) => Promise<T>,
): Promise<{ checked: T; replaced: string | undefined }> {
  const made = mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const target = join(dataDir, DATABASE_FILE);
  const staging = mkdtempSync(join(dataDir, '.restore-'));
  let placed = false;
  try {
    const staged = join(staging, DATABASE_FILE);
    // The copy takes the backup's mode: made 0600 before it leaves the owner-only folder.
    copyFileSync(file, staged, constants.COPYFILE_FICLONE);
    chmodSync(staged, 0o600);
    syncFile(staged);
    const checked = await check(staged);
    if (existsSync(target)) letGo(target);
    const stamp = new Date(now).toISOString().replaceAll(':', '-');
    let aside = `${target}.replaced-${stamp}`;
    for (let n = 2; COMPANIONS.some((c) => existsSync(`${aside}${c}`)); n++) aside = `${target}.replaced-${stamp}-${n}`;
    // Its companions under the same name, where SQLite opening it looks for them.
    for (const c of COMPANIONS) if (existsSync(`${target}${c}`)) renameSync(`${target}${c}`, `${aside}${c}`);
    renameSync(staged, target);
    placed = true;
    syncFile(dataDir);
    return { checked, replaced: existsSync(aside) ? aside : undefined };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    if (!placed && made !== undefined) rmSync(made, { recursive: true, force: true });
  }
}

/**
 * Makes sure no process has the database at `path` open (StoreInUseError) and folds its
 * write-ahead log into it: closing the last connection to it checkpoints the log and removes
 * its `-wal` and `-shm`. A file SQLite cannot open as a database is no process's store. The
 * lock is let go before the files are renamed (a connection closed after would checkpoint into,
 * and remove, files by names that then are the restored database's): a process that opens the
 * store in the instant between is not seen, which is why the command says to stop them first.
 */
function letGo(path: string): void {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch {
    return;
  }
  try {
    holdExclusively(db);
    db.exec('COMMIT');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_NOTADB' || (err as { code?: unknown }).code === 'SQLITE_CORRUPT') return;
    throw err;
  } finally {
    db.close();
  }
}

/** Flushes a file (or a folder: the names in it) to the disk. */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
