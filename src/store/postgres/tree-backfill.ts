/**
 * Building the trees of entries stored before the verifiable log existed (schema version 4):
 * per tenant, every entry stored up to the upgrade (`tree_backfill.through_seq`), hot or
 * sealed, becomes a leaf in sequence order — the order they were appended in — in chunks of
 * one transaction each, through the same tree code as appends, each chunk signed. It resumes
 * where it stopped: a tenant's tree size says how many of its leaves exist, and the order is
 * the same at every run. A tenant's row in `tree_backfill` goes in the transaction of its
 * last chunk.
 *
 * Every process opening the store runs this before its first append, one at a time: a process
 * that opens while another builds waits, then finds nothing left. So no entry appended after
 * the upgrade takes a leaf before an older one. The lock is a transaction's advisory lock, held
 * by a transaction left open on a connection of its own (`lockPool`) while the chunks commit on
 * another: a session's lock would stay behind in whichever session a pooler in transaction mode
 * lent for it, and its unlock go to another.
 */

import type pg from 'pg';
import { wireTextDigest } from '../../tlog/entry-leaf.ts';
import { leafHash } from '../../tlog/hash.ts';
import { decodeSegment, type SegmentOwner } from '../segment-codec.ts';
import { type LeafRecord, leafText } from '../tree-leaf-records.ts';
import type { TreeProgress } from '../tree-upgrade.ts';
import { BEGIN_SNAPSHOT, LOCK_NAMESPACE, TREE_BACKFILL_LOCK } from './migrations.ts';
import { type PostgresTree, type TreeHeadRow, treeHeadSet, treeHeadValues, treeWriteCtes, treeWriteValues } from './tree.ts';

/** Leaves appended per transaction. */
export const BACKFILL_CHUNK = 65_536;

/** Told after each chunk: leaves built so far and in all, for the tenant being built. */

const WRITE = `
  WITH s AS (UPDATE entry_seqs SET ${treeHeadSet(2)} WHERE tid = $1), ${treeWriteCtes(6)}
  SELECT 1`;

export async function backfillTrees(
  pool: pg.Pool,
  lockPool: pg.Pool,
  tree: PostgresTree,
  ownerOf: (tid: number, typeId: number) => Promise<SegmentOwner>,
  progress: TreeProgress | undefined,
  chunkSize = BACKFILL_CHUNK,
): Promise<void> {
  // Nothing to do (the usual case) is known without waiting for the lock.
  if ((await pool.query('SELECT 1 FROM tree_backfill LIMIT 1')).rowCount === 0) return;
  const lock = await lockPool.connect();
  let broken = false;
  try {
    await lock.query('BEGIN');
    await lock.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, TREE_BACKFILL_LOCK]);
    const client = await pool.connect();
    try {
      const tenants = await client.query<{ tid: number; id: string; through_seq: string }>(
        'SELECT b.tid, t.id, b.through_seq FROM tree_backfill b JOIN tenants t ON t.tid = b.tid ORDER BY b.tid',
      );
      for (const t of tenants.rows) await backfillTenant(client, tree, ownerOf, progress, chunkSize, t.tid, t.id, Number(t.through_seq));
    } finally {
      client.release();
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // Ending the transaction gives the lock back; a connection that failed is not reused.
    await lock.query('ROLLBACK').catch(() => {});
    lock.release(broken);
  }
}

interface Leaf {
  readonly seq: number;
  readonly record: LeafRecord;
}

async function backfillTenant(
  client: pg.PoolClient,
  tree: PostgresTree,
  ownerOf: (tid: number, typeId: number) => Promise<SegmentOwner>,
  progress: TreeProgress | undefined,
  chunkSize: number,
  tid: number,
  tenantId: string,
  through: number,
): Promise<void> {
  // One snapshot: the sealer (of any process) moves entries from hot rows into segments.
  const leaves: Leaf[] = [];
  try {
    // Inside: its lock may fail, leaving the transaction open and aborted.
    await client.query(BEGIN_SNAPSHOT);
    const hot = await client.query<{ seq: string; type_id: number; event_time: string; body: string }>(
      'SELECT seq, type_id, event_time, body FROM entries WHERE tid = $1 AND seq <= $2',
      [tid, through],
    );
    for (const row of hot.rows) {
      leaves.push({ seq: Number(row.seq), record: { typeId: row.type_id, eventTimeMs: Number(row.event_time), digest: wireTextDigest(row.body) } });
    }
    const segs = await client.query<{ id: string; type_id: number; data: Buffer }>('SELECT id, type_id, data FROM segments WHERE tid = $1', [tid]);
    for (const row of segs.rows) {
      const seg = decodeSegment(row.data, await ownerOf(tid, row.type_id), Number(row.id));
      for (let i = 0; i < seg.count; i++) {
        const seq = seg.seq(i);
        if (seq <= through) leaves.push({ seq, record: { typeId: row.type_id, eventTimeMs: seg.timeMs(i), digest: wireTextDigest(seg.body(i)) } });
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
  leaves.sort((a, b) => a.seq - b.seq);
  const typeNames = new Map<number, string>();
  for (const l of leaves) typeNames.set(l.record.typeId, (await ownerOf(tid, l.record.typeId)).logType);
  const hashOf = (r: LeafRecord) => leafHash(leafText(r, (id) => typeNames.get(id)!));

  for (;;) {
    await client.query('BEGIN');
    let done: number;
    try {
      const h = await client.query<TreeHeadRow>(
        'SELECT last_seq, tree_size, tree_partial, tree_peaks, tree_note FROM entry_seqs WHERE tid = $1 FOR UPDATE',
        [tid],
      );
      const head = h.rows[0]!;
      const at = Number(head.tree_size);
      const chunk = leaves.slice(at, at + chunkSize);
      done = at + chunk.length;
      if (chunk.length > 0) {
        const records = chunk.map((l) => l.record);
        const w = await tree.append(
          client,
          tid,
          tenantId,
          head,
          records,
          records.map(hashOf),
          chunk.map((l) => l.seq),
        );
        await client.query(WRITE, [tid, ...treeHeadValues(w), ...treeWriteValues(w)]);
      }
      if (done >= leaves.length) await client.query('DELETE FROM tree_backfill WHERE tid = $1', [tid]);
      await client.query('COMMIT');
      tree.committed(client);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      tree.rolledBack(client);
      throw err;
    }
    progress?.({ tenantId, done, total: leaves.length });
    if (done >= leaves.length) break;
  }
}
