/**
 * Listens on the server's address and closes again, before anything else starts. A port that
 * is taken (or an address that is not this machine's) then fails with the system's error before
 * the store is touched: no first tenant and key are created whose secret the failed start
 * would never print, no demo data is loaded for nothing, and with `--workers` the failure is
 * said once by the primary (which does the workers' listening) instead of by every worker.
 */
import { createServer } from 'node:net';

export async function tryListen(host: string, port: number): Promise<void> {
  // Port 0 picks a free port: nothing to try.
  if (port === 0) return;
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host }, () => resolve());
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
