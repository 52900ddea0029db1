/**
 * How a test's child process runs this project's code. `scripts/run-tests.js` runs the suite
 * from the compiled JavaScript and says where (LOGWARDEN_TEST_COMPILED): children then run the
 * compiled modules as well, with no TypeScript loader to start (about a second of CPU each). A
 * test file run from the sources (`node --import tsx --test …`) starts its children through tsx.
 */
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPILED = process.env.LOGWARDEN_TEST_COMPILED || undefined;

/** Whether this process was started by scripts/run-tests.js, from the compiled files. */
export const RUN_BY_RUNNER: boolean = COMPILED !== undefined;

/** Node's arguments before a script of this project: the TypeScript loader, when running from the sources. */
export const LOADER_ARGS: readonly string[] = COMPILED ? [] : ['--import', 'tsx'];

/** The file a child runs for the module at `source` (a path or file URL of a `.ts` file of this project). */
export function runnable(source: string | URL): string {
  const path = typeof source === 'string' && !source.startsWith('file:') ? source : fileURLToPath(source);
  return COMPILED ? join(COMPILED, relative(ROOT, path)).replace(/\.ts$/, '.js') : path;
}

/** Node's arguments that run `logwarden` (then its own arguments follow). */
export const CLI_ARGS: readonly string[] = COMPILED ? [join(COMPILED, 'cli.js')] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts')];
