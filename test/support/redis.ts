/**
 * A throwaway redis-server for one test file: no persistence, a free loopback port, stopped by
 * pid when the file is done or the process exits.
 */
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, isAlive, onProcessExit, unavailable, waitForExit } from './services.ts';

export interface RedisServer {
  readonly url: string;
  /** Freezes the server (SIGSTOP): its connections stay open, nothing sent on them is answered. */
  freeze(): void;
  /** Lets a frozen server run again (SIGCONT). */
  thaw(): void;
  stop(): Promise<void>;
}

export type RedisStart = { server: RedisServer; skip?: undefined } | { server?: undefined; skip: string };

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Starts a server, or says why the suite is skipped (throws instead under LOGWARDEN_REQUIRE_SERVICES=1). */
export async function startRedis(options: { port?: number } = {}): Promise<RedisStart> {
  if (spawnSync('redis-server', ['--version']).error) return { skip: unavailable('redis-server is not installed') };

  for (let attempt = 0; ; attempt++) {
    // A given port: a server started again where an earlier one was (its clients reconnect).
    const port = options.port ?? (await freePort());
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
      { stdio: 'ignore' },
    );
    const pid = child.pid!;
    const unhook = onProcessExit(() => {
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    let exited = false;
    child.once('exit', () => (exited = true));
    for (const deadline = Date.now() + 10_000; !exited && Date.now() < deadline; ) {
      if (await ping(port)) {
        return {
          server: {
            url: `redis://127.0.0.1:${port}`,
            freeze() {
              process.kill(pid, 'SIGSTOP');
            },
            thaw() {
              process.kill(pid, 'SIGCONT');
            },
            async stop() {
              if (isAlive(pid)) {
                process.kill(pid, 'SIGCONT');
                process.kill(pid, 'SIGTERM');
                if (!(await waitForExit(pid, 5000))) process.kill(pid, 'SIGKILL');
              }
              unhook();
            },
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    unhook();
    // Another process may have taken the port between probing and binding.
    if (attempt >= 2) throw new Error('redis-server did not start');
  }
}
