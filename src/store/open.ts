import type { Config } from '../config.ts';
import type { Store } from './store.ts';

/**
 * Opens (and migrates) the configured store. The PostgreSQL store is loaded only when a
 * database URL is given, so the embedded default never loads `pg`.
 */
export async function openStore(config: Pick<Config, 'dataDir' | 'databaseUrl'>): Promise<Store> {
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore({ url: config.databaseUrl });
  }
  const { openSqliteStore } = await import('./sqlite/index.ts');
  return openSqliteStore({ dataDir: config.dataDir });
}
