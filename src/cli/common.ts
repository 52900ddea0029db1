/** Pieces shared by the commands: store options, config from flags, output. */
import { type Command, Option } from 'commander';
import { type Config, type ConfigOverrides, loadConfig } from '../config.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { UsageError } from './exit-codes.ts';
import { explainStoreFailure } from './serve-errors.ts';

export interface StoreFlags {
  dataDir?: string;
  databaseUrl?: string;
}

/** Adds `--data-dir` and `--database-url` to a command that touches the store. */
export function storeOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--data-dir <dir>', 'directory of the embedded SQLite store [env: LOGWARDEN_DATA_DIR] (default: ./logwarden-data)'))
    .addOption(new Option('--database-url <url>', 'PostgreSQL store, postgres://user:pass@host:5432/db [env: LOGWARDEN_DATABASE_URL]'));
}

export function configFrom(flags: StoreFlags, more: ConfigOverrides = {}): Config {
  return loadConfig({ dataDir: flags.dataDir, databaseUrl: flags.databaseUrl, ...more });
}

/**
 * Opens the store, runs `fn`, and closes the store whatever happens. A store that cannot be
 * opened (the data directory is a file, not writable, not a database) is said as `serve` says it.
 */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  let store: Store;
  try {
    store = await openStore(config);
  } catch (err) {
    throw explainStoreFailure(err, config);
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** Prints rows as an aligned text table. */
export function printTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): void {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  process.stdout.write([line(headers), ...rows.map(line)].join('\n') + '\n');
}

/** Parses a non-negative integer flag, or throws a usage error naming the flag. */
export function intFlag(name: string, value: string | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(value)})`);
  }
  return Number(value);
}
