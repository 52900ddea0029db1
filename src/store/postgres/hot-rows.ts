/**
 * The hot-row check on PostgreSQL (../hot-rows.ts), computed by the statement that reads the
 * rows: the first 64 bits of the SHA-256 of the log type, a NUL and the text (as UTF-8, what
 * `entryKey` hashed), looked up in `entry_keys` with the row's tenant and event time. The
 * row's text never travels twice, and the probe is one index lookup on the key's own row.
 */

/**
 * A boolean column: whether the row of `entries` (named `row`) still gives its key. `prefix`
 * is the parameter holding `hotKeyPrefix` of its log type, as bytea. `within`, the parameters
 * of the statement's own bounds on the row's event time (from inclusive, to exclusive), lets
 * PostgreSQL plan the probe over those months' partitions of `entry_keys` only, not every one;
 * `keys` names one month's partition of it instead, for a row of that month's partition.
 */
export const hotRowOk = (prefix: string, row = 'entries', within?: { from: string; to: string }, keys = 'entry_keys'): string =>
  `EXISTS (SELECT FROM ${keys} k WHERE k.tid = ${row}.tid AND k.event_time = ${row}.event_time
     ${within ? `AND k.event_time >= ${within.from} AND k.event_time < ${within.to}` : ''}
     AND k.key = ('x' || encode(substring(sha256(${prefix}::bytea || convert_to(${row}.body, 'UTF8')) FROM 1 FOR 8), 'hex'))::bit(64)::int8)`;
