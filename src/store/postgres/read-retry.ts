/**
 * Reads run again when PostgreSQL broke a deadlock by failing them. A read takes shared locks
 * on the partitions it touches one after another, while attaching or dropping a month takes
 * exclusive ones. Those take theirs all or none at a time (table-locks.ts), so no read should
 * meet them in a cycle; this stays as the guard of what a read cannot do itself: a read changes
 * nothing, so running it again is safe.
 */

/** PostgreSQL's SQLSTATE for "deadlock detected". */
const DEADLOCK = '40P01';
/** Attempts of one read before its deadlock goes to the caller. */
export const READ_ATTEMPTS = 3;

export async function retryingDeadlocks<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await read();
    } catch (err) {
      if ((err as { code?: unknown }).code !== DEADLOCK || attempt >= READ_ATTEMPTS) throw err;
    }
  }
}
