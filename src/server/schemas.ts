/**
 * The wire shapes, defined once. They validate requests, type the handlers, serialise the
 * answers that are objects, and generate the OpenAPI document (`/openapi.json`).
 */
import { type Static, Type } from 'typebox';
import { FILTER_FIELDS, MAX_USER_FIELD_LENGTH, USER_FIELDS } from '../logs/entry.ts';
import { MAX_BATCH_ENTRIES } from '../logs/ingest-parse.ts';
import { ADMIN_LOG_TYPE, type LogTypes } from '../logs/log-types.ts';
import { SCOPES } from '../store/store.ts';
import { decimalRangePattern } from './decimal-range.ts';

// The examples "Try it out" fills in are set where the page is built (../server/docs.ts): they
// depend on the configured log types and on today's date.

const LIST_LOGS_PROPERTIES = {
  logType: Type.Optional(
    Type.String({
      description:
        'One of AccessLog, UserActivityLog, UserCallPlay, ExternallySharedCallAccess, ExternallySharedCallPlay (or a type the deployment added), ' +
        "or LogwardenAdminLog: the tenant's admin trail (keys created and revoked, limits, retention, holds, purges). Required unless a cursor is given.",
    }),
  ),
  fromDateTime: Type.Optional(
    Type.String({
      description:
        'Inclusive lower bound: ISO-8601 with an offset or Z, fractional seconds allowed, e.g. 2026-01-31T08:00:00Z. Required unless a cursor is given.',
    }),
  ),
  toDateTime: Type.Optional(
    Type.String({ description: 'Exclusive upper bound, later than fromDateTime, e.g. 2026-02-01T00:00:00-07:00. Omitted: up to the latest entry.' }),
  ),
  cursor: Type.Optional(Type.String({ description: 'records.cursor of the previous page, passed back unchanged.' })),
  limit: Type.Optional(Type.String({ description: 'Extension: page size, an integer from 1 to 1000 (default 100).', pattern: '^[0-9]+$' })),
  userId: Type.Optional(
    Type.String({
      description:
        'Extension: only entries whose userId is exactly this (case and all). Not with userEmailAddress. totalRecords counts the matching entries; ' +
        'the cursor carries the filter (a cursor sent with a different filter is refused with 400).',
    }),
  ),
  userEmailAddress: Type.Optional(
    Type.String({
      description:
        'Extension: only entries whose userEmailAddress is exactly this (case and all). Not with userId. Carried by the cursor like userId.',
    }),
  ),
};

/** The list-logs query's shape (for types); the route validates with listLogsQuery below. */
export const ListLogsQuery = Type.Object(LIST_LOGS_PROPERTIES);
export type ListLogsQuery = Static<typeof ListLogsQuery>;

/** A rule that applies to a query without a cursor (JSON Schema's if/then). */
function withoutCursor(rule: object): object {
  // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword, not a thenable.
  return { if: { not: { required: ['cursor'] } }, then: rule };
}

/** The pattern of the page sizes this deployment allows (limit, 1 to maxPageSize). */
export function pageSizePattern(maxPageSize: number): string {
  return decimalRangePattern(maxPageSize);
}

/**
 * The list-logs query with this deployment's rules: without a cursor, logType and fromDateTime
 * are required and non-empty, and logType is one of the configured types; limit, with or
 * without a cursor, is an integer from 1 to maxPageSize. What a schema cannot say stays in
 * service/list-logs.ts: date-time semantics, a cursor's checks, and parameters restated beside a
 * cursor.
 */
export function listLogsQuery(types: LogTypes, maxPageSize: number): typeof ListLogsQuery {
  // allOf is checked in order, so the first problem reported is the one the API has always
  // reported first: a malformed parameter, then logType, then fromDateTime, then limit.
  return Type.Object(LIST_LOGS_PROPERTIES, {
    allOf: [
      { properties: ListLogsQuery.properties },
      withoutCursor({ required: ['logType'], properties: { logType: { type: 'string', minLength: 1 } } }),
      withoutCursor({ properties: { logType: { enum: [...types.names] } } }),
      withoutCursor({ required: ['fromDateTime'], properties: { fromDateTime: { type: 'string', minLength: 1 } } }),
      { properties: { limit: { type: 'string', pattern: pageSizePattern(maxPageSize) } } },
    ],
  });
}

export const WireEntrySchema = Type.Object({
  userId: Type.Optional(Type.String()),
  userEmailAddress: Type.Optional(Type.String()),
  userFullName: Type.Optional(Type.String()),
  impersonatorUserId: Type.Optional(Type.String()),
  impersonatorEmailAddress: Type.Optional(Type.String()),
  impersonatorFullName: Type.Optional(Type.String()),
  impersonatorCompanyId: Type.Optional(Type.String()),
  eventTime: Type.String({ description: 'UTC with milliseconds, e.g. 2025-06-12T19:55:14.638Z' }),
  logRecord: Type.Object({}, { additionalProperties: true, description: 'Returned exactly as ingested.' }),
});

export const ListLogsResponse = Type.Object({
  requestId: Type.String(),
  records: Type.Object({
    totalRecords: Type.Integer(),
    currentPageSize: Type.Integer(),
    currentPageNumber: Type.Integer(),
    cursor: Type.Optional(Type.String({ description: 'Present only when more entries remain.' })),
  }),
  logEntries: Type.Array(WireEntrySchema),
});

export const ErrorEnvelope = Type.Object({
  requestId: Type.String({ description: '19 lowercase base-36 characters; also the x-traceid header.' }),
  errors: Type.Array(Type.String()),
});

/**
 * Each user field of an ingested entry: a string (ids are strings), or null for "not given"; the
 * fields the user filter matches are never empty.
 */
const INGEST_USER_FIELDS = Object.fromEntries(
  USER_FIELDS.map((f) => [
    f,
    Type.Optional(
      Type.Union([
        Type.String({ maxLength: MAX_USER_FIELD_LENGTH, ...((FILTER_FIELDS as readonly string[]).includes(f) && { minLength: 1 }) }),
        Type.Null(),
      ]),
    ),
  ]),
);

const INGEST_ENTRY = Type.Object(
  {
    ...INGEST_USER_FIELDS,
    eventTime: Type.String({ description: 'ISO-8601 with an offset; kept to the millisecond.' }),
    logRecord: Type.Object({}, { additionalProperties: true }),
  },
  { additionalProperties: false },
);

/**
 * The JSON ingest batch with this deployment's writable types, built from the definitions the
 * ingest parser (logs/ingest-parse.ts) applies: the entry fields, their length, the batch size.
 * The body is parsed there and not by this schema, because the parser keeps each logRecord's
 * raw text (numbers beyond 2^53 and all) and checks what a schema cannot: the event time's
 * meaning, repeated keys, nesting depth. test/server/ingest-schema.test.ts holds the two to
 * the same answers.
 */
export function ingestBatch(types: LogTypes) {
  return Type.Object(
    {
      logType: Type.String({
        enum: [...types.writable],
        description: `A configured log type other than ${ADMIN_LOG_TYPE}, which only logwarden writes (400).`,
      }),
      logEntries: Type.Array(INGEST_ENTRY, { maxItems: MAX_BATCH_ENTRIES }),
    },
    {
      additionalProperties: false,
      description:
        `JSON batch of one log type (application/json, up to ${MAX_BATCH_ENTRIES.toLocaleString('en-US')} entries), ` +
        'or NDJSON (application/x-ndjson): one entry per line, each with its own logType.',
    },
  );
}

export const IngestResponse = Type.Object({
  requestId: Type.String(),
  accepted: Type.Integer({ description: 'Entries newly stored.' }),
  duplicates: Type.Integer({ description: 'Entries identical to ones already stored (not stored again).' }),
});

/**
 * The token request's form. It is checked in the route, after the client's credentials (RFC 6749
 * §5.2: a bad client is 401 before any 400) and with the RFC's error codes, against these same
 * definitions: the one grant type and the scopes (SCOPES).
 */
export const TOKEN_GRANT_TYPE = 'client_credentials';
export const TokenRequest = Type.Object({
  grant_type: Type.String({ enum: [TOKEN_GRANT_TYPE], description: 'Given once.' }),
  scope: Type.Optional(
    Type.String({
      pattern: `^ *(?:(?:${SCOPES.join('|')})(?: +|$))*$`,
      description: `Given at most once: a space-separated subset of the access key's scopes (${SCOPES.join(', ')}); omitted, all of them.`,
    }),
  ),
});

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
  requestId: Type.String(),
});

export const OAuthError = Type.Object({
  error: Type.String(),
  error_description: Type.String(),
  requestId: Type.String(),
});

export const HealthResponse = Type.Object({ status: Type.String() });
