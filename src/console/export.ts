/**
 * Export of what the console shows (type, range, user filter, text filter) as NDJSON or CSV, in
 * the formats of `logwarden fetch`, streamed: the query is read a page at a time and each page's
 * text goes to the sink before the next is asked for, so no size is too large for the page's
 * memory. The sink is a file the user picks (File System Access API, where the browser has it),
 * else a Blob made of one part per page, which the browser keeps in its blob storage (on disk
 * when large), offered as a download at the end.
 */
import { type Format, formatter } from '../cli/fetch-formats.ts';
import { fetchPage, type LogsQuery } from './api.ts';
import type { Row } from './page.ts';
import type { Session } from './session.ts';

export const EXPORT_PAGE = 1000;

/** Where an export's text goes, in order. */
export interface ExportSink {
  write(text: string): Promise<void>;
  /** The export is complete. */
  close(): Promise<void>;
  /** The export stopped short (cancelled or failed): nothing is offered or kept. */
  abort(): Promise<void>;
}

type SaveFilePicker = (options: { suggestedName: string; types: Array<{ description: string; accept: Record<string, string[]> }> }) => Promise<{
  createWritable(): Promise<{ write(data: string): Promise<void>; close(): Promise<void>; abort(): Promise<void> }>;
}>;

const MIME = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

/**
 * A sink writing to a file the user picks, when the browser can (resolves undefined when it
 * cannot); rejects with an AbortError when the user closes the picker.
 */
export async function fileSink(name: string, format: keyof typeof MIME): Promise<ExportSink | undefined> {
  const picker = (globalThis as { showSaveFilePicker?: SaveFilePicker }).showSaveFilePicker;
  if (typeof picker !== 'function') return undefined;
  const handle = await picker({ suggestedName: name, types: [{ description: format.toUpperCase(), accept: { [MIME[format]]: [`.${format}`] } }] });
  const out = await handle.createWritable();
  return { write: (text) => out.write(text), close: () => out.close(), abort: () => out.abort() };
}

/** A sink gathering one Blob per write and offering the whole as a download named `name` at the end. */
export function downloadSink(name: string, format: keyof typeof MIME): ExportSink {
  let parts: Blob[] = [];
  return {
    write: async (text) => void parts.push(new Blob([text])),
    close: async () => {
      download(new Blob(parts, { type: MIME[format] }), name);
      parts = [];
    },
    abort: async () => void (parts = []),
  };
}

export async function exportEntries(
  session: Session,
  query: LogsQuery,
  format: Extract<Format, 'ndjson' | 'csv'>,
  keep: (row: Row) => boolean,
  progress: (count: number, total: number) => void,
  signal: AbortSignal,
  sink: ExportSink,
): Promise<{ count: number }> {
  const f = formatter(format, query.logType, false);
  let count = 0;
  let cursor: string | undefined;
  try {
    await sink.write(f.head);
    do {
      const page = await fetchPage(session, query, { cursor, limit: EXPORT_PAGE, signal });
      let text = '';
      for (const row of page.rows) if (keep(row)) text += f.record(row, count++);
      await sink.write(text);
      progress(count, page.total);
      cursor = page.cursor;
    } while (cursor !== undefined);
    await sink.write(f.tail(count));
    await sink.close();
  } catch (err) {
    await sink.abort().catch(() => {});
    throw err;
  }
  return { count };
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
