/**
 * `logwarden tail --tenant ID` — a tenant's entries as NDJSON in the order they were stored (by
 * leaf index in its verifiable log, ../service/leaf-entries.ts), read from the store; with
 * `--follow`, new ones as they are stored; with `--state FILE`, resumably, at least once.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Command, Option } from 'commander';
import { LogTypes } from '../logs/log-types.ts';
import { LeafEntryReader } from '../service/leaf-entries.ts';
import type { Store, TenantLog } from '../store/store.ts';
import { counted, intFlag, noTenant, type StoreFlags, storeConfigFrom, storeOptions, withExistingStore, writeFailure } from './common.ts';
import { parseDuration } from './dates.ts';
import { CommandError, UsageError } from './exit-codes.ts';
import { outputProblem } from './fetch-output.ts';
import { createProgress } from './progress.ts';
import { checkTailState, readTailState, type TailState, tailStateAt, writeTailState } from './tail-state.ts';

interface TailFlags extends StoreFlags {
  tenant: string;
  type: string[];
  state?: string;
  fromLeaf?: string;
  fromStart?: boolean;
  follow?: boolean;
  poll: string;
  out?: string;
}

/** Leaves read (and lines written, then the state saved) at a time. */
const BATCH = 1000;

/** Where the lines go: each write resolves once the system holds them (synced to disk, for a file). */
interface Output {
  write(chunk: Buffer): Promise<void>;
  close(): Promise<void>;
}

function stdoutOutput(): Output {
  return {
    write: (chunk) =>
      new Promise((resolve, reject) => {
        process.stdout.write(chunk, (err) => (err ? reject(new CommandError(writeFailure('standard output', err))) : resolve()));
      }),
    close: async () => {},
  };
}

/** The start of every line: what an unfinished line of an earlier run begins with. */
const LINE_START = '{"leafIndex":';

async function fileOutput(path: string): Promise<Output> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'a+', 0o600);
    await finishLastLine(fh, path);
  } catch (err) {
    throw new CommandError(writeFailure(path, err));
  }
  return {
    write: async (chunk) => {
      try {
        // Whole (a write may take part of what it is given, on a nearly full disk or at a
        // file-size limit): the state saved after it must not name lines that never arrived.
        await fh.writeFile(chunk);
        await fh.sync();
      } catch (err) {
        throw new CommandError(writeFailure(path, err));
      }
    },
    close: () => fh.close(),
  };
}

/**
 * A run stopped while writing (killed, or the machine lost power) may leave its last line cut
 * short; lines after the saved state are sent again, and the first of them appended to that
 * piece would make one line no reader can parse, and lose it. A piece of a tail line is removed
 * (its line comes again whole); other text without a line break is ended with one.
 */
async function finishLastLine(fh: FileHandle, path: string): Promise<void> {
  const stat = await fh.stat();
  const size = stat.size;
  if (!stat.isFile() || size === 0) return;
  const chunk = Buffer.alloc(64 * 1024);
  let whole = 0;
  for (let end = size; end > 0; ) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await fh.read(chunk, 0, end - start, start);
    const i = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (i >= 0) {
      whole = start + i + 1;
      break;
    }
    end = start;
  }
  if (whole === size) return;
  const { bytesRead } = await fh.read(chunk, 0, Math.min(LINE_START.length, size - whole), whole);
  if (LINE_START.startsWith(chunk.subarray(0, bytesRead).toString('latin1'))) {
    await fh.truncate(whole);
    process.stderr.write(
      `logwarden: removed an unfinished last line (${counted(size - whole, 'byte')}) from ${path}, left by a run that stopped while writing it: its entry is sent again\n`,
    );
  } else await fh.write('\n');
  await fh.sync();
}

/** The NDJSON line of an entry: its stored text embedded as it is, never re-serialised. */
function line(leafIndex: number, logType: string, text: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`{"leafIndex":${leafIndex},"logType":${JSON.stringify(logType)},"entry":`), text, Buffer.from('}\n')]);
}

/** The --type values (repeated, or comma-separated), each a log type this deployment has. */
function wantedTypes(values: readonly string[], types: LogTypes): Set<string> | undefined {
  const names = values.flatMap((v) => v.split(',')).map((t) => t.trim());
  if (names.length === 0) return undefined;
  for (const name of names) {
    if (!types.has(name)) throw new UsageError(`--type ${JSON.stringify(name)} is not a log type (the log types: ${types.describe()})`);
  }
  return new Set(names);
}

/** The time between looks for new leaves with --follow: from 1s to 1h. */
function parsePoll(text: string): number {
  const ms = parseDuration(text, '--poll');
  if (ms < 1000 || ms > 3_600_000) throw new UsageError(`--poll must be from 1s to 1h (got ${JSON.stringify(text)})`);
  return ms;
}

export function registerTail(program: Command): void {
  storeOptions(
    program
      .command('tail')
      .description(
        "print a tenant's entries as NDJSON in the order they were stored (by leaf index in the tenant's verifiable log, across log types), " +
          'read from the store; with --follow, new ones as they are stored. Late entries (an old eventTime stored now) come when they are stored, ' +
          'so nothing is missed as a follower by time would miss it',
      )
      .requiredOption('--tenant <id>', 'the tenant whose entries to print')
      .addOption(
        new Option('--type <type>', 'only entries of this log type (repeat it, or give a comma-separated list)')
          .argParser((v: string, all: string[]) => [...all, v])
          .default([], 'every type'),
      )
      .option(
        '--state <file>',
        'keep the next leaf to send in FILE and resume from it: written (whole) after the lines before it were written. ' +
          'A state file of another tenant, or one the store does not match (another store, a store put back), is refused',
      )
      .option('--from-start', 'with no state yet, begin at the first entry stored (default: after the last, only new entries)')
      .option('--from-leaf <n>', 'with no state yet, begin at leaf N')
      .option('--follow', 'after the last entry stored, wait for new ones (until SIGINT or SIGTERM, which end it with exit 0, the state saved)')
      .option('--poll <duration>', 'with --follow, how often to look for new entries (1s to 1h)', '1s')
      .option(
        '--out <file>',
        'append the lines to FILE, synced to disk before the state is saved; a last line cut short by a run that stopped while writing it ' +
          'is removed first (it is sent again whole) (default: standard output)',
      )
      .addHelpText(
        'after',
        '\nEach line: {"leafIndex":N,"logType":"AccessLog","entry":{…}}, the entry byte for byte as GET /v2/logs serves it.\n' +
          'Leaves without an entry are skipped: an entry deleted by retention (its leaf stays in the log), a deletion receipt.\n\n' +
          'Delivery is at least once: after a crash or kill, lines sent after the last saved state are sent again.\n' +
          'Lines come in leafIndex order and leafIndex is unique per tenant, so repeats are easy to drop: keep the highest\n' +
          'leafIndex stored, and skip a line whose leafIndex is not above it.\n' +
          'Write to a file with --out, not a shell redirect: --out syncs the lines to disk before the state says they were sent.\n\n' +
          'Examples:\n' +
          '  # everything stored, then exit\n' +
          '  logwarden tail --tenant 123 --from-start\n' +
          '  # every new entry, into a file a forwarder watches; resumes where it stopped\n' +
          '  logwarden tail --tenant 123 --state /var/lib/logwarden/tail.state --follow --out /var/log/logwarden/audit.ndjson\n' +
          '  # piped into a forwarder, two types only\n' +
          '  logwarden tail --tenant 123 --state tail.state --follow --type AccessLog,UserActivityLog | vector --config vector.toml\n' +
          '  # a lost state file: remove it and go on after the last line the SIEM holds (leafIndex 41999)\n' +
          '  logwarden tail --tenant 123 --state tail.state --from-leaf 42000 --follow --out audit.ndjson\n',
      ),
  ).action(async (flags: TailFlags) => {
    const config = storeConfigFrom(flags, ['extraLogTypes']);
    const types = wantedTypes(flags.type, new LogTypes(config.extraLogTypes));
    const poll = parsePoll(flags.poll);
    const fromLeaf = intFlag('--from-leaf', flags.fromLeaf);
    if (fromLeaf !== undefined && flags.fromStart) throw new UsageError('--from-start and --from-leaf name two places to begin: give one');
    if (flags.out !== undefined) {
      const problem = outputProblem(flags.out);
      if (problem) throw new CommandError(problem);
    }
    const saved = flags.state === undefined ? undefined : await readTailState(flags.state);
    await withExistingStore(config, async (store) => {
      if (!(await store.getTenant(flags.tenant))) throw noTenant(flags.tenant, config);
      const log = await store.log?.(flags.tenant);
      if (!log) throw new CommandError('this store keeps no verifiable log to read the entries in stored order from');
      let start: number;
      if (saved) {
        await checkTailState(flags.state!, saved, flags.tenant, log);
        start = saved.nextLeaf;
      } else if (flags.fromStart) start = 0;
      else if (fromLeaf !== undefined) {
        if (fromLeaf > log.checkpoint.size) {
          throw new UsageError(`--from-leaf ${fromLeaf} is beyond tenant ${flags.tenant}'s log, which holds ${log.checkpoint.size} leaves`);
        }
        start = fromLeaf;
      } else start = log.checkpoint.size;
      const output = flags.out === undefined ? stdoutOutput() : await fileOutput(flags.out);
      try {
        await stream(store, flags, log, start, { output, types, poll, state: saved });
      } finally {
        await output.close();
      }
    });
  });
}

interface StreamOptions {
  output: Output;
  types: Set<string> | undefined;
  poll: number;
  state: TailState | undefined;
}

async function stream(store: Store, flags: TailFlags, first: TenantLog, start: number, o: StreamOptions): Promise<void> {
  const tenant = flags.tenant;
  let log = first;
  let state = o.state;
  const reader = new LeafEntryReader(store, tenant);
  const save = async (next: number) => {
    if (flags.state === undefined || state?.nextLeaf === next) return;
    state = await tailStateAt(tenant, log, next);
    await writeTailState(flags.state, state);
  };
  // A new state file says where this stream begins, even before anything is sent.
  await save(start);
  // With --follow, SIGINT and SIGTERM are its end: the batch being sent is finished first. Without
  // it, they end the process as they would (the state file holds the last whole batch sent).
  const ac = new AbortController();
  const stop = () => ac.abort();
  if (flags.follow) {
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
  // A bar while catching up, on a terminal only, and never over lines going to the same terminal.
  const drawn = !flags.follow && process.stderr.isTTY === true && !(flags.out === undefined && process.stdout.isTTY);
  const progress = createProgress('tail', 'leaves', log.checkpoint.size - start, drawn);
  try {
    for (let next = start; ; ) {
      if (ac.signal.aborted) return;
      if (next >= log.checkpoint.size) {
        if (!flags.follow) return;
        try {
          await sleep(o.poll, undefined, { signal: ac.signal });
        } catch {
          return; // stopped while waiting: a clean end of --follow
        }
        const latest = await store.log!(tenant);
        if (!latest) throw new CommandError(`tenant ${tenant} is no longer in the store`);
        if (latest.checkpoint.size === log.checkpoint.size) continue;
        if (state) await checkTailState(flags.state!, state, tenant, latest);
        else if (latest.checkpoint.size < next) {
          throw new CommandError(
            `the store now holds ${latest.checkpoint.size} leaves of tenant ${tenant}'s log, fewer than the ${next} sent: it was put back to an earlier state`,
          );
        }
        log = latest;
        continue;
      }
      const batch = await reader.read(log, next, BATCH, o.types);
      if (batch.entries.length > 0) await o.output.write(Buffer.concat(batch.entries.map((e) => line(e.leafIndex, e.logType, e.text))));
      next = batch.next;
      await save(next);
      progress.update(next - start);
    }
  } finally {
    progress.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
