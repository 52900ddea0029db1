/**
 * The PostgreSQL column: the same measurements against a logwarden server on PostgreSQL, on a
 * throwaway cluster started as the tests start theirs (test/support/postgres.ts), with
 * PostgreSQL's durability settings on, loaded by `logwarden seed` at the start of the run (a
 * cluster is not kept between runs). Ingest has no bare baseline here: the bar is SQLite's.
 */
import { openPostgresStore } from '../src/store/postgres/index.ts';
import { startPostgres } from '../test/support/postgres.ts';
import { populate, type Dataset, type DatasetSpec } from './lib/dataset.ts';
import { startLogwarden } from './lib/processes.ts';
import type { StoreResults } from './lib/report.ts';
import type { Target } from './lib/target.ts';
import type { IngestStores } from './measure/ingest.ts';

export interface PostgresSectionOptions {
  readonly spec: DatasetSpec;
  readonly signingKey: string;
  log(line: string): void;
  measure(target: Target, ingest: IngestStores): Promise<StoreResults>;
}

export type PostgresSection = { results: StoreResults; dataset: Dataset } | { skipped: string };

export async function postgresSection(o: PostgresSectionOptions): Promise<PostgresSection> {
  const { cluster, skip } = await startPostgres({ durable: true });
  if (!cluster) return { skipped: skip };
  try {
    const url = await cluster.createDatabase();
    o.log(`postgres: loading the data set`);
    const started = performance.now();
    const made = await populate({ databaseUrl: url }, o.spec, o.log);
    const dataset: Dataset = { ...o.spec, ...made, seedSeconds: Math.round((performance.now() - started) / 1000) };
    const server = await startLogwarden({ databaseUrl: url }, o.signingKey);
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
      return { results: await o.measure(target, ingest), dataset };
    } finally {
      await server.stop();
    }
  } finally {
    await cluster.stop();
  }
}
