/**
 * The store kinds HTTP-level tests run against: SQLite always, PostgreSQL when a throwaway
 * cluster can be started here (otherwise a skip with its reason, or a failure under
 * LOGWARDEN_REQUIRE_SERVICES=1). One cluster per test file, a fresh database per app.
 */
import { after } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { type StoreFactory, sqliteFactory, sqliteSealingFactory } from './app.ts';
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
  const postgresFactory = (name: string, options: { sealAgeMs?: number; sealIntervalMs?: number } = {}): StoreFactory => ({
    name,
    async create() {
      const url = await cluster!.createDatabase();
      const store = await openPostgresStore({ url, poolSize: 4, ...options });
      return {
        store,
        async dispose() {
          await store.close();
          await cluster!.dropDatabase(url);
        },
      };
    },
  });
  postgresSealing = {
    name: 'postgres, sealing at once',
    factory: postgresFactory('postgres, sealing at once', { sealAgeMs: 0, sealIntervalMs: 10 }),
    ...(skip !== undefined && { skip }),
  };
  return [
    { name: 'sqlite', factory: sqliteFactory },
    { name: 'postgres', factory: postgresFactory('postgres'), ...(skip !== undefined && { skip }) },
  ];
}

let postgresSealing: StoreKind | undefined;

/** Call at the top level of a test file: `for (const kind of await storeKinds()) describe(…)`. */
export function storeKinds(): Promise<StoreKind[]> {
  kinds ??= start();
  return kinds;
}

/**
 * Both stores sealing whatever they store at once (seal age 0), beside storeKinds' own: reads,
 * and the idempotency of appends, then meet sealed segments as much as hot rows.
 */
export async function sealingStoreKinds(): Promise<StoreKind[]> {
  await storeKinds();
  return [{ name: sqliteSealingFactory.name, factory: sqliteSealingFactory }, postgresSealing!];
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
