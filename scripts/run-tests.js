#!/usr/bin/env node
// Runs every test file under test/ (or those given as arguments) with the Node test runner
// (node:test's run(), the spec reporter on stdout). Given files run each in a process of its own;
// in a whole run, the files that can share a process are imported in turn by a few (processes()).
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
//
// The tests keep their files (data directories, PostgreSQL clusters, SQLite files) under the
// system's temporary folder. On Linux that is made a folder in /dev/shm when it has room (see
// scratchDir), unless TMPDIR is set.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

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

/** Runs the steps (node's arguments, what it does) at once; prints each one's output whole, then stops at the first that failed. */
async function runAll(steps) {
  const results = await Promise.all(
    steps.map(
      ([args, what]) =>
        new Promise((done) => {
          const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
          const output = [];
          child.stdout.on('data', (d) => output.push(d));
          child.stderr.on('data', (d) => output.push(d));
          child.on('close', (code) => done({ code, what, output: Buffer.concat(output) }));
        }),
    ),
  );
  for (const { code, what, output } of results) {
    process.stdout.write(output);
    if (code !== 0) {
      process.stderr.write(`run-tests: ${what} failed\n`);
      process.exit(code ?? 1);
    }
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

/**
 * A folder in memory (/dev/shm) for the tests' files, or undefined to keep the system's. On a
 * disk, every file a test creates, every fsync of SQLite and every database PostgreSQL copies
 * from its template waits on the device: a CREATE DATABASE takes 350 ms there and 25 ms in
 * memory. A process killed with SIGKILL loses nothing written either way, which is all the crash
 * tests ask of the disk. Used only when /dev/shm has at least 1 GiB free (a container's default
 * is 64 MiB; the suite's files peak at about 200 MB) and TMPDIR is not set. Each run's folder is named by its process id; the folders
 * of runs no longer alive are removed at the start of the next (so the console test's
 * screenshots stay until then).
 */
function scratchDir() {
  if (process.env.TMPDIR) return undefined;
  const SHM = '/dev/shm';
  try {
    const fs = statfsSync(SHM);
    if (fs.bavail * fs.bsize < 1024 ** 3) return undefined;
    for (const name of readdirSync(SHM)) {
      const pid = /^logwarden-test-(\d+)$/.exec(name)?.[1];
      if (pid === undefined || alive(Number(pid))) continue;
      try {
        rmSync(join(SHM, name), { recursive: true, force: true });
      } catch {
        // Another user's: theirs to remove.
      }
    }
    const dir = join(SHM, `logwarden-test-${process.pid}`);
    mkdirSync(dir);
    // Tests run as root start PostgreSQL as the postgres user, whose cluster is in here.
    chmodSync(dir, 0o755);
    return dir;
  } catch {
    return undefined;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// The compiled files name their sources by absolute path (pointAtSources): a cache compiled in
// another checkout (node_modules copied or moved with it) names that one's, and its build info
// tells tsc there is nothing to emit. Such a cache is thrown away and compiled afresh.
const ROOT_MARK = join(OUT, 'root');
if (existsSync(OUT) && (!existsSync(ROOT_MARK) || readFileSync(ROOT_MARK, 'utf8') !== ROOT)) rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
writeFileSync(ROOT_MARK, ROOT);

const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
// The console has its own settings (the browser's); both checks are incremental and run side by side.
const compiling = runAll([
  [
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
  ],
  [
    [tsc, '-p', 'src/console/tsconfig.json', '--incremental', '--tsBuildInfoFile', join(OUT, 'console.tsbuildinfo')],
    'type-checking the console (tsc -p src/console/tsconfig.json)',
  ],
]);
const args = process.argv.slice(2);
// Read while tsc runs: which of the test files can share a process (from their sources).
const shareable = args.length > 0 ? new Set() : new Set(find(join(ROOT, 'test')).filter(canShare));
await compiling;
pointAtSources(OUT);
// What a test's child process runs as `logwarden` (test/support/children.ts): the compiled CLI.
writeFileSync(join(OUT, 'cli.js'), "import { main } from './src/cli/main.js';\n\nprocess.exitCode = await main(process.argv.slice(2));\n");

// The order files start in. Measured here on 5 December, each file alone (CPU time of all its
// processes, PostgreSQL's and the browser's included, and wall time):
//
// - Those that take most CPU keep a process each and start first (the four heaviest, then in
//   turns with the shared processes: processes()), so that none starts late and runs on alone
//   while the other core has nothing left: the PostgreSQL store contract 31 s of CPU, the
//   console in a browser 21 s, PostgreSQL segments 16 s, serve 13 s, the demo data 11 s; the
//   next ones 10 s or less.
// - Those that mostly wait on bounds of their own (a stop's, a dropped network's, a slow body's
//   timeout) keep a process each too, spread over the run, so that two of them seldom hold
//   slots at once while the cores idle: the PostgreSQL network faults take 35 s of which 3 s of CPU, the PostgreSQL
//   outages 18 s (2 s), slow bodies 13 s (2 s), the Redis outages 11 s (1 s). Started in path
//   order, they ran side by side and left the cores idle for about 20 s.
const MOST_CPU = [
  'test/store/postgres.test.ts',
  'test/server/console-browser.test.ts',
  'test/store/postgres-segments.test.ts',
  'test/cli/serve.test.ts',
  'test/demo/demo-data.test.ts',
  'test/store/sqlite-tree-crash.test.ts',
  'test/store/sqlite.test.ts',
  'test/server/crash.test.ts',
  'test/store/postgres-specific.test.ts',
].map((file) => join(ROOT, file));
const MOSTLY_WAITING = [
  'test/server/postgres-network.test.ts',
  'test/server/postgres-outage.test.ts',
  'test/server/slow-body.test.ts',
  'test/server/redis-outage.test.ts',
  'test/store/postgres-pgbouncer.test.ts',
  'test/cli/tail.test.ts',
  'test/server/operations.test.ts',
  'test/client/live.test.ts',
  'test/cli/copy-target-errors.test.ts',
  'test/client/retries.test.ts',
].map((file) => join(ROOT, file));

/**
 * Whether a test file can share a process with others: it has no `before`, `beforeEach` or
 * `afterEach` at its top level, which would run around the other files' tests too (a top-level
 * `after` runs once every test of the process is done: all a clean-up asks). Found in the
 * file's syntax tree, so no way of writing one escapes.
 */
function canShare(file) {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  let ok = true;
  const visit = (node) => {
    // What a function or class holds runs when it is called, not as the file is imported.
    if (!ok || ts.isFunctionLike(node) || ts.isClassLike(node)) return;
    if (ts.isCallExpression(node) && ts.isIdentifier(node.expression) && ['before', 'beforeEach', 'afterEach'].includes(node.expression.text)) {
      ok = false;
      return;
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(source, visit);
  return ok;
}

/**
 * What a test process runs: a file written under OUT that imports the test files given, one
 * after the other, while a `before` hook of its own holds every test until the last is
 * imported. Without that hold, node:test of Node 20 starts the tests declared so far while a
 * file awaits at its top level (a PostgreSQL cluster starting, say), and once those are done it
 * runs the top-level `after` hooks and, with forceExit, ends the process: the tests declared
 * after the await never ran, and nothing said so. A file that fails to import fails every test
 * of its process with its error, after the others are imported. The process writes its reports
 * with blocking writes, so that forceExit's exit drops none (test/test-runner.test.ts).
 */
function entry(files, name) {
  const file = join(OUT, 'entries', `${name}.test.js`);
  const urls = files.map((f) => pathToFileURL(compiledOf(f)).href);
  writeFileSync(
    file,
    `import { before } from 'node:test';

// The reports go to the runner through stdout, a pipe, which Node 20 writes to asynchronously:
// what the runner has not read yet waits in this process, and forceExit's process.exit() drops
// it, so the last tests of a busy run went missing, errors and all. Blocking writes leave nothing
// waiting. (stderr too: a test's diagnostics.)
for (const stream of [process.stdout, process.stderr]) stream._handle?.setBlocking?.(true);

const loading = (async () => {
  const failures = [];
  for (const url of ${JSON.stringify(urls, null, 2)}) {
    try {
      await import(url);
    } catch (err) {
      failures.push(err);
    }
  }
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new AggregateError(failures, 'test files failed to import');
})();
// Reported through the hook, not as an unhandled rejection.
loading.catch(() => {});
before(() => loading);
`,
  );
  return file;
}

/**
 * The processes of a whole run, in the order they start: the files that can share one are
 * imported in turn by a few. A process of its own costs a test file about half a second of CPU
 * before its first test (Node starting, the project's modules and their dependencies loaded and
 * compiled, the compiler warming up again), and files that start PostgreSQL through
 * test/support/stores.ts share one cluster in a process. The heaviest files and those that
 * mostly wait keep a process each. The heaviest and the shared processes start first, then the
 * other files in path order; MOSTLY_WAITING are spread evenly from the first place on. `all`:
 * the test files in path order; `shareable`: those canShare accepts.
 */
function processes(all, shareable) {
  const waiting = MOSTLY_WAITING.filter((f) => all.includes(f));
  const sharing = all.filter((f) => !MOST_CPU.includes(f) && !waiting.includes(f) && shareable.has(f));
  const groups = Array.from({ length: Math.min(SHARED_PROCESSES, sharing.length) }, () => []);
  sharing.forEach((f, i) => groups[i % groups.length].push(f));
  const alone = (f) =>
    entry(
      [f],
      relative(join(ROOT, 'test'), f)
        .replace(/\.test\.ts$/, '')
        .replaceAll('/', '-'),
    );
  // The four that take most CPU first, then the shared processes, which take about as long as
  // the next ones, taken in turns with them: neither starts late and runs on alone at the end.
  const heavy = MOST_CPU.filter((f) => all.includes(f)).map(alone);
  const shared = groups.map((group, i) => entry(group, `shared-${i + 1}`));
  const order = heavy.splice(0, 4);
  while (heavy.length > 0 || shared.length > 0) order.push(...shared.splice(0, 1), ...heavy.splice(0, 1));
  order.push(...all.filter((f) => !MOST_CPU.includes(f) && !waiting.includes(f) && !sharing.includes(f)).map(alone));
  const step = (order.length + waiting.length) / waiting.length;
  waiting.forEach((f, i) => order.splice(Math.round(i * step), 0, alone(f)));
  return order;
}

/** How many processes the files that can share one are spread over. */
const SHARED_PROCESSES = 12;

/** The compiled file of a test file's source. */
function compiledOf(file) {
  return join(OUT, relative(ROOT, resolve(file))).replace(/\.ts$/, '.js');
}

for (const file of args) {
  if (!file.endsWith('.ts') || !existsSync(compiledOf(file))) {
    process.stderr.write(`run-tests: ${file} is not a test file of this project (a .ts file under test/)\n`);
    process.exit(2);
  }
}
rmSync(join(OUT, 'entries'), { recursive: true, force: true });
mkdirSync(join(OUT, 'entries'));
// Files named on the command line run each in a process of its own, as given.
const files = args.length > 0 ? args.map((f, i) => entry([resolve(f)], `given-${i + 1}`)) : processes(find(join(ROOT, 'test')), shareable);
// Two files more than there are cores: a file often waits (on PostgreSQL, Chromium, a child
// process, a bound of its own), and with the files' data in memory the cores stay busy. Here (two
// cores, in this order, each file in a process of its own) four at a time took 179-189 s, the
// cores busy throughout (350-360 s of CPU); three at a time in path order took 206-220 s, the
// cores idle for a quarter of a minute. With the files that can share a process in twelve
// (processes()), the test files' own processes took 177 s of CPU instead of 198 s, and a run
// 187-195 s (344-362 s of CPU): within what runs differ by here. Later runs (PostgreSQL's data
// directory copied, not made, for each cluster: test/support/postgres.ts) took 165-192 s.
const concurrency = process.env.TEST_CONCURRENCY ?? String(availableParallelism() + 2);
const scratch = scratchDir();
// Children of the tests run the compiled modules too (test/support/children.ts); each test file's
// process gets this process's environment.
process.env.LOGWARDEN_TEST_COMPILED = OUT;
if (scratch) process.env.TMPDIR = scratch;
// And its working directory: the project's, wherever this script was started from.
process.chdir(ROOT);
// Started through the runner's API, not `node --test`: given files, `node --test` runs them in
// path order whatever the order they were listed in, and the order of processes() would go unheeded.
// forceExit: a file is done when its tests are, not when the last timer or idle connection it
// left behind runs out.
const stream = run({ files, concurrency: Number(concurrency), timeout: 240_000, forceExit: true });
// As `node --test` exits: 1 when a test failed, a test marked todo aside.
stream.on('test:fail', (data) => {
  if (!data.todo) process.exitCode = 1;
});
stream.compose(new spec()).pipe(process.stdout);
