/**
 * The log entry in its three shapes: ingest input (what clients post), the stored row
 * (`NewEntry` / `StoredEntry`: indexed columns plus the entry's wire text), and the Gong wire
 * format. The wire text is rendered once, at ingest, in Gong's field order, so a page is the
 * concatenation of stored texts and `logRecord` is never re-serialised.
 */
import * as crypto from 'node:crypto';
import { ENTRY_FIELDS, FILTER_FIELDS, type FilterField, ID_FIELDS, USER_FIELDS, type UserField } from './entry-fields.ts';
import { formatEventTime, isRenderable, parseDateTime } from './time.ts';

export { ENTRY_FIELDS, FILTER_FIELDS, type FilterField, USER_FIELDS, type UserField } from './entry-fields.ts';

export const MAX_USER_FIELD_LENGTH = 1024;

const FILTERED: ReadonlySet<string> = new Set(FILTER_FIELDS);

/** What each user field holds, for the message that refuses a value that is not a string. */
const HOLDS: Readonly<Record<UserField, string>> = {
  userId: "the user's id",
  userEmailAddress: "the user's email address",
  userFullName: "the user's full name",
  impersonatorUserId: "the impersonator's user id",
  impersonatorEmailAddress: "the impersonator's email address",
  impersonatorFullName: "the impersonator's full name",
  impersonatorCompanyId: "the impersonator's company id",
};

/** An exact match on one user field of an entry (the user filter of `GET /v2/logs`). */
export interface UserMatch {
  readonly field: FilterField;
  readonly value: string;
}

/** A validated entry ready to store. */
export interface NewEntry {
  readonly logType: string;
  readonly eventTimeMs: number;
  /** The entry as Gong renders it: `{"userId":…,"eventTime":…,"logRecord":…}`. */
  readonly body: string;
  /** Idempotency key: a digest of the log type and body (ENTRY_KEY_BYTES long). Identical entries share it. */
  readonly key: Buffer;
  /** SHA-256 of `body`, when already computed (the entry's leaf then takes it instead of hashing again). */
  readonly digest?: Uint8Array;
  /** `body` in UTF-8, when at hand (a store may take them instead of encoding the body again). */
  readonly bodyBytes?: Uint8Array;
}

/** A problem with one field of one entry; `field` is the path relative to the entry. */
export class EntryProblem extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * SHA-256 in one call (Node 20.12 and later), which spares a Hash object per entry; the
 * streaming form on older Node 20 releases. Both digest the same bytes. The one-shot digest
 * comes as a 'binary' (latin1) string, a character a byte: cheaper on Node 20 than its
 * 'buffer' output.
 */
const sha256: (text: string) => Buffer =
  typeof crypto.hash === 'function'
    ? (text) => Buffer.from(crypto.hash('sha256', text, 'binary'), 'latin1')
    : (text) => crypto.createHash('sha256').update(text).digest();
const sha256Bytes: (bytes: Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (bytes) => Buffer.from(crypto.hash('sha256', bytes, 'binary'), 'latin1')
    : (bytes) => crypto.createHash('sha256').update(bytes).digest();

/** Bytes of an idempotency key. */
export const ENTRY_KEY_BYTES = 16;

export function entryKey(logType: string, body: string): Buffer {
  return sha256(`${logType}\0${body}`).subarray(0, ENTRY_KEY_BYTES);
}

/**
 * entryKey of bodies given as their UTF-8 bytes (the same key: the UTF-8 of the log type, a
 * 0x00 byte and the body's UTF-8), for one log type, without making a string of each.
 */
export class EntryKeys {
  private scratch: Buffer;
  private readonly prefix: number;

  constructor(logType: string) {
    const head = Buffer.from(`${logType}\0`);
    this.prefix = head.length;
    this.scratch = Buffer.allocUnsafeSlow(this.prefix + 4096);
    head.copy(this.scratch);
  }

  /** Writes the key of the body `bytes` into `out` at `at` (ENTRY_KEY_BYTES). */
  write(bytes: Uint8Array, out: Buffer, at: number): void {
    if (this.prefix + bytes.length > this.scratch.length) {
      const bigger = Buffer.allocUnsafeSlow(2 * (this.prefix + bytes.length));
      this.scratch.copy(bigger, 0, 0, this.prefix);
      this.scratch = bigger;
    }
    this.scratch.set(bytes, this.prefix);
    sha256Bytes(this.scratch.subarray(0, this.prefix + bytes.length)).copy(out, at, 0, ENTRY_KEY_BYTES);
  }
}

/** renderEntry, with the entry's idempotency key. Throws EntryProblem. */
export function toNewEntry(...args: Parameters<typeof renderEntry>): NewEntry {
  const e = renderEntry(...args);
  return { logType: e.logType, eventTimeMs: e.eventTimeMs, body: e.body, key: entryKey(e.logType, e.body) };
}

/** An entry validated and rendered, its key not yet made. */
export type RenderedEntry = Pick<NewEntry, 'logType' | 'eventTimeMs' | 'body'>;

/**
 * Validates one entry object (already parsed) whose `logRecord` raw text is `logRecordText`
 * (minified), and renders its wire text; its key is toNewEntry's to make, or, from the text's
 * bytes, EntryKeys'. `allowed` lists extra keys tolerated on the object (NDJSON lines carry
 * `logType`). `clientChecks` false: user fields as the source has them, of any length and empty
 * ones too (an entry mirrored from a source, which is not ours to refuse). Throws EntryProblem.
 */
export function renderEntry(
  logType: string,
  value: unknown,
  logRecordText: string | undefined,
  allowed: readonly string[] = [],
  clientChecks = true,
): RenderedEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new EntryProblem('', 'must be an object');
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) {
    if (!(ENTRY_FIELDS as readonly string[]).includes(k) && !allowed.includes(k)) {
      throw new EntryProblem(k, `unknown field (allowed: ${ENTRY_FIELDS.join(', ')})`);
    }
  }
  let body = '{';
  for (const f of USER_FIELDS) {
    const v = obj[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') {
      const hint = typeof v === 'number' && ID_FIELDS.has(f) ? ' (ids are strings: numbers lose digits beyond 2^53)' : '';
      throw new EntryProblem(f, `must be a string, ${HOLDS[f]}${hint}`);
    }
    if (clientChecks) {
      if (v.length > MAX_USER_FIELD_LENGTH) throw new EntryProblem(f, `must be at most ${MAX_USER_FIELD_LENGTH} characters`);
      // The user filter matches these exactly and takes no empty value: an empty one could never be found.
      if (v === '' && FILTERED.has(f)) throw new EntryProblem(f, 'must not be empty (omit it, or send null, when the entry has none)');
    }
    body += `${JSON.stringify(f)}:${JSON.stringify(v)},`;
  }
  const et = obj.eventTime;
  if (et === undefined || et === null) throw new EntryProblem('eventTime', 'is required');
  if (typeof et !== 'string') throw new EntryProblem('eventTime', 'must be an ISO-8601 date-time string');
  const parsed = parseDateTime(et);
  if (!parsed.ok) throw new EntryProblem('eventTime', parsed.problem);
  const ms = parsed.instant.ms; // finer digits truncated: event times are kept to the millisecond
  if (!isRenderable(ms)) throw new EntryProblem('eventTime', 'must lie between years 0000 and 9999 in UTC');
  const lr = obj.logRecord;
  if (lr === undefined) throw new EntryProblem('logRecord', 'is required');
  if (typeof lr !== 'object' || lr === null || Array.isArray(lr)) throw new EntryProblem('logRecord', 'must be a JSON object');
  if (logRecordText === undefined) throw new EntryProblem('logRecord', 'is required');
  body += `"eventTime":"${formatEventTime(ms)}","logRecord":${logRecordText}}`;
  return { logType, eventTimeMs: ms, body };
}
