/** The store's connection pools: connection errors reach the work that used them, never the process. */
import pg from 'pg';

/** How long a statement waits for a connection by default (see newPool). */
export const CONNECT_TIMEOUT_MS = 10_000;
/** How long one statement of a request may run, lock waits included, by default (see newPool). */
export const STATEMENT_TIMEOUT_MS = 15_000;
/**
 * How much longer than its statement timeout a statement may go unanswered before the
 * connection is given up: PostgreSQL cancels it at the timeout and answers at once, unless the
 * server or the network between is not there to do so.
 */
export const ANSWER_MARGIN_MS = 5_000;
/**
 * How long a session of a bounded pool may sit idle inside a transaction, for
 * `statementTimeoutMs` and `connectTimeoutMs`: a request's transaction waits between two of its
 * statements for its own work, a connection of another pool and a few bounded statements on it
 * (registering log types, attaching a month's partition), never longer than this.
 */
export function idleInTransactionMs(statementTimeoutMs: number, connectTimeoutMs: number): number {
  return connectTimeoutMs + 4 * (statementTimeoutMs + ANSWER_MARGIN_MS);
}
/** Idle time after which TCP keepalive probes a connection (a network that drops it silently). */
export const KEEPALIVE_DELAY_MS = 10_000;

export interface PoolOptions {
  /** Connections at most. */
  readonly max: number;
  /** How long getting a connection may take (default CONNECT_TIMEOUT_MS). */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * The sessions' statement_timeout (ms): PostgreSQL cancels a statement that runs, or waits for
   * a lock, longer; and one not answered ANSWER_MARGIN_MS later fails here and its connection is
   * closed. 0: no bound (background work whose statements may legitimately run long).
   */
  readonly statementTimeoutMs: number;
  /**
   * Sessions lent per transaction by a pooler (PgBouncer's pool_mode=transaction): statements
   * are sent unnamed (unnamedStatements), and no session setting is made, so the statement
   * timeout is kept on this side only (query_timeout: the statement fails and its connection is
   * closed, which makes the pooler end the session's statement).
   */
  readonly unnamed?: boolean;
  /** Run on each new connection before it is first used; a connection it fails is not used (same-database.ts). */
  readonly check?: (client: pg.ClientBase) => Promise<void>;
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
 * for as long as that lasts. A statement the server does not answer at all (PostgreSQL stopped,
 * SIGSTOP for instance, or a network that drops packets) fails here ("Query read timeout")
 * ANSWER_MARGIN_MS later. Its connection still has the statement under way, and perhaps a
 * transaction open on the server: it is closed when it is given back, never handed out again,
 * and PostgreSQL rolls that transaction back when it sees the connection gone.
 *
 * A transaction of a bounded session left idle longer than idleInTransactionMs is ended by
 * PostgreSQL, its locks released: the client that opened it gave up on the connection while the
 * network to the server was down, and the server, which never heard it go (its TCP keepalive
 * takes hours by default), would otherwise keep the tenant's row locked against every append
 * after the network returns.
 *
 * TCP keepalive probes every connection idle for KEEPALIVE_DELAY_MS, so that one whose peer is
 * gone without a word (a network dropped, a host powered off) ends, after the system's probes
 * went unanswered, instead of being kept (and waited on) forever; the sessions ask PostgreSQL to
 * probe their side as often (its default waits two hours).
 *
 * A session given up on inside a `COPY … FROM STDIN` (an append writes its rows so) is not idle:
 * PostgreSQL waits for the rest of the data, and neither its statement timeout nor the idle
 * bound ends it, while its transaction holds the tenant's row. So the backends of connections
 * given up on with a statement under way are noted, and ended (pg_terminate_backend) on the
 * next connection the pool makes to the server, once the network is back. Each session's
 * process id and start time are read when it connects (the pair names one backend, whatever
 * proxy lies between); a backend is ended only if PostgreSQL still has that pair. Sessions a
 * pooler lends per transaction (`unnamed`) are not noted: they are not the client's own.
 *
 * A connection the server ends (PostgreSQL stopped or restarted, an operator's
 * pg_terminate_backend) emits 'error' whether it is idle in the pool or checked out; unheard,
 * that error would end the process. Both are heard: the statement under way fails with the
 * error, the pool discards the connection, and the next statement gets a new one.
 */
export function newPool(url: string, options: PoolOptions): pg.Pool {
  const bound = options.statementTimeoutMs > 0 ? options.statementTimeoutMs : undefined;
  const connectTimeoutMs = options.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  // Each session's backend, as PostgreSQL names it (its process id and start time).
  const backends = new WeakMap<pg.ClientBase, Backend>();
  // Backends of connections given up on, by process id: their start time.
  const abandoned = new Map<number, string>();
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: connectTimeoutMs,
    allowExitOnIdle: true,
    application_name: 'logwarden',
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    ...(bound !== undefined && { query_timeout: bound + ANSWER_MARGIN_MS }),
    // Set by a statement, not as a parameter of the connection's start: poolers such as
    // PgBouncer refuse a start with parameters they do not know. The pool hands the connection
    // out once the statement is answered (a connection it fails on is not handed out). Not
    // through a pooler lending sessions per transaction (`unnamed`): the setting would stay with
    // the session it lent, for whichever client it lends it to next.
    ...((options.check !== undefined || !options.unnamed) && {
      onConnect: async (client: pg.ClientBase) => {
        if (!options.unnamed) {
          const probe = KEEPALIVE_DELAY_MS / 1000;
          const settings = [`tcp_keepalives_idle = ${probe}`, `tcp_keepalives_interval = ${probe}`];
          if (bound !== undefined) {
            const idle = Math.trunc(idleInTransactionMs(bound, connectTimeoutMs));
            settings.push(`statement_timeout = ${Math.trunc(bound)}`, `idle_in_transaction_session_timeout = ${idle}`);
          }
          const results = (await client.query(
            `${settings.map((setting) => `SET ${setting}; `).join('')}SELECT pid, backend_start::text AS started FROM pg_stat_activity WHERE pid = pg_backend_pid()`,
          )) as unknown as pg.QueryResult<Backend>[];
          const backend = results[results.length - 1]?.rows[0];
          if (backend) backends.set(client, backend);
          if (abandoned.size > 0) await endAbandoned(client, abandoned);
        }
        await options.check?.(client);
      },
    }),
  });
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
    if (options.unnamed) unnamedStatements(client);
  });
  // A connection given back with a statement still under way (one that failed unanswered):
  // ending it here makes the pool discard it (pg-pool drops a client that is ending). pg says
  // whether a statement is under way only through a method of its own (the public getter is
  // deprecated).
  pool.on('release', (_err: Error | undefined, client: pg.PoolClient) => {
    if (!(client as unknown as { _getActiveQuery?(): unknown })._getActiveQuery?.()) return;
    const backend = backends.get(client);
    if (backend) abandoned.set(backend.pid, backend.started);
    void client.end().catch(() => {});
  });
  return pool;
}

/** A PostgreSQL backend: its process id and its start time (as text, exact). */
interface Backend {
  readonly pid: number;
  readonly started: string;
}

/** Ends the backends noted in `abandoned` that PostgreSQL still has (see newPool); those it has not are forgotten. */
async function endAbandoned(client: pg.ClientBase, abandoned: Map<number, string>): Promise<void> {
  const pids = [...abandoned.keys()];
  try {
    await client.query(
      `SELECT pg_terminate_backend(a.pid) FROM pg_stat_activity a JOIN unnest($1::int[], $2::timestamptz[]) AS g (pid, started)
       ON a.pid = g.pid AND a.backend_start = g.started`,
      [pids, [...abandoned.values()]],
    );
    for (const pid of pids) abandoned.delete(pid);
  } catch {
    // Tried again on the next connection the pool makes.
  }
}

/** Whether `err` is a statement given up on because the server did not answer it in time (see newPool). */
export function isUnanswered(err: unknown): boolean {
  return err instanceof Error && err.message === 'Query read timeout';
}

/**
 * Makes `client` send every statement unnamed: a statement given a name is parsed again each
 * time instead of being prepared once per connection under that name.
 *
 * Behind a pooler in transaction mode (PgBouncer's pool_mode=transaction before 1.21, or
 * without max_prepared_statements) one client connection is served by whichever PostgreSQL
 * session is free at each transaction. A statement prepared by name lives in the session that
 * prepared it, while `pg` remembers it per client connection: another client handed that
 * session fails to prepare it again ('prepared statement "lw_append_keys" already exists'),
 * and this client, handed another session, fails to run it ('… does not exist'). An unnamed
 * statement is parsed, bound and run in one exchange, within one session.
 */
export function unnamedStatements(client: pg.ClientBase): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  const unnamed = (config: unknown, ...rest: unknown[]): unknown => {
    const named = typeof config === 'object' && config !== null && (config as { name?: unknown }).name !== undefined;
    // A Submittable (a cursor, a stream) is passed as it is: it is no plain configuration.
    if (named && typeof (config as { submit?: unknown }).submit !== 'function') {
      const { name: _name, ...plain } = config as { name?: unknown };
      return query(plain, ...rest);
    }
    return query(config, ...rest);
  };
  client.query = unnamed as typeof client.query;
}

/** The backend pids of the connections `pool` holds, idle or in use. */
export function backendPids(pool: pg.Pool): number[] {
  return connectionsOf(pool).flatMap((c) => {
    const pid = (c as unknown as { processID?: number | null }).processID;
    return typeof pid === 'number' ? [pid] : [];
  });
}

/** Every connection `pool` holds, idle or in use: pg-pool lists them only in a field of its own. */
function connectionsOf(pool: pg.Pool): pg.ClientBase[] {
  return (pool as unknown as { _clients?: pg.ClientBase[] })._clients ?? [];
}

/** Whether `p` settles (either way) before `deadline` (a `performance.now()` time). */
export async function settlesBy(p: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection at once, under whatever statement is under way on it (which fails). */
export function destroyConnection(client: pg.ClientBase): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * Ends `pool`: its idle connections at once, those in use once given back; those still in use
 * at `deadline` (a `performance.now()` time) are closed under their statements, which fail. A
 * statement of background work has no bound (statementTimeoutMs 0): on a server that does not
 * answer (frozen, or the network to it dropped) it would otherwise hold a stop up for as long as
 * that lasts, hours when only TCP keepalive ends it.
 */
export async function endPool(pool: pg.Pool, deadline: number): Promise<void> {
  const ended = pool.end();
  if (await settlesBy(ended, deadline)) return;
  for (const client of connectionsOf(pool)) destroyConnection(client);
  await settlesBy(ended, performance.now() + 1_000);
}
