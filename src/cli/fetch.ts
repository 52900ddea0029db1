/**
 * `logwarden fetch` — pages through one query of any Gong-compatible `/v2/logs` and writes
 * the entries as NDJSON, JSON or CSV, streaming (or, from a logwarden server, as an evidence
 * bundle: fetch-bundle.ts). Ctrl-C stops at a page boundary, closes the
 * output on a whole record and prints how to continue.
 */
import { existsSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { isLogsApiError, type LogsPage, type TextPage } from '../client/index.ts';
import { counted, settingsFor } from './common.ts';
import { checkLater, parseWhen, WHEN_HELP, type When } from './dates.ts';
import { CommandError, InterruptedError, UsageError } from './exit-codes.ts';
import { fetchBundle } from './fetch-bundle.ts';
import { CsvValueError } from './fetch-formats.ts';
import {
  appendProblem,
  CSV_ID_STYLES,
  type CsvIdStyle,
  FORMATS,
  type Format,
  formatter,
  isNonEmptyFile,
  outputProblem,
  RecordBytes,
  Sink,
} from './fetch-output.ts';
import { createProgress } from './progress.ts';
import { clientFrom, pageSizeFor, type RemoteFlags, remoteOptions } from './remote.ts';

interface FetchFlags extends RemoteFlags {
  type: string;
  from: string;
  to?: string;
  cursor?: string;
  format: Format | 'bundle';
  tenant?: string;
  logKey?: string;
  csvIds: CsvIdStyle;
  out?: string;
  append?: boolean;
}

/** How far an export got, to tell the user how to continue it. */
interface Progress {
  written: number;
  /** The cursor of the next page, when one was announced. */
  cursor: string | undefined;
  lastEventTime: string | undefined;
  /** Entries written that share `lastEventTime` (a restart from it repeats them). */
  atLastTime: number;
}

function shellQuote(s: string): string {
  return /^[\w./:=@+,-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** `cursorUsable` false: the export stopped on an answer to the cursor itself (refused, expired, cut short), so it is not offered again. */
function resumeHint(flags: FetchFlags, from: When, to: When | undefined, done: Progress, cursorUsable: boolean): string {
  const base = ['logwarden', 'fetch', '--url', flags.url, '--type', flags.type];
  const tail = [
    ...(to ? ['--to', to.iso] : []),
    '--format',
    flags.format,
    ...(flags.format === 'csv' && flags.csvIds !== 'text' ? ['--csv-ids', flags.csvIds] : []),
    ...(flags.pageSize ? ['--page-size', flags.pageSize] : []),
    ...(flags.rate !== undefined && flags.rate !== '3' ? ['--rate', flags.rate] : []),
    ...(flags.tenant !== undefined ? ['--tenant', flags.tenant] : []),
  ];
  // The rest goes after what was written: appended to the same file where the format allows
  // it (NDJSON, CSV), into a second file otherwise (a JSON document cannot be continued).
  const appendable = flags.out !== undefined && flags.out !== '-' && flags.format !== 'json';
  const out = appendable ? ['--out', flags.out!, '--append'] : ['--out', flags.format === 'json' ? 'REST-OF-EXPORT.json' : 'REST-OF-EXPORT'];
  const command = (words: string[]) => '  ' + words.map(shellQuote).join(' ');
  const lines: string[] = [];
  if (done.cursor && cursorUsable) {
    lines.push(
      'To continue exactly where it stopped (while the cursor is valid; logwarden keeps cursors 24 hours):',
      command([...base, '--from', from.iso, ...tail, '--cursor', done.cursor, ...out]),
    );
  }
  if (done.lastEventTime) {
    lines.push(
      `${done.cursor && cursorUsable ? 'Or start' : 'To continue, start'} again from the last instant written (its ${done.atLastTime} entr${done.atLastTime === 1 ? 'y comes' : 'ies come'} again):`,
      command([...base, '--from', done.lastEventTime, ...tail, ...out]),
    );
  } else {
    lines.push('Nothing was written; run the same command again.');
  }
  return lines.join('\n') + '\n';
}

/**
 * The server refuses a cursor sent with parameters other than its query's, and says to send the
 * cursor alone; fetch always sends --type and --from, so says what to do with fetch instead.
 */
function cursorMismatch(err: unknown, flags: FetchFlags): CommandError | undefined {
  if (flags.cursor === undefined || !isLogsApiError(err, 'bad_request')) return undefined;
  if (!err.messages.some((m) => m.startsWith('cursor: does not match the request'))) return undefined;
  return new CommandError(
    `${err.message}\n` +
      'This --cursor belongs to another query. fetch sends the query (--type, --from, --to) with a cursor: give them, and --page-size if any, ' +
      'exactly as in the command printed with the cursor (copy it whole), or start again without --cursor.',
  );
}

/** SIGINT/SIGTERM abort the export; a second one exits at once. */
function interruptions(): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  const onSignal = () => {
    if (ac.signal.aborted) process.exit(130);
    ac.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function run(flags: FetchFlags, clock: () => number): Promise<void> {
  const now = clock();
  const from = parseWhen(flags.from, '--from', now);
  const to = flags.to === undefined ? undefined : parseWhen(flags.to, '--to', now);
  if (to) checkLater(from, to);
  if (flags.append && !flags.out) throw new UsageError('--append needs --out (the file to add to)');
  if (flags.append && flags.format === 'json') throw new UsageError('--append works with --format ndjson or csv, not json (one document per file)');
  const limit = pageSizeFor(flags, flags.url);
  if (flags.format === 'bundle') {
    if (flags.append || flags.cursor) throw new UsageError('--format bundle holds a whole window: no --append or --cursor');
    const stop = interruptions();
    try {
      return await fetchBundle(flags, from, to, limit, settingsFor(['accessKey', 'secret']), stop.signal);
    } finally {
      stop.dispose();
    }
  }
  if (flags.tenant !== undefined || flags.logKey !== undefined) throw new UsageError('--tenant and --log-key go with --format bundle');
  const format: Format = flags.format;
  const client = clientFrom(flags, settingsFor(['accessKey', 'secret']));

  const toStdout = flags.out === undefined || flags.out === '-';
  const problem = toStdout ? undefined : outputProblem(flags.out!);
  if (problem) throw new CommandError(problem);
  // Records of another format (or CSV id style) added to a file would make it unreadable as either.
  const mixed = flags.append && !toStdout && format !== 'json' ? appendProblem(flags.out!, format, flags.csvIds) : undefined;
  if (mixed) throw new UsageError(mixed);
  const sink = toStdout ? Sink.stdout() : Sink.file(flags.out!, flags.append === true);
  const out = formatter(format, flags.type, flags.append === true && isNonEmptyFile(flags.out!), flags.csvIds);
  const records = new RecordBytes(out);
  // A bar on a terminal only, and never over data going to the same terminal.
  const bar = createProgress(flags.type, 'entries', 0, process.stderr.isTTY === true && !(toStdout && process.stdout.isTTY));
  const stop = interruptions();
  const done: Progress = { written: 0, cursor: flags.cursor, lastEventTime: undefined, atLastTime: 0 };
  let failure: unknown;
  let refused: CsvValueError | undefined;
  let complete = false;
  let readerGone = false;
  /**
   * Writes a page's records in one write (a page is written whole, so the cursor stays an
   * exact resume point). NDJSON and JSON pass each entry's exact text through.
   */
  const writePage = async (page: LogsPage | TextPage) => {
    let times: readonly string[];
    if ('textBytes' in page) {
      await sink.writeBytes(records.fill(page.textBytes, done.written));
      times = page.eventTimes;
    } else {
      let text = '';
      for (let k = 0; k < page.logEntries.length; k++) text += out.record(page.logEntries[k]!, done.written + k);
      await sink.write(text);
      times = page.logEntries.map((e) => e.eventTime);
    }
    done.written += times.length;
    for (const t of times) {
      done.atLastTime = t === done.lastEventTime ? done.atLastTime + 1 : 1;
      done.lastEventTime = t;
    }
  };
  const query = { logType: flags.type, fromDateTime: from.iso, toDateTime: to?.iso, cursor: flags.cursor, limit, signal: stop.signal };
  // The SDK asks for the next page while this one is written (and cancels it if we stop).
  const pages: AsyncGenerator<LogsPage | TextPage, void> = out.pass ? client.textPages(query) : client.pages(query);
  let started = false;
  try {
    let skipped = 0;
    for await (const page of pages) {
      if (!started) {
        // Opened once the source has answered: a refused first request leaves --out as it was.
        await sink.touch();
        await sink.write(out.head);
        started = true;
      }
      if (done.written === 0 && skipped === 0) skipped = page.records.currentPageNumber * page.records.currentPageSize;
      await writePage(page);
      done.cursor = page.records.cursor;
      bar.update(skipped + done.written, page.records.totalRecords);
      if (stop.signal.aborted && done.cursor !== undefined) break;
    }
    complete = !stop.signal.aborted || done.cursor === undefined;
  } catch (err) {
    if (err instanceof CsvValueError) refused = err;
    else if (sink.error && (sink.error as NodeJS.ErrnoException).code === 'EPIPE') readerGone = true;
    else if (sink.error) failure = new CommandError(sink.errorMessage!);
    else if (!isLogsApiError(err, 'aborted')) failure = err;
  } finally {
    bar.stop();
    stop.dispose();
    if (!readerGone && !refused) {
      if (started) await sink.write(out.tail(done.written)).catch(() => undefined);
      await sink.close();
    }
  }
  if (readerGone) return; // the reader (e.g. `| head`) has all it wanted
  if (refused) {
    // Not a part of the range presented as the export: what this run wrote is taken back.
    const taken = await sink.discard();
    const left =
      taken === 'removed'
        ? `${flags.out} was removed`
        : taken === 'restored'
          ? `${flags.out} is as it was before this run`
          : toStdout
            ? `standard output got ${counted(done.written, 'entry', 'entries')} of the range, not all of it`
            : `nothing was written (${flags.out} was not made)`;
    throw new CommandError(`cannot export as CSV: ${refused.message}; ${left}`);
  }
  // The last writes (JSON's closing ]}, the file's close) can fail once every page is written:
  // the export is then no whole document, whatever the pages did.
  if (complete && sink.error) {
    if ((sink.error as NodeJS.ErrnoException).code === 'EPIPE') return; // the reader has all it wanted
    complete = false;
    failure = new CommandError(sink.errorMessage!);
  }
  const where = toStdout ? 'the output' : flags.out;
  if (complete) {
    if (done.written === 0 && flags.cursor === undefined) {
      // An empty file and a silent exit look like success to a script; say why it is empty.
      const range = `from ${from.iso}${to ? ` to ${to.iso}` : ''}`;
      const file = toStdout
        ? ''
        : flags.append
          ? `; nothing was added to ${flags.out}`
          : `; ${flags.out} holds ${flags.format === 'csv' ? 'only the header' : flags.format === 'json' ? 'a document with no entries' : 'nothing'}`;
      process.stderr.write(`logwarden: no entries matched: ${flags.type} ${range} at ${client.baseUrl}${file}\n`);
    } else if (done.written === 0) {
      // The source can answer a cursor with "no records" both at the true end and once the cursor has expired.
      process.stderr.write(
        'logwarden: warning: the page at --cursor held no entries: either the export had already reached its end, or the source ' +
          'no longer knows the cursor (an expired one can look the same). To be sure nothing is missing, start again from the last ' +
          'instant written, without --cursor.\n',
      );
    } else if (process.stderr.isTTY && !toStdout) {
      process.stderr.write(`${counted(done.written, `${flags.type} entry`, `${flags.type} entries`)} written to ${flags.out}\n`);
    }
    return;
  }
  if (failure && done.written === 0) throw cursorMismatch(failure, flags) ?? failure;
  // A failed write leaves a file cut back to its whole records (Sink.close); standard output cannot be.
  const holds = !sink.error
    ? !toStdout && !existsSync(flags.out!)
      ? `nothing was written (${where} was not made)`
      : `${where} holds whole records only`
    : toStdout
      ? 'writing to standard output failed'
      : `${where} holds whole records only${format === 'json' ? ', without the closing ]} (its write failed)' : ''}`;
  process.stderr.write(`Stopped after ${counted(done.written, 'entry', 'entries')}; ${holds}.\n`);
  const cursorFailed = isLogsApiError(failure) && ['bad_request', 'no_records', 'invalid_response'].includes(failure.code);
  process.stderr.write(resumeHint(flags, from, to, done, !cursorFailed));
  if (failure) throw failure;
  throw new InterruptedError('interrupted');
}

/** `clock` gives the time relative --from and --to count back from. */
export function registerFetch(program: Command, clock: () => number = Date.now): void {
  remoteOptions(
    program
      .command('fetch')
      .description(
        'export one query of a Gong-compatible /v2/logs (logwarden or Gong itself) as NDJSON, JSON or CSV, ' +
          'or from a logwarden server as an evidence bundle (the entries with the proof of their log). ' +
          "Streams with constant memory, paces itself under the source's rate limit, honours Retry-After, " +
          'and treats the "no records" 404 as an empty result.',
      )
      .requiredOption(
        '--type <logType>',
        'AccessLog, UserActivityLog, UserCallPlay, ExternallySharedCallAccess or ExternallySharedCallPlay; from a logwarden also LogwardenAdminLog (its admin trail) and any type it was configured with (exact case; the server checks it)',
      )
      .requiredOption('--from <when>', `start, inclusive: ${WHEN_HELP}`)
      .option('--to <when>', 'end, exclusive (default: up to the latest entry)')
      .addOption(
        new Option(
          '--format <format>',
          'ndjson: one entry per line with its logType (what `logwarden ingest` loads); json: one {"logType", "logEntries"} document, ' +
            'the shape of an ingest batch (POST /v2/logs takes up to 10,000 entries a batch; see below); csv: flat columns, logRecord as a JSON cell; ' +
            'bundle: an offline evidence bundle (logwarden servers; see `logwarden verify --help`)',
        )
          .choices([...FORMATS, 'bundle'])
          .default('ndjson'),
      )
      .addOption(
        new Option(
          '--csv-ids <style>',
          'csv: text writes user cells that are ids (userId, impersonator ids), numbers over 15 digits, or start like a formula (= + - @) or with a tab as a tab then the value, quoted, so spreadsheets keep all 19 digits and run no formula (strip one leading tab from such cells to read them); plain writes the bare values',
        )
          .choices(CSV_ID_STYLES)
          .default('text'),
      )
      .option('--out <file>', 'write to a file instead of standard output')
      .option(
        '--append',
        'add to the --out file (ndjson, csv; one of the same format and --csv-ids) instead of replacing it; used to resume. Records name no log type: append only to an export of the same --type',
      )
      .option('--cursor <cursor>', 'start from this cursor of the same query (printed when an export is interrupted)')
      .option('--tenant <id>', 'with --format bundle: the tenant whose verifiable log proves the entries')
      .option(
        '--log-key <key>',
        "with --format bundle: the log's verifier key to check the checkpoint with (default: the key the server announces, named in the bundle)",
      ),
  )
    .addHelpText(
      'after',
      `
Credentials: the access key and secret of the source (for Gong: the API page of your
company settings), from LOGWARDEN_ACCESS_KEY / LOGWARDEN_SECRET or the flags.

Examples:
  export LOGWARDEN_ACCESS_KEY=… LOGWARDEN_SECRET=…
  logwarden fetch --url https://us-12345.api.gong.io --type AccessLog --from 7d --out access.ndjson
  logwarden fetch --url http://127.0.0.1:8080 --type UserActivityLog --from 2026-03-01 --to 2026-03-08 --format csv --out activity.csv
  logwarden fetch --url https://api.gong.io --type UserCallPlay --from 2026-03-04T00:00:00-07:00 --to 2026-03-05T00:00:00-07:00 | jq .logRecord
  logwarden fetch --url http://127.0.0.1:8080 --tenant 681063174048086563 --type AccessLog --from 2026-03-01 --to 2026-04-01 --format bundle --out march.bundle

--format json writes one document, {"logType": …, "logEntries": […]}: the shape of a JSON
ingest batch, but POST /v2/logs takes at most 10,000 entries a batch, so a larger export
cannot be posted as it is. To load an export into a logwarden store again, use --format ndjson
and \`logwarden ingest FILE --tenant ID\`.

--format bundle (logwarden servers only) writes one JSON file an auditor can take away: the
window's entries exactly as served, the signed checkpoint, the verifier key, the leaves the
entries span and the hashes of the rest of the tree. \`logwarden verify --bundle FILE --log-key KEY\`
checks it with no network; \`logwarden verify --help\` says what it proves and what it does not.

CSV and spreadsheets: ids have 19 digits, more than a spreadsheet number holds (15), and
LibreOffice and Excel turn an id into a number on opening a CSV even when it is quoted. So
id cells are written as "<TAB><id>": still plain CSV, opened as text with every digit. A
program reading the file strips the leading tab from id columns; or use --csv-ids plain, or
--format ndjson. CSV alters no value: a user field holding a NUL (U+0000) or a lone surrogate
(UTF-8 cannot encode one) stops a CSV export with exit status 1, naming the entry and the field,
and removes the --out file (--append: leaves it as it was); NDJSON and JSON keep such values.

A progress bar (entries, rate, ETA) shows on a terminal; piped, the command is quiet except
for one line on stderr when no entry matched (the output is then empty, the exit status 0).
Ctrl-C stops at a page boundary, leaves whole records only, prints how to continue (with
--out FILE --append for NDJSON and CSV) and exits 130. The --out file is opened once the
source has answered: a refused key or an unreachable server leaves an earlier file as it was.
--append adds only to a file of the same format (for CSV, the same header and --csv-ids) that
ends with a whole line, and refuses any other before a request is made. A new --out file is
readable by its owner only (mode 0600): exports hold people's emails and addresses.`,
    )
    .action(async (flags: FetchFlags) => run(flags, clock));
}
