/** `logwarden ingest FILE|- --tenant ID` — load NDJSON entries straight into the store. */
import { accessSync, constants, createReadStream, statSync } from 'node:fs';
import type { Command } from 'commander';
import { LogwardenError } from '../errors.ts';
import { LogTypes } from '../logs/log-types.ts';
import { LineTooLongError } from '../logs/ndjson-lines.ts';
import { ingestNdjson, NoEntriesError } from '../service/ingest-logs.ts';
import { counted, fileProblem, noTenant, printJson, type StoreFlags, storeConfigFrom, storeOptions, withExistingStore } from './common.ts';
import { CommandError } from './exit-codes.ts';
import { createProgress } from './progress.ts';

async function* counting(source: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    onBytes(n);
    yield chunk;
  }
}

/** The input file's size, or a failure saying in words why it cannot be read (not a raw ENOENT or EISDIR). */
function inputSize(file: string): number {
  try {
    const st = statSync(file);
    if (st.isDirectory()) throw new CommandError(`cannot read ${file}: it is a directory; give an NDJSON file, or - for standard input`);
    accessSync(file, constants.R_OK);
    return st.size;
  } catch (err) {
    if (err instanceof CommandError) throw err;
    throw new CommandError(`cannot read ${file}: ${fileProblem(err, true)}`);
  }
}

export function registerIngest(program: Command): void {
  storeOptions(
    program
      .command('ingest')
      .description(
        'load NDJSON log entries (one per line, each with its logType) straight into the store. ' +
          'All or nothing: a bad line stores nothing and names the line. Idempotent: entries already stored are counted as duplicates.',
      )
      .argument('<file>', 'NDJSON file, or - for standard input')
      .requiredOption('--tenant <id>', 'the tenant the entries belong to')
      .option('--json', 'print {"accepted", "duplicates", "lines"} as JSON')
      .addHelpText(
        'after',
        '\nExamples:\n  logwarden ingest events.ndjson --tenant 123456789012345678\n  zcat events.ndjson.gz | logwarden ingest - --tenant 123456789012345678\n\n' +
          'A line looks like:\n  {"logType":"AccessLog","userId":"5120938476102938475","eventTime":"2026-03-04T09:15:02.117Z","logRecord":{"method":"GET"}}\n',
      ),
  ).action(async (file: string, opts: StoreFlags & { tenant: string; json?: boolean }) => {
    const config = storeConfigFrom(opts, ['extraLogTypes', 'ndjsonMemoryBytes', 'maxNdjsonLineBytes', 'maxJsonBodyBytes']);
    const types = new LogTypes(config.extraLogTypes);
    const fromStdin = file === '-';
    // Before the store is opened: a wrong path creates no data directory.
    const size = fromStdin ? 0 : inputSize(file);
    await withExistingStore(
      config,
      async (store) => {
        if (!(await store.getTenant(opts.tenant))) throw noTenant(opts.tenant, config);
        const input = fromStdin ? process.stdin : createReadStream(file);
        const progress = createProgress('reading', 'bytes', size);
        const where = fromStdin ? 'standard input' : file;
        try {
          const source = counting(input as AsyncIterable<Buffer>, (n) => progress.update(n, fromStdin ? n : undefined));
          const result = await ingestNdjson(store, opts.tenant, source, {
            types,
            memoryBytes: config.ndjsonMemoryBytes,
            // A line holds what one entry may hold in any form the server takes: an entry stored from
            // a JSON body (up to its limit) and exported by `fetch` loads back.
            maxLineBytes: Math.max(config.maxNdjsonLineBytes, config.maxJsonBodyBytes),
            beforeAppend: (count) => {
              progress.stop();
              if (count > 100_000 && process.stderr.isTTY) process.stderr.write(`committing ${count} entries…\n`);
            },
          });
          if (opts.json) printJson(result);
          else
            process.stdout.write(
              `stored ${counted(result.accepted, 'entry', 'entries')}, ${counted(result.duplicates, 'duplicate')} skipped (${counted(result.lines, 'line')})\n`,
            );
        } catch (err) {
          progress.stop();
          // As the server does: an empty input is most often a wrong path or a failed export.
          if (err instanceof NoEntriesError) throw new CommandError(`no entries in ${where} (it is empty or blank); nothing was stored`);
          if (err instanceof LineTooLongError) throw new CommandError(`${err.message}; nothing was stored`);
          if (err instanceof LogwardenError) throw new CommandError(`${err.messages.join('; ')}; nothing was stored`);
          throw err;
        }
      },
      { writesEntries: true },
    );
  });
}
