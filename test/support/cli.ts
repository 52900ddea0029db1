/** Runs the CLI: in this process, or in a child process as a user would run `logwarden`. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CLI_ARGS } from './children.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a child: without LOGWARDEN_* settings of the machine running the tests. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LOGWARDEN_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CliRunOptions {
  /** What the command reads on stdin (`ingest -`). */
  input?: string;
  /** LOGWARDEN_* settings; the machine's own are never seen. */
  env?: Record<string, string>;
  /** The command's clock (default Date.now). */
  now?: () => number;
  /** Every write to standard output fails with this error code (a full disk: ENOSPC). */
  stdoutFails?: string;
  /** With stdoutFails: the writes fail only from the one that would take standard output past this many bytes. */
  stdoutFailsAfter?: number;
}

/**
 * Runs the CLI with `args` in this process, as `logwarden` would run them minus the process
 * start: its stdout, stderr and stdin are stand-ins for the call and its environment is
 * `cleanEnv(env)`. Calls are taken one at a time. Use runCliProcess where the process itself
 * is the point (signals, another user, a crash, the start-up of bin/).
 */
export function runCli(args: string[], options: CliRunOptions = {}): Promise<CliResult> {
  const run = queue.then(() => runNow(args, options));
  queue = run.catch(() => undefined);
  return run;
}

let queue: Promise<unknown> = Promise.resolve();

/** A write-only stand-in for process.stdout or process.stderr that keeps the text (not a terminal). */
function textSink(fails?: string, failsAfter = 0): { stream: Writable; text(): string } {
  let text = '';
  let bytes = 0;
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      bytes += Buffer.byteLength(chunk);
      if (fails && bytes > failsAfter) return done(Object.assign(new Error(`${fails}: write failed`), { code: fails }));
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      done();
    },
  });
  // As process.stdout is in `main`: a failed write is an 'error' event handled there.
  stream.on('error', () => {});
  return { stream, text: () => text };
}

/** Replaces a property of `process` (a getter for the standard streams) until the returned undo runs. */
function replace<K extends 'stdout' | 'stderr' | 'stdin' | 'env'>(key: K, value: unknown): () => void {
  const own = Object.getOwnPropertyDescriptor(process, key)!;
  Object.defineProperty(process, key, { value, configurable: true, writable: true, enumerable: own.enumerable ?? true });
  return () => Object.defineProperty(process, key, own);
}

async function runNow(args: string[], options: CliRunOptions): Promise<CliResult> {
  // Imported on first use, so that suites which only spawn the CLI do not load it.
  const { runCli: run } = await import('../../src/cli/main.ts');
  const out = textSink(options.stdoutFails, options.stdoutFailsAfter);
  const err = textSink();
  const undo = [
    replace('stdout', out.stream),
    replace('stderr', err.stream),
    replace('stdin', Readable.from(options.input ? [Buffer.from(options.input)] : [])),
    replace('env', cleanEnv(options.env)),
  ];
  try {
    const code = await run(args, options.now ? { now: options.now } : {});
    return { code, stdout: out.text(), stderr: err.text() };
  } finally {
    for (const u of undo.reverse()) u();
  }
}

/**
 * Runs the CLI with `args` in a child process, as a user runs `logwarden`; `as` runs it through
 * a command prefix, for example `runuser -u nobody --`.
 */
export function runCliProcess(
  args: string[],
  options: { input?: string; env?: Record<string, string>; as?: readonly string[]; stdoutTo?: string } = {},
): Promise<CliResult> {
  const [cmd, ...rest] = [...(options.as ?? []), process.execPath, ...CLI_ARGS, ...args];
  return new Promise((resolve, reject) => {
    // `stdoutTo`: standard output is that file, as `> FILE` makes it (then `stdout` is empty).
    const out = options.stdoutTo === undefined ? 'pipe' : openSync(options.stdoutTo, 'w');
    const child = spawn(cmd!, rest, { cwd: ROOT, env: cleanEnv(options.env), stdio: ['pipe', out, 'pipe'] });
    if (typeof out === 'number') closeSync(out);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(options.input ?? '');
  });
}

/** The in-process runner with a required clock, for tests where the time is the point. */
export function runCliInProcess(args: string[], options: { now: () => number }): Promise<CliResult> {
  return runCli(args, options);
}

export interface RunningServer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly url: string;
  /** Everything the process wrote to stderr (the terminal's messages) so far. */
  stderr(): string;
  /** Everything the process wrote to stdout (its structured log) so far. */
  stdout(): string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/**
 * Starts `logwarden serve` and resolves once it listens (its URL is read from its log); `as`
 * runs it through a wrapper command (a shell setting limits), which must exec it.
 */
export function startServe(args: string[], env: Record<string, string> = {}, as: readonly string[] = []): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const command = [...as, process.execPath, ...CLI_ARGS, 'serve', '--host', '127.0.0.1', ...args];
    const child = spawn(command[0]!, command.slice(1), {
      cwd: ROOT,
      env: cleanEnv({ LOGWARDEN_LOG_LEVEL: 'info', ...env }),
    });
    let err = '';
    let out = '';
    let done = false;
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m && !done) {
        done = true;
        resolve({ child, url: m[1]!, stderr: () => err, stdout: () => out, exited });
      }
    });
    void exited.then((code) => {
      if (!done) reject(new Error(`serve exited with ${code} before listening:\n${err}`));
    });
  });
}
