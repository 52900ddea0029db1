/**
 * An HTTP proxy in front of a real server that holds every request it receives until the test
 * lets it through, so a test decides in which order concurrent requests reach the server and
 * are answered, and sees how many a client had in flight at once.
 */
import { createServer, request as httpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HeldRequest {
  readonly body: string;
  /** Sends it on to the server; resolves to the status once the answer has gone back to the client. */
  forward(): Promise<number>;
}

export interface GateProxy {
  readonly url: string;
  /** Every request received, in order of arrival. */
  readonly received: readonly HeldRequest[];
  /** The most requests held at once. */
  readonly maxHeld: number;
  /** Resolves once `n` requests are held at once; rejects after `timeoutMs` saying how many were. */
  whenHeld(n: number, timeoutMs?: number): Promise<HeldRequest[]>;
  close(): Promise<void>;
}

export async function startGateProxy(target: string): Promise<GateProxy> {
  const to = new URL(target);
  const received: HeldRequest[] = [];
  const held = new Set<HeldRequest>();
  let maxHeld = 0;
  let changed: () => void = () => {};
  const pass = (method: string, path: string, headers: Record<string, string | string[] | undefined>, body: Buffer, res: ServerResponse) =>
    new Promise<number>((resolve) => {
      const out: Record<string, string | string[] | undefined> = { ...headers, host: to.host, 'content-length': String(body.length) };
      delete out['transfer-encoding'];
      const upstream = httpRequest({ host: to.hostname, port: to.port, method, path, headers: out }, (up) => {
        const got: Buffer[] = [];
        up.on('data', (c: Buffer) => got.push(c));
        up.on('end', () => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(got), () => resolve(up.statusCode ?? 502));
        });
      });
      upstream.on('error', () => {
        res.writeHead(502);
        res.end(() => resolve(502));
      });
      upstream.end(body);
    });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const request: HeldRequest = {
        body: body.toString('utf8'),
        forward: () => {
          held.delete(request);
          return pass(req.method ?? 'GET', req.url ?? '/', req.headers, body, res);
        },
      };
      received.push(request);
      held.add(request);
      maxHeld = Math.max(maxHeld, held.size);
      changed();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    get maxHeld() {
      return maxHeld;
    },
    whenHeld: (n, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${held.size} requests held after ${timeoutMs} ms, waiting for ${n}`)), timeoutMs);
        const check = () => {
          if (held.size < n) return;
          clearTimeout(timer);
          changed = () => {};
          resolve([...held]);
        };
        changed = check;
        check();
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
