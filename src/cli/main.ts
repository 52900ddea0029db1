/**
 * The `logwarden` command line: a thin shell over the store, the server and the SDK. Each
 * command lives in its own file; exit codes come from exit-codes.ts.
 */
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config.ts';
import { SchemaTooNewError } from '../store/store.ts';
import { VERSION } from '../version.ts';
import { CommandError, EXIT, InterruptedError, UsageError } from './exit-codes.ts';
import { registerFetch } from './fetch.ts';
import { registerIngest } from './ingest.ts';
import { registerKeys } from './keys.ts';
import { registerSeed } from './seed.ts';
import { registerServe } from './serve.ts';
import { registerSync } from './sync.ts';
import { registerTenants } from './tenants.ts';
import { registerVerify } from './verify.ts';

export function buildProgram(): Command {
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
  registerTenants(program);
  registerKeys(program);
  registerIngest(program);
  registerSeed(program);
  registerFetch(program);
  registerSync(program);
  registerVerify(program);
  program.exitOverride();
  for (const c of program.commands) applyExitOverride(c);
  return program;
}

function applyExitOverride(cmd: Command): void {
  cmd.exitOverride();
  for (const c of cmd.commands) applyExitOverride(c);
}

/** Runs the CLI and returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  // A reader that goes away (`logwarden … | head`) is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    return reportFailure(err);
  }
}

export function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
    return EXIT.usage; // commander already printed the message
  }
  if (err instanceof UsageError) {
    process.stderr.write(`logwarden: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof ConfigError) {
    process.stderr.write(`logwarden: ${err.message}\n`);
    return EXIT.usage;
  }
  if (err instanceof InterruptedError) {
    process.stderr.write(`logwarden: ${err.message}\n`);
    return EXIT.interrupted;
  }
  if (err instanceof CommandError || err instanceof SchemaTooNewError) {
    process.stderr.write(`logwarden: ${err.message}\n`);
    return EXIT.failure;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`logwarden: ${message.split('\n')[0]}\n`);
  return EXIT.failure;
}

// Run directly (`node --import tsx src/cli/main.ts …`, as the tests do) rather than imported.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
