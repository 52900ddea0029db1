/**
 * Idempotency of sealed entries on PostgreSQL. An entry's idempotency key (the first 64 bits of
 * `entryKey`, with its event time) lives in `entry_keys` while the entry is a hot row, and in
 * its segment's `key_times` and `keys` arrays once sealed: one row per entry would cost more
 * disk than the entry's compressed text. The sealer moves a key from the table to the segment
 * in the transaction that seals the row; an append inserts its keys into `entry_keys` (which
 * settles races between appends and with the sealer) and then looks the new ones up in the
 * segments whose range holds their time. Segments sealed before their keys moved there have
 * none (NULL): their entries' keys are still rows, until `convertKeyless` moves them.
 *
 * Why an append cannot miss a key the sealer moves meanwhile: the sealer deletes the row and
 * inserts the segment in one transaction. An append inserting the same key either sees the row
 * (a duplicate), or waits for the sealer's uncommitted delete and then inserts; its lookup in
 * the segments is a later statement, whose snapshot has the sealer's commit.
 */
import type pg from 'pg';
import { entryKey } from '../../logs/entry.ts';
import { decodeSegment, type SegmentOwner } from '../segment-codec.ts';
import { monthStart, nextMonthStart, SEAL_LOCK_NAMESPACE } from './migrations.ts';

/** An entry's key as `entry_keys` and the segments keep it: the first 64 bits of `entryKey`, in decimal. */
export function storedKey(logType: string, body: string | Buffer): string {
  return entryKey(logType, typeof body === 'string' ? body : body.toString('utf8'))
    .readBigInt64BE(0)
    .toString();
}

/** An entry whose idempotency key is computed at most once: noted on it by `keyArraysOf`. */
export interface KeyedEntry {
  readonly timeMs: number;
  readonly body: Buffer;
  key?: string;
}

/**
 * The key arrays of these entries (a segment about to be written, or rows to delete), in their
 * order. Each entry's key is noted on it, so an entry met again in the same step (a sealed hot
 * row: its new segment's arrays, then its key row) is hashed once.
 */
export function keyArraysOf(logType: string, entries: readonly KeyedEntry[]): { times: number[]; keys: string[] } {
  return { times: entries.map((e) => e.timeMs), keys: entries.map((e) => (e.key ??= storedKey(logType, e.body))) };
}

/**
 * The earliest and latest of some event times, bounds that let PostgreSQL plan a statement
 * joining them over the partitions of their months only (a join to `unnest` prunes none).
 */
export function spanOf(times: readonly number[]): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const t of times) {
    if (t < lo) lo = t;
    if (t > hi) hi = t;
  }
  // None: an empty span, which no row is in.
  return times.length === 0 ? [0, -1] : [lo, hi];
}

/** Deletes these keys from `entry_keys`; resolves to how many there were. */
export async function deleteKeyRows(client: pg.PoolClient, tid: number, times: readonly number[], keys: readonly string[]): Promise<number> {
  if (times.length === 0) return 0;
  const r = await client.query({
    name: 'lw_keys_delete',
    text: `DELETE FROM entry_keys k USING unnest($2::int8[], $3::int8[]) AS d (t, key)
           WHERE k.tid = $1 AND k.event_time = d.t AND k.key = d.key AND k.event_time >= $4 AND k.event_time <= $5`,
    values: [tid, times, keys, ...spanOf(times)],
  });
  return r.rowCount ?? 0;
}

/**
 * Which of these keys (each with its entry's type and time) a sealed entry already holds, as
 * `time/key`. Looked up month by month: statements planned with the month's bounds (unnamed,
 * so planned for their values), so that they name only that month's partition of
 * `segments`. They must not lock the others: attaching a month moves its rows out of DEFAULT
 * under an exclusive lock, which an append's lock on DEFAULT would hold up.
 */
export async function sealedDuplicates(
  client: pg.PoolClient,
  tid: number,
  candidates: { readonly types: readonly number[]; readonly times: readonly number[]; readonly keys: readonly string[] },
): Promise<Set<string>> {
  const byMonth = new Map<number, number[]>();
  candidates.times.forEach((t, i) => {
    const m = monthStart(t);
    (byMonth.get(m) ?? byMonth.set(m, []).get(m)!).push(i);
  });
  const found = new Set<string>();
  for (const [m, all] of byMonth) {
    // Most appends bring entries newer than anything sealed: the last sealed time of each of
    // their types, read first, leaves none to look up (and their keys unsent).
    const types = [...new Set(all.map((i) => candidates.types[i]!))];
    const highs = await client.query<{ ty: number; hi: string | null }>(SEALED_HIGHS, [tid, types, m, nextMonthStart(m)]);
    const hi = new Map(highs.rows.filter((row) => row.hi !== null).map((row) => [row.ty, Number(row.hi)]));
    const at = all.filter((i) => candidates.times[i]! <= (hi.get(candidates.types[i]!) ?? Number.NEGATIVE_INFINITY));
    if (at.length === 0) continue;
    const r = await client.query<{ t: string; k: string }>(SEALED_DUPLICATES, [
      tid,
      at.map((i) => candidates.types[i]),
      at.map((i) => candidates.times[i]),
      at.map((i) => candidates.keys[i]),
      m,
      nextMonthStart(m),
    ]);
    for (const row of r.rows) found.add(`${row.t}/${row.k}`);
  }
  return found;
}

/** The last sealed time of each of these types in the month (NULL: none sealed). */
const SEALED_HIGHS = `
  SELECT d.ty, (SELECT s.last_time FROM segments s WHERE s.tid = $1 AND s.type_id = d.ty AND s.first_time >= $3 AND s.first_time < $4
                ORDER BY s.last_time DESC, s.last_seq DESC LIMIT 1) AS hi
  FROM unnest($2::int4[]) AS d (ty)`;

/**
 * Only times up to a type's last sealed time in the month are looked up (an entry newer than
 * every segment of its group costs no probe). The segments holding a time are those ending at
 * it and the first ending after it: segments of a group never overlap.
 */
const SEALED_DUPLICATES = `
  WITH c AS (SELECT * FROM unnest($2::int4[], $3::int8[], $4::int8[]) AS c (ty, t, k)),
  hi AS (
    SELECT d.ty, (SELECT s.last_time FROM segments s WHERE s.tid = $1 AND s.type_id = d.ty AND s.first_time >= $5 AND s.first_time < $6
                  ORDER BY s.last_time DESC, s.last_seq DESC LIMIT 1) AS hi
    FROM (SELECT DISTINCT ty FROM c) d
  )
  SELECT c.t, c.k FROM c JOIN hi ON hi.ty = c.ty
  WHERE c.t <= hi.hi AND EXISTS (
    SELECT 1 FROM (
      (SELECT s.first_time, s.key_times, s.keys FROM segments s
       WHERE s.tid = $1 AND s.type_id = c.ty AND s.first_time >= $5 AND s.first_time < $6 AND s.last_time = c.t)
      UNION ALL
      (SELECT s.first_time, s.key_times, s.keys FROM segments s
       WHERE s.tid = $1 AND s.type_id = c.ty AND s.first_time >= $5 AND s.first_time < $6 AND s.last_time > c.t
       ORDER BY s.last_time, s.last_seq LIMIT 1)
    ) s
    WHERE s.first_time <= c.t AND c.k = ANY (s.keys)
      AND EXISTS (SELECT 1 FROM unnest(s.key_times, s.keys) AS u (t, k) WHERE u.t = c.t AND u.k = c.k))`;

/**
 * Moves the keys of up to `limit` segments sealed before segments carried them from
 * `entry_keys` into the segments, each group under its sealing lock (a busy group is left for
 * later). Resolves to the segments converted.
 */
export async function convertKeyless(
  client: pg.PoolClient,
  ownerOf: (tid: number, typeId: number) => Promise<SegmentOwner>,
  groupLockKey: (tid: number, typeId: number) => number,
  limit: number,
): Promise<number> {
  // Prepared once per connection, as the sealer's search for hot rows (sealer.ts): it reads every month's partition.
  const found = await client.query<{ tid: number; type_id: number }>({
    name: `lw_keyless_groups_${Math.trunc(limit)}`,
    text: `SELECT DISTINCT tid, type_id FROM (SELECT tid, type_id FROM segments WHERE keys IS NULL LIMIT ${Math.trunc(limit)}) s`,
  });
  let converted = 0;
  for (const g of found.rows) {
    await client.query('BEGIN; SET LOCAL synchronous_commit = on');
    try {
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS ok', [
        SEAL_LOCK_NAMESPACE,
        groupLockKey(g.tid, g.type_id),
      ]);
      if (!lock.rows[0]!.ok) {
        await client.query('ROLLBACK');
        continue;
      }
      const owner = await ownerOf(g.tid, g.type_id);
      const rows = await client.query<{ id: string; data: Buffer }>(
        `SELECT id, data FROM segments WHERE tid = $1 AND type_id = $2 AND keys IS NULL LIMIT ${Math.trunc(limit)}`,
        [g.tid, g.type_id],
      );
      const allTimes: number[] = [];
      const allKeys: string[] = [];
      for (const row of rows.rows) {
        const seg = decodeSegment(row.data, owner, Number(row.id));
        const entries: { timeMs: number; body: Buffer }[] = [];
        for (let i = 0; i < seg.count; i++) entries.push({ timeMs: seg.timeMs(i), body: seg.body(i) });
        const { times, keys } = keyArraysOf(owner.logType, entries);
        await client.query('UPDATE segments SET key_times = $3::int8[], keys = $4::int8[] WHERE tid = $1 AND id = $2 AND keys IS NULL', [
          g.tid,
          row.id,
          times,
          keys,
        ]);
        allTimes.push(...times);
        allKeys.push(...keys);
      }
      const deleted = await deleteKeyRows(client, g.tid, allTimes, allKeys);
      if (deleted !== allKeys.length) throw new Error(`key conversion: deleted ${deleted} of ${allKeys.length} idempotency keys`);
      await client.query('COMMIT');
      converted += rows.rows.length;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }
  return converted;
}
