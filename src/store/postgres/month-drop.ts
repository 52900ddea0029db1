/**
 * Retention by whole months (issue 12): a monthly partition (entries, entry_keys, segments;
 * shared by every tenant) whose every entry is past its tenant and type's retention and under
 * no active hold is dropped whole, rather than emptied row by row and vacuumed.
 *
 * Everything the month holds goes with it, in ONE transaction with the deletion receipts: the
 * three partitions (hot rows, segments, idempotency keys), the hourly tallies of its hours,
 * the user postings of its segments, and per tenant and type one receipt leaf per at most
 * MAX_RECEIPT_ENTRIES entries (count, range, digest over their leaf hashes; the leaves stay).
 * A crash leaves either all of it or none of it.
 *
 * The costly part, reading every entry of the month (segments decoded) and the leaf hashes the
 * receipts name, runs first without holding up anyone, paced as purge steps are (the server's
 * reads and appends get as long as each piece took). The transaction then locks the
 * tenants' `entry_seqs` rows (as appends and purge steps take them first), the month's own
 * partitions against writes, and checks that the month is unchanged since it was read (rows,
 * segments and holds); only the drop itself takes the parents' ACCESS EXCLUSIVE lock, under a
 * short lock timeout, so reads and writes of other months queue behind it for at most that.
 * A month that changed, or whose locks are not granted in time, is left for the next purge.
 * Each tenant's receipts join its tree as consecutive leaves under one checkpoint, so the
 * tenant's appends wait for one write, not one per receipt.
 */
import type pg from 'pg';
import { MAX_RECEIPT_ENTRIES } from '../../tlog/deletion-receipt.ts';
import { BUCKET_MS } from '../count-plan.ts';
import { buildReceipt, giveWay, type PurgeCandidate } from '../purge-step.ts';
import { purgeableRanges } from '../retention-policy.ts';
import { decodeSegment, type SegmentOwner } from '../segment-codec.ts';
import type { LegalHold, PartitionOutcome, PurgeReceipt, RetentionSettings } from '../store.ts';
import { LOCK_NAMESPACE, monthTable, PARTITION_LOCK, PARTITIONED, partitionOf, SEAL_LOCK_NAMESPACE } from './migrations.ts';
import { activeHolds, retentionSettings, tenantLogTypes } from './retention.ts';
import { groupLockKey } from './sealer.ts';
import { lockExclusively } from './table-locks.ts';
import type { PostgresTree, TreeHeadRow } from './tree.ts';

/**
 * The cutoff (ms; entries before it are expired) of a tenant's log type, by the tenant's
 * retention settings and log types as the drop reads them; null: kept forever.
 */
export type CutoffOf = (tenantId: string, logType: string, settings: RetentionSettings, tenantTypes: readonly string[]) => number | null;

/** A tenant's retention settings and log types, read through `client`. */
async function retentionOf(client: pg.PoolClient, tid: number): Promise<{ settings: RetentionSettings; types: string[] }> {
  return { settings: await retentionSettings(client, tid), types: await tenantLogTypes(client, tid) };
}

export interface MonthDropContext {
  readonly tree: PostgresTree;
  readonly ownerOf: (tid: number, typeId: number) => Promise<SegmentOwner>;
  /** How long the drop may make reads and writes of other months wait for its locks. */
  readonly lockTimeoutMs: number;
  readonly nowMs: number;
}

interface Group {
  readonly tid: number;
  readonly typeId: number;
  readonly owner: SegmentOwner;
  minMs: number;
  maxMs: number;
  positions: Positions;
}

/**
 * Entries' positions (event time, sequence) as two columns: a month may hold millions, and as
 * many small objects would cost the process long garbage-collection pauses.
 */
export interface Positions {
  readonly times: number[];
  readonly seqs: number[];
}

/** Negative when position i of p comes before position j of q in page order. */
const comparePositions = (p: Positions, i: number, q: Positions, j: number) => p.times[i]! - q.times[j]! || p.seqs[i]! - q.seqs[j]!;

/** `p` in page order: as it is when it already is (segments and ordered rows always should be), else sorted. */
function ordered(p: Positions): Positions {
  let sorted = true;
  for (let i = 1; i < p.times.length && sorted; i++) sorted = comparePositions(p, i - 1, p, i) <= 0;
  if (sorted) return p;
  const order = p.times.map((_, i) => i).sort((i, j) => comparePositions(p, i, p, j));
  return { times: order.map((i) => p.times[i]!), seqs: order.map((i) => p.seqs[i]!) };
}

/**
 * Two sets of positions as one, in page order: purge-step.ts `firstInPageOrder` over columns,
 * whole (a step merges a few thousand objects; a month, millions of positions).
 */
export function mergeInPageOrder(x: Positions, y: Positions): Positions {
  const a = ordered(x);
  const b = ordered(y);
  const out: Positions = { times: [], seqs: [] };
  let i = 0;
  let j = 0;
  while (i < a.times.length || j < b.times.length) {
    const fromA = j >= b.times.length || (i < a.times.length && comparePositions(a, i, b, j) <= 0);
    const p = fromA ? a : b;
    const k = fromA ? i++ : j++;
    out.times.push(p.times[k]!);
    out.seqs.push(p.seqs[k]!);
  }
  return out;
}

interface Fingerprint {
  readonly hot: string;
  readonly sealed: string;
}

/** Segments read per query while the month is listed. */
const SEGMENTS_PER_READ = 64;
/** Sequences looked up per leaf-index query. */
const SEQS_PER_LOOKUP = 50_000;

/**
 * What the month's partitions hold, cheaply, by tenant and type: it changes with any write to
 * them. Sequences (by tenant) and segment ids only grow, so rows gone and as many come within a
 * group never add up alike; across groups they could (two tenants' first entries are both their
 * sequence 1), and a tenant whose rows arrived meanwhile would go unread: each group counts apart.
 */
async function fingerprint(db: pg.PoolClient, month: number): Promise<Fingerprint> {
  const byGroup = (aggregates: string, table: string) =>
    `SELECT coalesce(string_agg(f, ',' ORDER BY tid, type_id), '') AS f
     FROM (SELECT tid, type_id, tid || '/' || type_id || '/' || ${aggregates} AS f FROM ${table} GROUP BY tid, type_id) g`;
  const h = await db.query<{ f: string }>(byGroup(`count(*) || '/' || sum(seq)`, monthTable('entries', month)));
  const s = await db.query<{ f: string }>(byGroup(`count(*) || '/' || sum(id) || '/' || sum(n)`, monthTable('segments', month)));
  return { hot: h.rows[0]!.f, sealed: s.rows[0]!.f };
}

/** Whether the active holds leave every entry of the group (its min to max event time) before `cutoff` deletable. */
function deletable(holds: readonly LegalHold[], g: Group, cutoff: number): boolean {
  return purgeableRanges(holds, g.owner.logType, cutoff).some((r) => r.fromMs <= g.minMs && g.maxMs < r.toMs);
}

type Receipts = { tenantId: string; receipt: PurgeReceipt }[];

/** What became of a month: dropped with its receipts by tenant (none when it held nothing), or why it stays. */
export type MonthDrop = { readonly outcome: 'dropped'; readonly receipts: Receipts } | { readonly outcome: Exclude<PartitionOutcome, 'dropped'> };

const KEPT: MonthDrop = { outcome: 'kept' };
const CHANGED: MonthDrop = { outcome: 'changed' };

/**
 * Drops month `month` (a number from `monthOf`) if every entry in it is expired and under no
 * hold, with its receipts. Otherwise the month stays: something in it is kept (or it is gone
 * already), it changed meanwhile, or its locks were not granted in time (busy).
 */
export async function dropExpiredMonth(client: pg.PoolClient, ctx: MonthDropContext, month: number, cutoffOf: CutoffOf): Promise<MonthDrop> {
  const entriesTable = monthTable('entries', month);
  const segmentsTable = monthTable('segments', month);
  const exists = await client.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [partitionOf(month)]);
  if (!exists.rows[0]!.e) return KEPT;

  // 1. Without locks: who has entries in the month, and whether all of them may go.
  const before = await fingerprint(client, month);
  const r = await client.query<{ tid: number; type_id: number; lo: string; hi: string }>(
    `SELECT tid, type_id, min(lo) AS lo, max(hi) AS hi FROM (
       SELECT tid, type_id, min(event_time) AS lo, max(event_time) AS hi FROM ${entriesTable} GROUP BY 1, 2
       UNION ALL SELECT tid, type_id, min(first_time), max(last_time) FROM ${segmentsTable} GROUP BY 1, 2
     ) x GROUP BY 1, 2 ORDER BY 1, 2`,
  );
  const groups: Group[] = [];
  const holdsOf = new Map<number, LegalHold[]>();
  const retentionOfTid = new Map<number, { settings: RetentionSettings; types: string[] }>();
  for (const row of r.rows) {
    const owner = await ctx.ownerOf(row.tid, row.type_id);
    if (!retentionOfTid.has(row.tid)) retentionOfTid.set(row.tid, await retentionOf(client, row.tid));
    const { settings, types } = retentionOfTid.get(row.tid)!;
    const cutoff = cutoffOf(owner.tenantId, owner.logType, settings, types);
    const g: Group = { tid: row.tid, typeId: row.type_id, owner, minMs: Number(row.lo), maxMs: Number(row.hi), positions: { times: [], seqs: [] } };
    if (cutoff === null || g.maxMs >= cutoff) return KEPT;
    if (!holdsOf.has(g.tid)) holdsOf.set(g.tid, await activeHoldsUnlocked(client, g.tid));
    if (!deletable(holdsOf.get(g.tid)!, g, cutoff)) return KEPT;
    groups.push(g);
  }

  // 2. Still without locks: every entry (hot rows, then segments decoded), and the receipts.
  // Both come in page order; they are merged rather than sorted (a month may hold millions,
  // and one sort of them would hold up every request this process serves).
  for (const g of groups) {
    const hot = await client.query<{ seq: string; event_time: string }>(
      `SELECT seq, event_time FROM ${entriesTable} WHERE tid = $1 AND type_id = $2 ORDER BY event_time, seq`,
      [g.tid, g.typeId],
    );
    const hotPositions = { times: hot.rows.map((row) => Number(row.event_time)), seqs: hot.rows.map((row) => Number(row.seq)) };
    const sealed: Positions = { times: [], seqs: [] };
    let at = { timeMs: Number.MIN_SAFE_INTEGER, seq: 0 };
    for (;;) {
      const started = performance.now();
      const s = await client.query<{ id: string; last_time: string; last_seq: string; data: Buffer }>(
        `SELECT id, last_time, last_seq, data FROM ${segmentsTable} WHERE tid = $1 AND type_id = $2 AND (last_time, last_seq) > ($3, $4)
         ORDER BY last_time, last_seq LIMIT ${SEGMENTS_PER_READ}`,
        [g.tid, g.typeId, at.timeMs, at.seq],
      );
      for (const row of s.rows) {
        const seg = decodeSegment(row.data, g.owner, Number(row.id));
        for (let i = 0; i < seg.count; i++) {
          sealed.times.push(seg.timeMs(i));
          sealed.seqs.push(seg.seq(i));
        }
      }
      if (s.rows.length < SEGMENTS_PER_READ) break;
      const last = s.rows[s.rows.length - 1]!;
      at = { timeMs: Number(last.last_time), seq: Number(last.last_seq) };
      await giveWay(started);
    }
    g.positions = mergeInPageOrder(sealed, hotPositions);
  }
  const receipts: { g: Group; text: string; receipt: Omit<PurgeReceipt, 'leafIndex'> }[] = [];
  for (const g of groups) {
    const { times, seqs } = g.positions;
    for (let at = 0; at < times.length; at += MAX_RECEIPT_ENTRIES) {
      const started = performance.now();
      const chunk: PurgeCandidate[] = times.slice(at, at + MAX_RECEIPT_ENTRIES).map((timeMs, i) => ({ timeMs, seq: seqs[at + i]! }));
      const leaves: number[] = [];
      for (let i = 0; i < chunk.length; i += SEQS_PER_LOOKUP)
        leaves.push(
          ...(await ctx.tree.leafIndexes(
            g.tid,
            chunk.slice(i, i + SEQS_PER_LOOKUP).map((e) => e.seq),
            client,
          )),
        );
      const sorted = [...leaves].sort((a, b) => a - b);
      const hashes = leaves.some((l) => l < 0) ? [] : await ctx.tree.leafHashesAt(client, g.tid, sorted);
      receipts.push({ g, ...buildReceipt(g.owner.logType, chunk, leaves, () => hashes, ctx.nowMs) });
      await giveWay(started);
    }
  }

  // 3. One transaction: the month unchanged, the receipts appended, the month and all it held
  // gone. Its locks wait briefly; when they are not granted (reads, appends and the sealer go
  // first) it is tried again a few times before the work of listing the month is given up.
  const tids = [...new Set(groups.map((g) => g.tid))].sort((a, b) => a - b);
  for (let attempt = 1; ; attempt++) {
    const done = await commitDrop(client, ctx, month, cutoffOf, before, groups, receipts, tids);
    if (done !== 'busy') return done;
    if (attempt === LOCK_ATTEMPTS) return { outcome: 'busy' };
    await new Promise((r) => setTimeout(r, 250 * attempt));
  }
}

/** Attempts at the drop's locks before the month is left for the next purge. */
const LOCK_ATTEMPTS = 8;

/** Step 3 of dropExpiredMonth; 'busy' when a lock was not granted in time (nothing done). */
async function commitDrop(
  client: pg.PoolClient,
  ctx: MonthDropContext,
  month: number,
  cutoffOf: CutoffOf,
  before: Fingerprint,
  groups: readonly Group[],
  receipts: readonly { g: Group; text: string; receipt: Omit<PurgeReceipt, 'leafIndex'> }[],
  tids: readonly number[],
): Promise<MonthDrop | 'busy'> {
  const segmentsTable = monthTable('segments', month);
  await client.query('BEGIN; SET LOCAL synchronous_commit = on');
  try {
    await client.query(`SET LOCAL lock_timeout = ${Math.trunc(Math.max(ctx.lockTimeoutMs, 1000))}`);
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, PARTITION_LOCK]);
    const still = await client.query<{ e: boolean }>('SELECT to_regclass($1) IS NOT NULL AS e', [partitionOf(month)]);
    if (!still.rows[0]!.e) return await rollback(client, CHANGED);
    // The groups' sealing locks first, as purge steps take them: the sealer leaves the groups
    // alone meanwhile, so no sealing transaction holds the parents while the drop waits for them.
    const groupKeys = [...new Set(groups.map((g) => groupLockKey(g.tid, g.typeId)))].sort((a, b) => a - b);
    for (const key of groupKeys) await client.query('SELECT pg_advisory_xact_lock($1, $2)', [SEAL_LOCK_NAMESPACE, key]);
    // The tenants' rows next, as their appends and purge steps take them: their trees stand still.
    await client.query('SELECT tid FROM entry_seqs WHERE tid = ANY($1::int4[]) ORDER BY tid FOR UPDATE', [tids]);
    await client.query(`SET LOCAL lock_timeout = ${Math.trunc(ctx.lockTimeoutMs)}`);
    // No one writes into the month any more (reads carry on); then it must be as it was read.
    await client.query(`LOCK TABLE ${PARTITIONED.map((t) => monthTable(t, month)).join(', ')} IN SHARE MODE`);
    const now = await fingerprint(client, month);
    if (now.hot !== before.hot || now.sealed !== before.sealed) return await rollback(client, CHANGED);
    for (const tid of tids) {
      // Locked against release; a hold created since the month was read is seen here. So is a
      // retention changed since (a change takes the tenant's row first, as the drop did above).
      const holds = await activeHolds(client, tid);
      const { settings, types } = await retentionOf(client, tid);
      for (const g of groups) {
        if (g.tid !== tid) continue;
        const cutoff = cutoffOf(g.owner.tenantId, g.owner.logType, settings, types);
        if (cutoff === null || g.maxMs >= cutoff || !deletable(holds, g, cutoff)) return await rollback(client, CHANGED);
      }
    }
    // Each tenant's receipts as consecutive leaves under one checkpoint: one write holding its row.
    const out: Receipts = [];
    for (const tid of tids) {
      const own = receipts.filter((r) => r.g.tid === tid);
      if (own.length === 0) continue;
      const h = await client.query<TreeHeadRow>(
        'SELECT last_seq, tree_size, tree_partial, tree_peaks, tree_note FROM entry_seqs WHERE tid = $1 FOR UPDATE',
        [tid],
      );
      const tenantId = own[0]!.g.owner.tenantId;
      const leaves = await ctx.tree.appendReceipts(
        client,
        tid,
        tenantId,
        h.rows[0]!,
        own.map((r) => r.text),
        ctx.nowMs,
      );
      own.forEach(({ receipt }, i) => out.push({ tenantId, receipt: { ...receipt, leafIndex: leaves[i]! } }));
    }
    // What lives outside the partitions: the month's hourly tallies, its segments' postings.
    const from = Date.UTC(1970, month, 1);
    const to = Date.UTC(1970, month + 1, 1);
    await client.query('DELETE FROM entry_counts WHERE tid = ANY($1::int4[]) AND hour >= $2 AND hour < $3', [tids, from / BUCKET_MS, to / BUCKET_MS]);
    await client.query('DELETE FROM segment_users WHERE tid = ANY($1::int4[]) AND last_time >= $2 AND last_time < $3', [tids, from, to]);
    await client.query(`DELETE FROM segment_users_pending WHERE id IN (SELECT id FROM ${segmentsTable})`);
    // All three parents or none (table-locks.ts), so that no read waits for the drop while
    // holding what the drop waits for. The wait for the first is bounded by the lock timeout:
    // an append into the month may hold that parent while it waits for the month's SHARE lock.
    await lockExclusively(client, PARTITIONED, { waitForFirst: true, deadlineMs: Date.now() + ctx.lockTimeoutMs });
    for (const table of PARTITIONED) await client.query(`DROP TABLE ${monthTable(table, month)}`);
    await client.query('COMMIT');
    ctx.tree.committed(client);
    return { outcome: 'dropped', receipts: out };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    ctx.tree.rolledBack(client);
    // A lock not granted in time (or a deadlock broken): reads and writes go first.
    const code = (err as { code?: string }).code;
    if (code === '55P03' || code === '40P01') return 'busy';
    throw err;
  }
}

async function rollback(client: pg.PoolClient, why: MonthDrop): Promise<MonthDrop> {
  await client.query('ROLLBACK');
  return why;
}

/** A tenant's active holds, read without locking them (the transaction reads them again, locked). */
async function activeHoldsUnlocked(client: pg.PoolClient, tid: number): Promise<LegalHold[]> {
  await client.query('BEGIN');
  try {
    return await activeHolds(client, tid);
  } finally {
    await client.query('ROLLBACK');
  }
}
