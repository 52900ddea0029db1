/**
 * What the throwaway-service helpers share: finding a free loopback port, deciding whether a
 * missing binary skips a suite or fails it, and stopping started servers even when the test
 * process ends abruptly.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Set by CI so that a missing service fails the run instead of silently skipping suites. */
export const REQUIRE_SERVICES = process.env.LOGWARDEN_REQUIRE_SERVICES === '1';

/**
 * Turns "the service cannot run here" into the skip reason a suite shows, or throws when
 * services are required.
 */
export function unavailable(reason: string): string {
  if (REQUIRE_SERVICES) throw new Error(`${reason} (LOGWARDEN_REQUIRE_SERVICES=1 forbids skipping)`);
  return reason;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const cleanups = new Set<() => void>();
let hooked = false;

/**
 * Registers a synchronous last-resort cleanup (kill a server by pid) for when the test process
 * exits without reaching its `after` hooks. Returns a function that unregisters it.
 */
export function onProcessExit(cleanup: () => void): () => void {
  if (!hooked) {
    hooked = true;
    const runAll = (): void => {
      for (const c of cleanups) {
        try {
          c();
        } catch {
          // best effort: the process is going away
        }
      }
      cleanups.clear();
    };
    process.once('exit', runAll);
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        runAll();
        process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
      });
    }
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** The state letter of process `pid` in /proc (`R`, `S`, `Z`…); undefined once it is gone, or with no /proc. */
export function processState(pid: number): string | undefined {
  try {
    // The state follows the command's closing parenthesis: `pid (comm) S …`.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2];
  } catch {
    return undefined;
  }
}

/**
 * Whether process `pid` still runs. A server started as a daemon (PostgreSQL through pg_ctl) is
 * no child of this process: once it exits it stays a zombie until whatever adopted it reaps it,
 * which in a container can take a second or more, and signal 0 still reaches a zombie. On Linux
 * its state in /proc tells the two apart.
 */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const state = processState(pid);
  // Gone in between; or, with no /proc here, signal 0's answer stands.
  if (state === undefined) return !existsSync('/proc/self/stat');
  return state !== 'Z';
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
