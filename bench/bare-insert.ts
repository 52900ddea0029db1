/**
 * The baseline of the ingest benchmark: better-sqlite3 inserting the rows logwarden stores (an
 * entry's row and its idempotency key's), in one transaction, with one prepared statement each,
 * into a fresh database with logwarden's schema
 * (the same table and indexes) and its durability (WAL, synchronous=FULL). No HTTP, no parsing,
 * no validation, no idempotency check, no tallies: the physical limit of the disk and SQLite.
 *
 *   node --import tsx bench/bare-insert.ts ROWS.ndjson DIR   (rows: [typeId, eventTimeMs, keyHex, body])
 *
 * Prints the timed transaction's entries per second as JSON. The first line of ROWS holds the
 * number of warm-up rows, inserted in a transaction of their own before the timed one.
 */

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../src/store/sqlite/migrations.ts';

type Row = [typeId: number, eventTimeMs: number, keyHex: string, body: string];

const [rowsFile, dir] = [process.argv[2]!, process.argv[3]!];
const lines = readFileSync(rowsFile, 'utf8').split('\n').filter(Boolean);
const warmup = Number(lines[0]);
const rows = lines.slice(1).map((l) => {
  const [typeId, ms, key, body] = JSON.parse(l) as Row;
  return [typeId, ms, Buffer.from(key, 'hex'), body] as const;
});

mkdirSync(dir, { recursive: true });
const db = new Database(join(dir, 'bare.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
migrate(db, () => {});
db.prepare("INSERT INTO tenants (tid, id, name, created_at) VALUES (1, '1', 'bare', '')").run();
// The two rows logwarden stores per entry: the hot row and its idempotency key (16 bytes).
const insert = db.prepare("INSERT INTO entries (tid, type_id, event_time, key, body, stored_at) VALUES (1, ?, ?, X'', ?, 0)");
const insertKey = db.prepare('INSERT INTO entry_keys (tid, event_time, key) VALUES (1, ?, ?)');
const insertAll = db.transaction((batch: typeof rows) => {
  for (const [typeId, ms, key, body] of batch) {
    insertKey.run(ms, key.subarray(0, 16));
    insert.run(typeId, ms, body);
  }
});

insertAll(rows.slice(0, warmup));
const timed = rows.slice(warmup);
const started = performance.now();
insertAll(timed);
const seconds = (performance.now() - started) / 1000;
db.close();
process.stdout.write(JSON.stringify({ entries: timed.length, seconds, entriesPerSecond: timed.length / seconds }) + '\n');
