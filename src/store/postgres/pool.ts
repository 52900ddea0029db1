/** The store's connection pools: connection errors reach the work that used them, never the process. */
import pg from 'pg';

/** How long a statement waits for a connection by default (see newPool). */
export const CONNECT_TIMEOUT_MS = 10_000;

/**
 * A pool of `max` connections to `url`. Idle connections never keep the process alive: a tool
 * is done when its work is, and a server is kept alive by its listener.
 *
 * Getting a connection, a free one of the pool or a new one from the server, fails after
 * `connectTimeoutMs` ("timeout exceeded when trying to connect", answered 503): when every
 * connection is held by statements waiting on a lock, or the server does not answer, a request
 * and `/readyz` are told so instead of waiting for as long as that lasts.
 *
 * A connection the server ends (PostgreSQL stopped or restarted, an operator's
 * pg_terminate_backend) emits 'error' whether it is idle in the pool or checked out; unheard,
 * that error would end the process. Both are heard: the statement under way fails with the
 * error, the pool discards the connection, and the next statement gets a new one.
 */
export function newPool(url: string, max: number, connectTimeoutMs = CONNECT_TIMEOUT_MS): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: connectTimeoutMs,
    allowExitOnIdle: true,
    application_name: 'logwarden',
  });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
