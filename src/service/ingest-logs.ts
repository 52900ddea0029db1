/**
 * Ingest: parse entries and append them to a tenant, all or nothing. Used by `POST /v2/logs`
 * and by `logwarden ingest`; each transport words the failures for its audience.
 */
import { EntrySpool } from '../logs/entry-spool.ts';
import { parseJsonBatch, parseJsonBatchBytes, parseNdjsonLine } from '../logs/ingest-parse.ts';
import type { LogTypes } from '../logs/log-types.ts';
import { ndjsonLines } from '../logs/ndjson-lines.ts';
import type { AppendResult, Store } from '../store/store.ts';
import { parseBatchOffThread } from './batch-parse-pool.ts';

/**
 * Appends a JSON batch (`{"logType", "logEntries": [...]}`), as text or valid UTF-8 bytes, to
 * the tenant. A large body is parsed on a worker thread while this thread stores others
 * (batch-parse-pool.ts); any body the worker does not take is parsed here, inside the store's
 * transaction, entry by entry.
 */
export async function ingestJsonBatch(store: Store, tenantId: string, body: string | Buffer, types: LogTypes): Promise<AppendResult> {
  if (typeof body === 'string') return store.append(tenantId, parseJsonBatch(body, types));
  const parsed = await parseBatchOffThread(body, types);
  return store.append(tenantId, parsed ?? parseJsonBatchBytes(body, types));
}

export interface NdjsonIngestOptions {
  readonly types: LogTypes;
  /** Parsed entries beyond this many bytes wait in a temporary file rather than in memory. */
  readonly memoryBytes: number;
  /** A longer line fails the whole input (LineTooLongError). */
  readonly maxLineBytes: number;
  /**
   * Called once every line is parsed, before the entries are appended (for a long commit's
   * notice; or to check the credentials again after a long upload: throwing stores nothing).
   */
  readonly beforeAppend?: (count: number) => unknown;
}

export interface NdjsonIngestResult extends AppendResult {
  /** Lines read, blank ones included. */
  readonly lines: number;
}

/** The input held no entry (empty or blank): storing nothing must not look like success. */
export class NoEntriesError extends Error {
  constructor(readonly lines: number) {
    super('no entries');
    this.name = 'NoEntriesError';
  }
}

/**
 * Appends NDJSON entries (one per line, each with its logType) to the tenant. A bad line fails
 * the whole input with the parser's error naming the line; nothing is stored then.
 */
export async function ingestNdjson(
  store: Store,
  tenantId: string,
  source: AsyncIterable<Buffer | string>,
  options: NdjsonIngestOptions,
): Promise<NdjsonIngestResult> {
  const spool = new EntrySpool(options.memoryBytes);
  try {
    let lines = 0;
    for await (const { line, lineNo } of ndjsonLines(source, options.maxLineBytes)) {
      lines = lineNo;
      if (line.trim() === '') continue;
      // Held in memory, an entry's text may keep its whole line alive (a slice of it).
      spool.push(parseNdjsonLine(line, lineNo, options.types), line.length);
    }
    if (spool.count === 0) throw new NoEntriesError(lines);
    await options.beforeAppend?.(spool.count);
    const result = await store.append(tenantId, spool.entries());
    return { ...result, lines };
  } finally {
    spool.dispose();
  }
}
