/** Building StoredPage values (see store.ts). */
import type { Position, StoredEntry, StoredPage } from './store.ts';

const COMMA = Buffer.from(',');

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

/**
 * The page whose text is `stretches` comma-joined: the stretches are kept (see
 * `StoredPage.stretches`) and the joined text made only if someone reads it.
 */
export function pageOfStretches(stretches: readonly Buffer[], count: number, next: Position | null, seqs: readonly number[]): StoredPage {
  if (stretches.length === 1) return { text: stretches[0]!, stretches, count, next, seqs };
  let text: Buffer | undefined;
  return {
    get text(): Buffer {
      if (text === undefined) {
        const parts: Buffer[] = [];
        for (const s of stretches) {
          if (parts.length > 0) parts.push(COMMA);
          parts.push(s);
        }
        text = Buffer.concat(parts);
      }
      return text;
    },
    stretches,
    count,
    next,
    seqs,
  };
}
