/** One request at a time over a kept-alive connection, timed: for latencies, set-up and ingest. */
import { Agent, request } from 'node:http';

export interface Answer {
  readonly status: number;
  readonly body: string;
  /** From sending the request to the last byte of the answer. */
  readonly ms: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });
/** Longer than any single request of the benchmark should take, even a 10,000-entry ingest. */
const TIMEOUT_MS = 120_000;

export function basicAuth(accessKey: string, secret: string): string {
  return `Basic ${Buffer.from(`${accessKey}:${secret}`).toString('base64')}`;
}

export function send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${TIMEOUT_MS / 1000} s: ${url.slice(0, 120)}`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Like `send`, but fails unless the answer has the expected status. */
export async function expect(status: number, url: string, options: Parameters<typeof send>[1] = {}): Promise<Answer> {
  const a = await send(url, options);
  if (a.status !== status) throw new Error(`${options.method ?? 'GET'} ${url.slice(0, 120)}: ${a.status} ${a.body.slice(0, 300)}`);
  return a;
}

export function closeConnections(): void {
  agent.destroy();
}
