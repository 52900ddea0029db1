/**
 * A throwaway PostgreSQL 15 cluster for one test file: a data directory in a temp dir (a copy
 * of one initdb made, see copyInitializedData), started with pg_ctl on a free loopback port (as
 * the `postgres` user when running as root, since the server refuses to run as root), stopped
 * by pid when the file is done or the process exits. Each store under test gets a fresh
 * database.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { freePort, isAlive, onProcessExit, unavailable, waitForExit } from './services.ts';

const BIN_DIR = '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  readonly port: number;
  /** Connection URL of database `name` on this cluster. */
  url(name: string): string;
  /**
   * Creates a database and returns its URL: empty, or with `migrated` a copy of one that
   * logwarden's migrations ran on and no store has opened since (no secrets yet), which
   * saves each database the migrations.
   */
  createDatabase(options?: { migrated?: boolean }): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  /**
   * Copies database `from` as files into a new database `to` (names, not URLs): its sessions are
   * ended first, since CREATE DATABASE … TEMPLATE wants none on it (a backup put back, say).
   */
  copyDatabase(from: string, to: string): Promise<void>;
  /** Runs one statement on the database at `url` over a connection of its own. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  /**
   * Arms a watchdog for work that should end well within `ms`: if `disarm` has not been called
   * by then, the cluster's sessions, the locks waited for and the server log's tail are written
   * to stderr (with what `extra` says of the caller's side), so that a hang leaves evidence.
   */
  watch(label: string, ms: number, extra?: () => string): { disarm(): void };
  /**
   * Stops the server at once, as `pg_ctl stop -m immediate` does (no checkpoint: the next start
   * recovers from the WAL), and starts it again on the same port; every connection is broken.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export type PostgresStart = { cluster: PostgresCluster; skip?: undefined } | { cluster?: undefined; skip: string };

/** Why a cluster cannot be started here, or undefined when it can. */
function missing(): string | undefined {
  for (const bin of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(BIN_DIR, bin))) return `PostgreSQL binaries not found in ${BIN_DIR} (missing ${bin})`;
  }
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    return 'running as root and there is no postgres user to run the server as';
  }
  return undefined;
}

export interface PostgresOptions {
  /** Keep PostgreSQL's durability settings (fsync and synchronous commit), for measurements. */
  durable?: boolean;
  /** Load pg_stat_statements, planning counted (`CREATE EXTENSION pg_stat_statements` in a database to read it). */
  statementStats?: boolean;
}

/** A new folder under the temporary one, the PostgreSQL user's when running as root (the server refuses to run as root). */
function serverDir(prefix: string, asRoot: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  return dir;
}

/** Runs one of PostgreSQL's programs in `cwd`, as the `postgres` user when running as root. */
function runServerBinary(asRoot: boolean, cwd: string, bin: string, args: string[]): void {
  const cmd = asRoot ? 'runuser' : join(BIN_DIR, bin);
  const argv = asRoot ? ['-u', 'postgres', '--', join(BIN_DIR, bin), ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: 'utf8', cwd });
  if (r.status !== 0) throw new Error(`${bin} failed (${r.status}): ${r.stderr || r.stdout}`);
}

/**
 * Makes `data` a new cluster's data directory: a copy of one that initdb made once under the
 * temporary folder, by the first test process to need it. initdb takes about half a second of
 * CPU and a copy a few milliseconds, and a whole run starts some thirty clusters. The copy is
 * made in a folder of its own and renamed into place when complete, so a process never copies
 * one half made; when two make it at once, the first rename wins and the other's is removed.
 * Under scripts/run-tests.js the temporary folder is the run's own, removed by the next run;
 * otherwise the made directory stays in the system's for the next test file.
 */
function copyInitializedData(data: string, asRoot: boolean): void {
  const made = join(tmpdir(), `logwarden-pg-initdb-${basename(dirname(BIN_DIR))}-${process.getuid?.() ?? 0}`);
  if (!existsSync(join(made, 'data', 'PG_VERSION'))) {
    const building = serverDir('logwarden-pg-initdb-', asRoot);
    const options = ['-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'];
    runServerBinary(asRoot, building, 'initdb', ['-D', join(building, 'data'), ...options]);
    try {
      renameSync(building, made);
    } catch {
      rmSync(building, { recursive: true, force: true });
    }
  }
  // -a keeps the files' owner and modes: the server refuses a data directory others can read.
  const r = spawnSync('cp', ['-a', join(made, 'data'), data], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`copying the initialized data directory failed (${r.status}): ${r.stderr}`);
}

/** Starts a cluster, or says why the suite is skipped (throws instead under LOGWARDEN_REQUIRE_SERVICES=1). */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresStart> {
  const why = missing();
  if (why) return { skip: unavailable(why) };

  const asRoot = process.getuid?.() === 0;
  const dir = serverDir('logwarden-pg-', asRoot);
  const run = (bin: string, args: string[]): void => runServerBinary(asRoot, dir, bin, args);

  const data = join(dir, 'data');
  copyInitializedData(data, asRoot);

  let port = 0;
  let opts = '';
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    opts = [
      `-p ${port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${dir}`,
      '-c max_connections=200',
      '-c shared_buffers=128MB',
      '-c log_lock_waits=on',
      // Durability off by default: the cluster is thrown away, and tests must stay fast.
      ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
      ...(options.statementStats ? ['-c shared_preload_libraries=pg_stat_statements', '-c pg_stat_statements.track_planning=on'] : []),
    ].join(' ');
    try {
      run('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', join(dir, 'server.log'), '-o', opts]);
      break;
    } catch (err) {
      // Another process may have taken the port between probing and binding.
      if (attempt >= 2) {
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const postmasterPid = () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let pid = postmasterPid();
  const unhook = onProcessExit(() => {
    // SIGQUIT: immediate shutdown, the only kind that finishes without waiting on clients.
    if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
    rmSync(dir, { recursive: true, force: true });
  });

  const url = (name: string): string => `postgres://postgres@127.0.0.1:${port}/${name}`;
  const admin = new pg.Pool({ connectionString: url('postgres'), max: 2, allowExitOnIdle: true });
  admin.on('error', () => {});
  let n = 0;
  let template: Promise<string> | undefined;
  const migratedTemplate = async (): Promise<string> => {
    const name = `lw_${process.pid}_template`;
    await admin.query(`CREATE DATABASE ${name} STRATEGY FILE_COPY`);
    const store = await openPostgresStore({ url: url(name), poolSize: 1, noSealer: true });
    await store.close();
    const client = new pg.Client({ connectionString: url(name) });
    await client.connect();
    try {
      await client.query('DELETE FROM secrets');
    } finally {
      await client.end();
    }
    return name;
  };

  const cluster: PostgresCluster = {
    port,
    url,
    async query(dbUrl, sql, params) {
      const client = new pg.Client({ connectionString: dbUrl });
      await client.connect();
      try {
        return await client.query(sql, params);
      } finally {
        await client.end();
      }
    },
    async createDatabase(options = {}) {
      const from = options.migrated ? ` TEMPLATE ${await (template ??= migratedTemplate())}` : '';
      const name = `lw_${process.pid}_${++n}`;
      // FILE_COPY: copying the small template as files is much faster than through the WAL.
      await admin.query(`CREATE DATABASE ${name}${from} STRATEGY FILE_COPY`);
      return url(name);
    },
    async dropDatabase(dbUrl) {
      const name = new URL(dbUrl).pathname.slice(1);
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    },
    async copyDatabase(from, to) {
      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [from]);
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(to)} TEMPLATE ${pg.escapeIdentifier(from)} STRATEGY FILE_COPY`);
    },
    watch(label, ms, extra) {
      const timer = setTimeout(
        () => void dumpActivity(url('postgres'), join(dir, 'server.log'), `${label}: still running after ${ms} ms`, extra),
        ms,
      );
      timer.unref();
      return { disarm: () => clearTimeout(timer) };
    },
    async restart() {
      run('pg_ctl', ['stop', '-m', 'immediate', '-w', '-D', data]);
      run('pg_ctl', ['start', '-w', '-t', '30', '-D', data, '-l', join(dir, 'server.log'), '-o', opts]);
      pid = postmasterPid();
    },
    async stop() {
      await admin.end().catch(() => {});
      if (isAlive(pid)) {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown: nothing in this cluster is worth a checkpoint
        if (!(await waitForExit(pid, 10_000))) process.kill(pid, 'SIGKILL');
      }
      unhook();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return { cluster };
}

/** Writes the sessions of a cluster, the locks they wait for and its log's tail to stderr. */
async function dumpActivity(adminUrl: string, logFile: string, headline: string, extra?: () => string): Promise<void> {
  const out = [`\n=== watchdog: ${headline}`];
  try {
    if (extra) out.push(extra());
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      const sessions = await client.query(
        `SELECT pid, datname, application_name AS app, state, wait_event_type AS wait_type, wait_event,
                round(extract(epoch FROM now() - xact_start)::numeric, 1) AS xact_s, pg_blocking_pids(pid) AS blocked_by,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 200) AS query
         FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY pid`,
      );
      out.push('sessions:', ...sessions.rows.map((r) => JSON.stringify(r)));
      const locks = await client.query(
        `SELECT pid, locktype, relation::regclass::text AS relation, mode, classid, objid, virtualxid, transactionid::text
         FROM pg_locks WHERE NOT granted`,
      );
      out.push('locks waited for:', ...locks.rows.map((r) => JSON.stringify(r)));
    } finally {
      await client.end();
    }
    out.push('server log (tail):', ...readFileSync(logFile, 'utf8').split('\n').slice(-40));
  } catch (err) {
    out.push(`(could not read the cluster's state: ${(err as Error).message})`);
  }
  process.stderr.write(out.join('\n') + '\n');
}

/**
 * SQL that takes a database back to before segments carried their entries' idempotency keys
 * (src/store/postgres/sealed-keys.ts): the keys become `entry_keys` rows again, the columns go.
 */
export const UNDO_SEALED_KEYS = `
  INSERT INTO entry_keys (tid, event_time, key) SELECT tid, unnest(key_times), unnest(keys) FROM segments WHERE keys IS NOT NULL;
  ALTER TABLE segments DROP COLUMN key_times, DROP COLUMN keys`;

/**
 * SQL that takes a database back to before keys that existed before uses were recorded were told
 * apart (the step to schema version 11): one version back.
 */
export const UNDO_USES_RECORDED_SINCE = 'ALTER TABLE access_keys DROP COLUMN uses_recorded_since';

/** SQL that takes a database back to before access keys' last uses were kept: the steps to versions 10 and 11, so two versions back. */
export const UNDO_KEY_LAST_USED = `${UNDO_USES_RECORDED_SINCE}; ALTER TABLE access_keys DROP COLUMN last_used_at`;

/**
 * SQL that takes a database back to before checkpoints were kept compactly (src/store/
 * tree-checkpoint-rows.ts): each kept checkpoint becomes its whole text again, by origin.
 */
export const UNDO_COMPACT_CHECKPOINTS = `
  CREATE TABLE tree_checkpoints_text (tid integer NOT NULL, origin text NOT NULL, size bigint NOT NULL, note text NOT NULL,
    PRIMARY KEY (tid, origin, size));
  INSERT INTO tree_checkpoints_text (tid, origin, size, note)
  SELECT c.tid, o.origin, c.size, coalesce(c.note, o.origin || E'\\n' || c.size || E'\\n' || translate(encode(c.root, 'base64'), E'\\n', '')
    || E'\\n\\n\u2014 ' || o.origin || ' ' || translate(encode(c.sig, 'base64'), E'\\n', '') || E'\\n')
  FROM tree_checkpoints c JOIN tree_origins o ON o.tid = c.tid AND o.oid = c.oid;
  DROP TABLE tree_checkpoints, tree_origins;
  ALTER TABLE tree_checkpoints_text RENAME TO tree_checkpoints;
  ALTER INDEX tree_checkpoints_text_pkey RENAME TO tree_checkpoints_pkey`;
