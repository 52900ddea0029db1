import type { Config } from '../config.ts';
import type { BackgroundErrorReporter, Store } from './store.ts';

export interface OpenStoreOptions {
  /** Where the store reports a failure of its background work (default: stderr). */
  onBackgroundError?: BackgroundErrorReporter;
}

/**
 * Opens (and migrates) the configured store. The PostgreSQL store is loaded only when a
 * database URL is given, so the embedded default never loads `pg`.
 */
export async function openStore(
  config: Pick<Config, 'dataDir' | 'databaseUrl'> & Partial<Pick<Config, 'logSigningSecret' | 'logOriginPrefix'>>,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const reporter = options.onBackgroundError && { onBackgroundError: options.onBackgroundError };
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore({ url: config.databaseUrl, ...reporter });
  }
  const { openSqliteStore } = await import('./sqlite/index.ts');
  const log = { signingSecret: config.logSigningSecret ?? null, originPrefix: config.logOriginPrefix ?? null };
  return openSqliteStore({ dataDir: config.dataDir, log, ...reporter });
}
