/**
 * The user filter of `GET /v2/logs` (a logwarden extension): the entries of one tenant and type
 * whose `userId` or `userEmailAddress` is exactly a given string.
 *
 * Both stores index it the same way, per sealed segment rather than per entry: one posting row
 * per (segment, user key) with the number of the segment's entries that carry it, so a user
 * seen 250 times in a segment costs one narrow row, not 250 (issue 10's disk bar). A user key
 * is the first 64 bits of a SHA-256 digest of the field name and value: a page decodes only the
 * segments whose postings name the key, and keeps only the entries whose field really is the
 * value, so a page never holds another user's entry whatever the digest; totals add the
 * postings' counts, exact unless two of one tenant's values of a field share 64 digest bits.
 * Hot rows (not sealed yet, a few minutes' worth) are matched by their JSON text.
 */
import { createHash } from 'node:crypto';
import { FILTER_FIELDS, type FilterField } from '../logs/entry-fields.ts';
import { BUCKET_MS, bucketOf, overlappingBuckets } from './count-plan.ts';
import { EMPTY_PAGE, pageOfRows } from './page.ts';
import type { DecodedSegment, SegmentEntry } from './segment-codec.ts';
import { type HotEntry, type PageBounds, precedes } from './segment-pages.ts';
import type { HourTally, StoredEntry, StoredPage, UserMatch } from './store.ts';

/** The 64-bit key of a field's value, as a signed integer (SQLite INTEGER, PostgreSQL int8). */
export function userKey(field: FilterField, value: string): bigint {
  return createHash('sha256').update('logwarden user\0').update(field).update('\0').update(value).digest().readBigInt64BE(0);
}

const EVENT_TIME = Buffer.from('"eventTime":');

/**
 * The filter fields of an entry's wire text. Entries are rendered in Gong's order, every user
 * field a string before `eventTime`, so only the head of the text is parsed; an unquoted `"`
 * cannot occur inside a string, so the first `"eventTime":` after `{` or `,` is the member.
 */
export function userFieldsOf(body: Buffer): Partial<Record<FilterField, string>> {
  const at = body.indexOf(EVENT_TIME);
  let head: unknown;
  try {
    head = at === 1 ? {} : at > 1 && body[at - 1] === 0x2c ? JSON.parse(`${body.toString('utf8', 0, at - 1)}}`) : JSON.parse(body.toString('utf8'));
  } catch {
    head = JSON.parse(body.toString('utf8'));
  }
  const out: Partial<Record<FilterField, string>> = {};
  if (head !== null && typeof head === 'object') {
    for (const f of FILTER_FIELDS) {
      const v = (head as Record<string, unknown>)[f];
      if (typeof v === 'string') out[f] = v;
    }
  }
  return out;
}

export function matchesUser(body: Buffer, match: UserMatch): boolean {
  return userFieldsOf(body)[match.field] === match.value;
}

/** The postings of a segment's entries: how many carry each user key. */
export function postingsOf(entries: Iterable<{ readonly body: Buffer }>): Map<bigint, number> {
  const out = new Map<bigint, number>();
  for (const e of entries) {
    const fields = userFieldsOf(e.body);
    for (const f of FILTER_FIELDS) {
      const v = fields[f];
      if (v !== undefined) {
        const k = userKey(f, v);
        out.set(k, (out.get(k) ?? 0) + 1);
      }
    }
  }
  return out;
}

/** The user keys of a decoded segment (for removing its postings when it is replaced). */
export function segmentKeys(seg: DecodedSegment): bigint[] {
  const entries: SegmentEntry[] = [];
  for (let i = 0; i < seg.count; i++) entries.push({ timeMs: seg.timeMs(i), seq: seg.seq(i), body: seg.body(i) });
  return [...postingsOf(entries).keys()];
}

/** A segment a user's postings name, located by its position range. */
export interface PostedSegment {
  readonly firstTime: number;
  readonly lastTime: number;
  /** Entries of the segment carrying the key. */
  readonly n: number;
  decode(): DecodedSegment;
}

/** The matching entries of `segments` with `fromMs <= eventTime < toMs`: postings for whole segments inside, decoding at the edges. */
export function countPosted(segments: Iterable<PostedSegment>, match: UserMatch, fromMs: number, toMs: number): number {
  let n = 0;
  for (const s of segments) {
    if (s.firstTime >= toMs) break; // in page order: none after it is in range
    if (s.firstTime >= fromMs && s.lastTime < toMs) {
      n += s.n;
      continue;
    }
    const seg = s.decode();
    for (let i = seg.atOrAfter(fromMs), end = seg.atOrAfter(toMs); i < end; i++) if (matchesUser(seg.body(i), match)) n++;
  }
  return n;
}

/**
 * Appends to `found` the user's entries within `bounds` from `segments` (segments its postings
 * name, in page order, whose last entry lies after `bounds.after`; pulled only as far as
 * needed) until `found` holds `limit + 1`. Returns true when the segments hold no more such
 * entries beyond those (the bounds' end was reached, or `found` is full).
 */
export function collectPosted(segments: Iterable<PostedSegment>, match: UserMatch, bounds: PageBounds, found: StoredEntry[]): boolean {
  const { after, toMs, watermark, limit } = bounds;
  const want = limit + 1;
  if (found.length >= want) return true;
  for (const s of segments) {
    if (s.firstTime >= toMs) return true;
    const seg = s.decode();
    for (let i = seg.after(after.timeMs, after.seq); i < seg.count; i++) {
      if (seg.timeMs(i) >= toMs) return true;
      if (seg.seq(i) > watermark) continue;
      const body = seg.body(i);
      if (!matchesUser(body, match)) continue;
      found.push({ timeMs: seg.timeMs(i), seq: seg.seq(i), body: body.toString('utf8') });
      if (found.length >= want) return true;
    }
  }
  return false;
}

/**
 * The page of up to `limit` entries merged from `found` (the user's sealed entries after the
 * page's start, in page order: all there are, or at least `limit + 1`) and `hot` (the user's
 * hot rows within the bounds, in page order, at least `limit + 1` when there are that many).
 * Segments and hot rows never hold the same entry.
 */
export function mergeUserPage(found: readonly StoredEntry[], hot: readonly HotEntry[], limit: number): StoredPage {
  const want = limit + 1;
  const merged: StoredEntry[] = [];
  let h = 0;
  let s = 0;
  while (merged.length < want && (h < hot.length || s < found.length)) {
    const a = found[s];
    const b = hot[h];
    if (a !== undefined && (b === undefined || precedes(a.timeMs, a.seq, b.timeMs, b.seq))) {
      merged.push(a);
      s++;
    } else {
      merged.push({ timeMs: b!.timeMs, seq: b!.seq, body: b!.body.toString('utf8') });
      h++;
    }
  }
  return merged.length === 0 ? EMPTY_PAGE : pageOfRows(merged, limit);
}

/** The page of a user's entries within `bounds`, from all the segments its postings name and its hot rows. */
export function userPage(segments: Iterator<PostedSegment>, hot: readonly HotEntry[], match: UserMatch, bounds: PageBounds): StoredPage {
  const found: StoredEntry[] = [];
  collectPosted({ [Symbol.iterator]: () => segments }, match, bounds, found);
  return mergeUserPage(found, hot, bounds.limit);
}

/** The whole UTC hours overlapping [fromMs, toMs), as event times (`to` exclusive; no upper bound: the largest safe integer). */
export function wholeHours(fromMs: number, toMs: number | null): { from: number; to: number } {
  const hours = overlappingBuckets(fromMs, toMs);
  return { from: hours.from * BUCKET_MS, to: toMs === null ? Number.MAX_SAFE_INTEGER : hours.to * BUCKET_MS };
}

/**
 * The user's entries per UTC hour over the whole hours overlapping [fromMs, toMs) (the hourly
 * histogram's rule), from `segments` (as for countPosted) and the hot rows' event times: a
 * segment inside one hour adds its posting's count; any other is decoded and its matching
 * entries counted hour by hour.
 */
export function userHourlyTallies(
  segments: Iterable<PostedSegment>,
  hotTimes: Iterable<number>,
  match: UserMatch,
  fromMs: number,
  toMs: number | null,
): HourTally[] {
  const { from, to } = wholeHours(fromMs, toMs);
  const counts = new Map<number, number>();
  const add = (timeMs: number, n: number) => {
    const hour = bucketOf(timeMs);
    counts.set(hour, (counts.get(hour) ?? 0) + n);
  };
  for (const s of segments) {
    if (s.firstTime >= to) break;
    if (s.firstTime >= from && s.lastTime < to && bucketOf(s.firstTime) === bucketOf(s.lastTime)) {
      add(s.firstTime, s.n);
      continue;
    }
    const seg = s.decode();
    for (let i = seg.atOrAfter(from), end = seg.atOrAfter(to); i < end; i++) if (matchesUser(seg.body(i), match)) add(seg.timeMs(i), 1);
  }
  for (const t of hotTimes) if (t >= from && t < to) add(t, 1);
  return [...counts]
    .filter(([, n]) => n > 0)
    .sort((a, b) => a[0] - b[0])
    .map(([hour, count]) => ({ hourMs: hour * BUCKET_MS, count }));
}
