/**
 * The sealer: moves hot rows that are old enough (by the time they were added, not their event
 * time) into immutable compressed segments, and rewrites the segments that late entries land in.
 * It runs in each process that opens the store, started by open and stopped by close.
 *
 * One step seals one (tenant, type) group in one transaction: read its old-enough hot rows
 * (bounded), read the segments their keys fall in or next to, write the new segments, delete
 * the replaced segments and the hot rows. A crash anywhere rolls all of it back; the hot rows
 * stay. Sealers of several processes work on different groups: each group is taken with a
 * transaction-level advisory lock (try-lock: a busy group is left to whoever holds it). The
 * deletes must remove exactly the rows read, or the step rolls back.
 *
 * Segments of a group never overlap, and never cross a month (so each lives in one monthly
 * partition). A run of hot rows is written into the segment whose key range contains it (that
 * segment is rewritten), or into new segments in the gap; a small neighbour of anything rewritten
 * joins the rewrite, so a steadily growing tail does not leave a trail of small segments.
 */
import type pg from 'pg';
import { corruptHotRow, hotKeyPrefix } from '../hot-rows.ts';
import { decodeSegment, encodeSegment, SEGMENT_BYTES, SEGMENT_ENTRIES, type SegmentOwner } from '../segment-codec.ts';
import { type BackgroundErrorReporter, backgroundProblem, CorruptEntryError, CorruptSegmentError, type Position } from '../store.ts';
import { postingsOf } from '../user-filter.ts';
import { reclaimEmptyHotPartitions } from './hot-reclaim.ts';
import { hotRowOk } from './hot-rows.ts';
import { monthStart, nextMonthStart, SEAL_LOCK_NAMESPACE } from './migrations.ts';
import { convertKeyless, deleteKeyRows, type KeyedEntry, keyArraysOf, spanOf } from './sealed-keys.ts';
import { compare } from './segment-cache.ts';
import { deletePostings, keysOf, writePostings } from './user-index.ts';

export interface SealerOptions {
  /** Hot rows added at least this long ago are sealed. */
  readonly ageMs: number;
  /** Pause between rounds when there was nothing to seal. */
  readonly idleMs: number;
  /** Told of the segments a step replaced, once it has committed (the process's cache forgets them). */
  readonly replaced?: (ids: readonly string[]) => void;
}

/**
 * Segments rewritten for late entries per step and month: this share of the month's segments
 * (at least REWRITES_MIN). The replaced segments' space is vacuumed after each such step, so the
 * next reuses it: the space compaction needs beyond the live segments stays about this share.
 */
const REWRITES_SHARE = 0.1;
const REWRITES_MIN = 2;
/** Hot rows sealed per step at most. */
const STEP_ROWS = 20_000;
/**
 * Entry text a step reads at most (beyond its first row): a step holds what it seals in memory,
 * and 20,000 rows of entries of a megabyte each (NDJSON lines may be) are 20 GB.
 */
const STEP_BYTES = 64 * 1024 * 1024;
/** Groups looked at per round: those of the first old-enough hot rows found. */
const ROUND_ROWS = 2000;
/** Segments sealed before they carried their keys, converted per round (sealed-keys.ts). */
const CONVERT_SEGMENTS = 64;
/** How often, at most, an idle sealer looks for emptied hot partitions to shrink (hot-reclaim.ts). */
const RECLAIM_EVERY_MS = 60_000;
/** How long `settle` waits, at most, for groups another store is sealing. */
const SETTLE_WAIT_MS = 60_000;

/** What a segment row says about its place, before its bytes are read. */
interface SegmentMeta {
  id: string;
  /** The partition holding it. */
  part: string;
  first: Position;
  last: Position;
  n: number;
}

interface Entry extends KeyedEntry {
  timeMs: number;
  seq: number;
  body: Buffer;
}

/** A stretch of a group in page order: an existing segment, or hot rows lying between segments. */
type Item = { kind: 'segment'; meta: SegmentMeta; hot: Entry[]; rewrite: boolean } | { kind: 'gap'; hot: Entry[]; rewrite: true };

export type OwnerOf = (tid: number, typeId: number) => Promise<SegmentOwner>;

/** A tenant's log type to seal, and the time (ms) its rows must have been added by. */
interface Group {
  readonly tid: number;
  readonly typeId: number;
  readonly cutoff: number;
}

export class Sealer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** The message of the failure last reported while rounds keep failing: each distinct one is reported once. */
  private failing: string | undefined;
  /** Corrupt segments already reported. */
  private readonly corrupt = new Set<string>();
  /**
   * Groups whose data failed its checks, by `tid/typeId`: left out of the search for groups to
   * seal (however many rows they keep hot, the others' rows are found) and tried once a round.
   */
  private readonly unsealed = new Map<string, Group>();
  private conversionFailed = false;
  /** Whether the last round left a group alone because another store was sealing it. */
  private lockedOut = false;
  /** When the emptied hot partitions were last looked at. */
  private reclaimedAt = 0;

  constructor(
    private readonly pool: pg.Pool,
    /** Where emptied hot partitions' indexes are rebuilt, a session of its own (hot-reclaim.ts); null: they are not. */
    private readonly reclaiming: pg.Pool | null,
    private readonly ownerOf: OwnerOf,
    private readonly options: SealerOptions,
    private readonly report: BackgroundErrorReporter,
  ) {}

  start(): void {
    this.schedule(0);
  }

  /** Whether a round is under way. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Seals (and converts) until nothing is left to do (for tests and tools; the timer does the same). */
  async settle(): Promise<void> {
    await this.running;
    const until = performance.now() + SETTLE_WAIT_MS;
    for (;;) {
      if ((await this.exclusive(() => this.round(false))) > 0) continue;
      // A group another store (or process) was sealing has rows this round could not seal:
      // settled means sealed, so its turn is waited for.
      if (!this.lockedOut || performance.now() > until) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.exclusive(() => this.reclaim());
  }

  /** Shrinks the indexes of hot partitions sealing has emptied (hot-reclaim.ts). */
  private async reclaim(): Promise<number> {
    this.reclaimedAt = performance.now();
    return this.reclaiming === null ? 0 : reclaimEmptyHotPartitions(this.reclaiming);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = performance.now();
      void this.exclusive(async () => {
        const n = await this.round(true);
        if (n === 0 && performance.now() - this.reclaimedAt >= RECLAIM_EVERY_MS) await this.reclaim();
        return n;
      }).then(
        (n) => {
          this.failing = undefined;
          // After work, a pause as long as the work: catching up takes at most half the
          // process's time, leaving the rest to requests.
          this.schedule(n > 0 ? Math.round(performance.now() - started) : this.options.idleMs);
        },
        (err: unknown) => {
          // A round the store's close ended (its connections closed) is not retried: nothing to report.
          if (this.stopped) return;
          const problem = backgroundProblem(err, 'sealing round failed, retrying');
          this.report(problem, this.failing === problem.message);
          this.failing = problem.message;
          this.schedule(Math.max(this.options.idleMs, 1000));
        },
      );
    }, ms);
    this.timer.unref();
  }

  /** Runs `work` when no other round of this sealer runs. */
  private async exclusive<T>(work: () => Promise<T>): Promise<T> {
    while (this.running) await this.running.catch(() => {});
    const p = work();
    this.running = p.then(
      () => {},
      () => {},
    );
    try {
      return await p;
    } finally {
      this.running = undefined;
    }
  }

  /**
   * One round: the steps of each group among the first old-enough hot rows, and of each group
   * left unsealed before (tried again). A group that fails its checks in it is left unsealed,
   * and the search goes on without it. Resolves to the entries sealed.
   */
  async round(paced: boolean): Promise<number> {
    this.lockedOut = false;
    const client = await this.pool.connect();
    let broken = false;
    try {
      let retry = [...this.unsealed.values()];
      // The search first: a connection lost (or closed by a stop) fails the round there, before
      // the conversion below would take the failure for its own and give up for good.
      let groups = await this.groupsToSeal(client, retry);
      // Converted segments count as work done: a round that converted some is followed by another.
      let sealed = await this.convertKeys(client);
      // Searched again while a group found in the search is left unsealed: the rows it kept the
      // search from seeing may be other groups'.
      for (;;) {
        const retried = new Set(retry.map((g) => `${g.tid}/${g.typeId}`));
        let again = false;
        for (const g of groups) {
          if (this.stopped) break;
          const n = await this.sealGroup(client, g, paced);
          if (n === undefined) again ||= !retried.has(`${g.tid}/${g.typeId}`);
          else sealed += n;
        }
        if (!again || this.stopped) return sealed;
        retry = [];
        groups = await this.groupsToSeal(client, retry);
      }
    } catch (err) {
      broken = true;
      throw err;
    } finally {
      client.release(broken);
    }
  }

  /**
   * The groups with old-enough hot rows among the first ROUND_ROWS of them, but for the groups
   * left unsealed (their rows would fill the search), then the groups of `retry`.
   */
  private async groupsToSeal(client: pg.PoolClient, retry: readonly Group[]): Promise<Group[]> {
    const unsealed = [...this.unsealed.values()];
    const found = await client.query<{ tid: number | null; type_id: number | null; cutoff: string }>({
      // Prepared once per connection: the search reads every month's hot partition, and
      // planning it anew each round cost as many months (a quarter of a second each round, on a
      // store with a partition per month since 1970), where a plan kept for the connection does not.
      name: 'lw_seal_groups',
      // Old enough, or added later than now: added before the database's clock was put back
      // (its age unknown), and otherwise kept hot as long as the clock had been ahead.
      text: `WITH c AS (SELECT (extract(epoch FROM now()) * 1000)::int8 - $1::int8 AS cutoff)
       SELECT DISTINCT o.tid, o.type_id, c.cutoff FROM c LEFT JOIN LATERAL (
         SELECT tid, type_id FROM (SELECT tid, type_id FROM entries WHERE added_at <= c.cutoff OR added_at > c.cutoff + $1::int8) e
         WHERE (tid, type_id) NOT IN (SELECT * FROM unnest($2::int4[], $3::int4[])) LIMIT ${ROUND_ROWS}) o ON true`,
      values: [this.options.ageMs, unsealed.map((g) => g.tid), unsealed.map((g) => g.typeId)],
    });
    const cutoff = Number(found.rows[0]!.cutoff);
    const groups: Group[] = [];
    for (const row of found.rows) if (row.tid !== null && row.type_id !== null) groups.push({ tid: row.tid, typeId: row.type_id, cutoff });
    for (const g of retry) groups.push({ ...g, cutoff });
    return groups;
  }

  /**
   * Works off a group's backlog, step after step (finding groups scans the hot table from its
   * start, past the rows earlier steps deleted). Resolves to the entries sealed, or undefined
   * when the group's data failed its checks: it is then left unsealed.
   */
  private async sealGroup(client: pg.PoolClient, g: Group, paced: boolean): Promise<number | undefined> {
    const group = `${g.tid}/${g.typeId}`;
    let sealed = 0;
    for (;;) {
      const started = performance.now();
      let n: number;
      let full: boolean;
      try {
        [n, full] = await this.step(client, g.tid, g.typeId, g.cutoff);
      } catch (err) {
        // A corrupt segment, or a hot row that fails its check, stops this group's sealing (its
        // rows stay where they are), not the other groups'; every round after the first meeting
        // it reports a repeat.
        if (!(err instanceof CorruptSegmentError || err instanceof CorruptEntryError)) throw err;
        const key = `${group}/${err instanceof CorruptSegmentError ? (err.segmentId ?? '?') : err.message}`;
        this.report(backgroundProblem(err, `sealing tenant ${g.tid}, log type ${g.typeId} stopped (left unsealed)`), this.corrupt.has(key));
        this.corrupt.add(key);
        this.unsealed.set(group, { tid: g.tid, typeId: g.typeId, cutoff: g.cutoff });
        return undefined;
      }
      this.unsealed.delete(group);
      sealed += n;
      if (!full || this.stopped) return sealed;
      // In the background, a pause as long as the step: requests keep half the process.
      if (paced) await new Promise((r) => setTimeout(r, performance.now() - started));
    }
  }

  /**
   * Moves the keys of segments sealed before they carried them into them (sealed-keys.ts). A
   * failure is said once and ends the conversion in this process, not the sealing: the keys it
   * would move are still rows, so idempotency holds either way.
   */
  private async convertKeys(client: pg.PoolClient): Promise<number> {
    if (this.conversionFailed) return 0;
    try {
      return await convertKeyless(client, this.ownerOf, groupLockKey, CONVERT_SEGMENTS);
    } catch (err) {
      // A stop closed the connection: nothing failed.
      if (this.stopped) return 0;
      this.conversionFailed = true;
      this.report(backgroundProblem(err, 'moving idempotency keys into segments failed; they stay in entry_keys'), false);
      return 0;
    }
  }

  /** Seals a step's worth of the group's hot rows: how many, and whether the step was full (more may wait). */
  private async step(client: pg.PoolClient, tid: number, typeId: number, cutoff: number): Promise<[sealed: number, full: boolean]> {
    const owner = await this.ownerOf(tid, typeId);
    await client.query('BEGIN; SET LOCAL synchronous_commit = on; SET LOCAL plan_cache_mode = force_custom_plan');
    try {
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [
        SEAL_LOCK_NAMESPACE,
        groupLockKey(tid, typeId),
      ]);
      if (!lock.rows[0]!.ok) {
        await client.query('ROLLBACK');
        this.lockedOut = true;
        return [0, false];
      }
      // The rows up to STEP_ROWS and STEP_BYTES of text (octet_length reads a stored value's size, not the value).
      // Each with its check (hot-rows.ts): a segment's checksum must never vouch for altered text.
      const hotRows = await client.query<{ event_time: string; seq: string; body: string; cut: boolean; ok: boolean }>({
        name: 'lw_seal_hot',
        text: `SELECT event_time, seq, body, cut, ${hotRowOk('$5', 'c')} AS ok FROM (
                 SELECT tid, event_time, seq, body, n = ${STEP_ROWS} OR bytes >= ${STEP_BYTES} AS cut,
                        lag(bytes, 1, 0::bigint) OVER (ORDER BY event_time, seq) AS before
                 FROM (SELECT tid, event_time, seq, body, row_number() OVER w AS n, sum(octet_length(body)) OVER w AS bytes
                       FROM (SELECT tid, event_time, seq, body FROM entries
                             WHERE tid = $1 AND type_id = $2 AND (added_at <= $3 OR added_at > $3::int8 + $4::int8)
                             ORDER BY event_time, seq LIMIT ${STEP_ROWS}) l
                       WINDOW w AS (ORDER BY event_time, seq)) r) c
               WHERE before < ${STEP_BYTES} ORDER BY event_time, seq`,
        values: [tid, typeId, cutoff, this.options.ageMs, hotKeyPrefix(owner.logType)],
      });
      const altered = hotRows.rows.find((r) => !r.ok);
      if (altered) throw corruptHotRow(Number(altered.seq), tid, owner.logType);
      const hot: Entry[] = hotRows.rows.map((r) => ({ timeMs: Number(r.event_time), seq: Number(r.seq), body: Buffer.from(r.body) }));
      if (hot.length === 0) {
        await client.query('ROLLBACK');
        return [0, false];
      }
      const full = hotRows.rows[hotRows.rows.length - 1]!.cut;
      const written: Written[] = [];
      const replaced: SegmentMeta[] = [];
      /** The user keys of the replaced segments, whose postings go with them. */
      const replacedKeys: { last: Position; keys: bigint[] }[] = [];
      const sealed: Entry[] = [];
      /** Entries whose idempotency keys are rows of entry_keys, to move into the written segments. */
      const keyRows: Entry[] = [];
      for (const month of byMonth(hot)) {
        const plan = await this.plan(client, tid, typeId, month);
        const rewritten = plan.filter((i) => i.rewrite);
        const ids = rewritten.flatMap((i) => (i.kind === 'segment' ? [i.meta.id] : []));
        const data = new Map<string, { data: Buffer; keyless: boolean }>();
        if (ids.length > 0) {
          const r = await client.query<{ id: string; data: Buffer; keyless: boolean }>(
            `SELECT id, data, keys IS NULL AS keyless FROM segments
             WHERE tid = $1 AND type_id = $2 AND first_time = ANY($3::int8[]) AND last_time = ANY($4::int8[]) AND id = ANY($5::int8[])`,
            [tid, typeId, ...timesOf(rewritten.flatMap((i) => (i.kind === 'segment' ? [i.meta] : []))), ids],
          );
          for (const row of r.rows) data.set(row.id, row);
        }
        // Consecutive rewritten items become one run of entries, cut anew.
        let run: Entry[] = [];
        const flush = (): void => {
          if (run.length > 0) written.push(...cut(owner, run));
          run = [];
        };
        for (const item of plan) {
          if (!item.rewrite) {
            flush();
            continue;
          }
          sealed.push(...item.hot);
          if (item.kind === 'gap') {
            run.push(...item.hot);
            continue;
          }
          replaced.push(item.meta);
          const row = data.get(item.meta.id);
          if (!row) throw new Error(`segment ${item.meta.id} vanished while its group was locked`);
          const d = decodeSegment(row.data, owner, Number(item.meta.id));
          replacedKeys.push({ last: item.meta.last, keys: keysOf(d) });
          const old: Entry[] = [];
          for (let i = 0; i < d.count; i++) old.push({ timeMs: d.timeMs(i), seq: d.seq(i), body: d.body(i) });
          // A segment sealed before segments carried keys still has its entries' keys as rows.
          if (row.keyless) keyRows.push(...old);
          run.push(...mergeSorted(old, item.hot));
        }
        flush();
      }
      await this.write(client, tid, typeId, written);
      if (replaced.length > 0) {
        const r = await client.query(
          'DELETE FROM segments WHERE tid = $1 AND type_id = $2 AND first_time = ANY($3::int8[]) AND last_time = ANY($4::int8[]) AND id = ANY($5::int8[])',
          [tid, typeId, ...timesOf(replaced), replaced.map((m) => m.id)],
        );
        if (r.rowCount !== replaced.length) throw new Error(`sealer: deleted ${r.rowCount} of ${replaced.length} replaced segments`);
      }
      // The user filter's postings follow the segments (user-index.ts).
      await deletePostings(client, tid, typeId, replacedKeys);
      await writePostings(client, tid, typeId, written);
      // The sealed rows' keys now live in the written segments (sealed-keys.ts).
      keyRows.push(...sealed);
      const moved = keyArraysOf(owner.logType, keyRows);
      const k = await deleteKeyRows(client, tid, moved.times, moved.keys);
      if (k !== keyRows.length) throw new Error(`sealer: deleted ${k} of ${keyRows.length} idempotency keys`);
      const d = await client.query({
        name: 'lw_seal_delete',
        text: `DELETE FROM entries e USING unnest($3::int8[], $4::int8[]) AS d (t, s)
               WHERE e.tid = $1 AND e.type_id = $2 AND e.event_time = d.t AND e.seq = d.s AND e.event_time >= $5 AND e.event_time <= $6`,
        values: [tid, typeId, sealed.map((e) => e.timeMs), sealed.map((e) => e.seq), ...spanOf(sealed.map((e) => e.timeMs))],
      });
      if (d.rowCount !== sealed.length) throw new Error(`sealer: deleted ${d.rowCount} of ${sealed.length} sealed rows`);
      await client.query('COMMIT');
      if (replaced.length > 0) this.options.replaced?.(replaced.map((m) => m.id));
      // Outside the transaction: makes the replaced segments' space reusable by the next step.
      for (const part of new Set(replaced.map((m) => m.part))) await client.query(`VACUUM ${part}`);
      // Late rows left for the next step (rewrites per step are bounded) wait for the next round, as before.
      return [sealed.length, full && sealed.length === hot.length];
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  /** The items of one month of a group that the hot rows `month` touch, in page order, marked for rewriting. */
  private async plan(client: pg.PoolClient, tid: number, typeId: number, month: Entry[]): Promise<Item[]> {
    const lo = month[0]!;
    const hi = month[month.length - 1]!;
    const start = monthStart(lo.timeMs);
    const r = await client.query<{ id: string; part: string; first_time: string; first_seq: string; last_time: string; last_seq: string; n: number }>(
      {
        name: 'lw_seal_plan',
        text: `SELECT id, tableoid::regclass::text AS part, first_time, first_seq, last_time, last_seq, n FROM (
               (SELECT *, tableoid FROM segments WHERE tid = $1 AND type_id = $2 AND first_time >= $3 AND first_time < $8
                  AND (last_time, last_seq) < ($4, $5)
                ORDER BY last_time DESC, last_seq DESC LIMIT 1)
               UNION ALL
               (SELECT *, tableoid FROM segments WHERE tid = $1 AND type_id = $2 AND first_time >= $3 AND first_time < $8
                  AND (last_time, last_seq) >= ($4, $5) AND (first_time, first_seq) <= ($6, $7)
                ORDER BY last_time, last_seq)
               UNION ALL
               (SELECT *, tableoid FROM segments WHERE tid = $1 AND type_id = $2 AND first_time >= $3 AND first_time < $8
                  AND (first_time, first_seq) > ($6, $7) AND last_time >= $6
                ORDER BY last_time, last_seq LIMIT 1)
             ) s ORDER BY last_time, last_seq`,
        values: [tid, typeId, start, lo.timeMs, lo.seq, hi.timeMs, hi.seq, nextMonthStart(lo.timeMs)],
      },
    );
    const metas: SegmentMeta[] = r.rows.map((row) => ({
      id: row.id,
      part: row.part,
      first: { timeMs: Number(row.first_time), seq: Number(row.first_seq) },
      last: { timeMs: Number(row.last_time), seq: Number(row.last_seq) },
      n: row.n,
    }));
    const items: Item[] = [];
    let h = 0;
    for (const meta of metas) {
      const gap: Entry[] = [];
      while (h < month.length && compare(month[h]!, meta.first) < 0) gap.push(month[h++]!);
      if (gap.length > 0) items.push({ kind: 'gap', hot: gap, rewrite: true });
      const inside: Entry[] = [];
      while (h < month.length && compare(month[h]!, meta.last) <= 0) inside.push(month[h++]!);
      items.push({ kind: 'segment', meta, hot: inside, rewrite: inside.length > 0 });
    }
    if (h < month.length) items.push({ kind: 'gap', hot: month.slice(h), rewrite: true });
    // Rewrites per step are bounded (those with most late rows first); the rest of the late
    // rows stay hot for the next step, after the space of this one's is vacuumed for reuse.
    const dirty = items.filter((i) => i.kind === 'segment' && i.rewrite).sort((a, b) => b.hot.length - a.hot.length);
    const total = await client.query<{ n: string }>({
      name: 'lw_seal_count',
      text: 'SELECT count(*) AS n FROM segments WHERE tid = $1 AND type_id = $2 AND first_time >= $3 AND first_time < $4 AND last_time >= $3',
      values: [tid, typeId, start, nextMonthStart(lo.timeMs)],
    });
    const budget = Math.max(REWRITES_MIN, Math.floor(Number(total.rows[0]!.n) * REWRITES_SHARE));
    for (const item of dirty.slice(budget)) item.rewrite = false;
    // A small clean segment next to a rewrite joins it.
    const small = (i: Item): boolean => i.kind === 'segment' && !i.rewrite && i.meta.n < SEGMENT_ENTRIES / 2;
    const touched = items.map((i) => i.rewrite);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (small(item) && (touched[i - 1] || touched[i + 1])) item.rewrite = true;
    }
    return items;
  }

  private async write(client: pg.PoolClient, tid: number, typeId: number, segments: readonly Written[]): Promise<void> {
    for (let at = 0; at < segments.length; at += 50) {
      const batch = segments.slice(at, at + 50);
      const values: unknown[] = [tid, typeId];
      const rows = batch.map((s) => {
        const p = values.length;
        values.push(s.first.timeMs, s.first.seq, s.last.timeMs, s.last.seq, s.n, s.data, s.keys.times, s.keys.keys);
        return `($1, $2, $${p + 1}, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6}, $${p + 7}::int8[], $${p + 8}::int8[])`;
      });
      await client.query(
        `INSERT INTO segments (tid, type_id, first_time, first_seq, last_time, last_seq, n, data, key_times, keys) VALUES ${rows.join(', ')}`,
        values,
      );
    }
  }
}

/** A segment ready to insert. */
interface Written {
  first: Position;
  last: Position;
  n: number;
  data: Buffer;
  /** The user filter's postings of its entries. */
  postings: Map<bigint, number>;
  /** Its entries' idempotency keys (sealed-keys.ts). */
  keys: { times: number[]; keys: string[] };
}

/** The advisory lock key of a (tenant, type) group; two groups sharing one only wait for each other. */
export function groupLockKey(tid: number, typeId: number): number {
  return (Math.imul(tid, 0x9e3779b1) ^ typeId) | 0;
}

/**
 * The first and last times of segments, for statements that find them by id: with their
 * partition key given, PostgreSQL plans only the partitions of their months, not every month's.
 */
function timesOf(segments: readonly SegmentMeta[]): [number[], number[]] {
  return [segments.map((m) => m.first.timeMs), segments.map((m) => m.last.timeMs)];
}

/** The hot rows (in page order) split by month, each part in page order. */
function byMonth(hot: readonly Entry[]): Entry[][] {
  const parts: Entry[][] = [];
  let month = Number.NaN;
  for (const e of hot) {
    const m = monthStart(e.timeMs);
    if (m !== month) parts.push([]);
    month = m;
    parts[parts.length - 1]!.push(e);
  }
  return parts;
}

function mergeSorted(a: readonly Entry[], b: readonly Entry[]): Entry[] {
  const out: Entry[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && compare(a[i]!, b[j]!) <= 0)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}

/** A run of entries (page order, one month) as segments of about equal size within the targets. */
function cut(owner: SegmentOwner, run: readonly Entry[]): Written[] {
  let bytes = 0;
  for (const e of run) bytes += e.body.length;
  // Up to half a segment over the target stays whole: a few late entries do not split one in two.
  const pieces = Math.max(
    Math.round(run.length / SEGMENT_ENTRIES),
    Math.ceil(run.length / (1.5 * SEGMENT_ENTRIES)),
    Math.ceil(bytes / SEGMENT_BYTES),
    1,
  );
  const out: Written[] = [];
  for (let p = 0; p < pieces; p++) {
    const part = run.slice(Math.floor((p * run.length) / pieces), Math.floor(((p + 1) * run.length) / pieces));
    if (part.length === 0) continue;
    out.push({
      first: part[0]!,
      last: part[part.length - 1]!,
      n: part.length,
      data: encodeSegment(owner, part),
      postings: postingsOf(part),
      keys: keyArraysOf(owner.logType, part),
    });
  }
  return out;
}
