/**
 * Pages, counts and rewrites over the two places a store keeps entries: sealed segments
 * (segment-codec.ts) and hot rows not yet sealed. Both stores fetch these in their own way and
 * leave the merging to this module, so they page, count and seal alike.
 */
import { EMPTY_PAGE, pageOfStretches } from './page.ts';
import type { DecodedSegment, SegmentEntry } from './segment-codec.ts';
import type { Position, StoredPage } from './store.ts';

/** An entry not yet sealed. */
export interface HotEntry {
  readonly timeMs: number;
  readonly seq: number;
  readonly body: Buffer;
}

/**
 * A sealed segment as a page meets it: where it starts, known without decoding it, and its
 * entries, decoded only when the page needs them.
 */
export interface SegmentRef {
  readonly firstTime: number;
  readonly firstSeq: number;
  decode(): DecodedSegment;
}

export interface PageBounds {
  /** Entries strictly after this position (page order)… */
  readonly after: Position;
  /** …and before this event time (exclusive)… */
  readonly toMs: number;
  /** …appended at or below this sequence. */
  readonly watermark: number;
  readonly limit: number;
}

/** Just before every entry at or after `timeMs`: a first page's `after`. */
export function before(timeMs: number): Position {
  return { timeMs, seq: -1 };
}

/** Page order: event time, then sequence (negative: `a` comes first). */
export function compare(a: Position, b: Position): number {
  return a.timeMs - b.timeMs || a.seq - b.seq;
}

/** (aTime, aSeq) < (bTime, bSeq) in page order. */
export function precedes(aTime: number, aSeq: number, bTime: number, bSeq: number): boolean {
  return aTime < bTime || (aTime === bTime && aSeq < bSeq);
}

/**
 * The page of up to `limit` entries within `bounds`, merged from `segments` (sealed segments
 * in page order whose last entry lies after `bounds.after`; pulled, and decoded, only as far as
 * the page needs) and `hot` (hot entries within the bounds, in page order, at least `limit + 1`
 * of them when there are that many). Runs of consecutive entries of one segment go into the
 * page as one stretch of its text, uncopied; a page from one segment is a view of it.
 *
 * Whether more entries follow a full page is told by the next segment's first entry when it
 * can be (without decoding that segment): a cursor walk then decodes each segment once.
 */
export function mergePage(segments: Iterator<SegmentRef>, hot: readonly HotEntry[], bounds: PageBounds): StoredPage {
  const { after, toMs, watermark, limit } = bounds;
  const pieces: Buffer[] = [];
  const seqs: number[] = [];
  let count = 0;
  /** The page's last entry so far. */
  let lastTime = 0;
  let lastSeq = 0;
  let more = false;
  let h = 0;
  let seg: DecodedSegment | null = null;
  let i = 0;
  let runStart = 0;
  /** Whether the segments hold no more entries before `toMs`. */
  let segmentsDone = false;
  /** A segment pulled but not decoded yet. */
  let pending: SegmentRef | null = null;

  const flush = () => {
    if (seg && runStart < i) pieces.push(seg.span(runStart, i));
    runStart = i;
  };
  /** Steps to the next segment entry within the bounds; false when there is none. */
  const nextSegmentEntry = (): boolean => {
    for (;;) {
      if (segmentsDone) return false;
      if (seg === null || i >= seg.count) {
        flush();
        if (pending === null) {
          const r = segments.next();
          if (r.done) {
            segmentsDone = true;
            seg = null;
            return false;
          }
          pending = r.value;
        }
        // A full page only needs to know that an entry follows: the next segment's first one,
        // when it is within the bounds, says so.
        if (
          count === limit &&
          pending.firstTime < toMs &&
          pending.firstSeq <= watermark &&
          precedes(after.timeMs, after.seq, pending.firstTime, pending.firstSeq)
        ) {
          return true;
        }
        seg = pending.decode();
        pending = null;
        i = seg.after(after.timeMs, after.seq);
        runStart = i;
        continue;
      }
      if (seg.timeMs(i) >= toMs) {
        flush();
        segmentsDone = true;
        return false;
      }
      if (seg.seq(i) > watermark) {
        flush();
        i++;
        runStart = i;
        continue;
      }
      return true;
    }
  };

  for (;;) {
    const fromSegment = nextSegmentEntry();
    const hotEntry = hot[h];
    if (!fromSegment && hotEntry === undefined) break;
    if (count === limit) {
      more = true;
      break;
    }
    if (fromSegment && hotEntry === undefined) {
      // No hot entry left: the segment's entries within the bounds, as many as the page takes,
      // at once (the next step settles what stopped the run).
      const s = seg!;
      do {
        lastTime = s.timeMs(i);
        lastSeq = s.seq(i);
        seqs.push(lastSeq);
        count++;
        i++;
      } while (count < limit && i < s.count && s.timeMs(i) < toMs && s.seq(i) <= watermark);
      continue;
    }
    count++;
    if (fromSegment && precedes(seg!.timeMs(i), seg!.seq(i), hotEntry!.timeMs, hotEntry!.seq)) {
      lastTime = seg!.timeMs(i);
      lastSeq = seg!.seq(i);
      i++;
    } else {
      flush();
      pieces.push(hotEntry!.body);
      lastTime = hotEntry!.timeMs;
      lastSeq = hotEntry!.seq;
      h++;
    }
    seqs.push(lastSeq);
  }
  flush();
  if (count === 0) return EMPTY_PAGE;
  return pageOfStretches(pieces, count, more ? { timeMs: lastTime, seq: lastSeq } : null, seqs);
}

/** The entries of `seg` with `fromMs <= eventTime < toMs`. */
export function countInSegment(seg: DecodedSegment, fromMs: number, toMs: number): number {
  return seg.atOrAfter(toMs) - seg.atOrAfter(fromMs);
}

/** The entries of `segments` (in page order, not overlapping) and `hot` (any order), merged in page order. */
export function mergeEntries(segments: readonly DecodedSegment[], hot: readonly HotEntry[]): SegmentEntry[] {
  const out: SegmentEntry[] = [];
  for (const seg of segments) for (let i = 0; i < seg.count; i++) out.push({ timeMs: seg.timeMs(i), seq: seg.seq(i), body: seg.body(i) });
  out.push(...hot);
  return out.sort(compare);
}

/**
 * `entries` cut into segments of at most `size` entries and `maxBytes` of text (an entry larger
 * than that is a segment alone): as many full ones as possible, then the rest (`fill`, for the
 * newest end of a range, which later entries extend), or all of about equal size (for a rewrite
 * in the middle of a range, so that no sliver is left behind).
 */
export function cutSegments<T extends { readonly body: { readonly length: number } }>(
  entries: readonly T[],
  size: number,
  maxBytes: number,
  how: 'fill' | 'even',
): T[][] {
  const n = entries.length;
  if (n === 0) return [];
  if (how === 'fill') return fillSegments(entries, size, maxBytes);
  let bytes = 0;
  for (const e of entries) bytes += e.body.length;
  const parts = Math.max(Math.ceil(n / size), Math.ceil(bytes / maxBytes));
  const out: T[][] = [];
  for (let p = 0; p < parts; p++) {
    const part = entries.slice(Math.floor((p * n) / parts), Math.floor(((p + 1) * n) / parts));
    // Equal counts may still hold unequal bytes: a part over the bound is cut by bytes.
    if (part.length > 0) out.push(...fillSegments(part, size, maxBytes));
  }
  return out;
}

function fillSegments<T extends { readonly body: { readonly length: number } }>(entries: readonly T[], size: number, maxBytes: number): T[][] {
  const out: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const e of entries) {
    if (part.length === size || (part.length > 0 && bytes + e.body.length > maxBytes)) {
      out.push(part);
      part = [];
      bytes = 0;
    }
    part.push(e);
    bytes += e.body.length;
  }
  out.push(part);
  return out;
}
