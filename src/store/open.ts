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
  config: Pick<Config, 'dataDir' | 'databaseUrl'> &
    Partial<Pick<Config, 'logSigningSecret' | 'logOriginPrefix' | 'logWitnessDir' | 'statementTimeoutMs' | 'databasePoolMode' | 'databaseDirectUrl'>>,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const reporter = options.onBackgroundError && { onBackgroundError: options.onBackgroundError };
  const witness = config.logWitnessDir ? { witnessDir: config.logWitnessDir } : {};
  const log = { signingSecret: config.logSigningSecret ?? null, originPrefix: config.logOriginPrefix ?? null };
  if (config.databaseUrl) {
    const { openPostgresStore } = await import('./postgres/index.ts');
    return openPostgresStore({
      url: config.databaseUrl,
      poolMode: config.databasePoolMode ?? 'session',
      directUrl: config.databaseDirectUrl ?? null,
      log,
      ...witness,
      ...(config.statementTimeoutMs !== undefined && { statementTimeoutMs: config.statementTimeoutMs }),
      ...reporter,
    });
  }
  const { openSqliteStore } = await import('./sqlite/index.ts');
  return openSqliteStore({ dataDir: config.dataDir, log, ...witness, ...reporter });
}
