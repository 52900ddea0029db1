/**
 * The processes a benchmark measures: `logwarden` commands and servers run from source in
 * processes of their own, never inside the load generator's, and the bare baseline server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const BARE_SERVER = fileURLToPath(new URL('../bare-server.ts', import.meta.url));

/** Node's arguments to write a CPU profile into `dir` when the process stops; none without a directory. */
export function cpuProfileArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', '--cpu-prof-dir', resolve(dir)] : [];
}

/** The environment of a child: none of this machine's LOGWARDEN_* settings, plus `extra`. */
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LOGWARDEN_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
  /** Wall time from spawn to exit. */
  readonly ms: number;
}

/**
 * The CLI compiled to JavaScript, as an installed `logwarden` runs (no TypeScript loader): the
 * sources bundled into one file under dist/ (whose parent holds package.json, which the CLI
 * reads), dependencies left to node_modules. For figures that include the command's start-up.
 */
export async function buildCli(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(ROOT, 'dist', 'bench-cli.mjs');
  await build({
    entryPoints: [CLI],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'error',
  });
  return outfile;
}

export interface RunOptions {
  /** A compiled CLI (buildCli) instead of the sources through the TypeScript loader. */
  readonly compiled?: string;
  /** Arguments for node itself (e.g. `--cpu-prof`). */
  readonly nodeArgs?: readonly string[];
}

/** Runs one `logwarden` command; fails unless it exits 0 within `timeoutMs`. */
export function logwarden(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 10 * 60_000,
  run: RunOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const entry = run.compiled ? [run.compiled] : ['--import', 'tsx', CLI];
    const child = spawn(process.execPath, [...(run.nodeArgs ?? []), ...entry, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (code === 0) resolve({ stdout, stderr, ms });
      else
        reject(
          new Error(
            `logwarden ${args.slice(0, 2).join(' ')} ${signal ? `was stopped after ${timeoutMs / 1000} s` : `exited ${code}`}: ${stderr.trim().slice(0, 500)}`,
          ),
        );
    });
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  /** Resident memory of the process now, in MiB. */
  rssMiB(): number;
  /** CPU time used so far by the process and its children (cluster workers), in seconds. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** The process and its descendants, from /proc (Linux). */
function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...children.flatMap(processTree)];
  } catch {
    return [pid];
  }
}

const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of a process (its own, not its reaped children's). */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0; // gone meanwhile
  }
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Spawns a server and resolves once it printed the URL it listens on (matched by `ready`). */
function startServer(
  args: readonly string[],
  env: Record<string, string>,
  ready: RegExp,
  from: 'stdout' | 'stderr',
  nodeArgs: readonly string[] = [],
): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    // The structured request log goes nowhere, as to a log shipper that keeps up: writing it
    // costs the server as in production, reading it would cost the load generator.
    const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', from === 'stdout' ? 'pipe' : 'ignore', 'pipe'],
    });
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start within 120 s: ${seen.slice(0, 500)}`));
    }, 120_000);
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = ready.exec(seen);
      if (!m) return;
      clearTimeout(timer);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      resolve({
        url: m[1]!,
        pid: child.pid!,
        rssMiB: () => rssMiB(child.pid!),
        cpuSeconds: () => processTree(child.pid!).reduce((s, p) => s + cpuSecondsOf(p), 0),
        async stop() {
          if (child.exitCode !== null || child.signalCode !== null) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
          await exited;
          clearTimeout(killer);
        },
      });
    };
    (from === 'stdout' ? child.stdout! : child.stderr!).on('data', onData);
    child.stderr!.on('data', (d: Buffer) => {
      if (from === 'stdout') seen += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code}) before it listened: ${seen.slice(0, 500)}`));
    });
  });
}

export interface StoreLocation {
  readonly dataDir?: string;
  readonly databaseUrl?: string;
}

export function storeArgs(at: StoreLocation): string[] {
  return at.databaseUrl ? ['--database-url', at.databaseUrl] : ['--data-dir', at.dataDir!];
}

/**
 * `logwarden serve` on 127.0.0.1, on a free port (or `port`), with a known signing key (cursors
 * can be made for it); with `workers` > 1, that many processes share the port (`--workers`).
 * `nodeArgs` go to node itself (e.g. `--cpu-prof`).
 */
export function startLogwarden(
  at: StoreLocation,
  signingKey: string,
  workers = 1,
  nodeArgs: readonly string[] = [],
  port = 0,
): Promise<ServerProcess> {
  return startServer(
    [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), ...(workers > 1 ? ['--workers', String(workers)] : []), ...storeArgs(at)],
    { LOGWARDEN_SIGNING_KEY: signingKey },
    /listening on (http:\/\/\S+)/,
    'stderr',
    nodeArgs,
  );
}

/**
 * The bare node:http server answering each path recorded in `pagesFile` with its recorded
 * bytes; with `processes` > 1, that many processes share the port.
 */
export function startBareServer(pagesFile: string, processes = 1): Promise<ServerProcess> {
  return startServer([BARE_SERVER, pagesFile, String(processes)], {}, /listening on (http:\/\/\S+)/, 'stdout');
}
