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
//
// The tests keep their files (data directories, PostgreSQL clusters, SQLite files) under the
// system's temporary folder. On Linux that is made a folder in /dev/shm when it has room (see
// scratchDir), unless TMPDIR is set.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
await runAll([
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
pointAtSources(OUT);
// What a test's child process runs as `logwarden` (test/support/children.ts): the compiled CLI.
writeFileSync(join(OUT, 'cli.js'), "import { main } from './src/cli/main.js';\n\nprocess.exitCode = await main(process.argv.slice(2));\n");

const args = process.argv.slice(2);
// The files that take longest start first, so that no long file starts last and runs on alone
// while the other cores have nothing left. Measured here on 3 December (each file's tests, three
// files at a time): the PostgreSQL store contract 113 s, PostgreSQL segments 78 s (before its
// backlog test was made smaller), the console in a browser 65 s, the PostgreSQL network faults
// 54 s, the demo data 43 s, serve 40 s; the next ones under 27 s.
// In path order the last of them started late and the suite took 430 s.
const LONGEST_FIRST = [
  'test/store/postgres.test.ts',
  'test/store/postgres-segments.test.ts',
  'test/server/console-browser.test.ts',
  'test/server/postgres-network.test.ts',
  'test/demo/demo-data.test.ts',
  'test/cli/serve.test.ts',
  'test/store/postgres-specific.test.ts',
  'test/cli/copy.test.ts',
].map((file) => join(ROOT, file));
const all = find(join(ROOT, 'test'));
const sources = args.length > 0 ? args : [...LONGEST_FIRST.filter((f) => all.includes(f)), ...all.filter((f) => !LONGEST_FIRST.includes(f))];
const files = sources.map((file) => {
  const compiled = join(OUT, relative(ROOT, resolve(file))).replace(/\.ts$/, '.js');
  if (!file.endsWith('.ts') || !existsSync(compiled)) {
    process.stderr.write(`run-tests: ${file} is not a test file of this project (a .ts file under test/)\n`);
    process.exit(2);
  }
  return compiled;
});
// One file more than there are cores: a file often waits (on PostgreSQL, Chromium, a child
// process), and with the files' data in memory the cores stay busy. Here (two cores) three at a
// time took 215 s against 235 s for two and 227 s for four.
const concurrency = process.env.TEST_CONCURRENCY ?? String(availableParallelism() + 1);
const scratch = scratchDir();
const r = spawnSync(
  process.execPath,
  ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', '--test-force-exit', '--test-reporter=spec', ...files],
  // Children of the tests run the compiled modules too (test/support/children.ts).
  { stdio: 'inherit', cwd: ROOT, env: { ...process.env, LOGWARDEN_TEST_COMPILED: OUT, ...(scratch && { TMPDIR: scratch }) } },
);
process.exit(r.status ?? 1);
