/**
 * The closed catalogue of failures. Each code has exactly one HTTP status (the server maps
 * through this table, and a code without a status does not compile) and one CLI exit code.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  route_not_found: 404,
  no_records: 404,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  headers_too_large: 431,
  internal: 500,
  unavailable: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Gong's exact 404 text; clients match on it. */
export const NO_RECORDS_MESSAGE = 'No log records found corresponding to the provided log type and time range';
export const RATE_LIMITED_MESSAGE = 'API request limit exceeded';
export const INTERNAL_MESSAGE = 'Internal server error';

export class LogwardenError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly messages: readonly string[],
    readonly headers: Readonly<Record<string, string>> = {},
    /** Facts for the server's log that the client is not told (e.g. which known key failed). */
    readonly context: Readonly<Record<string, string>> = {},
  ) {
    super(messages.join('; '));
    this.name = 'LogwardenError';
    this.status = ERROR_STATUS[code];
  }
}

export function invalid(...messages: string[]): LogwardenError {
  return new LogwardenError('invalid_request', messages);
}
