/**
 * Export of what the console shows (type, range, text filter) as NDJSON or CSV, in the formats
 * of `logwarden fetch`. Pages are read one at a time and each becomes a Blob, which the browser
 * keeps in its blob storage (on disk when large) rather than in the page's memory.
 */
import { type Format, formatter } from '../cli/fetch-formats.ts';
import { fetchPage, type LogsQuery } from './api.ts';
import type { Row } from './page.ts';
import type { Session } from './session.ts';

export const EXPORT_PAGE = 1000;

export async function exportEntries(
  session: Session,
  query: LogsQuery,
  format: Extract<Format, 'ndjson' | 'csv'>,
  keep: (row: Row) => boolean,
  progress: (count: number) => void,
  signal: AbortSignal,
): Promise<{ blob: Blob; count: number }> {
  const f = formatter(format, query.logType, false);
  const parts: Blob[] = [new Blob([f.head])];
  let count = 0;
  let cursor: string | undefined;
  do {
    const page = await fetchPage(session, query, { cursor, limit: EXPORT_PAGE, signal });
    let text = '';
    for (const row of page.rows) if (keep(row)) text += f.record(row, count++);
    parts.push(new Blob([text]));
    progress(count);
    cursor = page.cursor;
  } while (cursor !== undefined);
  parts.push(new Blob([f.tail(count)]));
  const type = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
  return { blob: new Blob(parts, { type }), count };
}

/** Offers `blob` as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
