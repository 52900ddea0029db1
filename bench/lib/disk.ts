/**
 * What the SQLite data set takes on disk, against what its entries are as JSON.
 *
 * - `databaseBytes`: the database file plus its write-ahead log, after a checkpoint that
 *   truncates the log (the shared-memory index, `-shm`, holds no data and is not counted).
 * - `jsonBytes`: the UTF-8 bytes of every stored entry's wire text, read back through the
 *   segments' own checks (and any rows not sealed yet), commas between entries not counted.
 */

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { decodeSegment } from '../../src/store/segment-codec.ts';
import { DATABASE_FILE } from '../../src/store/sqlite/index.ts';

export function sqliteDatabaseBytes(dataDir: string): number {
  const file = join(dataDir, DATABASE_FILE);
  const db = new Database(file);
  try {
    db.pragma('busy_timeout = 10000');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  return statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
}

/** Also counts the entries of each log type (`byType`): the data set's own, and the admin trail its set-up wrote. */
export function sqliteJsonBytes(dataDir: string): { jsonBytes: number; entries: number; byType: Map<string, number> } {
  const db = new Database(join(dataDir, DATABASE_FILE), { readonly: true });
  try {
    const hot = db
      .prepare<[], { n: number; bytes: number | null }>('SELECT count(*) AS n, sum(length(CAST(body AS BLOB))) AS bytes FROM entries')
      .get()!;
    let jsonBytes = hot.bytes ?? 0;
    let entries = hot.n;
    const byType = new Map<string, number>(
      db
        .prepare<[], [string, number]>('SELECT l.name, count(*) FROM entries e JOIN log_types l ON l.type_id = e.type_id GROUP BY l.name')
        .raw()
        .all(),
    );
    const rows = db.prepare<[], { id: number; tenant: string; type: string; data: Buffer }>(
      `SELECT s.id, t.id AS tenant, l.name AS type, s.data FROM segments s
       JOIN tenants t ON t.tid = s.tid JOIN log_types l ON l.type_id = s.type_id`,
    );
    for (const r of rows.iterate()) {
      const seg = decodeSegment(r.data, { tenantId: r.tenant, logType: r.type }, r.id);
      jsonBytes += seg.text.length - (seg.count - 1);
      entries += seg.count;
      byType.set(r.type, (byType.get(r.type) ?? 0) + seg.count);
    }
    return { jsonBytes, entries, byType };
  } finally {
    db.close();
  }
}
