/**
 * The three formats `logwarden fetch` writes (NDJSON, JSON, CSV), record by record. Free of
 * Node imports: the browser console exports with the same code.
 */
import { ENTRY_FIELDS, ID_FIELDS, USER_FIELDS, type UserField } from '../logs/entry-fields.ts';

/** What a format reads from an entry (the SDK's LogEntry has it): its exact texts and user fields. */
export type FormattedEntry = { readonly [F in UserField]?: string | undefined } & {
  readonly eventTime: string;
  readonly logRecordText: string;
  readonly raw: string;
};

export const FORMATS = ['ndjson', 'json', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

export interface Formatter {
  /** Text before the first record ('' when appending to an existing file). */
  readonly head: string;
  record(e: FormattedEntry, index: number): string;
  /**
   * For formats whose record is the entry's exact text (NDJSON, JSON), how: `lead(index)`, then
   * the text from its byte `from` on, then `trail`. An export then writes the texts' bytes as
   * they are, without building entries.
   */
  readonly pass?: { readonly lead: (index: number) => string; readonly from: number; readonly trail: string };
  /** Text after the last of `count` records. */
  tail(count: number): string;
}

/** RFC 4180: quote a cell holding a comma, quote or line break; double the quotes. */
export function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** How `--format csv` writes ids: `text` keeps all their digits in spreadsheets; `plain` is the bare value. */
export const CSV_ID_STYLES = ['text', 'plain'] as const;
export type CsvIdStyle = (typeof CSV_ID_STYLES)[number];

/** More digits than a double holds exactly (15): a spreadsheet would round such a number. */
const LONG_NUMBER = /^-?\d{16,}$/;
/**
 * What a spreadsheet would read as a formula (= + - @, OWASP's list, and a tab or carriage
 * return before one), or a value that starts with a tab itself, which must not pass for one
 * prefixed here.
 */
const FORMULA_OR_TAB = /^[=+\-@\t\r]/;

/**
 * A user field's cell (ids, names, emails). Spreadsheets (LibreOffice Calc and Excel alike)
 * turn a 19-digit id into a number on opening a CSV, quoted or not, and keep only 15
 * significant digits, and run a cell that starts with `=` as a formula. A cell that starts
 * with a tab is neither to them: it stays text, with every digit. With the `text` style, the
 * ids, any other number of more than 15 digits, and any value that starts like a formula or
 * with a tab get one tab in front. The file stays plain CSV (no formula such as ="…", which
 * only a spreadsheet understands), and the rule is exact: a program reading the file strips
 * one leading tab from each user-field cell that has one (or asks for `--csv-ids plain`, or
 * reads NDJSON).
 */
export function csvUserCell(field: string, v: string | null | undefined, style: CsvIdStyle): string {
  // As PostgreSQL's COPY reads CSV: an empty cell is a missing value (null or absent), `""` an empty string.
  if (v === null || v === undefined) return '';
  if (v === '') return '""';
  if (style === 'plain' || !(ID_FIELDS.has(field) || LONG_NUMBER.test(v) || FORMULA_OR_TAB.test(v))) return csvCell(v);
  return `"\t${v.replaceAll('"', '""')}"`;
}

/**
 * What a CSV cell cannot carry unchanged: a NUL (CSV readers such as PostgreSQL's COPY refuse it,
 * C tools end the text there) and a lone surrogate (UTF-8 cannot encode it: it would become
 * U+FFFD). JSON escapes both, so NDJSON and JSON keep them.
 */
const NOT_CSV_TEXT = /\0|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * An entry whose user field CSV cannot hold as it is. An audit export does not alter a value to
 * make it fit: the CSV export stops there and names the entry, which NDJSON or JSON export exactly.
 */
export class CsvValueError extends Error {
  override name = 'CsvValueError';
  constructor(
    readonly field: string,
    readonly eventTime: string,
    readonly userId: string | undefined,
    readonly what: string,
  ) {
    super(
      `the entry of ${eventTime}${userId === undefined ? '' : ` (userId ${JSON.stringify(userId)})`}: its ${field} holds ${what}; ` +
        'CSV cannot hold it unchanged. Export this range with --format ndjson or --format json, which keep it exactly',
    );
  }
}

/** Throws CsvValueError when a user field of `e` holds what a CSV cell cannot carry unchanged. */
function checkCsvText(e: FormattedEntry): void {
  for (const f of USER_FIELDS) {
    const v = e[f];
    if (v === undefined || v === null) continue;
    const bad = NOT_CSV_TEXT.exec(v);
    if (!bad) continue;
    const c = bad[0]!;
    const what =
      c === '\0'
        ? 'a NUL character (U+0000), which CSV readers refuse or stop at'
        : `a lone surrogate (U+${c.charCodeAt(0).toString(16).toUpperCase()}), which UTF-8 cannot encode`;
    throw new CsvValueError(f, e.eventTime, f === 'userId' ? undefined : (e.userId ?? undefined), what);
  }
}

export function formatter(format: Format, logType: string, appending: boolean, idStyle: CsvIdStyle = 'text'): Formatter {
  const userCell = (field: string, v: string | null | undefined) => csvUserCell(field, v, idStyle);
  switch (format) {
    case 'ndjson': {
      // Each line carries its logType, so the file can be fed to `logwarden ingest` as is.
      const prefix = `{"logType":${JSON.stringify(logType)},`;
      const pass = { lead: () => prefix, from: 1, trail: '\n' };
      return { head: '', record: (e) => `${prefix}${e.raw.slice(1)}\n`, pass, tail: () => '' };
    }
    case 'json': {
      // The shape of a JSON ingest batch (POST /v2/logs), which takes at most 10,000 entries: an
      // export may hold more. `logwarden ingest` reads NDJSON.
      const lead = (i: number) => (i === 0 ? '' : ',\n');
      return {
        head: `{"logType":${JSON.stringify(logType)},"logEntries":[\n`,
        record: (e, i) => `${lead(i)}${e.raw}`,
        pass: { lead, from: 0, trail: '' },
        tail: (count) => (count === 0 ? ']}\n' : '\n]}\n'),
      };
    }
    case 'csv':
      return {
        head: appending ? '' : `${ENTRY_FIELDS.join(',')}\r\n`,
        record: (e) => {
          checkCsvText(e);
          return [...USER_FIELDS.map((f) => userCell(f, e[f])), csvCell(e.eventTime), csvCell(e.logRecordText)].join(',') + '\r\n';
        },
        tail: () => '',
      };
  }
}
