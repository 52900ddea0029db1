/**
 * An HTTP proxy in front of a real server that can be told to misbehave on the next
 * requests: answer a status itself (429 with Retry-After, 503) without forwarding, forward
 * and then throw the real answer away (the server did the work, the client sees a 502/503),
 * or reset the connection. For testing that writes retried by a client are safe.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ProxyFault =
  /** Answers this status without forwarding. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Forwards, waits for the real answer, then answers this status instead. */
  | { kind: 'lose-answer'; status: number }
  /** Destroys the connection without forwarding. */
  | { kind: 'reset' };

export interface FaultProxy {
  readonly url: string;
  /** Applied one per request, in order. */
  readonly faults: ProxyFault[];
  /** Method, path and body size of every request received, and the status the client got. */
  readonly seen: Array<{ method: string; path: string; bytes: number; status: number | 'reset' }>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const faults: ProxyFault[] = [];
  const seen: FaultProxy['seen'] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = faults.shift();
      const record = (status: number | 'reset') => seen.push({ method: req.method ?? '', path: req.url ?? '', bytes: body.length, status });
      const answer = (status: number, headers: Record<string, string> = {}) => {
        record(status);
        const text = JSON.stringify({ requestId: 'proxyfault00000000', errors: [`injected ${status}`] });
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
      };
      if (fault?.kind === 'status') return answer(fault.status, fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
      if (fault?.kind === 'reset') {
        record('reset');
        req.socket.destroy();
        return;
      }
      const headers = { ...req.headers, host: to.host, 'content-length': String(body.length) };
      delete headers['transfer-encoding'];
      const upstream = httpRequest({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers }, (up) => {
        const got: Buffer[] = [];
        up.on('data', (c: Buffer) => got.push(c));
        up.on('end', () => {
          if (fault?.kind === 'lose-answer') return answer(fault.status);
          record(up.statusCode ?? 0);
          res.writeHead(up.statusCode ?? 502, up.headers);
          res.end(Buffer.concat(got));
        });
      });
      upstream.on('error', () => answer(502));
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    faults,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
