/**
 * What the user filter's index (src/store/user-filter.ts) costs on disk, against the entries'
 * JSON: `node --import tsx bench/user-index-disk.ts --sqlite DIR` measures a SQLite data
 * directory as it is (sealing whatever is still hot first); `--postgres N` loads N synthetic
 * AccessLog entries (`logwarden seed`'s generator) into a throwaway PostgreSQL cluster and
 * measures that. Prints one JSON line per store.
 */

import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import { openPostgresStore } from '../src/store/postgres/index.ts';
import { DATABASE_FILE, openSqliteStore } from '../src/store/sqlite/index.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { sqliteDatabaseBytes, sqliteJsonBytes } from './lib/disk.ts';

const { values: flags } = parseArgs({ options: { sqlite: { type: 'string' }, postgres: { type: 'string' } } });

const ratio = (a: number, b: number) => Math.round((a / b) * 10_000) / 10_000;

if (flags.sqlite) {
  const dir = flags.sqlite;
  const store = openSqliteStore({ dataDir: dir, sealIntervalMs: 3_600_000 });
  store.settle();
  await store.close();
  const databaseBytes = sqliteDatabaseBytes(dir);
  const { jsonBytes, entries } = sqliteJsonBytes(dir);
  const db = new Database(join(dir, DATABASE_FILE), { readonly: true });
  const indexBytes = db.prepare<[], number>("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = 'segment_users'").pluck().get()!;
  const postings = db.prepare<[], number>('SELECT count(*) FROM segment_users').pluck().get()!;
  const segments = db.prepare<[], number>('SELECT count(*) FROM segments').pluck().get()!;
  db.close();
  process.stdout.write(
    `${JSON.stringify({
      store: 'sqlite',
      entries,
      segments,
      postings,
      jsonBytes,
      databaseBytes,
      indexBytes,
      ratio: ratio(databaseBytes, jsonBytes),
      ratioWithoutIndex: ratio(databaseBytes - indexBytes, jsonBytes),
      indexRatio: ratio(indexBytes, jsonBytes),
      indexBytesPerEntry: Math.round((indexBytes / entries) * 10) / 10,
    })}\n`,
  );
}

if (flags.postgres) {
  const n = Number(flags.postgres);
  const { cluster, skip } = await startPostgres();
  if (!cluster) throw new Error(skip);
  try {
    const url = await cluster.createDatabase();
    const store = await openPostgresStore({ url, poolSize: 4, noSealer: true, sealAgeMs: 0 });
    await store.createTenant({ id: '1', name: 'bench' });
    const toMs = Date.UTC(2026, 0, 31);
    let batch = [];
    let jsonBytes = 0;
    for (const e of generateDemoEntries({ count: n, fromMs: toMs - 30 * 86_400_000, toMs, types: ['AccessLog'] })) {
      batch.push(e);
      jsonBytes += Buffer.byteLength(e.body);
      if (batch.length === 5000) {
        await store.append('1', batch);
        batch = [];
      }
    }
    if (batch.length > 0) await store.append('1', batch);
    await store.settle();
    await store.close();
    await cluster.query(url, 'VACUUM ANALYZE');
    const size = async (where: string) =>
      Number(
        (
          await cluster.query<{ bytes: string }>(
            url,
            `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname = 'public' AND c.relkind IN ('r', 'm') ${where}`,
          )
        ).rows[0]!.bytes,
      );
    const databaseBytes = await size('');
    const indexBytes = await size("AND c.relname = 'segment_users'");
    const postings = Number((await cluster.query<{ n: string }>(url, 'SELECT count(*) AS n FROM segment_users')).rows[0]!.n);
    process.stdout.write(
      `${JSON.stringify({
        store: 'postgres',
        entries: n,
        postings,
        jsonBytes,
        databaseBytes,
        indexBytes,
        ratio: ratio(databaseBytes, jsonBytes),
        ratioWithoutIndex: ratio(databaseBytes - indexBytes, jsonBytes),
        indexRatio: ratio(indexBytes, jsonBytes),
        indexBytesPerEntry: Math.round((indexBytes / n) * 10) / 10,
      })}\n`,
    );
  } finally {
    await cluster.stop();
  }
}
