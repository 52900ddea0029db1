/**
 * A backup of the embedded store is one SQLite file, written by `vacuumInto` from the store's
 * database as it is (of an earlier version's schema too: a backup made before an upgrade is
 * one of the store as that version left it). Here: what a backup file is checked for before it
 * is trusted (`checkBackupFile`), and putting one in place of a data directory's database
 * (`restoreBackupFile`), keeping the database it replaces.
 */
import { chmodSync, closeSync, constants, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { type CopySummary, checkStore } from '../store-copy.ts';
import type { LogKeyOptions } from '../tree-keys.ts';
import { holdExclusively } from './exclusive.ts';
import { type LinkStep, linked } from './hard-link.ts';
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
 * folder of the data directory only its owner can enter (mode 0600; one a restore killed outright
 * left there is removed), and that copy is what
 * `check` checks (it throws to refuse) and what is put in place: nothing else is touched until
 * it passed, and a data directory made for it is removed again when it did not. Then the
 * database is held exclusively (StoreInUseError while any process has it open) until the copy is
 * in its place: the database it replaces, its write-ahead log folded in, is hard-linked aside,
 * never deleted, as `logwarden.db.replaced-<time>`, and the copy renamed over `logwarden.db`, so
 * that no instant lacks one. `link` is that link step (linkSync; a test gives one of its own);
 * where the file system has no hard links, the database is renamed aside instead, and for that
 * instant there is none. `log-witness.db` is left as it is. Returns what `check` found, and where
 * the replaced database was put (none when the data directory held none).
 *
 * What holding it does not cover: a process that opened `logwarden.db` after it was taken and is
 * waiting for it when it is let go (a logwarden command or server waits up to 5 seconds, then
 * says the store is held) goes on, with the replaced database open, now named
 * `logwarden.db.replaced-<time>`, while SQLite names its write-ahead log after
 * `logwarden.db`, the restored database's. Nothing in the files tells such a process it was
 * swapped; hence stop every process first, as the command says.
 */
export async function restoreBackupFile<T>(
  dataDir: string,
  file: string,
  now: number,
  check: (copy: string) => Promise<T>,
  link: LinkStep = linkSync,
): Promise<{ checked: T; replaced: string | undefined }> {
  const made = mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const target = join(dataDir, DATABASE_FILE);
  // A restore killed outright left its folder, a copy of a whole store: removed once proven abandoned (staging.ts).
  removeAbandoned(dataDir, '\\.restore-');
  const staging = makeStaging(dataDir, '.restore-');
  let placed = false;
  let held: Database.Database | undefined;
  try {
    const staged = join(staging.path, DATABASE_FILE);
    // The copy takes the backup's mode: made 0600 before it leaves the owner-only folder.
    copyFileSync(file, staged, constants.COPYFILE_FICLONE);
    chmodSync(staged, 0o600);
    syncFile(staged);
    const checked = await check(staged);
    held = existsSync(target) ? holdForSwap(target) : undefined;
    const stamp = new Date(now).toISOString().replaceAll(':', '-');
    let aside = `${target}.replaced-${stamp}`;
    for (let n = 2; COMPANIONS.some((c) => existsSync(`${aside}${c}`)); n++) aside = `${target}.replaced-${stamp}-${n}`;
    // A second name first; where there are no hard links, the only name, and for an instant there is no logwarden.db.
    if (existsSync(target) && !linked(target, aside, link)) renameSync(target, aside);
    // What is left beside it (a -shm of a server killed before) goes with it, under the same name.
    for (const c of COMPANIONS.slice(1)) if (existsSync(`${target}${c}`)) renameSync(`${target}${c}`, `${aside}${c}`);
    renameSync(staged, target);
    placed = true;
    syncFile(dataDir);
    return { checked, replaced: existsSync(aside) ? aside : undefined };
  } finally {
    held?.close();
    staging.remove();
    if (!placed && made !== undefined) rmSync(made, { recursive: true, force: true });
  }
}

/**
 * Holds the database at `path` exclusively (StoreInUseError while another process has it open),
 * its write-ahead log folded in and removed, in rollback-journal mode: a connection that closes
 * after its file was renamed then has no write-ahead log to checkpoint into, or remove by, names
 * that are the restored database's. A file SQLite cannot open as a database is no process's
 * store: undefined.
 */
function holdForSwap(path: string): Database.Database | undefined {
  let db: Database.Database;
  try {
    db = new Database(path, { fileMustExist: true });
  } catch {
    return undefined;
  }
  try {
    holdExclusively(db);
    db.exec('COMMIT');
    db.pragma('journal_mode = DELETE');
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: unknown }).code === 'SQLITE_NOTADB' || (err as { code?: unknown }).code === 'SQLITE_CORRUPT') return undefined;
    throw err;
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
