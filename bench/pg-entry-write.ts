/**
 * What writing an append's new entries costs PostgreSQL, two ways, on a throwaway durable
 * cluster: batches of 10,000 demo entries (all five types, one day) into a fresh partitioned
 * table shaped like the store's `entries`, each batch in its own transaction.
 *
 * - `copy`: `COPY … FROM STDIN` in binary form, as the store writes them
 *   (src/store/postgres/entry-copy.ts);
 * - `insert`: one `INSERT … SELECT unnest(…)` whose texts arrive as one parameter joined by RS
 *   (0x1e) and split by `string_to_array`, as the store wrote them until 4 December 2026.
 *
 * The backend's CPU is read from /proc (its whole work: receiving the messages, the statement,
 * the commit), so this runs on Linux only. The ways alternate, batch by batch.
 *
 *   node --import tsx bench/pg-entry-write.ts [--entries 200000]
 *
 * Prints one JSON object: per way, the backend's CPU and the wall time per entry.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import { copyEntries } from '../src/store/postgres/entry-copy.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { DAY_MS } from './lib/dataset.ts';
import { cpuSecondsOf } from './lib/processes.ts';
import { round } from './lib/stats.ts';

const { values: flags } = parseArgs({ options: { entries: { type: 'string', default: '200000' } } });
const total = Number(flags.entries);
const BATCH = 10_000;
if (!(Number.isInteger(total) && total >= 2 * BATCH)) {
  process.stderr.write(`--entries must be an integer of at least ${2 * BATCH}\n`);
  process.exit(2);
}

const INSERT = `INSERT INTO entries (event_time, seq, tid, type_id, added_at, body)
  SELECT unnest($1::int8[]), $2::int8 + generate_series(1, $3::int8), 1, unnest($4::int4[]), $5::int8,
    unnest(string_to_array($6::text, E'\\x1e'))`;

const { cluster, skip } = await startPostgres({ durable: true });
if (!cluster) {
  process.stderr.write(`${skip}\n`);
  process.exit(1);
}
try {
  const day = Date.UTC(2025, 5, 2);
  const rows = [...generateDemoEntries({ seed: 7, count: total, fromMs: day, toMs: day + DAY_MS })];
  const typeIds = new Map<string, number>();
  const typeOf = (logType: string) => typeIds.get(logType) ?? typeIds.set(logType, typeIds.size + 1).get(logType)!;
  const url = await cluster.createDatabase();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const month = Date.UTC(2025, 5, 1);
    await client.query(`
      CREATE TABLE entries (event_time bigint NOT NULL, seq bigint NOT NULL, tid integer NOT NULL, type_id integer NOT NULL,
        body text NOT NULL, added_at bigint NOT NULL DEFAULT 0, PRIMARY KEY (tid, type_id, event_time, seq)) PARTITION BY RANGE (event_time);
      CREATE TABLE entries_default PARTITION OF entries DEFAULT;
      CREATE TABLE entries_m PARTITION OF entries FOR VALUES FROM (${month}) TO (${Date.UTC(2025, 6, 1)});
      CREATE INDEX entries_by_age ON entries USING brin (added_at) WITH (autosummarize = on);`);
    const backend = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const ways = { copy: { cpuSeconds: 0, ms: 0, entries: 0 }, insert: { cpuSeconds: 0, ms: 0, entries: 0 } };
    let seq = 0;
    for (let b = 0; b * BATCH < rows.length; b++) {
      const batch = rows.slice(b * BATCH, (b + 1) * BATCH);
      const way = b % 2 === 0 ? ways.copy : ways.insert;
      const types = batch.map((e) => typeOf(e.logType));
      const times = batch.map((e) => e.eventTimeMs);
      const before = cpuSecondsOf(backend);
      const started = performance.now();
      await client.query('BEGIN');
      if (way === ways.copy) {
        const texts = batch.map((e) => e.body);
        await copyEntries(client, { tid: 1, firstSeq: seq + 1, addedAt: 5, typeIds: types, times, texts });
      } else {
        await client.query(INSERT, [times, seq, batch.length, types, 5, Buffer.from(batch.map((e) => e.body).join('\x1e'))]);
      }
      await client.query('COMMIT');
      way.ms += performance.now() - started;
      way.cpuSeconds += cpuSecondsOf(backend) - before;
      way.entries += batch.length;
      seq += batch.length;
    }
    const stored = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM entries')).rows[0]!.n);
    if (stored !== rows.length) throw new Error(`stored ${stored} of ${rows.length} entries`);
    const per = (w: (typeof ways)['copy']) => ({
      entries: w.entries,
      backendCpuUsPerEntry: round((w.cpuSeconds * 1e6) / w.entries, 1),
      wallUsPerEntry: round((w.ms * 1000) / w.entries, 1),
    });
    console.log(JSON.stringify({ batch: BATCH, copy: per(ways.copy), insert: per(ways.insert) }, null, 2));
  } finally {
    await client.end();
  }
} finally {
  await cluster.stop();
}
