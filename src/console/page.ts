/**
 * A page of `GET /v2/logs` as the console keeps it: each entry's exact text (`raw`) and the
 * exact text of its `logRecord`, cut from the response text itself, so numbers show as they
 * were stored (`1.0`, 19-digit ids) — JSON.parse is used only for the strings the table shows.
 */
import { USER_FIELDS, type UserField } from '../logs/entry-fields.ts';
import { arrayElements, minify, objectMembers, skipWs } from '../logs/json-text.ts';

export type Row = { readonly [F in UserField]?: string } & {
  readonly eventTime: string;
  /** ms since the epoch (sub-millisecond digits dropped). */
  readonly ms: number;
  /** The exact text of the entry, insignificant whitespace removed. */
  readonly raw: string;
  /** The entry's text exactly as served, when it differs from `raw` (whitespace): what its leaf hashes. */
  readonly wire?: string;
  /** The exact text of its logRecord. */
  readonly logRecordText: string;
};

export interface Page {
  readonly total: number;
  readonly cursor?: string;
  readonly rows: readonly Row[];
  /** Each row's leaf index in the tenant's verifiable log, when asked for (X-Logwarden-Leaf-Index). */
  readonly leaves?: readonly number[];
}

/** The entry's text exactly as served (inside `logEntries`). */
export const wireText = (row: Row): string => row.wire ?? row.raw;

function toRow(wire: string): Row {
  const raw = minify(wire, 0, wire.length);
  const row: Record<string, string | number> = { raw };
  if (wire !== raw) row.wire = wire;
  for (const m of objectMembers(raw, 0)) {
    const text = raw.slice(m.start, m.end);
    if (m.key === 'logRecord') row.logRecordText = text;
    else if (m.key === 'eventTime' || (USER_FIELDS as readonly string[]).includes(m.key)) {
      // Ids are strings in the contract; a number keeps its digits as written.
      if (text !== 'null') row[m.key] = text.startsWith('"') ? (JSON.parse(text) as string) : text;
    }
  }
  row.ms = Date.parse(String(row.eventTime));
  row.logRecordText ??= '{}';
  return row as unknown as Row;
}

export function parsePage(text: string): Page {
  const doc = JSON.parse(text) as { records?: { totalRecords?: number; cursor?: string } };
  const span = objectMembers(text, skipWs(text, 0)).findLast((m) => m.key === 'logEntries');
  const rows = span ? arrayElements(text, span.start).map(([s, e]) => toRow(text.slice(s, e))) : [];
  const cursor = doc.records?.cursor;
  return { total: doc.records?.totalRecords ?? rows.length, rows, ...(typeof cursor === 'string' && cursor !== '' && { cursor }) };
}

/** The exact text of a top-level member of an object's text, or undefined. */
export function memberText(objectText: string, key: string): string | undefined {
  const m = objectMembers(objectText, 0).findLast((x) => x.key === key);
  return m && objectText.slice(m.start, m.end);
}

/**
 * Indents a JSON text for reading. Works on the text, token by token, so every number and
 * string keeps its exact spelling.
 */
export function prettyJson(text: string, indent = '  '): string {
  let out = '';
  let depth = 0;
  let i = 0;
  const nl = () => '\n' + indent.repeat(depth);
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === ' ' || c === '\n' || c === '\r' || c === '\t') {
      i++;
      continue;
    }
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      const next = skipWs(text, i + 1);
      if (text[next] === close) {
        out += c + close;
        i = next + 1;
        continue;
      }
      depth++;
      out += c + nl();
    } else if (c === '}' || c === ']') {
      depth--;
      out += nl() + c;
    } else if (c === ',') {
      out += ',' + nl();
    } else if (c === ':') {
      out += ': ';
    } else {
      out += c;
    }
    i++;
  }
  return out;
}
