/**
 * ACCESS EXCLUSIVE locks on several tables at once, for the work that reshapes partitions
 * (attaching a month, dropping one), taken so that this work never waits for one of them while
 * holding another.
 *
 * Reads and writes lock these tables too, each in its own order: a page read locks `segments`
 * before `entries`, an append `entries` before `segments`. Were the reshaping transaction to
 * hold one table and wait for the next, a read holding that next one and waiting for the first
 * would close a cycle, and PostgreSQL would break it by failing one of the two: now and then
 * the read. Here the first table may be waited for when nothing else of the set is held yet
 * (`waitForFirst`), and every other one must be free at once; when one is not, the locks of the
 * attempt are given back (a savepoint) and, after a short pause, all are asked again, until the
 * deadline.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/** PostgreSQL's SQLSTATE for a lock not granted: NOWAIT refused, or lock_timeout ran out. */
export const LOCK_NOT_AVAILABLE = '55P03';

/** Pause between attempts: about this long, spread at random so that two takers fall apart. */
const RETRY_PAUSE_MS = 20;

export interface LockOptions {
  /** Wait for the first table (bounded by the transaction's lock_timeout); false: every table must be free at once. */
  readonly waitForFirst: boolean;
  /** Wall-clock time (ms) after which a refused attempt is not repeated: its error (55P03) is thrown. */
  readonly deadlineMs: number;
}

/**
 * Takes ACCESS EXCLUSIVE locks on all of `tables` in the open transaction of `client`, or
 * throws (55P03 once the deadline has passed); after a throw the caller rolls the transaction back.
 */
export async function lockExclusively(client: pg.PoolClient, tables: readonly string[], o: LockOptions): Promise<void> {
  const [first, ...rest] = tables;
  if (first === undefined) return;
  for (;;) {
    await client.query('SAVEPOINT lw_table_locks');
    try {
      if (o.waitForFirst) {
        await client.query(`LOCK TABLE ${first} IN ACCESS EXCLUSIVE MODE`);
        if (rest.length > 0) await client.query(`LOCK TABLE ${rest.join(', ')} IN ACCESS EXCLUSIVE MODE NOWAIT`);
      } else {
        await client.query(`LOCK TABLE ${tables.join(', ')} IN ACCESS EXCLUSIVE MODE NOWAIT`);
      }
      await client.query('RELEASE SAVEPOINT lw_table_locks');
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== LOCK_NOT_AVAILABLE || Date.now() >= o.deadlineMs) throw err;
      // Gives back what the attempt took, and leaves the transaction as it was before it.
      await client.query('ROLLBACK TO SAVEPOINT lw_table_locks');
    }
    await sleep(RETRY_PAUSE_MS * (0.5 + Math.random()));
  }
}
