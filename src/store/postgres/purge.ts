/**
 * The PostgreSQL store's purge step (Store.purge), one transaction: the entries it picks
 * (oldest first, outside every active hold) go from the hot rows and the segments (a segment
 * partly deleted is rewritten as a new segment, one wholly deleted is dropped), with their
 * idempotency keys, hourly tallies and user postings, and one deletion receipt leaf joins the
 * tenant's tree with its signed checkpoint. Their leaves stay in the tree.
 *
 * Locks, in this order: the (tenant, type) group's sealing lock (the sealer skips a group
 * while it is held, so no segment changes under the step), then the tenant's `entry_seqs`
 * row, as an append takes it first: the tenant's appends wait for the step (bounded), and
 * none can be inserting a key the step deletes. The deletes are range deletes by key; once a
 * type's purge is done, months it left with no entry of any tenant lose their partitions
 * (index.ts, migrations.ts `dropEmptyMonth`), so their space goes back without vacuum. Months
 * whose every entry is expired are dropped whole before any step (month-drop.ts).
 */
import type pg from 'pg';
import { BucketTally } from '../count-plan.ts';
import { buildReceipt, emptyReceipt, firstInPageOrder, type PurgeCandidate } from '../purge-step.ts';
import { purgeableRanges } from '../retention-policy.ts';
import { decodeSegment, encodeSegment, type SegmentOwner } from '../segment-codec.ts';
import type { Position, PurgeReceipt, StepCutoffOf } from '../store.ts';
import { postingsOf } from '../user-filter.ts';
import { SEAL_LOCK_NAMESPACE } from './migrations.ts';
import { activeHolds, retentionSettings, tenantLogTypes } from './retention.ts';
import { deleteKeyRows, keyArraysOf } from './sealed-keys.ts';
import { groupLockKey } from './sealer.ts';
import type { PostgresTree, TreeHeadRow } from './tree.ts';
import { deletePostings, keysOf, writePostings } from './user-index.ts';

interface Candidate extends PurgeCandidate {
  readonly body: Buffer;
  /** The id of the segment holding it; undefined for a hot row. */
  readonly segment?: string;
}

interface SegmentRow {
  id: string;
  /** Sealed before segments carried their keys (sealed-keys.ts): its keys are rows. */
  keyless: boolean;
  first_time: string;
  first_seq: string;
  last_time: string;
  last_seq: string;
  data: Buffer;
}

export interface PurgeScope {
  readonly tid: number;
  readonly typeId: number;
  readonly owner: SegmentOwner;
}

/** One step, in its own transaction on `client`; `forget` hears of the segments it deleted or rewrote, once committed. */
export async function purgeStep(
  client: pg.PoolClient,
  tree: PostgresTree,
  scope: PurgeScope,
  beforeMs: number,
  limit: number,
  nowMs: number,
  forget?: (ids: readonly string[]) => void,
  cutoffOf?: StepCutoffOf,
): Promise<PurgeReceipt> {
  const { tid, typeId, owner } = scope;
  await client.query('BEGIN; SET LOCAL synchronous_commit = on');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [SEAL_LOCK_NAMESPACE, groupLockKey(tid, typeId)]);
    const h = await client.query<TreeHeadRow>(
      'SELECT last_seq, tree_size, tree_partial, tree_peaks, tree_note FROM entry_seqs WHERE tid = $1 FOR UPDATE',
      [tid],
    );
    const head = h.rows[0];
    if (!head) throw new Error(`tenant ${tid} has no entry_seqs row`);
    // The settings as they are once the tenant's row is held: a retention change takes it first.
    const cutoff = cutoffOf ? cutoffOf(await retentionSettings(client, tid), await tenantLogTypes(client, tid)) : beforeMs;
    const { picked, segments } =
      cutoff === null
        ? { picked: [], segments: new Map() }
        : await pick(client, scope, await activeHolds(client, tid), Math.min(beforeMs, cutoff), limit);
    if (picked.length === 0) {
      await client.query('ROLLBACK');
      return emptyReceipt(owner.logType, nowMs);
    }

    const hot = picked.filter((e) => e.segment === undefined);
    if (hot.length > 0) {
      const d = await client.query(
        `DELETE FROM entries e USING unnest($3::int8[], $4::int8[]) AS d (t, s)
         WHERE e.tid = $1 AND e.type_id = $2 AND e.event_time = d.t AND e.seq = d.s`,
        [tid, typeId, hot.map((e) => e.timeMs), hot.map((e) => e.seq)],
      );
      if (d.rowCount !== hot.length) throw new Error(`purge: deleted ${d.rowCount} of ${hot.length} hot rows`);
    }
    // Segments: dropped, or rewritten without the picked entries (a new id), postings following.
    const touched = new Map<string, Set<number>>();
    for (const e of picked) if (e.segment !== undefined) (touched.get(e.segment) ?? touched.set(e.segment, new Set()).get(e.segment)!).add(e.seq);
    const replaced: { last: Position; keys: bigint[] }[] = [];
    const written: { first: Position; last: Position; n: number; data: Buffer; postings: Map<bigint, number> }[] = [];
    /** The picked entries whose idempotency keys are rows (hot, or in a keyless segment). */
    const keyRows: Candidate[] = hot.slice();
    for (const [id, seqs] of touched) {
      const row = segments.get(id)!;
      const seg = decodeSegment(row.data, owner, Number(id));
      if (row.keyless) keyRows.push(...picked.filter((e) => e.segment === id));
      replaced.push({ last: { timeMs: Number(row.last_time), seq: Number(row.last_seq) }, keys: keysOf(seg) });
      const kept: { timeMs: number; seq: number; body: Buffer }[] = [];
      for (let i = 0; i < seg.count; i++)
        if (!seqs.has(seg.seq(i))) kept.push({ timeMs: seg.timeMs(i), seq: seg.seq(i), body: Buffer.from(seg.body(i)) });
      const d = await client.query('DELETE FROM segments WHERE tid = $1 AND type_id = $2 AND last_time = $3 AND id = $4', [
        tid,
        typeId,
        row.last_time,
        id,
      ]);
      if (d.rowCount !== 1) throw new Error(`purge: segment ${id} vanished while its group was locked`);
      if (kept.length > 0) {
        const first = kept[0]!;
        const last = kept[kept.length - 1]!;
        const data = encodeSegment(owner, kept);
        // The rewritten segment carries its keys; a keyless one's kept keys leave entry_keys.
        const keys = keyArraysOf(owner.logType, kept);
        if (row.keyless && (await deleteKeyRows(client, tid, keys.times, keys.keys)) !== kept.length)
          throw new Error(`purge: segment ${id}'s kept entries lacked idempotency keys`);
        await client.query(
          `INSERT INTO segments (tid, type_id, first_time, first_seq, last_time, last_seq, n, data, key_times, keys)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::int8[], $10::int8[])`,
          [tid, typeId, first.timeMs, first.seq, last.timeMs, last.seq, kept.length, data, keys.times, keys.keys],
        );
        written.push({ first, last, n: kept.length, data, postings: postingsOf(kept) });
      }
    }
    await deletePostings(client, tid, typeId, replaced);
    await writePostings(client, tid, typeId, written);

    // Idempotency keys kept as rows (those of sealed entries went with their segments), and the hourly tallies.
    const gone = keyArraysOf(owner.logType, keyRows);
    const k = await deleteKeyRows(client, tid, gone.times, gone.keys);
    if (k !== keyRows.length) throw new Error(`purge: deleted ${k} of ${keyRows.length} idempotency keys`);
    const tally = new BucketTally();
    for (const e of picked) tally.add(typeId, e.timeMs);
    const counts = [...tally.entries()];
    await client.query(
      `WITH d AS (
         UPDATE entry_counts c SET n = c.n - d.n FROM unnest($3::int8[], $4::int8[]) AS d (h, n)
         WHERE c.tid = $1 AND c.type_id = $2 AND c.hour = d.h RETURNING c.hour, c.n
       )
       DELETE FROM entry_counts c USING d WHERE c.tid = $1 AND c.type_id = $2 AND c.hour = d.hour AND d.n <= 0`,
      [tid, typeId, counts.map((c) => c.hour), counts.map((c) => c.n)],
    );

    // Through the step's own connection: appends waiting on the tenant's row may hold the rest of the pool.
    const leaves = await tree.leafIndexes(
      tid,
      picked.map((e) => e.seq),
      client,
    );
    let hashes: Awaited<ReturnType<PostgresTree['leafHashesAt']>> = [];
    const sorted = [...leaves].sort((a, b) => a - b);
    if (!leaves.some((l) => l < 0)) hashes = await tree.leafHashesAt(client, tid, sorted);
    const { text, receipt } = buildReceipt(owner.logType, picked, leaves, () => hashes, nowMs);
    const leafIndex = await tree.appendReceipt(client, tid, owner.tenantId, head, text, nowMs);
    await client.query('COMMIT');
    tree.committed(client);
    if (touched.size > 0) forget?.([...touched.keys()]);
    return { ...receipt, leafIndex };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    tree.rolledBack(client);
    throw err;
  }
}

/** The first `limit` entries (page order) before `beforeMs` that no active hold covers, and the segments they lie in. */
async function pick(
  client: pg.PoolClient,
  scope: PurgeScope,
  holds: Parameters<typeof purgeableRanges>[0],
  beforeMs: number,
  limit: number,
): Promise<{ picked: Candidate[]; segments: Map<string, SegmentRow> }> {
  const { tid, typeId, owner } = scope;
  const picked: Candidate[] = [];
  const segments = new Map<string, SegmentRow>();
  for (const range of purgeableRanges(holds, owner.logType, beforeMs)) {
    const want = limit - picked.length;
    if (want <= 0) break;
    const h = await client.query<{ seq: string; event_time: string; body: string }>(
      `SELECT seq, event_time, body FROM entries WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND event_time < $4
       ORDER BY event_time, seq LIMIT $5`,
      [tid, typeId, range.fromMs, range.toMs, want],
    );
    const hot: Candidate[] = h.rows.map((r) => ({ seq: Number(r.seq), timeMs: Number(r.event_time), body: Buffer.from(r.body) }));
    const sealed: Candidate[] = [];
    // Segments of a group never overlap: in page order, their entries are too.
    let at: Position = { timeMs: range.fromMs, seq: 0 };
    while (sealed.length < want) {
      const r = await client.query<SegmentRow>(
        `SELECT id, keys IS NULL AS keyless, first_time, first_seq, last_time, last_seq, data FROM segments
         WHERE tid = $1 AND type_id = $2 AND (last_time, last_seq) > ($3, $4) ORDER BY last_time, last_seq LIMIT 1`,
        [tid, typeId, at.timeMs, at.seq],
      );
      const row = r.rows[0];
      if (!row || Number(row.first_time) >= range.toMs) break;
      segments.set(row.id, row);
      const seg = decodeSegment(row.data, owner, Number(row.id));
      for (let i = 0; i < seg.count && sealed.length < want; i++) {
        const t = seg.timeMs(i);
        if (t >= range.fromMs && t < range.toMs) sealed.push({ timeMs: t, seq: seg.seq(i), body: Buffer.from(seg.body(i)), segment: row.id });
      }
      at = { timeMs: Number(row.last_time), seq: Number(row.last_seq) };
    }
    picked.push(...firstInPageOrder(hot, sealed, want));
  }
  return { picked, segments };
}
