/**
 * `VACUUM INTO` (`logwarden backup`) on a connection of its own, on a worker thread: one read
 * transaction copies the database as of one moment while other connections go on writing, and
 * the calling thread stays free meanwhile (to draw the progress of a backup, to hear Ctrl-C).
 * The worker is a few lines of CommonJS given as text, so it needs no module of its own, compiled
 * or not.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

// A thread's error reaches the caller as a structured clone, which keeps an SQLite error's code
// but not its message: the worker sends both itself, and exits 1.
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
try {
  const Database = require(workerData.driver);
  const db = new Database(workerData.database, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    db.prepare('VACUUM INTO ?').run(workerData.file);
  } finally {
    db.close();
  }
} catch (err) {
  parentPort.postMessage({ message: String(err && err.message), code: err && err.code });
  process.exitCode = 1;
}
`;

/** How often `progress` is told the size of the file written. */
const PROGRESS_MS = 200;

/**
 * Writes a copy of the SQLite database at `database` into `file` (new, or empty); `progress` is
 * told the bytes written so far as the copy grows. A failure of SQLite rejects with an Error
 * carrying its message and code (`SQLITE_FULL`, `SQLITE_BUSY`, …).
 */
export async function vacuumInto(database: string, file: string, progress?: (bytes: number) => void): Promise<void> {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { driver, database, file } });
  const timer = progress && setInterval(() => progress(statSync(file, { throwIfNoEntry: false })?.size ?? 0), PROGRESS_MS);
  let failure: Error | undefined;
  worker.once('message', (m: { message: string; code: unknown }) => (failure = Object.assign(new Error(m.message), { code: m.code })));
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) =>
        code === 0 ? resolve() : reject(failure ?? new Error(`the copy stopped (its thread exited with code ${code})`)),
      );
    });
  } finally {
    clearInterval(timer);
  }
  progress?.(statSync(file).size);
}
