/** The store's connection pools: connection errors reach the work that used them, never the process. */
import pg from 'pg';

/**
 * A pool of `max` connections to `url`. Idle connections never keep the process alive: a tool
 * is done when its work is, and a server is kept alive by its listener.
 *
 * A connection the server ends (PostgreSQL stopped or restarted, an operator's
 * pg_terminate_backend) emits 'error' whether it is idle in the pool or checked out; unheard,
 * that error would end the process. Both are heard: the statement under way fails with the
 * error, the pool discards the connection, and the next statement gets a new one.
 */
export function newPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, allowExitOnIdle: true, application_name: 'logwarden' });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
