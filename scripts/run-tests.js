#!/usr/bin/env node
// Runs every test file under test/ (or those given as arguments) with the Node test runner.
//
// The sources are type-checked and compiled first, once, by the TypeScript compiler (tsc -p
// tsconfig.json, incremental) into node_modules/.cache/logwarden-test/, and the test files run
// from there as plain JavaScript, as do the child processes they start (LOGWARDEN_TEST_COMPILED,
// read by test/support/children.ts). Loading TypeScript through a loader hook costs about a
// second of CPU per process on Node 20 (the hooks run on their own thread); a hundred test
// files and their children would pay it hundreds of times. In the compiled files `import.meta.url`
// (and `.dirname`, `.filename`) name the source file it came from, so paths computed from it
// (fixtures, the console's sources, modules a child imports) are the same as from the sources.
//
// Stack traces name the compiled files; NODE_OPTIONS=--enable-source-maps maps them to the
// TypeScript lines. Node 20 does not expand globs, so the files are listed here.
// --test-force-exit: a file is done when its tests are, not when the last timer or idle
// connection it left behind runs out.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'node_modules', '.cache', 'logwarden-test');

function find(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function run(args, what) {
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
  if (r.status !== 0) {
    process.stderr.write(`run-tests: ${what} failed\n`);
    process.exit(r.status ?? 1);
  }
}

/** Every compiled file's `import.meta.*` made its source file's, once (a rewritten file has none left). */
function pointAtSources(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      pointAtSources(p);
      continue;
    }
    if (!name.endsWith('.js')) continue;
    const text = readFileSync(p, 'utf8');
    if (!text.includes('import.meta.')) continue;
    const source = join(ROOT, relative(OUT, p)).replace(/\.js$/, '.ts');
    writeFileSync(
      p,
      text
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(source).href))
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(source)))
        .replaceAll('import.meta.filename', JSON.stringify(source)),
    );
  }
}

const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
run(
  [
    tsc,
    '-p',
    'tsconfig.json',
    '--noEmit',
    'false',
    '--outDir',
    OUT,
    '--declaration',
    'false',
    '--incremental',
    '--tsBuildInfoFile',
    join(OUT, '.tsbuildinfo'),
  ],
  'type-checking and compiling (tsc -p tsconfig.json)',
);
run([tsc, '-p', 'src/console/tsconfig.json'], 'type-checking the console (tsc -p src/console/tsconfig.json)');
pointAtSources(OUT);
// What a test's child process runs as `logwarden` (test/support/children.ts): the compiled CLI.
writeFileSync(join(OUT, 'cli.js'), "import { main } from './src/cli/main.js';\n\nprocess.exitCode = await main(process.argv.slice(2));\n");

const args = process.argv.slice(2);
const sources = args.length > 0 ? args : find(join(ROOT, 'test'));
const files = sources.map((file) => {
  const compiled = join(OUT, relative(ROOT, resolve(file))).replace(/\.ts$/, '.js');
  if (!file.endsWith('.ts') || !existsSync(compiled)) {
    process.stderr.write(`run-tests: ${file} is not a test file of this project (a .ts file under test/)\n`);
    process.exit(2);
  }
  return compiled;
});
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', '--test-force-exit', '--test-reporter=spec', ...files],
  // Children of the tests run the compiled modules too (test/support/children.ts).
  { stdio: 'inherit', cwd: ROOT, env: { ...process.env, LOGWARDEN_TEST_COMPILED: OUT } },
);
process.exit(r.status ?? 1);
