/**
 * The store kinds HTTP-level tests run against: SQLite always, PostgreSQL when a throwaway
 * cluster can be started here (otherwise a skip with its reason, or a failure under
 * LOGWARDEN_REQUIRE_SERVICES=1). One cluster per test file, a fresh database per app.
 */
import { after } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { type StoreFactory, sqliteFactory } from './app.ts';
import { startPostgres } from './postgres.ts';

export interface StoreKind {
  readonly name: string;
  readonly factory: StoreFactory;
  /** Why this kind is skipped here, if it is. */
  readonly skip?: string;
}

let kinds: Promise<StoreKind[]> | undefined;

async function start(): Promise<StoreKind[]> {
  const { cluster, skip } = await startPostgres();
  if (cluster) after(() => cluster.stop());
  const postgres: StoreFactory = {
    name: 'postgres',
    async create() {
      const url = await cluster!.createDatabase();
      const store = await openPostgresStore({ url, poolSize: 4 });
      return {
        store,
        async dispose() {
          await store.close();
          await cluster!.dropDatabase(url);
        },
      };
    },
  };
  return [
    { name: 'sqlite', factory: sqliteFactory },
    { name: 'postgres', factory: postgres, ...(skip !== undefined && { skip }) },
  ];
}

/** Call at the top level of a test file: `for (const kind of await storeKinds()) describe(…)`. */
export function storeKinds(): Promise<StoreKind[]> {
  kinds ??= start();
  return kinds;
}

/** How many AccessLog entries of `tenantId` the SQLite store in `dataDir` holds (opened after its server stopped). */
export async function storedAccessLogs(dataDir: string, tenantId: string): Promise<number> {
  const store = openSqliteStore({ dataDir });
  try {
    return (await store.firstPage({ tenantId, logType: 'AccessLog', fromMs: 0, toMs: null }, 10)).total;
  } finally {
    await store.close();
  }
}
