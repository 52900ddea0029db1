/**
 * Holding an SQLite database exclusively, which tells whether another process has it open:
 * exclusive locking is granted only while no other connection (of a server, a command) has the
 * database open, and then no other can open it until the lock is let go.
 */
import type Database from 'better-sqlite3';
import { StoreInUseError } from '../store-transfer.ts';

/** How long to wait for other connections to the database to go before saying the store is in use. */
const IN_USE_WAIT_MS = 2000;

/**
 * Begins an exclusive transaction on `db` in exclusive locking mode; StoreInUseError when
 * another process (or connection) still holds the database open after `waitMs`. The lock is kept
 * until the connection closes.
 */
export function holdExclusively(db: Database.Database, waitMs = IN_USE_WAIT_MS): void {
  db.pragma('locking_mode = EXCLUSIVE');
  const busyTimeout = db.pragma('busy_timeout', { simple: true }) as number;
  try {
    db.pragma(`busy_timeout = ${waitMs}`);
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.pragma('locking_mode = NORMAL');
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY') throw new StoreInUseError();
    throw err;
  } finally {
    db.pragma(`busy_timeout = ${busyTimeout}`);
  }
}
