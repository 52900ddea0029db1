/** Runs the CLI from source: in a child process, as a user would run `logwarden`, or in this process. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
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

/** Runs the CLI with `args`; `as` runs it through a command prefix, for example `runuser -u nobody --`. */
export function runCli(args: string[], options: { input?: string; env?: Record<string, string>; as?: readonly string[] } = {}): Promise<CliResult> {
  const [cmd, ...rest] = [...(options.as ?? []), process.execPath, '--import', 'tsx', CLI, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, rest, { cwd: ROOT, env: cleanEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs the CLI in this process with `now` as its clock, for tests where the time is the point
 * and a child process is not. stdout and stderr text is captured; the test runner's own
 * (binary) reporting passes through.
 */
export async function runCliInProcess(args: string[], options: { now: () => number }): Promise<CliResult> {
  const out = { stdout: '', stderr: '' };
  const capture = (stream: NodeJS.WriteStream, key: 'stdout' | 'stderr') => {
    const write = stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      if (typeof chunk !== 'string') return write.call(stream, chunk, ...rest);
      out[key] += chunk;
      return true;
    }) as typeof stream.write;
    return () => {
      stream.write = write;
    };
  };
  const restoreOut = capture(process.stdout, 'stdout');
  const restoreErr = capture(process.stderr, 'stderr');
  // Imported on first use, so that suites which only spawn the CLI do not load it.
  const { main } = await import('../../src/cli/main.ts');
  try {
    const code = await main(args, { now: options.now });
    return { code, ...out };
  } finally {
    restoreOut();
    restoreErr();
  }
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

/** Starts `logwarden serve` and resolves once it listens (its URL is read from its log). */
export function startServe(args: string[], env: Record<string, string> = {}): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--host', '127.0.0.1', ...args], {
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
