/** The store's connection pools: connection errors reach the work that used them, never the process. */
import pg from 'pg';

/** How long a statement waits for a connection by default (see newPool). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** How long one statement of a request may run, lock waits included, by default (see newPool). */
export const STATEMENT_TIMEOUT_MS = 15_000;

export interface PoolOptions {
  /** Connections at most. */
  readonly max: number;
  /** How long getting a connection may take (default CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * The sessions' statement_timeout (ms): PostgreSQL cancels a statement that runs, or waits for
   * a lock, longer. 0: no bound (background work whose statements may legitimately run long).
   */
  readonly statementTimeoutMs: number;
}

/**
 * A pool of connections to `url`. Idle connections never keep the process alive: a tool is done
 * when its work is, and a server is kept alive by its listener.
 *
 * Getting a connection, a free one of the pool or a new one from the server, fails after
 * `connectTimeoutMs` ("timeout exceeded when trying to connect", answered 503): when every
 * connection is held by statements waiting on a lock, or the server does not answer, a request
 * and `/readyz` are told so instead of waiting for as long as that lasts.
 *
 * With `statementTimeoutMs`, a statement is bounded too: PostgreSQL cancels one that runs, or
 * waits for a lock another session holds, longer (SQLSTATE 57014, answered 503; the statement's
 * transaction can then only be rolled back), instead of holding the request and its connection
 * for as long as that lasts.
 *
 * A connection the server ends (PostgreSQL stopped or restarted, an operator's
 * pg_terminate_backend) emits 'error' whether it is idle in the pool or checked out; unheard,
 * that error would end the process. Both are heard: the statement under way fails with the
 * error, the pool discards the connection, and the next statement gets a new one.
 */
export function newPool(url: string, options: PoolOptions): pg.Pool {
  const bound = options.statementTimeoutMs > 0 ? options.statementTimeoutMs : undefined;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
    allowExitOnIdle: true,
    application_name: 'logwarden',
    ...(bound !== undefined && { statement_timeout: bound }),
  });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
