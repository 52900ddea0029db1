/** Taking a StoredPage apart into its entries, for tests and benchmarks (the API sends a page's text whole). */
import { arrayElements } from '../../src/logs/json-text.ts';
import { parseDateTime } from '../../src/logs/time.ts';
import type { StoredPage } from '../../src/store/store.ts';

/** An entry as a page shows it: its event time and wire text. */
export interface PageText {
  readonly timeMs: number;
  readonly body: string;
}

/**
 * The page's entries, split out of its text (for tools and tests: the API sends `text` whole).
 * Throws when the text is not `count` JSON objects with an `eventTime`, comma-separated, or when
 * the page's stretches, comma-joined, are not its text.
 */
export function entriesOf(page: StoredPage): PageText[] {
  if (page.stretches && page.stretches.map((s) => s.toString('utf8')).join(',') !== page.text.toString('utf8')) {
    throw new Error('the page stretches, comma-joined, are not its text');
  }
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
