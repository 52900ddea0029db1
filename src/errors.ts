/**
 * The closed catalogue of failures. Each code has exactly one HTTP status (the server maps
 * through this table) and one CLI exit code (the CLI maps through it too); a code without
 * both does not compile. Typed errors carry a code from this table, so neither transport
 * recognises a failure by its class or its message.
 */

/** The CLI's exit codes. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** Stopped by SIGINT/SIGTERM: 128 + SIGINT's number, as shells report a Ctrl-C. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const ERRORS = {
  // Answers of the HTTP API. A command that meets one (through the SDK or the store) fails with 1.
  invalid_request: { status: 400, exit: EXIT.failure },
  unauthorized: { status: 401, exit: EXIT.failure },
  route_not_found: { status: 404, exit: EXIT.failure },
  no_records: { status: 404, exit: EXIT.failure },
  method_not_allowed: { status: 405, exit: EXIT.failure },
  request_timeout: { status: 408, exit: EXIT.failure },
  payload_too_large: { status: 413, exit: EXIT.failure },
  unsupported_media_type: { status: 415, exit: EXIT.failure },
  rate_limited: { status: 429, exit: EXIT.failure },
  headers_too_large: { status: 431, exit: EXIT.failure },
  internal: { status: 500, exit: EXIT.failure },
  unavailable: { status: 503, exit: EXIT.failure },
  // Raised by the store. Behind a request they are the server's fault: a 5xx whose message is
  // logged, never sent.
  unknown_tenant: { status: 500, exit: EXIT.failure },
  corrupt_segment: { status: 500, exit: EXIT.failure },
  schema_too_new: { status: 503, exit: EXIT.failure },
  store_rolled_back: { status: 503, exit: EXIT.failure },
  database_pool_mode: { status: 503, exit: EXIT.usage },
  // Raised by the command line and the configuration.
  usage: { status: 400, exit: EXIT.usage },
  invalid_config: { status: 500, exit: EXIT.usage },
  command_failed: { status: 500, exit: EXIT.failure },
  interrupted: { status: 503, exit: EXIT.interrupted },
} as const satisfies Record<string, { readonly status: number; readonly exit: ExitCode }>;

export type ErrorCode = keyof typeof ERRORS;

/** Each code's HTTP status. */
export const ERROR_STATUS: { readonly [C in ErrorCode]: (typeof ERRORS)[C]['status'] } = Object.freeze(
  Object.fromEntries(Object.entries(ERRORS).map(([code, e]) => [code, e.status])) as { [C in ErrorCode]: (typeof ERRORS)[C]['status'] },
);

/** Gong's exact 404 text; clients match on it. */
export const NO_RECORDS_MESSAGE = 'No log records found corresponding to the provided log type and time range';
export const RATE_LIMITED_MESSAGE = 'API request limit exceeded';
export const INTERNAL_MESSAGE = 'Internal server error';

/** A failure with a code from the catalogue: what the server and the CLI map through the table. */
export abstract class CodedError extends Error {
  abstract readonly code: ErrorCode;
}

export class LogwardenError extends CodedError {
  readonly status: number;
  /** The messages as the server's log may hold them, when they differ from the client's (see invalidInput). */
  logged: readonly string[] | undefined;
  constructor(
    override readonly code: ErrorCode,
    readonly messages: readonly string[],
    readonly headers: Readonly<Record<string, string>> = {},
    /** Facts for the server's log that the client is not told (e.g. which known key failed). */
    readonly context: Readonly<Record<string, string>> = {},
  ) {
    super(messages.join('; '));
    this.name = 'LogwardenError';
    this.status = ERRORS[code].status;
  }
}

export function invalid(...messages: string[]): LogwardenError {
  return new LogwardenError('invalid_request', messages);
}

/**
 * A 400 whose message quotes what the client sent (a field name of its choosing, a piece of the
 * body), with the words the server's log may hold instead: an audit payload never reaches it.
 */
export function invalidInput(message: string, logged: string): LogwardenError {
  const err = invalid(message);
  err.logged = [logged];
  return err;
}
