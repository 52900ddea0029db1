/**
 * The data directory holds the signing secret and every tenant's audit entries, so only its
 * owner may read it: the directory is created 0700 and the files in it are 0600, whatever the
 * umask. The database file is created 0600 before SQLite opens it because SQLite gives the
 * files it creates beside it (`-wal`, `-shm`, a rollback journal) the database file's own mode.
 *
 * A directory that already exists is the operator's: it is not changed, but a start warns
 * when other users can enter or read it. The store's files in it that others could read are
 * tightened; other files (a data directory may be shared) are left alone.
 */
import cluster from 'node:cluster';
import { chmodSync, closeSync, fchmodSync, fstatSync, mkdirSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';

const GROUP_OR_OTHERS = 0o077;

function octal(mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0');
}

function defaultWarn(message: string): void {
  // A `serve --workers` worker opens the directory its primary opened (and warned of) first.
  if (!cluster.isWorker) process.stderr.write(`logwarden: warning: ${message}\n`);
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Whether `path` is missing, empty, or starts as an SQLite database does. */
function isSqliteFileOrAbsent(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return true; // absent (made below), or unreadable: SQLite says why
  }
  try {
    if (!fstatSync(fd).isFile()) return true; // a folder in its place: opening the store says so
    const head = Buffer.alloc(SQLITE_HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    return n === 0 || (n === head.length && head.equals(SQLITE_HEADER));
  } catch {
    return true; // unreadable: SQLite says why
  } finally {
    closeSync(fd);
  }
}

/**
 * Creates (or checks) `dir` and makes the store's files in it owner-only before the store opens
 * them: `databaseFile` (created if missing) and `otherFiles`, each with the companions named
 * after it (`logwarden.db-wal`). Problems that do not stop the store go to `warn` (stderr).
 */
export function prepareDataDir(
  dir: string,
  databaseFile: string,
  otherFiles: readonly string[] = [],
  warn: (message: string) => void = defaultWarn,
): void {
  const names = [databaseFile, ...otherFiles];
  const isStoreFile = (name: string) => names.some((n) => name === n || name.startsWith(`${n}-`));
  const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    // The umask may have taken bits away; 0700 exactly, so that the owner can use it.
    chmodSync(dir, 0o700);
  } else {
    const mode = statSync(dir).mode;
    if (mode & GROUP_OR_OTHERS) {
      warn(
        `the data directory ${dir} is open to other users (mode ${octal(mode)}); it holds the signing key and every audit entry. ` +
          `Restrict it with: chmod 700 ${JSON.stringify(dir)}`,
      );
    }
  }

  // A database file that is not SQLite's is not the store's: nothing is changed, and opening it says so.
  if (!isSqliteFileOrAbsent(join(dir, databaseFile))) return;
  const tightened: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isFile() || !isStoreFile(entry.name)) continue;
    const path = join(dir, entry.name);
    try {
      const mode = statSync(path).mode;
      if ((mode & GROUP_OR_OTHERS) === 0) continue;
      chmodSync(path, mode & 0o700);
      tightened.push(`${entry.name} (was ${octal(mode)})`);
    } catch (err) {
      // Gone since the directory was read: another process closing the store removed its -wal or -shm.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      warn(`could not make ${path} readable by its owner only: ${(err as Error).message}`);
    }
  }
  if (tightened.length > 0) warn(`made files in ${dir} readable by their owner only: ${tightened.join(', ')}`);

  let fd: number | undefined;
  try {
    fd = openSync(join(dir, databaseFile), 'wx', 0o600);
    fchmodSync(fd, 0o600);
  } catch {
    // Already there (tightened above), or SQLite will report why it cannot be opened.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
