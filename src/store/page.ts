/** Building and taking apart StoredPage values (see store.ts). */
import type { PageEntry, StoredEntry, StoredPage } from './store.ts';

export const EMPTY_PAGE: StoredPage = Object.freeze({ entries: Object.freeze([]), text: Buffer.alloc(0), more: false });

const COMMA = 0x2c;

/**
 * The page of the first `limit` of `rows`, which the store read one beyond the page (up to
 * `limit + 1`) to learn whether more follow.
 */
export function pageOfRows(rows: readonly StoredEntry[], limit: number): StoredPage {
  const shown = rows.length > limit ? rows.slice(0, limit) : rows;
  const text = Buffer.from(shown.map((r) => r.body).join(','));
  const entries = shown.map((r) => ({ timeMs: r.timeMs, seq: r.seq, bytes: Buffer.byteLength(r.body) }));
  return { entries, text, more: rows.length > limit };
}

/**
 * The page of the first `limit` of the entries whose texts `text` joins with commas, given
 * their positions and lengths; as `pageOfRows`, read up to one beyond the page.
 */
export function pageOfText(entries: readonly PageEntry[], text: Buffer, limit: number): StoredPage {
  if (entries.length <= limit) return { entries, text, more: false };
  const shown = entries.slice(0, limit);
  let end = limit - 1; // the commas between them
  for (const e of shown) end += e.bytes;
  return { entries: shown, text: text.subarray(0, end), more: true };
}

/** The page's entries with their wire texts (for tools and tests: the API sends `text` whole). */
export function entriesOf(page: StoredPage): StoredEntry[] {
  const out: StoredEntry[] = [];
  let at = 0;
  for (const e of page.entries) {
    out.push({ timeMs: e.timeMs, seq: e.seq, body: page.text.toString('utf8', at, at + e.bytes) });
    at += e.bytes;
    if (at < page.text.length && page.text[at] !== COMMA) throw new Error('page text does not match its entries');
    at++;
  }
  return out;
}
