/**
 * Why `logwarden backup` copies with `VACUUM INTO` rather than SQLite's online backup API: a
 * database of ROWS entry-sized rows (800 bytes, WAL) is copied both ways while another process
 * appends a row every 2 ms, as a server under steady ingest does. The backup API starts over
 * whenever another connection writes; it is given DEADLINE_S seconds.
 *
 *   node --import tsx bench/backup-under-ingest.ts [ROWS=100000] [DEADLINE_S=20]
 *
 * Prints JSON: the database's size, the milliseconds of VACUUM INTO, and those of the backup
 * API or null when it had not finished by the deadline.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const ROW = 'x'.repeat(800);

if (process.argv[2] === '--writer') {
  // The steady ingest: a row every 2 ms, each its own transaction, until killed.
  const db = new Database(process.argv[3]!);
  db.pragma('busy_timeout = 10000');
  const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
  for (;;) {
    insert.run(ROW);
    await sleep(2);
  }
}

const rows = Number(process.argv[2] ?? 100_000);
const deadlineMs = Number(process.argv[3] ?? 20) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'logwarden-bench-backup-'));
const file = join(dir, 'store.db');
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)');
const insert = db.prepare('INSERT INTO t (x) VALUES (?)');
db.transaction(() => {
  for (let i = 0; i < rows; i++) insert.run(ROW);
})();
db.pragma('wal_checkpoint(TRUNCATE)');
const writer = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--writer', file], { stdio: 'inherit' });
try {
  await sleep(500);
  let started = performance.now();
  db.prepare('VACUUM INTO ?').run(join(dir, 'vacuum-into.db'));
  const vacuumIntoMs = Math.round(performance.now() - started);
  started = performance.now();
  let backupApiMs: number | null = null;
  // Thrown from the progress callback, a deadline ends the backup (and closes it).
  const backup = db.backup(join(dir, 'backup-api.db'), {
    progress: () => {
      if (performance.now() - started > deadlineMs) throw new Error('past the deadline');
      return 100;
    },
  });
  await backup.then(
    () => (backupApiMs = Math.round(performance.now() - started)),
    () => undefined,
  );
  console.log(JSON.stringify({ rows, databaseBytes: statSync(file).size, vacuumIntoMs, backupApiMs, deadlineMs }));
} finally {
  writer.kill();
  db.close();
  rmSync(dir, { recursive: true, force: true });
}
