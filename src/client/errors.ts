/**
 * The error of every call to the server (verifying a log adds its own: VerifyError, and
 * EvidenceError for bundles). Callers branch on `code` (a stable string), never on the message
 * or the class name; `status`, `requestId` and the server's own `errors` messages travel
 * with it so a failure can be reported to the server's operator precisely.
 */
import { NO_RECORDS_MESSAGE } from '../errors.ts';

export const CLIENT_ERROR_CODES = [
  /** 400: the server refused the request (bad parameter, date or cursor). */
  'bad_request',
  /** 401/403: credentials missing, wrong, revoked, expired, or lacking a scope. */
  'unauthorized',
  /** 404 other than "no records": usually a wrong base URL. */
  'not_found',
  /** 404 with Gong's no-records message. `listLogs` turns it into an empty page. */
  'no_records',
  /** 413: a request body or NDJSON line over the server's limit (ingest). */
  'too_large',
  /** 429 after the retries, or a Retry-After beyond the ceiling (see `retryAfterMs`). */
  'rate_limited',
  /** 5xx after the retries. */
  'server_error',
  /** Any other unexpected HTTP status. */
  'http_error',
  /** No complete answer within the timeout, after the retries. */
  'timeout',
  /** Connection refused, reset or cut short, after the retries. */
  'network',
  /** A 2xx answer that is not the JSON document the contract promises (e.g. truncated). */
  'invalid_response',
  /** The caller's AbortSignal fired. */
  'aborted',
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

/** What the requests of a failed ingest call that were answered stored, and which entries they held. */
export interface IngestedBeforeFailure {
  readonly accepted: number;
  readonly duplicates: number;
  /** Requests answered with their counts. */
  readonly requests: number;
  /**
   * The entries those requests held, as ranges of positions in the input (0-based, `last`
   * included; for NDJSON the n-th entry or non-blank line), in input order. With several requests
   * in flight, batches after the failed one may be among them. Every other entry was not
   * acknowledged: sending them again (or the whole input: ingest is idempotent) completes the call.
   */
  readonly acknowledged: readonly { readonly first: number; readonly last: number }[];
}

export interface LogsApiErrorDetails {
  status?: number | undefined;
  requestId?: string | undefined;
  messages?: readonly string[] | undefined;
  /** RFC 6749 error code from the token endpoint (`invalid_client`, …). */
  oauthError?: string | undefined;
  retryAfterMs?: number | undefined;
  attempts?: number | undefined;
  /** For a failed ingest: what other requests of the same call stored (they stay stored). */
  ingested?: IngestedBeforeFailure | undefined;
  cause?: unknown;
}

export class LogsApiError extends Error {
  override readonly name = 'LogsApiError';
  readonly code: ClientErrorCode;
  /** The HTTP status, when the server answered at all. */
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  /** The server's `errors` messages (or the token endpoint's `error_description`). */
  readonly messages: readonly string[];
  readonly oauthError: string | undefined;
  /** For `rate_limited`: how long the server asked to wait. */
  readonly retryAfterMs: number | undefined;
  /** How many requests were made before giving up. */
  readonly attempts: number;
  /** For a failed ingest: what other requests of the same call stored (they stay stored; replaying them only adds duplicates). */
  readonly ingested: IngestedBeforeFailure | undefined;

  constructor(code: ClientErrorCode, summary: string, details: LogsApiErrorDetails = {}) {
    const messages = details.messages ?? [];
    const text = messages.length > 0 ? `${summary}: ${messages.join('; ')}` : summary;
    super(details.requestId ? `${text} (requestId ${details.requestId})` : text, { cause: details.cause });
    this.code = code;
    this.status = details.status;
    this.requestId = details.requestId;
    this.messages = messages;
    this.oauthError = details.oauthError;
    this.retryAfterMs = details.retryAfterMs;
    this.attempts = details.attempts ?? 1;
    this.ingested = details.ingested;
  }
}

/** The code for an HTTP error status. Gong's exact no-records text is what marks an empty result. */
export function codeForStatus(status: number, messages: readonly string[]): ClientErrorCode {
  if (status === 400) return 'bad_request';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return messages.includes(NO_RECORDS_MESSAGE) ? 'no_records' : 'not_found';
  if (status === 413) return 'too_large';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'server_error';
  return 'http_error';
}

export function isLogsApiError(err: unknown, code?: ClientErrorCode): err is LogsApiError {
  return err instanceof LogsApiError && (code === undefined || err.code === code);
}
