/** Pieces shared by the commands: store options, config from flags, output. */
import cluster from 'node:cluster';
import { existsSync, lstatSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { type Config, type ConfigOverrides, loadConfig, loadConfigFor, storeChoiceWarning } from '../config.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { DATABASE_FILE, explainStoreFailure, fileInTheWay } from './serve-errors.ts';

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

/** The settings opening the store reads (openStore): every command that touches the store uses them. */
export const STORE_SETTINGS = [
  'dataDir',
  'databaseUrl',
  'databasePoolMode',
  'databaseDirectUrl',
  'logSigningSecret',
  'logOriginPrefix',
  'logWitnessDir',
  'statementTimeoutMs',
] as const satisfies readonly (keyof Config)[];

export type StoreConfig = Pick<Config, (typeof STORE_SETTINGS)[number]>;

/** `serve`'s configuration: every setting, each bad one refused in one error. */
export function configFrom(flags: StoreFlags, more: ConfigOverrides = {}): Config {
  refuseTwoStores(flags);
  const config = loadConfig({ dataDir: flags.dataDir, databaseUrl: flags.databaseUrl, ...more });
  warnOfStoreChoice(flags);
  return config;
}

/**
 * The configuration of a command that touches the store: the store's settings and `uses`, the
 * others it reads. A bad setting among them is refused; a bad one it does not use (a server's
 * port or rate limit, for `keys list`) is only warned of.
 */
export function storeConfigFrom<K extends keyof Config = never>(flags: StoreFlags, uses: readonly K[] = []): StoreConfig & Pick<Config, K> {
  refuseTwoStores(flags);
  const config = settingsFor([...STORE_SETTINGS, ...uses], { dataDir: flags.dataDir, databaseUrl: flags.databaseUrl });
  warnOfStoreChoice(flags);
  return config;
}

/** The settings `uses` of a command: a bad one is refused; a bad setting the command does not use is said on stderr as a warning. */
export function settingsFor<K extends keyof Config>(uses: readonly K[], overrides: ConfigOverrides = {}): Pick<Config, K> {
  const { config, ignored } = loadConfigFor(uses, overrides);
  for (const problem of ignored) {
    process.stderr.write(`logwarden: warning: ${problem} (this command does not use it; \`logwarden serve\` refuses to start with it)\n`);
  }
  return config;
}

function refuseTwoStores(flags: StoreFlags): void {
  if (flags.dataDir !== undefined && flags.databaseUrl !== undefined) {
    throw new UsageError('--data-dir and --database-url name two stores: give one (the embedded SQLite store, or PostgreSQL)');
  }
}

/** Every command that touches the store says which one the environment chose (serve's workers leave it to their primary). */
function warnOfStoreChoice(flags: StoreFlags): void {
  const twoStores = cluster.isWorker ? undefined : storeChoiceWarning(flags);
  if (twoStores !== undefined) process.stderr.write(`logwarden: warning: ${twoStores}\n`);
}

/** Where the configured store is, as a message names it: the data directory's full path, or the database's host and name (never its password). */
export function storePlace(config: Pick<Config, 'dataDir' | 'databaseUrl'>): string {
  if (!config.databaseUrl) return `the store at ${resolve(config.dataDir)}`;
  try {
    const u = new URL(config.databaseUrl);
    return `the PostgreSQL store ${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return 'the PostgreSQL store of the database URL';
  }
}

/** The failure of a command naming a tenant the store does not have: says which store was read. */
export function noTenant(id: string, config: Pick<Config, 'dataDir' | 'databaseUrl'>, hint = ''): CommandError {
  return new CommandError(`no tenant ${id} in ${storePlace(config)}${hint}`);
}

/** How a command uses the store it opens. */
export interface StoreOpening {
  /**
   * The command writes entries (`seed`, `ingest`, `sync`): the store's background work (sealing)
   * runs in it, as in a server, so that a long run leaves no backlog. Other commands open the
   * store without it and close at once.
   */
  writesEntries?: boolean;
}

/**
 * `withStore` for a command that reads or changes what a store already holds (its tenants,
 * keys, holds): an embedded store that does not exist yet is not made, so a mistyped
 * `--data-dir`, or a command run from another directory, says so instead of answering from a
 * new empty store left behind.
 */
export async function withExistingStore<T>(config: StoreConfig, fn: (store: Store) => Promise<T>, opening: StoreOpening = {}): Promise<T> {
  // A file where the directory or one of its parents should be is for opening the store to explain.
  if (!config.databaseUrl && !existsSync(join(config.dataDir, DATABASE_FILE)) && fileInTheWay(resolve(config.dataDir)) === undefined) {
    throw noStore(config.dataDir);
  }
  return withStore(config, fn, opening);
}

/** The failure of a command given a data directory that holds no store. */
export function noStore(dataDir: string): CommandError {
  return new CommandError(
    `no store at ${resolve(dataDir)} (it holds no ${DATABASE_FILE}): give the --data-dir (or LOGWARDEN_DATA_DIR) of your server's store; ` +
      '`logwarden serve` makes one on its first start',
  );
}

/** What `Store.checkLogs` found that does not stop the command, on stderr. */
export function warnOfLogs(notes: readonly string[] | undefined): void {
  for (const note of notes ?? []) process.stderr.write(`logwarden: warning: ${note}\n`);
}

/**
 * Opens the store, runs `fn`, and closes the store whatever happens. A store that cannot be
 * opened (the data directory is a file, not writable, not a database) is said as `serve` says
 * it. An embedded store that does not exist yet is made (see `withExistingStore`). Before `fn`,
 * the logs are checked as `serve` checks them at start (`Store.checkLogs`): a signing secret
 * other than the one the store's checkpoints were signed with, or a log put back to an earlier
 * state than was signed, fails the command, so that it signs nothing (a tenant it creates would
 * otherwise get a first checkpoint under a key the server does not sign with).
 */
export async function withStore<T>(config: StoreConfig, fn: (store: Store) => Promise<T>, opening: StoreOpening = {}): Promise<T> {
  let store: Store;
  try {
    store = await openStore(config, { background: opening.writesEntries === true });
  } catch (err) {
    throw explainStoreFailure(err, config);
  }
  try {
    warnOfLogs(await store.checkLogs?.());
    return await fn(store);
  } finally {
    await store.close();
  }
}

export const CANNOT_WRITE: Readonly<Record<string, string>> = {
  ENOENT: 'no such folder',
  ENOTDIR: 'a part of the path is a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  EISDIR: 'it is a folder',
  EEXIST: 'a file is in the way of a folder',
  ELOOP: 'too many symbolic links',
};

/** A file system failure in words (`no such file`, `it is a folder`), not the system's `ENOENT: …, open '…'`. */
export function fileProblem(err: unknown, reading = false): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (reading && code === 'ENOENT') return 'no such file';
  return CANNOT_WRITE[code] ?? (err as Error).message;
}

/** Says in words why writing `path` failed with `err` (a failed open or write). */
export function writeFailure(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return `cannot write to ${path} (${CANNOT_WRITE[code] ?? (err as Error).message})`;
}

/**
 * Writes `text` to `path` whole or not at all: into a file beside it, then renamed over it, so
 * a failed write (a full disk) or a crash leaves the earlier file (or none), never part of one.
 * Throws the system's error after removing what it wrote. A symbolic link is followed (the file
 * it leads to is replaced, the link stays), and what is not a regular file (a pipe, a device
 * such as /dev/stdout) is written to as it is: a rename would put a file in its place.
 */
export function writeWhole(path: string, text: string, mode = 0o600): void {
  let target = path;
  try {
    if (!statSync(path).isFile()) {
      writeFileSync(path, text);
      return;
    }
    target = realpathSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    // A link to a file still to be made: the file is made where it leads.
    if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) target = resolve(dirname(path), readlinkSync(path));
  }
  const part = `${target}.${process.pid}.part`;
  try {
    writeFileSync(part, text, { mode });
    renameSync(part, target);
  } catch (err) {
    rmSync(part, { force: true });
    throw err;
  }
}

/**
 * Writes to standard output and resolves once the system took the text; a failure (a full
 * disk, say) rejects with a CommandError naming it, for a command whose output must not be lost.
 */
export function writeOut(text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (err) => (err ? reject(new CommandError(writeFailure('standard output', err))) : resolve()));
  });
}

/** A name or reason for people, as given on the command line, refused if it holds control characters (a line break, a terminal escape) that would garble tables and the admin trail's readers. */
export function plainTextFlag(flag: string, value: string): string {
  if (/[\u0000-\u001f\u007f-\u009f]/.test(value)) {
    throw new UsageError(`${flag} holds a control character (a line break, a tab or a terminal escape): give plain text on one line`);
  }
  return value;
}

/** A value as the commands print JSON: indented, one document, a line break after. */
export function jsonOutput(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function printJson(value: unknown): void {
  process.stdout.write(jsonOutput(value));
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

/** "1 entry", "2,000 entries": a count and its noun, singular or plural. */
export function counted(n: number, singular: string, plural = `${singular}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? singular : plural}`;
}
