/**
 * A throwaway PgBouncer in front of a test cluster (support/postgres.ts), in one pool mode:
 * started in a temp dir on a free loopback port (as the `postgres` user when running as root,
 * since PgBouncer refuses to run as root), trusting every user, stopped by pid when the file is
 * done or the process exits.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PostgresCluster } from './postgres.ts';
import { freePort, isAlive, onProcessExit, unavailable, waitForExit } from './services.ts';

const BIN = '/usr/sbin/pgbouncer';

export type PoolMode = 'session' | 'transaction' | 'statement';

export interface PgBouncer {
  readonly port: number;
  /** The URL of `dbUrl`'s database (a URL of the cluster) through this PgBouncer. */
  url(dbUrl: string): string;
  stop(): Promise<void>;
}

export type PgBouncerStart = { bouncer: PgBouncer; skip?: undefined } | { bouncer?: undefined; skip: string };

/** Starts PgBouncer in `mode` before `cluster`, or says why the suite is skipped (throws instead under LOGWARDEN_REQUIRE_SERVICES=1). */
export async function startPgBouncer(cluster: PostgresCluster, mode: PoolMode): Promise<PgBouncerStart> {
  if (!existsSync(BIN)) return { skip: unavailable(`PgBouncer not found at ${BIN} (apt-get install pgbouncer)`) };
  const asRoot = process.getuid?.() === 0;
  if (asRoot && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    return { skip: unavailable('running as root and there is no postgres user to run PgBouncer as') };
  }
  const dir = mkdtempSync(join(tmpdir(), 'logwarden-pgbouncer-'));
  const owned = (file: string): string => {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(file, uid, gid);
    }
    return file;
  };
  owned(dir);
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  owned(join(dir, 'users.txt'));
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${cluster.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${mode}`,
      'default_pool_size = 20',
      'max_client_conn = 500',
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    ].join('\n') + '\n',
  );
  owned(ini);
  const r = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', BIN, '-d', ini], { encoding: 'utf8', cwd: dir })
    : spawnSync(BIN, ['-d', ini], { encoding: 'utf8', cwd: dir });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`pgbouncer failed (${r.status}): ${r.stderr || r.stdout}`);
  }
  // -d returns once the daemon has forked; its pid file and listening socket follow shortly.
  const pidFile = join(dir, 'pgbouncer.pid');
  const started = performance.now();
  while (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '' || !(await accepts(port))) {
    if (performance.now() - started > 10_000) throw new Error(`pgbouncer did not start listening: ${readLog(dir)}`);
    await new Promise((res) => setTimeout(res, 20));
  }
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const unhook = onProcessExit(() => {
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    bouncer: {
      port,
      url(dbUrl) {
        const u = new URL(dbUrl);
        u.port = String(port);
        return u.toString();
      },
      async stop() {
        if (isAlive(pid)) {
          process.kill(pid, 'SIGINT'); // immediate shutdown
          if (!(await waitForExit(pid, 10_000))) process.kill(pid, 'SIGKILL');
        }
        unhook();
        rmSync(dir, { recursive: true, force: true });
      },
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function readLog(dir: string): string {
  try {
    return readFileSync(join(dir, 'pgbouncer.log'), 'utf8').split('\n').slice(-10).join('\n');
  } catch {
    return '(no log)';
  }
}
