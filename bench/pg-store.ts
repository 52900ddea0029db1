/**
 * PostgreSQL store figures: bulk ingest rate through Store.append, the time to seal what was
 * ingested into segments, the space it then takes, and the latency of a first page, of cursor
 * pages and of a page deep in the range (all sealed). Runs on a throwaway cluster with
 * PostgreSQL's durability settings on (fsync, synchronous commit).
 *
 *   node --import tsx bench/pg-store.ts [entries=500000] [batch=10000]
 */

import { generateDemoEntries } from '../src/demo/demo-data.ts';
import { openPostgresStore } from '../src/store/postgres/index.ts';
import { startPostgres } from '../test/support/postgres.ts';

const total = Number(process.argv[2] ?? 500_000);
const batchSize = Number(process.argv[3] ?? 10_000);
const DAY = 86_400_000;
const T0 = Date.UTC(2025, 0, 1);
const SPAN_DAYS = 150;
const { cluster, skip } = await startPostgres({ durable: true });
if (!cluster) throw new Error(skip);
try {
  const url = await cluster.createDatabase();
  const store = await openPostgresStore({ url, sealAgeMs: 0, noSealer: true });
  await store.createTenant({ id: '1001', name: 'bench' });

  // Entries are built before timing, so the figure is the store's alone: realistic AccessLog
  // entries (about 800 bytes of JSON each), as the benchmark's data set.
  const all = [...generateDemoEntries({ seed: 1, count: total, fromMs: T0, toMs: T0 + SPAN_DAYS * DAY, types: ['AccessLog'] })];
  const batches = Array.from({ length: Math.ceil(total / batchSize) }, (_, b) => all.slice(b * batchSize, (b + 1) * batchSize));
  let t = performance.now();
  for (const batch of batches) await store.append('1001', batch);
  const secs = (performance.now() - t) / 1000;
  console.log(`ingest: ${total} entries in batches of ${batchSize}: ${secs.toFixed(1)} s, ${Math.round(total / secs)} entries/s`);

  const [{ json }] = (await cluster.query<{ json: string }>(url, 'SELECT sum(octet_length(body)) AS json FROM entries')).rows as [{ json: string }];
  t = performance.now();
  await store.settle();
  console.log(`seal: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  await cluster.query(url, 'VACUUM ANALYZE');
  // Every relation (each partition, its indexes and TOAST), grouped by parent table.
  const sizes = await cluster.query<{ t: string; bytes: string }>(
    url,
    `SELECT coalesce(p.relname, c.relname) AS t, sum(pg_total_relation_size(c.oid)) AS bytes
     FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
     LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class p ON p.oid = i.inhparent
     WHERE ns.nspname = 'public' AND c.relkind = 'r' GROUP BY 1 ORDER BY 2 DESC`,
  );
  const disk = sizes.rows.reduce((n, r) => n + Number(r.bytes), 0);
  const tree = sizes.rows.filter((r) => r.t.startsWith('tree_')).reduce((n, r) => n + Number(r.bytes), 0);
  console.log(
    `disk: ${sizes.rows
      .filter((r) => Number(r.bytes) > 1e5)
      .map((r) => `${r.t} ${(Number(r.bytes) / 1e6).toFixed(1)} MB`)
      .join(', ')}`,
  );
  console.log(
    `disk: ${(disk / Number(json)).toFixed(3)} of the JSON (${(Number(json) / 1e6).toFixed(1)} MB), of which the tree's tables ${(tree / Number(json)).toFixed(3)} (${(tree / total).toFixed(1)} bytes an entry)`,
  );

  const query = { tenantId: '1001', logType: 'AccessLog', fromMs: T0, toMs: T0 + SPAN_DAYS * DAY };
  t = performance.now();
  const first = await store.firstPage(query, 100);
  console.log(`first page (counts ${first.total}): ${(performance.now() - t).toFixed(1)} ms`);

  const timePages = async (after: { timeMs: number; seq: number }, pages: number): Promise<number[]> => {
    const times: number[] = [];
    let pos = after;
    for (let i = 0; i < pages; i++) {
      const a = performance.now();
      const page = await store.nextPage(query, pos, first.watermark, 100);
      times.push(performance.now() - a);
      if (!page.next) break;
      pos = page.next;
    }
    return times.sort((x, y) => x - y);
  };
  const median = (xs: number[]): string => xs[xs.length >> 1]!.toFixed(2);
  const start = first.next!;
  console.log(`cursor pages near the start: median ${median(await timePages(start, 500))} ms`);
  const deep = await timePages({ timeMs: T0 + (SPAN_DAYS - 2) * DAY, seq: 0 }, 500);
  console.log(`cursor pages deep in the range: median ${median(deep)} ms`);
  await store.close();
} finally {
  await cluster.stop();
}
