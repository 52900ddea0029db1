/**
 * The `logwarden` command line: a thin shell over the store, the server and the SDK. Each
 * command lives in its own file; exit codes come from exit-codes.ts.
 */
import cluster from 'node:cluster';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { unknownVariableWarnings } from '../config.ts';
import { CodedError, ERRORS } from '../errors.ts';
import { VERSION } from '../version.ts';
import { registerBackup } from './backup.ts';
import { writeFailure } from './common.ts';
import { registerCopy } from './copy.ts';
import { EXIT } from './exit-codes.ts';
import { registerFetch } from './fetch.ts';
import { registerHolds } from './holds.ts';
import { registerIngest } from './ingest.ts';
import { registerKeys } from './keys.ts';
import { registerRestore } from './restore.ts';
import { registerSeed } from './seed.ts';
import { registerServe } from './serve.ts';
import { registerSync } from './sync.ts';
import { registerTail } from './tail.ts';
import { registerTenants } from './tenants.ts';
import { registerVerify } from './verify.ts';

export interface CliOptions {
  /**
   * The clock behind time-dependent defaults (relative --from/--to of fetch, --since of sync,
   * --until of seed) and the time of admin-trail entries; defaults to Date.now. Tests running a command in process pass a fixed one.
   */
  now?: () => number;
}

export function buildProgram(options: CliOptions = {}): Command {
  const now = options.now ?? Date.now;
  const program = new Command('logwarden')
    .description(
      'Self-hosted audit-log server speaking the wire contract of Gong\'s "List logs" API (GET /v2/logs).\n' +
        'Run `logwarden serve` to start the server, `logwarden <command> --help` for any command.',
    )
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError()
    .configureHelp({ sortSubcommands: false })
    .addHelpText(
      'after',
      '\nExamples:\n  logwarden serve --demo                 # a server with 30 days of synthetic entries\n' +
        '  logwarden tenants create --name "Acme Corp"\n  logwarden fetch --help\n',
    );
  registerServe(program);
  registerTenants(program, now);
  registerKeys(program, now);
  registerHolds(program, now);
  registerIngest(program);
  registerSeed(program, now);
  registerFetch(program, now);
  registerSync(program, now);
  registerTail(program);
  registerVerify(program);
  registerCopy(program);
  registerBackup(program);
  registerRestore(program, now);
  program.exitOverride();
  for (const c of program.commands) applyExitOverride(c);
  markRequired(program);
  return program;
}

/** Every option a command requires says so first in its help ("required: …"), as commander does not. */
function markRequired(cmd: Command): void {
  for (const option of cmd.options) {
    if (option.mandatory && !option.description.startsWith('required')) option.description = `required: ${option.description}`;
  }
  for (const c of cmd.commands) markRequired(c);
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const c of cmd.commands) applyExitOverride(c);
}

/**
 * Runs one command in this process and returns its exit code, touching nothing process-wide:
 * no listeners, no process.exit. What the command prints goes to process.stdout and
 * process.stderr. Tests call this directly; `main` adds what only a real process needs.
 */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  const program = buildProgram(options);
  // `logwarden help tenants retention` is `logwarden tenants retention --help` (commander's own
  // help command looks one level down only).
  const args = argv[0] === 'help' && argv.length > 2 ? [...argv.slice(1), '--help'] : [...argv];
  if (argv[0] === 'help' && argv[1] !== undefined && !argv[1].startsWith('-') && !program.commands.some((c) => c.name() === argv[1])) {
    process.stderr.write(`logwarden: unknown command '${argv[1]}' (the commands: ${program.commands.map((c) => c.name()).join(', ')})\n`);
    return EXIT.usage;
  }
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return reportFailure(err);
  }
}

/**
 * pg's warning when a database URL says sslmode=prefer, require or verify-ca (11 lines, once per
 * process) as one line: the certificate is verified as with verify-full, and what to write instead.
 */
export const SSLMODE_WARNING =
  "sslmode=require (or prefer, verify-ca) in the database URL verifies the server's certificate, as verify-full does; " +
  "to encrypt without verifying write sslmode=no-verify, for libpq's meaning add uselibpqcompat=true (README, PostgreSQL over TLS)";

function condenseSslmodeWarning(): void {
  const emit = process.emitWarning.bind(process) as (warning: string | Error, ...rest: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(typeof warning === 'string' ? warning : warning.message).startsWith("SECURITY WARNING: The SSL modes 'prefer', 'require'")) {
      process.stderr.write(`logwarden: warning: ${SSLMODE_WARNING}\n`);
      return;
    }
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** The `logwarden` process: runs the CLI and returns the exit code for bin/ to set. */
export async function main(argv: readonly string[], options: CliOptions = {}): Promise<number> {
  condenseSslmodeWarning();
  // A `serve --workers` worker shares the primary's environment: the primary says it once.
  if (!cluster.isWorker) for (const warning of unknownVariableWarnings()) process.stderr.write(`logwarden: warning: ${warning}\n`);
  // A reader that goes away (`logwarden … | head`) is not an error. Any other failure to write
  // (a full disk) is, said once: a command whose output must not be lost says more itself (writeOut).
  let outputFailure: NodeJS.ErrnoException | undefined;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    outputFailure ??= err;
  });
  const code = await runCli(argv, options);
  // Waits for what was written to be taken (or to fail) before the outcome is told.
  await new Promise<void>((resolve) => (process.stdout.destroyed ? resolve() : process.stdout.write('', () => resolve())));
  if (outputFailure && code === EXIT.ok) {
    process.stderr.write(`logwarden: ${writeFailure('standard output', outputFailure)}; what the command printed there is lost\n`);
    return EXIT.failure;
  }
  return code;
}

/**
 * Prints a failure and returns its exit code. Typed failures map through the catalogue in
 * ../errors.ts and print their whole message; anything else is a bug or a library failure,
 * printed as its first line, exit 1.
 */
export function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    // Help asked for (--help, the help command) is a success; help shown because a command
    // group was given no command (`logwarden keys`) is a usage error, printed on stderr.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.ok;
    if (err.code === 'commander.help' && err.exitCode === 0) return EXIT.ok;
    return EXIT.usage; // commander already printed the message
  }
  if (err instanceof CodedError) {
    process.stderr.write(`logwarden: ${err.message}\n`);
    return ERRORS[err.code].exit;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`logwarden: ${message.split('\n')[0]}\n`);
  return EXIT.failure;
}

// Run directly (`node --import tsx src/cli/main.ts …`, as the tests do) rather than imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
