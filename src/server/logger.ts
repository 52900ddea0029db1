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
 * waits for the write, and lines that pile up under load go out in one write (`flush()` on
 * stop). Pretty lines are for a person at a terminal and are written at once, so they keep
 * their order with what the command prints on stderr.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream, format: 'pretty' | 'json' = 'json'): Logger {
  return pino(loggerOptions(level), output(destination, format));
}

function loggerOptions(level: string): pino.LoggerOptions {
  return { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'logwarden', pid: process.pid } };
}

function output(destination: NodeJS.WritableStream | undefined, format: 'pretty' | 'json'): pino.DestinationStream {
  if (format === 'pretty') {
    const out = destination ?? pino.destination({ dest: 1, sync: true });
    return { write: (chunk: string) => out.write(prettify(chunk)) };
  }
  return (destination as pino.DestinationStream | undefined) ?? pino.destination({ dest: 1, sync: false });
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
