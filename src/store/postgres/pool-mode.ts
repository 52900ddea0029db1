/**
 * What a connection of the database URL is, checked when the store opens: a PostgreSQL session
 * of its own (a direct connection, PgBouncer's pool_mode=session), or one lent for a transaction
 * (pool_mode=transaction) or a statement (pool_mode=statement). logwarden needs to be told the
 * second (LOGWARDEN_DATABASE_POOL_MODE=transaction) and cannot run on the third: each is
 * refused here with what to configure, before anything is written.
 */
import pg from 'pg';
import { DatabasePoolModeError } from '../store.ts';

export type PoolMode = 'session' | 'transaction';

/** PgBouncer's answer to a transaction block in pool_mode=statement (the client is then disconnected). */
const STATEMENT_POOLING = /transaction blocks not allowed in statement pooling mode/;

const TRANSACTION_SETTINGS =
  'set LOGWARDEN_DATABASE_POOL_MODE=transaction (statements are then sent unnamed; key changes are heard through LOGWARDEN_DATABASE_DIRECT_URL, a URL reaching PostgreSQL itself, or else a revocation holds within LOGWARDEN_AUTH_CACHE_MS), or run the pooler in pool_mode=session';

/** The error a statement-pooling pooler gave, as what to configure instead; undefined for any other error. */
export function statementPoolingError(err: unknown): DatabasePoolModeError | undefined {
  if (!STATEMENT_POOLING.test(String((err as { message?: unknown })?.message ?? ''))) return undefined;
  return new DatabasePoolModeError(
    'the database URL goes through a pooler in statement mode (PgBouncer pool_mode=statement: "transaction blocks not allowed in statement pooling mode"), ' +
      'which logwarden cannot run on: an append, a purge and a migration are transactions of several statements. ' +
      'Use pool_mode=transaction with LOGWARDEN_DATABASE_POOL_MODE=transaction, or pool_mode=session',
  );
}

/**
 * Whether two connections of `url` open at once are served by one PostgreSQL session, which a
 * direct connection and a session pooler never do: the backend's pid, when they are. Each asks
 * in turn, a few times, so that a pooler lending sessions per transaction (most recently used
 * first, as PgBouncer does) hands the second the session the first just gave back; a busy
 * pooler may hand it another, so a miss proves nothing, and the setting still decides.
 */
export async function sharedSession(url: string, connectTimeoutMs: number): Promise<number | undefined> {
  const clients = [0, 1].map(() => {
    const c = new pg.Client({ connectionString: url, application_name: 'logwarden', connectionTimeoutMillis: connectTimeoutMs });
    c.on('error', () => {});
    return c;
  });
  try {
    for (const c of clients) await c.connect();
    for (let round = 0; round < 3; round++) {
      const pids: number[] = [];
      for (const c of clients) pids.push((await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid);
      if (pids[0] === pids[1]) return pids[0];
    }
    return undefined;
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
  }
}

/** Refuses a URL whose connections share sessions while the store is told they do not. */
export async function checkPoolMode(url: string, mode: PoolMode, connectTimeoutMs: number): Promise<void> {
  if (mode !== 'session') return;
  let pid: number | undefined;
  try {
    pid = await sharedSession(url, connectTimeoutMs);
  } catch (err) {
    throw statementPoolingError(err) ?? err;
  }
  if (pid === undefined) return;
  throw new DatabasePoolModeError(
    `the database URL goes through a pooler that lends one PostgreSQL session to several connections (two connections of this process were both served by backend ${pid}): ` +
      `PgBouncer in pool_mode=transaction or statement. logwarden prepares statements by name and listens for key changes on a session of its own, which such a pooler breaks; ${TRANSACTION_SETTINGS}`,
  );
}
