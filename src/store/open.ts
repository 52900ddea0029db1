import type { Config } from '../config.ts';
import type { BackgroundErrorReporter, Store } from './store.ts';

export interface OpenStoreOptions {
  /** Where the store reports a failure of its background work (default: stderr). */
  onBackgroundError?: BackgroundErrorReporter;
  /**
   * Whether the store runs its background work (sealing hot entries) in this process; default
   * true. A command that writes no entries says false: on PostgreSQL the sealer's first round
   * begins at once and closing waits for it, which over years of months costs a brief command
   * a second or more; and a reader that runs for long (`tail --follow`) has no sealing to do.
   */
  background?: boolean;
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
      noSealer: options.background === false,
    });
  }
  const { openSqliteStore } = await import('./sqlite/index.ts');
  return openSqliteStore({ dataDir: config.dataDir, log, ...witness, ...reporter, noSealer: options.background === false });
}
