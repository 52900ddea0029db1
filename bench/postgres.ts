/**
 * The PostgreSQL column: the same measurements against a logwarden server on PostgreSQL, on a
 * throwaway cluster started as the tests start theirs (test/support/postgres.ts), with
 * PostgreSQL's durability settings on, loaded by `logwarden seed` at the start of the run (a
 * cluster is not kept between runs). Ingest has no bare baseline here: the bar is SQLite's.
 */
import { openPostgresStore } from '../src/store/postgres/index.ts';
import type { Store, StoredPage } from '../src/store/store.ts';
import { type PostgresCluster, startPostgres } from '../test/support/postgres.ts';
import { type Dataset, type DatasetSpec, populate } from './lib/dataset.ts';
import { startLogwarden } from './lib/processes.ts';
import type { DiskFigures, StoreResults } from './lib/report.ts';
import type { Target } from './lib/target.ts';
import type { IngestStores } from './measure/ingest.ts';

export interface PostgresSectionOptions<R = StoreResults> {
  readonly spec: DatasetSpec;
  readonly signingKey: string;
  log(line: string): void;
  measure(target: Target, ingest: IngestStores, disk?: DiskFigures): Promise<R>;
  /** Arguments for node running the server under test (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

export type PostgresSection<R = StoreResults> = { results: R; dataset: Dataset } | { skipped: string };

export async function postgresSection<R = StoreResults>(o: PostgresSectionOptions<R>): Promise<PostgresSection<R>> {
  const { cluster, skip } = await startPostgres({ durable: true });
  if (!cluster) return { skipped: skip };
  try {
    const url = await cluster.createDatabase();
    o.log(`postgres: loading the data set`);
    const started = performance.now();
    const made = await populate({ databaseUrl: url }, o.spec, o.log);
    const seedSeconds = Math.round((performance.now() - started) / 1000);
    // Sealed before it is measured, as a store that has run a while would be.
    o.log('postgres: sealing the data set');
    const sealStarted = performance.now();
    const store = await openPostgresStore({ url, sealAgeMs: 0, noSealer: true });
    let jsonBytes = 0;
    try {
      await store.settle();
      jsonBytes = await wireBytes(store, made.tenantId, o.spec.logType, made.fromMs, made.toMs);
    } finally {
      await store.close();
    }
    const sealSeconds = Math.round((performance.now() - sealStarted) / 1000);
    await cluster.query(url, 'VACUUM');
    const databaseBytes = await relationBytes(cluster, url);
    const disk: DiskFigures = { databaseBytes, jsonBytes, ratio: Math.round((databaseBytes / jsonBytes) * 1000) / 1000 };
    o.log(`postgres: sealed in ${sealSeconds} s; ${(databaseBytes / 1024 ** 2).toFixed(1)} MiB of relations (${disk.ratio} of its JSON)`);
    const dataset: Dataset = { ...o.spec, ...made, seedSeconds, sealSeconds, jsonBytes };
    const server = await startLogwarden({ databaseUrl: url }, o.signingKey, 1, o.nodeArgs);
    try {
      const target: Target = {
        kind: 'postgres',
        server,
        dataset,
        signingKey: o.signingKey,
        location: { databaseUrl: url },
        openStore: () => openPostgresStore({ url, poolSize: 2 }),
      };
      const ingest: IngestStores = {
        bare: false,
        async fresh() {
          const fresh = await cluster.createDatabase();
          return { at: { databaseUrl: fresh }, dispose: () => cluster.dropDatabase(fresh) };
        },
      };
      return { results: await o.measure(target, ingest, disk), dataset };
    } finally {
      await server.stop();
    }
  } finally {
    await cluster.stop();
  }
}

/** The bytes of the data set's wire texts, read back through the store's pages (sealed or not). */
async function wireBytes(store: Store, tenantId: string, logType: string, fromMs: number, toMs: number): Promise<number> {
  const query = { tenantId, logType, fromMs, toMs };
  const first = await store.firstPage(query, 10_000);
  let bytes = 0;
  for (let page: StoredPage = first; ; ) {
    bytes += page.text.length - Math.max(0, page.count - 1); // without the commas between texts
    if (!page.next) break;
    page = await store.nextPage(query, page.next, first.watermark, 10_000);
  }
  return bytes;
}

/** Every relation of the database: tables (each partition) with their indexes and TOAST. */
async function relationBytes(cluster: PostgresCluster, url: string): Promise<number> {
  const r = await cluster.query<{ bytes: string }>(
    url,
    `SELECT sum(pg_total_relation_size(c.oid)) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r'`,
  );
  return Number(r.rows[0]!.bytes);
}
