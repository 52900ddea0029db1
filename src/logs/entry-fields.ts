/**
 * The field names of a log entry, in Gong's order. A module of their own, free of Node
 * imports, so the browser console and the export formats share them with the server.
 */

/** Optional user fields, in Gong's order; `eventTime` and `logRecord` follow them. */
export const USER_FIELDS = [
  'userId',
  'userEmailAddress',
  'userFullName',
  'impersonatorUserId',
  'impersonatorEmailAddress',
  'impersonatorFullName',
  'impersonatorCompanyId',
] as const;

export type UserField = (typeof USER_FIELDS)[number];

/** The user fields that hold ids (numeric strings in Gong's data, often beyond 2^53). */
export const ID_FIELDS: ReadonlySet<string> = new Set<UserField>(['userId', 'impersonatorUserId', 'impersonatorCompanyId']);

/**
 * The user fields the user filter of `GET /v2/logs` matches, exactly and never empty: ingest
 * refuses an empty one, which no query could find.
 */
export const FILTER_FIELDS = ['userId', 'userEmailAddress'] as const satisfies readonly UserField[];

export type FilterField = (typeof FILTER_FIELDS)[number];

export const ENTRY_FIELDS = [...USER_FIELDS, 'eventTime', 'logRecord'] as const;
