/**
 * Gives back the space of emptied hot partitions. Hot rows (`entries`) and their keys
 * (`entry_keys`) are working space: the sealer deletes them once sealed, and VACUUM makes their
 * pages reusable, but a B-tree never shrinks. After a bulk load (an import, a first `sync` of
 * months of logs) the indexes of partitions the sealer has since emptied would keep the size of
 * the whole load for good. A partition found empty with indexes of some size has them rebuilt
 * with `REINDEX TABLE CONCURRENTLY`, which lets reads and writes carry on meanwhile.
 *
 * A rebuild that fails (a lock wait running out, a restart) leaves an invalid copy of an index
 * behind; any such copy of these tables is dropped before the next attempt.
 */
import type pg from 'pg';
import { LOCK_NAMESPACE, RECLAIM_LOCK } from './migrations.ts';

/** Indexes of an empty partition smaller than this are left as they are. */
const RECLAIM_MIN_BYTES = 1024 * 1024;
/** How long a rebuild waits for a lock before it gives up (and is tried again later). */
const LOCK_TIMEOUT_MS = 2000;

/** Rebuilds the indexes of empty hot partitions that hold space; resolves to the partitions rebuilt. */
export async function reclaimEmptyHotPartitions(pool: pg.Pool): Promise<number> {
  const client = await pool.connect();
  let broken = false;
  try {
    // One process at a time (a rebuild under way looks like a failed one to another process).
    const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS ok', [LOCK_NAMESPACE, RECLAIM_LOCK]);
    if (!lock.rows[0]!.ok) return 0;
    try {
      return await reclaim(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_NAMESPACE, RECLAIM_LOCK]);
    }
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    client.release(broken);
  }
}

async function reclaim(client: pg.PoolClient): Promise<number> {
  await dropFailedRebuilds(client);
  const parts = await client.query<{ name: string }>(
    `SELECT c.oid::regclass::text AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent IN ('entries'::regclass, 'entry_keys'::regclass) AND pg_indexes_size(c.oid) >= $1
       ORDER BY 1`,
    [RECLAIM_MIN_BYTES],
  );
  let rebuilt = 0;
  for (const { name } of parts.rows) {
    const rows = await client.query(`SELECT 1 FROM ${name} LIMIT 1`);
    if (rows.rowCount !== 0) continue;
    await client.query(`SET lock_timeout = ${LOCK_TIMEOUT_MS}`);
    try {
      await client.query(`VACUUM ${name}`);
      await client.query(`REINDEX TABLE CONCURRENTLY ${name}`);
      rebuilt++;
    } catch (err) {
      // A lock not had in time: tried again later (and its leftover copy dropped first).
      if ((err as { code?: string }).code !== '55P03') throw err;
    } finally {
      await client.query('RESET lock_timeout');
    }
  }
  return rebuilt;
}

/** Drops the invalid index copies a failed `REINDEX … CONCURRENTLY` of a hot partition left. */
async function dropFailedRebuilds(client: pg.PoolClient): Promise<void> {
  const r = await client.query<{ name: string }>(
    `SELECT x.indexrelid::regclass::text AS name FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indrelid
     WHERE NOT x.indisvalid AND i.inhparent IN ('entries'::regclass, 'entry_keys'::regclass)
       AND x.indexrelid::regclass::text ~ '_cc(new|old)[0-9]*$'`,
  );
  for (const { name } of r.rows) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
}
