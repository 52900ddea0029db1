/** `logwarden copy` — moves a whole store into an empty other one (SQLite or PostgreSQL, into PostgreSQL or SQLite). */
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { type CopyExpectation, CopyMismatchError, checkCopy, copyStore, expectedEntries } from '../store/store-copy.ts';
import { SequenceClashError, StoreInUseError, TargetNotEmptyError } from '../store/store-transfer.ts';
import { counted, type StoreConfig, type StoreFlags, storeConfigFrom, storeOptions, storePlace, warnOfLogs, withExistingStore } from './common.ts';
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
store. The source is the store --data-dir or --database-url names (as for every command); the
target is --to-database-url (PostgreSQL) or --to-data-dir (the embedded SQLite store). Use it
to move from SQLite to PostgreSQL, from one PostgreSQL database to another, back from
PostgreSQL to SQLite, or to another data directory.

Sequences (the append order, which clients' cursors carry) are kept as they are. PostgreSQL
numbers each tenant's entries apart, SQLite all of a store's in one series: a PostgreSQL store
goes into SQLite only when no two of its tenants have entries of the same sequence (one tenant
holding entries, or a store that came from SQLite); otherwise the copy fails saying so, leaving
the target empty.

Before:
  1. Stop every server and command using the source store. The copy refuses to start while
     any other process has it open (a server left running would acknowledge entries the copy
     has not got). While it runs, nothing can write to the source: SQLite is held exclusively
     (a server started meanwhile cannot open it); PostgreSQL is read as one snapshot with every
     table writes change locked (reads go on, writes wait), and a logwarden process connecting
     meanwhile, or a write left waiting, fails the copy at its end: the target is then not to
     be used (empty it and run the copy again). Give a PostgreSQL source's --database-url as
     one reaching PostgreSQL itself, not a pooler such as PgBouncer.
  2. Create the target: an empty PostgreSQL database, or a data directory that holds no store.
     A target holding anything (tenants, entries, checkpoints) is refused.
  3. Give this command the same LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX as
     the servers, if they set them (a store that keeps its own signing secret has it copied).

The copy is one transaction on the target: interrupted (Ctrl-C, a lost connection), the target
is left empty and the command can simply be run again. At the end it opens the target afresh
and checks it against what it read, per tenant: record, keys, retention, holds, entries per log
type, tree size, root and last signed checkpoint (verified with the tenant's key).

After:
  1. Start the servers on the target (LOGWARDEN_DATABASE_URL=… or LOGWARDEN_DATA_DIR=…), with
     the same LOGWARDEN_LOG_SIGNING_SECRET and LOGWARDEN_LOG_ORIGIN_PREFIX as before, if set,
     and with several servers, Redis for the rate limits (LOGWARDEN_REDIS_URL).
  2. To keep the SQLite witness's protection against a database put back, give the servers
     LOGWARDEN_LOG_WITNESS_DIR and copy the old data directory's log-witness.db there.
  3. Keep the old store as a backup, but start no server on it again: what it acknowledged
     would not be in the new store.
`;

export function registerCopy(program: Command): void {
  storeOptions(
    program
      .command('copy')
      .description(
        'copy a whole store (SQLite or PostgreSQL) into an empty other one (PostgreSQL or SQLite): the same tenants, keys, entries and verifiable logs',
      )
      .addOption(new Option('--to-database-url <url>', 'the target: an empty PostgreSQL database, postgres://user:pass@host:5432/db'))
      .addOption(new Option('--to-data-dir <dir>', 'the target: a data directory holding no store (the embedded SQLite store)'))
      .addHelpText(
        'after',
        `${HELP}
Examples:
  logwarden copy --data-dir ./logwarden-data --to-database-url postgres://logwarden@db.internal:5432/logwarden
  logwarden copy --data-dir ./logwarden-data --to-data-dir /srv/logwarden-data
  logwarden copy --database-url postgres://logwarden@db.internal:5432/logwarden --to-database-url postgres://logwarden@db2.internal:5432/logwarden
  logwarden copy --database-url postgres://logwarden@db.internal:5432/logwarden --to-data-dir /srv/logwarden-data
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
      const target = await open(targetConfig);
      let expectation: CopyExpectation;
      const progress = createProgress('copying', 'entries');
      try {
        expectation = await copyStore(source, target, ({ entries, total }) => progress.update(entries, total));
      } catch (err) {
        if (err instanceof TargetNotEmptyError) throw new CommandError(`${targetPlace}: ${err.message}`);
        if (err instanceof SequenceClashError) throw new CommandError(`${err.message} (nothing was written to ${targetPlace})`);
        if (err instanceof StoreInUseError && err.meanwhile) {
          throw new CommandError(
            `${sourcePlace}: ${err.message}. ${targetPlace} may lack what it wrote: do not use ${targetPlace}: empty it and run the copy again`,
          );
        }
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
    warnOfLogs(await store.checkLogs?.());
    return await fn(store);
  } finally {
    await store.close();
  }
}
