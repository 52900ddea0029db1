/**
 * The temporary folder a backup (or a restore) is written in before it is put in place, and the
 * removal of such folders that a process killed outright (kill -9, a power cut) left behind.
 *
 * The folder is made owner-only (mkdtemp: mode 0700) and holds `lock`, a small SQLite file its
 * process keeps exclusively locked until it removes the folder. The system lets go of that lock
 * when the process ends, however it ends. So a folder of the staging name whose lock another
 * process can take is proven abandoned, wherever its process ran (another machine sharing the
 * folder, another PID namespace): nothing is inferred from process ids or ages. `lock` gets its
 * name only once it is locked (it is locked as `lock.new`, then renamed), so a `lock` that exists
 * is held, or abandoned; a folder without one (its process died between making the folder and
 * locking, or an earlier version made it) is never removed.
 */
import { lstatSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreInUseError } from '../store-transfer.ts';
import { holdExclusively } from './exclusive.ts';

const LOCK = 'lock';

/** The random part mkdtemp adds to a prefix. */
const RANDOM = '[A-Za-z0-9]{6}';

export interface Staging {
  readonly path: string;
  /** Removes the folder and what it holds, then lets go of its lock. */
  remove(): void;
}

/**
 * Opens the SQLite file `path` and locks it exclusively, at once or not at all (StoreInUseError).
 * Its journal is kept in memory: a lock writes nothing, and leaves no `-journal` file by a name
 * that a rename made stale.
 */
function takeLock(path: string): Database.Database {
  const db = new Database(path, { timeout: 0 });
  try {
    db.pragma('journal_mode = MEMORY');
    holdExclusively(db, 0);
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Makes the staging folder `folder/<prefix>XXXXXX` and locks it (see above). */
export function makeStaging(folder: string, prefix: string): Staging {
  const path = mkdtempSync(join(folder, prefix));
  let lock: Database.Database | undefined;
  try {
    lock = takeLock(join(path, `${LOCK}.new`));
    renameSync(join(path, `${LOCK}.new`), join(path, LOCK));
  } catch (err) {
    lock?.close();
    rmSync(path, { recursive: true, force: true });
    throw err;
  }
  const held = lock;
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      if (held.open) held.close();
    },
  };
}

/**
 * Removes the folders in `folder` named `<prefix>XXXXXX` (any `prefix` matching `prefixPattern`,
 * a regular expression's source) whose process is gone: each must be a folder (not a link), of
 * this user, whose `lock` this process can take at once. Returns the paths removed.
 */
export function removeAbandoned(folder: string, prefixPattern: string): string[] {
  const name = new RegExp(`^${prefixPattern}${RANDOM}$`);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return removed;
  }
  for (const candidate of names.filter((n) => name.test(n))) {
    const path = join(folder, candidate);
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st?.isDirectory() || (process.getuid !== undefined && st.uid !== process.getuid())) continue;
    if (lstatSync(join(path, LOCK), { throwIfNoEntry: false })?.isFile() !== true) continue;
    let probe: Database.Database | undefined;
    try {
      probe = takeLock(join(path, LOCK));
      // Held now by this process: its owner is gone, and no other prober removes it meanwhile.
      rmSync(path, { recursive: true, force: true });
      removed.push(path);
    } catch (err) {
      // Held: a backup running now. Anything else (not readable, not an SQLite file): not proven.
      if (!(err instanceof StoreInUseError) && (err as { code?: unknown }).code === undefined) throw err;
    } finally {
      probe?.close();
    }
  }
  return removed;
}
