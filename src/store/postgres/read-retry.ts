/**
 * Reads run again when PostgreSQL broke a deadlock by failing them. A read takes shared locks
 * on the partitions it touches one after another, while attaching or dropping a month takes
 * exclusive ones: the two can meet in a cycle, and the server then fails one of them, the read
 * now and then. A read changes nothing, so running it again is safe, and the month's work has
 * moved on meanwhile.
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
