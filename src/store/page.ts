/** Building and taking apart StoredPage values (see store.ts). */
import { arrayElements } from '../logs/json-text.ts';
import { parseDateTime } from '../logs/time.ts';
import type { StoredEntry, StoredPage } from './store.ts';

export const EMPTY_PAGE: StoredPage = Object.freeze({ text: Buffer.alloc(0), count: 0, next: null });

/**
 * The page of the first `limit` of `rows`, which the store read one beyond the page (up to
 * `limit + 1`) to learn whether more follow.
 */
export function pageOfRows(rows: readonly StoredEntry[], limit: number): StoredPage {
  const more = rows.length > limit;
  const shown = more ? rows.slice(0, limit) : rows;
  const last = shown[shown.length - 1];
  return {
    text: Buffer.from(shown.map((r) => r.body).join(',')),
    count: shown.length,
    next: more && last ? { timeMs: last.timeMs, seq: last.seq } : null,
  };
}

/** An entry as a page shows it: its event time and wire text. */
export interface PageText {
  readonly timeMs: number;
  readonly body: string;
}

/**
 * The page's entries, split out of its text (for tools and tests: the API sends `text` whole).
 * Throws when the text is not `count` JSON objects with an `eventTime`, comma-separated.
 */
export function entriesOf(page: StoredPage): PageText[] {
  const text = `[${page.text.toString('utf8')}]`;
  const spans = page.count === 0 && page.text.length === 0 ? [] : arrayElements(text, 0);
  if (spans.length !== page.count) throw new Error(`page text holds ${spans.length} entries, not ${page.count}`);
  const last = spans[spans.length - 1];
  if (last && last[1] !== text.length - 1) throw new Error('page text does not end with its last entry');
  return spans.map(([start, end]) => {
    const body = text.slice(start, end);
    const eventTime = (JSON.parse(body) as { eventTime?: unknown }).eventTime;
    const parsed = typeof eventTime === 'string' ? parseDateTime(eventTime) : undefined;
    if (!parsed?.ok) throw new Error(`page entry without a valid eventTime: ${body.slice(0, 80)}`);
    return { timeMs: parsed.instant.ms, body };
  });
}
