/**
 * What a start can check before it touches the store: that the server's address can be
 * listened on, and that the Redis of the shared rate limits answers. A port that is taken (or
 * an address that is not this machine's) or a Redis that does not answer then fails before
 * the store is prepared: no first tenant and key are created whose secret the failed start
 * would never print, no demo data is loaded for nothing, and with `--workers` the failure is
 * said once by the primary instead of by every worker.
 */
import { createServer } from 'node:net';
import type { Config } from '../config.ts';

/** Listens on the address and closes again; rejects with the system's error (`EADDRINUSE`, …). */
async function tryListen(host: string, port: number): Promise<void> {
  // Port 0 picks a free port: nothing to try.
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function checkBeforeStart(config: Config): Promise<void> {
  await tryListen(config.host, config.port);
  if (config.redisUrl) {
    const { RedisLimiter } = await import('./limiter/redis-limiter.ts');
    await (await RedisLimiter.connect({ url: config.redisUrl })).close();
  }
}
