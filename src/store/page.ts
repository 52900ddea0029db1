/** Building StoredPage values (see store.ts). */
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
