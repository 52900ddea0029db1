/**
 * The user filter on PostgreSQL (../user-filter.ts): the postings of sealed segments
 * (`segment_users`, written and deleted by the sealer beside the segments they describe),
 * totals and pages of one user's entries. A total and a page are each read in one
 * REPEATABLE READ snapshot, so hot rows the sealer moves meanwhile are seen exactly once.
 */
import type pg from 'pg';
import { corruptHotRow, hotKeyPrefix } from '../hot-rows.ts';
import { EMPTY_PAGE } from '../page.ts';
import { type DecodedSegment, decodeSegment, type SegmentOwner } from '../segment-codec.ts';
import type { HotEntry } from '../segment-pages.ts';
import type { FirstPage, HourTally, Position, StoredEntry, StoredPage, UserMatch } from '../store.ts';
import {
  collectPosted,
  countPosted,
  matchesUser,
  mergeUserPage,
  type PostedSegment,
  postingsOf,
  userHourlyTallies,
  userKey,
  wholeHours,
} from '../user-filter.ts';
import { hotRowOk } from './hot-rows.ts';
import { BEGIN_SNAPSHOT } from './migrations.ts';
import { isUnanswered } from './pool.ts';

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;

/**
 * A hot row's user field is read by SQL (`body::json ->> field`), but PostgreSQL's json
 * functions refuse `\u0000` and a lone surrogate escape anywhere in the text: valid JSON, kept
 * as sent. A row whose text holds such an escape (or seems to: an escaped backslash before `u`
 * counts too) is left out of the SQL match, in an order SQL keeps (CASE), and matched here.
 */
const ODD_ESCAPE = `body ~ '\\\\u(0000|[dD][89a-fA-F])'`;
const sqlMatch = (field: string, value: string) => `CASE WHEN ${ODD_ESCAPE} THEN false ELSE (body::json ->> ${field}) = ${value} END`;
/**
 * The value SQL compares the user field with: PostgreSQL's text holds no NUL, so a value with
 * one is none (matching no row), and only the rows matched here (oddHotRows) can be the user's.
 */
const sqlValue = (value: string): string | null => (value.includes('\u0000') ? null : value);

/**
 * The hot rows SQL cannot match (see ODD_ESCAPE) that are the user's, in page order. With
 * `served` (a page's, whose texts are served), each is held against its key (hot-rows.ts).
 */
async function oddHotRows(
  client: pg.PoolClient,
  match: UserMatch,
  where: string,
  values: readonly unknown[],
  served?: { tid: number; owner: SegmentOwner },
): Promise<HotEntry[]> {
  const check = served === undefined ? 'true' : hotRowOk(`$${values.length + 1}`);
  const r = await client.query<HotRow>(
    `SELECT event_time, seq, body, ${check} AS ok FROM entries WHERE ${where} AND ${ODD_ESCAPE} ORDER BY event_time, seq`,
    served === undefined ? [...values] : [...values, hotKeyPrefix(served.owner.logType)],
  );
  const rows = served === undefined ? r.rows.map(hotEntryOf) : r.rows.map(checkedHotEntry(served.tid, served.owner));
  return rows.filter((e) => matchesUser(e.body, match));
}

interface HotRow {
  event_time: string;
  seq: string;
  body: string;
  /** The row's check (hot-rows.ts). */
  ok: boolean;
}

const hotEntryOf = (r: HotRow): HotEntry => ({ timeMs: Number(r.event_time), seq: Number(r.seq), body: Buffer.from(r.body) });

/** A hot row read for a page: refused when it fails its check, none of its text served. */
const checkedHotEntry =
  (tid: number, owner: SegmentOwner) =>
  (r: HotRow): HotEntry => {
    if (!r.ok) throw corruptHotRow(Number(r.seq), tid, owner.logType);
    return hotEntryOf(r);
  };
/** Segments fetched per statement while a page needs more. */
const BATCH = 8;

/** Postings of new segments, each located by its last position. */
export async function writePostings(
  client: pg.PoolClient,
  tid: number,
  typeId: number,
  segments: readonly { last: Position; postings: ReadonlyMap<bigint, number> }[],
): Promise<void> {
  const keys: string[] = [];
  const times: number[] = [];
  const seqs: number[] = [];
  const ns: number[] = [];
  for (const s of segments) {
    for (const [key, n] of s.postings) {
      keys.push(key.toString());
      times.push(s.last.timeMs);
      seqs.push(s.last.seq);
      ns.push(n);
    }
  }
  if (keys.length === 0) return;
  await client.query({
    name: 'lw_postings_add',
    text: `INSERT INTO segment_users (tid, type_id, user_key, last_time, last_seq, n)
           SELECT $1, $2, k, t, s, n FROM unnest($3::int8[], $4::int8[], $5::int8[], $6::int4[]) AS d (k, t, s, n)
           ON CONFLICT (tid, type_id, user_key, last_time, last_seq) DO UPDATE SET n = excluded.n`,
    values: [tid, typeId, keys, times, seqs, ns],
  });
}

/** Removes the postings of replaced segments (their keys, as their decoded entries give them). */
export async function deletePostings(
  client: pg.PoolClient,
  tid: number,
  typeId: number,
  segments: readonly { last: Position; keys: readonly bigint[] }[],
): Promise<void> {
  const keys: string[] = [];
  const times: number[] = [];
  const seqs: number[] = [];
  for (const s of segments) {
    for (const key of s.keys) {
      keys.push(key.toString());
      times.push(s.last.timeMs);
      seqs.push(s.last.seq);
    }
  }
  if (keys.length === 0) return;
  await client.query({
    name: 'lw_postings_delete',
    text: `DELETE FROM segment_users p USING unnest($3::int8[], $4::int8[], $5::int8[]) AS d (k, t, s)
           WHERE p.tid = $1 AND p.type_id = $2 AND p.user_key = d.k AND p.last_time = d.t AND p.last_seq = d.s`,
    values: [tid, typeId, keys, times, seqs],
  });
}

/** The keys of a decoded segment's entries. */
export function keysOf(seg: DecodedSegment): bigint[] {
  const entries: { body: Buffer }[] = [];
  for (let i = 0; i < seg.count; i++) entries.push({ body: seg.body(i) });
  return [...postingsOf(entries).keys()];
}

/**
 * Indexes the segments sealed before the user index existed (listed by the migration), in
 * short transactions; several processes may do it at once (each row is claimed with SKIP LOCKED).
 */
export async function indexPendingSegments(pool: pg.Pool, ownerOf: (tid: number, typeId: number) => Promise<SegmentOwner>): Promise<void> {
  const client = await pool.connect();
  try {
    // Almost always none: asked first, since planning the join below reads every month's
    // segments partition (half a second on a store with a month since 1970), at every open.
    const pending = await client.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM segment_users_pending) AS any');
    if (!pending.rows[0]!.any) return;
    for (;;) {
      await client.query('BEGIN');
      try {
        const r = await client.query<{
          id: string;
          tid: number | null;
          type_id: number | null;
          last_time: string;
          last_seq: string;
          data: Buffer | null;
        }>(
          `WITH p AS (SELECT id FROM segment_users_pending ORDER BY id LIMIT 64 FOR UPDATE SKIP LOCKED)
           SELECT p.id, s.tid, s.type_id, s.last_time, s.last_seq, s.data FROM p LEFT JOIN segments s ON s.id = p.id`,
        );
        for (const row of r.rows) {
          if (row.tid !== null && row.type_id !== null && row.data !== null) {
            const seg = decodeSegment(row.data, await ownerOf(row.tid, row.type_id), Number(row.id));
            const entries: { body: Buffer }[] = [];
            for (let i = 0; i < seg.count; i++) entries.push({ body: seg.body(i) });
            await writePostings(client, row.tid, row.type_id, [
              { last: { timeMs: Number(row.last_time), seq: Number(row.last_seq) }, postings: postingsOf(entries) },
            ]);
          }
        }
        await client.query('DELETE FROM segment_users_pending WHERE id = ANY($1::int8[])', [r.rows.map((row) => row.id)]);
        await client.query('COMMIT');
        if (r.rows.length === 0) return;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    client.release();
  }
}

interface PostedRow {
  id: string;
  first_time: string;
  last_time: string;
  last_seq: string;
  pn: number;
  data: Buffer;
}

/** Reads one user's entries of a tenant and type inside one snapshot. */
class UserReader {
  constructor(
    private readonly client: pg.PoolClient,
    private readonly tid: number,
    private readonly typeId: number,
    private readonly owner: SegmentOwner,
    private readonly match: UserMatch,
  ) {}

  /** Up to `max` segments holding the user's entries whose last entry lies after `after`, in page order. */
  async posted(after: Position, max: number): Promise<{ list: PostedSegment[]; last: Position | undefined }> {
    const r = await this.client.query<PostedRow>({
      name: 'lw_user_segments',
      text: `SELECT s.id, s.first_time, s.last_time, s.last_seq, p.n AS pn, s.data FROM (
               SELECT * FROM segment_users WHERE tid = $1 AND type_id = $2 AND user_key = $3 AND (last_time, last_seq) > ($4, $5)
               ORDER BY last_time, last_seq LIMIT $6) p
             JOIN segments s ON s.tid = p.tid AND s.type_id = p.type_id AND s.last_time = p.last_time AND s.last_seq = p.last_seq
             ORDER BY p.last_time, p.last_seq`,
      values: [this.tid, this.typeId, userKey(this.match.field, this.match.value).toString(), after.timeMs, after.seq, max],
    });
    const list = r.rows.map((row): PostedSegment => {
      let decoded: DecodedSegment | undefined;
      return {
        firstTime: Number(row.first_time),
        lastTime: Number(row.last_time),
        n: row.pn,
        decode: () => (decoded ??= decodeSegment(row.data, this.owner, Number(row.id))),
      };
    });
    const tail = r.rows[r.rows.length - 1];
    // The postings' own last row says where the next statement goes on (a join that lost a row cannot stall the walk).
    return { list, last: r.rows.length < max ? undefined : tail && { timeMs: Number(tail.last_time), seq: Number(tail.last_seq) } };
  }

  async total(fromMs: number, toMs: number): Promise<{ total: number; watermark: number }> {
    const w = await this.client.query<{ w: string }>('SELECT last_seq AS w FROM entry_seqs WHERE tid = $1', [this.tid]);
    const hot = await this.client.query<{ n: string }>({
      name: 'lw_user_hot_count',
      text: `SELECT count(*) AS n FROM entries WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND event_time < $4 AND ${sqlMatch('$5', '$6')}`,
      values: [this.tid, this.typeId, fromMs, toMs, this.match.field, sqlValue(this.match.value)],
    });
    const odd = await oddHotRows(this.client, this.match, 'tid = $1 AND type_id = $2 AND event_time >= $3 AND event_time < $4', [
      this.tid,
      this.typeId,
      fromMs,
      toMs,
    ]);
    let total = Number(hot.rows[0]!.n) + odd.length;
    let at: Position | undefined = { timeMs: fromMs, seq: -1 };
    while (at !== undefined) {
      const batch = await this.posted(at, 256);
      total += countPosted(batch.list, this.match, fromMs, toMs);
      const lastListed = batch.list[batch.list.length - 1];
      at = lastListed !== undefined && lastListed.firstTime >= toMs ? undefined : batch.last;
    }
    return { total, watermark: Number(w.rows[0]?.w ?? 0) };
  }

  async page(after: Position, toMs: number, watermark: number, limit: number): Promise<StoredPage> {
    const want = limit + 1;
    const range = 'tid = $1 AND type_id = $2 AND event_time >= $3 AND (event_time, seq) > ($3, $4) AND event_time < $5 AND seq <= $6';
    const hot = await this.client.query<HotRow>({
      name: 'lw_user_hot',
      text: `SELECT event_time, seq, body, ${hotRowOk('$10', 'entries', { from: '$3', to: '$5' })} AS ok FROM entries
             WHERE ${range} AND ${sqlMatch('$7', '$8')} ORDER BY event_time, seq LIMIT $9`,
      values: [
        this.tid,
        this.typeId,
        after.timeMs,
        after.seq,
        toMs,
        watermark,
        this.match.field,
        sqlValue(this.match.value),
        want,
        hotKeyPrefix(this.owner.logType),
      ],
    });
    const served = { tid: this.tid, owner: this.owner };
    const hotEntries: HotEntry[] = hot.rows.map(checkedHotEntry(this.tid, this.owner));
    const odd = await oddHotRows(this.client, this.match, range, [this.tid, this.typeId, after.timeMs, after.seq, toMs, watermark], served);
    if (odd.length > 0) {
      hotEntries.push(...odd);
      hotEntries.sort((a, b) => a.timeMs - b.timeMs || a.seq - b.seq);
      hotEntries.length = Math.min(hotEntries.length, want);
    }
    // Segments are fetched a few at a time until they have given a page's worth, or end.
    const found: StoredEntry[] = [];
    const bounds = { after, toMs, watermark, limit };
    for (let at: Position | undefined = after; at !== undefined; ) {
      const batch = await this.posted(at, BATCH);
      if (collectPosted(batch.list, this.match, bounds, found)) break;
      at = batch.last;
    }
    return mergeUserPage(found, hotEntries, limit);
  }
}

/** Runs `f` in a read-only REPEATABLE READ transaction: one snapshot (BEGIN_SNAPSHOT). */
async function inSnapshot<T>(pool: pg.Pool, f: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    try {
      // Inside: its lock may fail, leaving the transaction open and aborted.
      await client.query(BEGIN_SNAPSHOT);
      const out = await f(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      // Not after a statement left unanswered: its connection is closed instead (pool.ts).
      if (!isUnanswered(err)) await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  } finally {
    client.release();
  }
}

export interface UserScope {
  readonly tid: number;
  readonly typeId: number;
  readonly owner: SegmentOwner;
  readonly fromMs: number;
  readonly toMs: number | null;
  readonly match: UserMatch;
}

export async function userFirstPage(pool: pg.Pool, scope: UserScope, limit: number): Promise<FirstPage> {
  return inSnapshot(pool, async (client) => {
    const reader = new UserReader(client, scope.tid, scope.typeId, scope.owner, scope.match);
    const toMs = scope.toMs ?? NO_UPPER_BOUND;
    const { total, watermark } = await reader.total(scope.fromMs, toMs);
    if (total === 0) return { total: 0, watermark: 0, ...EMPTY_PAGE };
    return { total, watermark, ...(await reader.page({ timeMs: scope.fromMs, seq: -1 }, toMs, watermark, limit)) };
  });
}

export async function userNextPage(pool: pg.Pool, scope: UserScope, after: Position, watermark: number, limit: number): Promise<StoredPage> {
  return inSnapshot(pool, (client) =>
    new UserReader(client, scope.tid, scope.typeId, scope.owner, scope.match).page(after, scope.toMs ?? NO_UPPER_BOUND, watermark, limit),
  );
}

/** The user's entries per hour (the histogram of one user): the hot rows' times and the postings' segments, inside one snapshot. */
export async function userTallies(pool: pg.Pool, scope: UserScope): Promise<HourTally[]> {
  return inSnapshot(pool, async (client) => {
    const { from, to } = wholeHours(scope.fromMs, scope.toMs);
    const hot = await client.query<{ event_time: string }>({
      name: 'lw_user_hot_times',
      text: `SELECT event_time FROM entries WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND event_time < $4 AND ${sqlMatch('$5', '$6')}`,
      values: [scope.tid, scope.typeId, from, to, scope.match.field, sqlValue(scope.match.value)],
    });
    const odd = await oddHotRows(client, scope.match, 'tid = $1 AND type_id = $2 AND event_time >= $3 AND event_time < $4', [
      scope.tid,
      scope.typeId,
      from,
      to,
    ]);
    const reader = new UserReader(client, scope.tid, scope.typeId, scope.owner, scope.match);
    const segments: PostedSegment[] = [];
    for (let at: Position | undefined = { timeMs: from, seq: -1 }; at !== undefined; ) {
      const batch = await reader.posted(at, 256);
      segments.push(...batch.list);
      const lastListed = batch.list[batch.list.length - 1];
      at = lastListed !== undefined && lastListed.firstTime >= to ? undefined : batch.last;
    }
    return userHourlyTallies(
      segments,
      [...hot.rows.map((r) => Number(r.event_time)), ...odd.map((e) => e.timeMs)],
      scope.match,
      scope.fromMs,
      scope.toMs,
    );
  });
}
