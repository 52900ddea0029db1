/** The server's structured log: pino, credentials redacted, never an audit payload. */
import { type Logger, pino } from 'pino';
import type { LogFormat } from '../config.ts';
import { prettify } from './log-pretty.ts';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'access_token',
  '*.access_token',
];

/** `auto` is pretty when the log goes to a terminal, JSON lines otherwise (files, pipes, collectors). */
export function resolveLogFormat(format: LogFormat, isTerminal: boolean): 'pretty' | 'json' {
  return format === 'auto' ? (isTerminal ? 'pretty' : 'json') : format;
}

/**
 * Without a destination, lines go to stdout. JSON lines go asynchronously: a request never
 * waits for the write, and the lines of a few milliseconds go out in one write (`flush()` on
 * stop). Pretty lines are for a person at a terminal and are written at once, so they keep
 * their order with what the command prints on stderr.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: 'pretty' | 'json' = 'json'): Logger {
  return pino(loggerOptions(level), output(destination, format));
}

function loggerOptions(level: string): pino.LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'logwarden', pid: process.pid },
    serializers: { err: serializeError },
  };
}

/**
 * Fields of an error that name what failed without holding the data it failed on: PostgreSQL's
 * table, column and constraint names, Node's system-call fields. Not pg's `detail` ("Failing row
 * contains (…)"), `where`, `hint`, `internalQuery`, nor any other property a library adds: those
 * can quote audit payload.
 */
const NAMING_FIELDS = ['code', 'errno', 'syscall', 'address', 'port', 'schema', 'table', 'column', 'constraint'] as const;

/** How deep causes (and an AggregateError's errors) are followed. */
const MAX_CAUSE_DEPTH = 3;

/** A logged error: type, message, stack and the naming fields, never the library's other properties. */
export interface LoggedError {
  type: string;
  message: string;
  stack?: string;
  [field: string]: unknown;
}

/**
 * The logger's `err` serializer: every error the server logs (a 500's cause on the request line,
 * a failed readiness check, Fastify's own) keeps type, message, stack and the naming fields only.
 */
export function serializeError(err: unknown, depth = 0): LoggedError | unknown {
  if (!(err instanceof Error)) {
    if (typeof err !== 'object' || err === null) return err;
    const message = (err as { message?: unknown }).message;
    return { type: 'Object', message: typeof message === 'string' ? message : '(a thrown object that is no Error; its fields are not logged)' };
  }
  const out: LoggedError = { type: err.constructor?.name ?? err.name, message: err.message };
  if (typeof err.stack === 'string') out.stack = err.stack;
  const fields = err as unknown as Record<string, unknown>;
  for (const name of NAMING_FIELDS) {
    const value = fields[name];
    if (typeof value === 'string' || typeof value === 'number') out[name] = value;
  }
  if (depth < MAX_CAUSE_DEPTH) {
    if (err.cause !== undefined) out.cause = serializeError(err.cause, depth + 1);
    if (err instanceof AggregateError && Array.isArray(err.errors)) out.errors = err.errors.slice(0, 5).map((e) => serializeError(e, depth + 1));
  }
  return out;
}

function output(destination: NodeJS.WritableStream | undefined, format: 'pretty' | 'json'): pino.DestinationStream {
  // Standard output is written through its file descriptor, unless a program running this one
  // in its own process replaced process.stdout (the stand-in then gets the lines, which written
  // to descriptor 1 would land in the middle of whatever that program itself writes there).
  const stdout = typeof (process.stdout as { fd?: unknown }).fd === 'number' ? undefined : process.stdout;
  if (format === 'pretty') {
    const out = destination ?? stdout ?? pino.destination({ dest: 1, sync: true });
    return { write: (chunk: string) => out.write(prettify(chunk)) };
  }
  return (destination ?? stdout ?? new BatchedLines(pino.destination({ dest: 1, sync: false }))) as pino.DestinationStream;
}

/** How long a JSON line may wait to be written with those that follow it. */
export const LINE_WAIT_MS = 10;

/**
 * JSON lines handed to the stream together, at most LINE_WAIT_MS after the first of them.
 * Under load every request's line written on its own cost a page of `GET /v2/logs` about
 * 10 µs of CPU (docs/benchmarks.md): sonic-boom measures the UTF-8 length of everything it
 * holds at every write (lines pile up in one string while a write is in flight), and each
 * write it starts is a round trip through libuv's thread pool. No line is lost to the wait:
 * `flush()` (on stop) writes what waits first, the wait keeps the process running, and a
 * process that exits at once (`process.exit`) writes what waits as it exits.
 */
export class BatchedLines implements pino.DestinationStream {
  private lines: string[] = [];

  constructor(private readonly out: pino.DestinationStream & { flush(cb?: (err?: Error) => void): void; flushSync?(): void }) {}

  write(line: string): boolean {
    if (this.lines.push(line) === 1) {
      setTimeout(this.writeLines, LINE_WAIT_MS);
      waitingAtExit(this);
    }
    return true;
  }

  flush(cb?: (err?: Error) => void): void {
    this.writeLines();
    this.out.flush(cb);
  }

  /** Writes what waits, synchronously: the process is exiting. */
  writeAtExit(): void {
    try {
      this.writeLines();
      this.out.flushSync?.();
    } catch {
      // The stream is closed: there is nowhere left to write.
    }
  }

  private readonly writeLines = (): void => {
    waiting.delete(this);
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.out.write(text);
  };
}

/** The BatchedLines with lines waiting, which one listener writes if the process exits at once. */
const waiting = new Set<BatchedLines>();
let exitListened = false;

function waitingAtExit(lines: BatchedLines): void {
  waiting.add(lines);
  if (exitListened) return;
  exitListened = true;
  process.on('exit', () => {
    for (const l of [...waiting]) l.writeAtExit();
  });
}

/**
 * The log of a starting server: lines are held back until `release()`, so that what the
 * command prints once it listens (first-run credentials, curl lines) comes out whole, before
 * the first log line, whichever stream each goes to.
 */
export function createHeldLogger(level: string, format: 'pretty' | 'json', destination?: NodeJS.WritableStream): { logger: Logger; release(): void } {
  const out = output(destination, format);
  let held: string[] | undefined = [];
  const stream: pino.DestinationStream & { flush?(cb?: (err?: Error) => void): void } = {
    write(chunk: string) {
      if (held) held.push(chunk);
      else out.write(chunk);
    },
    flush(cb?: (err?: Error) => void) {
      const f = (out as { flush?: (cb?: (err?: Error) => void) => void }).flush;
      if (typeof f === 'function') f.call(out, cb);
      else cb?.();
    },
  };
  return {
    logger: pino(loggerOptions(level), stream),
    release() {
      const lines = held ?? [];
      held = undefined;
      for (const l of lines) out.write(l);
    },
  };
}
