/** `logwarden copy` — moves a whole store into an empty other one (SQLite to PostgreSQL, or to another data directory). */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { type CopyExpectation, CopyMismatchError, checkCopy, copyStore, expectedEntries } from '../store/store-copy.ts';
import { StoreInUseError, TargetNotEmptyError } from '../store/store-transfer.ts';
import { counted, type StoreConfig, type StoreFlags, storeConfigFrom, storeOptions, storePlace, withExistingStore } from './common.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { createProgress } from './progress.ts';
import { explainStoreFailure, type StoreOptionNames } from './serve-errors.ts';

interface CopyFlags extends StoreFlags {
  toDataDir?: string;
  toDatabaseUrl?: string;
}

const HELP = `
Copies everything a store keeps into an EMPTY other store, as it is: tenants (same ids), access
keys (every client keeps its key and secret), retention settings, legal holds, the admin trail,
every entry with its text and place in the append order, and each tenant's verifiable log (the
same tree, the leaves of purged entries included, every signed checkpoint, the store's signing
secret and origin), so that clients, cursors and auditors' verify state go on against the new
store. Use it to move from the embedded SQLite store to PostgreSQL (--to-database-url), or to
another data directory (--to-data-dir). A PostgreSQL store cannot be a source yet.

Before:
  1. Stop every server and command using the source store. The copy refuses to start while
     any process has the SQLite store open (a server left running would acknowledge entries
     the copy has not got), and holds it exclusively while it runs: a server started meanwhile
     cannot open it.
  2. Create the target: an empty PostgreSQL database, or a data directory that holds no store.
     A target holding anything (tenants, entries, checkpoints) is refused.
  3. Give this command the same LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX as
     the servers, if they set them (a store that keeps its own signing secret has it copied).

The copy is one transaction on the target: interrupted (Ctrl-C, a lost connection), the target
is left empty and the command can simply be run again. At the end it opens the target afresh
and checks it against what it read, per tenant: record, keys, retention, holds, entries per log
type, tree size, root and last signed checkpoint (verified with the tenant's key).

After:
  1. Start the servers on the target (LOGWARDEN_DATABASE_URL=…), with the same
     LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX as before, if set, and with
     several servers, Redis for the rate limits (LOGWARDEN_REDIS_URL).
  2. To keep the SQLite witness's protection against a database put back, give the servers
     LOGWARDEN_LOG_WITNESS_DIR and copy the old data directory's log-witness.db there.
  3. Keep the old data directory as a backup, but start no server on it again: what it
     acknowledged would not be in the new store.
`;

export function registerCopy(program: Command): void {
  storeOptions(
    program
      .command('copy')
      .description('copy a whole store (e.g. SQLite) into an empty other one (e.g. PostgreSQL): the same tenants, keys, entries and verifiable logs')
      .addOption(new Option('--to-database-url <url>', 'the target: an empty PostgreSQL database, postgres://user:pass@host:5432/db'))
      .addOption(new Option('--to-data-dir <dir>', 'the target: a data directory holding no store (the embedded SQLite store)'))
      .addHelpText(
        'after',
        `${HELP}
Examples:
  logwarden copy --data-dir ./logwarden-data --to-database-url postgres://logwarden@db.internal:5432/logwarden
  logwarden copy --data-dir ./logwarden-data --to-data-dir /srv/logwarden-data
`,
      ),
  ).action(async (opts: CopyFlags) => {
    if ((opts.toDataDir === undefined) === (opts.toDatabaseUrl === undefined)) {
      throw new UsageError('give the target store: --to-database-url (PostgreSQL) or --to-data-dir (SQLite), one of them');
    }
    const sourceConfig = storeConfigFrom(opts);
    const targetConfig: StoreConfig = {
      ...sourceConfig,
      dataDir: resolve(opts.toDataDir ?? sourceConfig.dataDir),
      databaseUrl: opts.toDatabaseUrl ?? null,
      databasePoolMode: 'session',
      databaseDirectUrl: null,
    };
    const sourcePlace = storePlace(sourceConfig);
    const targetPlace = storePlace(targetConfig);
    if (sourcePlace === targetPlace) throw new UsageError(`the source and the target are one store (${sourcePlace})`);
    await withExistingStore(sourceConfig, async (source) => {
      if (!source.exportAll) {
        throw new CommandError(
          `copying out of a ${source.kind} store is not supported yet: the source must be an embedded SQLite store (--data-dir)`,
        );
      }
      const target = await open(targetConfig);
      let expectation: CopyExpectation;
      const progress = createProgress('copying', 'entries');
      try {
        expectation = await copyStore(source, target, ({ entries, total }) => progress.update(entries, total));
      } catch (err) {
        if (err instanceof TargetNotEmptyError) throw new CommandError(`${targetPlace}: ${err.message}`);
        if (err instanceof StoreInUseError) throw new CommandError(`${sourcePlace}: ${err.message}`);
        throw err;
      } finally {
        progress.stop();
        await target.close();
      }
      process.stderr.write(`copied ${counted(expectedEntries(expectation), 'entry', 'entries')}; checking ${targetPlace}\n`);
      // Opened afresh: its log keys come from the secrets just copied.
      const summary = await withOpened(targetConfig, async (copy) => {
        try {
          return await checkCopy(copy, expectation);
        } catch (err) {
          if (err instanceof CopyMismatchError) {
            throw new CommandError(`${err.message}. Do not use ${targetPlace}: empty it and run the copy again`);
          }
          throw err;
        }
      });
      const lines = [
        `copied ${sourcePlace} into ${targetPlace} and checked it:`,
        ...summary.tenants.map(
          (t) =>
            `  tenant ${t.tenantId} (${t.name}): ${counted(t.entries, 'entry', 'entries')}, ${counted(t.accessKeys, 'access key')}, ` +
            `${counted(t.holds, 'hold')}, tree size ${t.treeSize} root ${t.root}: equal, last checkpoint verifies`,
        ),
        `${counted(summary.tenants.length, 'tenant')}, ${counted(summary.entries, 'entry', 'entries')}, ${counted(summary.secrets, 'secret')}.`,
        `Next: start the servers on ${targetPlace} with the same LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX (if set); keep ${sourcePlace} as a backup.`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  });
}

/** The target's options, as a failure to open it names them (not the source's --database-url or --data-dir). */
const TARGET_OPTIONS: StoreOptionNames = { dataDir: '--to-data-dir', databaseUrl: '--to-database-url' };

async function open(config: StoreConfig): Promise<Store> {
  try {
    return await openStore(config);
  } catch (err) {
    throw explainStoreFailure(err, config, TARGET_OPTIONS);
  }
}

async function withOpened<T>(config: StoreConfig, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await open(config);
  try {
    await store.checkLogs?.();
    return await fn(store);
  } finally {
    await store.close();
  }
}
