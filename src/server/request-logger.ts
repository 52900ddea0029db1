/**
 * Each request's logger (Fastify's `request.log`), made as pino's child of the server's logger
 * only when something logs through it. Almost every request logs just its one line, which
 * writeInfoLine (request-log.ts) writes from the parent's bindings and the request's own. A
 * pino child made for every request took about 1 % of the CPU of a page of `GET /v2/logs` in a
 * `perf` profile (about 2 µs; too little for a benchmark run to show on its own).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, LevelWithSilentOrString } from 'pino';

export class RequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;
  /**
   * The request's bindings as pino appends them to its parent's (`,"requestId":"…"`), or null
   * when pino would have to look at them (a value that is not a string, options for the child):
   * the child is then made at once.
   */
  private readonly boundText: string | null;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildLoggerOptions,
  ) {
    let text: string | null = '';
    for (const key in bindings) {
      const value: unknown = bindings[key];
      if (typeof value !== 'string') text = null;
      else if (text !== null) text += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
    }
    if (Object.keys(options).length > 0) text = null;
    this.boundText = text;
    if (text === null) this.made = parent.child(bindings, options);
  }

  /**
   * Where this request's info line goes, and the bindings to append to that logger's own: the
   * child once made, else the parent and this request's bindings.
   */
  lineTarget(): { log: FastifyBaseLogger; bound: string } {
    return this.made === undefined ? { log: this.parent, bound: this.boundText! } : { log: this.made, bound: '' };
  }

  private get log(): FastifyBaseLogger {
    this.made ??= this.parent.child(this.bindings, this.options);
    return this.made;
  }

  get level(): LevelWithSilentOrString {
    return (this.made ?? this.parent).level;
  }

  set level(level: LevelWithSilentOrString) {
    this.log.level = level;
  }

  fatal(...args: unknown[]): void {
    call(this.log, 'fatal', args);
  }
  error(...args: unknown[]): void {
    call(this.log, 'error', args);
  }
  warn(...args: unknown[]): void {
    call(this.log, 'warn', args);
  }
  info(...args: unknown[]): void {
    call(this.log, 'info', args);
  }
  debug(...args: unknown[]): void {
    call(this.log, 'debug', args);
  }
  trace(...args: unknown[]): void {
    call(this.log, 'trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.log.child(bindings, options);
  }
}

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** `log[level](...args)`, its overloads aside. */
function call(log: FastifyBaseLogger, level: Level, args: unknown[]): void {
  (log[level] as (this: FastifyBaseLogger, ...args: unknown[]) => void).apply(log, args);
}

/** Fastify's `childLoggerFactory`: a RequestLogger for every request. */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  return new RequestLogger(logger, bindings, options);
}
