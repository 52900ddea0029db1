/**
 * What writing an append's new entries and their idempotency keys costs PostgreSQL, two ways
 * each, on a throwaway durable cluster: batches of 10,000 demo entries (all five types, one day)
 * into fresh partitioned tables shaped like the store's `entries` and `entry_keys`, each batch
 * in its own transaction.
 *
 * Entries:
 * - `copy`: `COPY … FROM STDIN` in binary form, as the store writes them
 *   (src/store/postgres/entry-copy.ts);
 * - `insert`: one `INSERT … SELECT unnest(…)` whose texts arrive as one parameter joined by RS
 *   (0x1e) and split by `string_to_array`, as the store wrote them until 4 December 2026.
 *
 * Keys (`keys`), all of them new, as in most batches:
 * - `copy`: `COPY` under a savepoint, as the store writes them (newKeys in
 *   src/store/postgres/index.ts);
 * - `insert`: `INSERT … SELECT unnest(…) ON CONFLICT DO NOTHING RETURNING …`, counted, as the
 *   store wrote them until 4 December 2026 (and still does for a batch holding a stored key).
 *
 * The backend's CPU is read from /proc (its whole work: receiving the messages, the statement,
 * the commit), so this runs on Linux only. The ways alternate, batch by batch.
 *
 *   node --import tsx bench/pg-entry-write.ts [--entries 200000]
 *
 * Prints one JSON object: per way (entries, then `keys`), the backend's CPU and the wall time per entry.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import { copyEntries, copyKeys } from '../src/store/postgres/entry-copy.ts';
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

const INSERT_KEYS = `WITH k AS (
    INSERT INTO entry_keys (tid, event_time, key) SELECT 1, unnest($1::int8[]), unnest($2::int8[]) ON CONFLICT DO NOTHING RETURNING event_time, key
  ) SELECT count(*) FROM k`;

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
    type Way = (batch: typeof rows, first: number) => Promise<void>;
    /** Batch by batch, the two ways in turn, each batch in a transaction: the backend's CPU and the wall time per entry of each. */
    const alternate = async (ways: { copy: Way; insert: Way }) => {
      const spent = { copy: { cpuSeconds: 0, ms: 0, entries: 0 }, insert: { cpuSeconds: 0, ms: 0, entries: 0 } };
      for (let b = 0; b * BATCH < rows.length; b++) {
        const batch = rows.slice(b * BATCH, (b + 1) * BATCH);
        const name = b % 2 === 0 ? 'copy' : 'insert';
        const before = cpuSecondsOf(backend);
        const started = performance.now();
        await client.query('BEGIN');
        await ways[name](batch, b * BATCH);
        await client.query('COMMIT');
        spent[name].ms += performance.now() - started;
        spent[name].cpuSeconds += cpuSecondsOf(backend) - before;
        spent[name].entries += batch.length;
      }
      const per = (w: (typeof spent)['copy']) => ({
        entries: w.entries,
        backendCpuUsPerEntry: round((w.cpuSeconds * 1e6) / w.entries, 1),
        wallUsPerEntry: round((w.ms * 1000) / w.entries, 1),
      });
      return { copy: per(spent.copy), insert: per(spent.insert) };
    };
    const count = async (table: string) => Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

    const entries = await alternate({
      copy: async (batch, first) => {
        const types = batch.map((e) => typeOf(e.logType));
        const texts = batch.map((e) => e.body);
        await copyEntries(client, { tid: 1, firstSeq: first + 1, addedAt: 5, typeIds: types, times: batch.map((e) => e.eventTimeMs), texts });
      },
      insert: async (batch, first) => {
        const types = batch.map((e) => typeOf(e.logType));
        const body = Buffer.from(batch.map((e) => e.body).join('\x1e'));
        await client.query(INSERT, [batch.map((e) => e.eventTimeMs), first, batch.length, types, 5, body]);
      },
    });
    if ((await count('entries')) !== rows.length) throw new Error(`stored ${await count('entries')} of ${rows.length} entries`);

    await client.query(`
      CREATE TABLE entry_keys (tid integer NOT NULL, event_time bigint NOT NULL, key bigint NOT NULL, PRIMARY KEY (tid, event_time, key))
        PARTITION BY RANGE (event_time);
      CREATE TABLE entry_keys_default PARTITION OF entry_keys DEFAULT;
      CREATE TABLE entry_keys_m PARTITION OF entry_keys FOR VALUES FROM (${month}) TO (${Date.UTC(2025, 6, 1)});`);
    const keys = await alternate({
      copy: async (batch) => {
        await client.query('SAVEPOINT k');
        await copyKeys(
          client,
          1,
          batch.map((e) => e.eventTimeMs),
          batch.map((e) => e.key),
        );
        await client.query('RELEASE SAVEPOINT k');
      },
      insert: async (batch) => {
        const r = await client.query<{ count: string }>(INSERT_KEYS, [
          batch.map((e) => e.eventTimeMs),
          batch.map((e) => e.key.readBigInt64BE(0).toString()),
        ]);
        if (Number(r.rows[0]!.count) !== batch.length) throw new Error('a key of the demo entries repeats');
      },
    });
    if ((await count('entry_keys')) !== rows.length) throw new Error(`stored ${await count('entry_keys')} of ${rows.length} keys`);
    console.log(JSON.stringify({ batch: BATCH, ...entries, keys }, null, 2));
  } finally {
    await client.end();
  }
} finally {
  await cluster.stop();
}
