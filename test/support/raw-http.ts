/**
 * A minimal HTTP/1.1 client over a plain TCP socket, for requests that no well-behaved client
 * would send: bytes that are not valid in a URL or a header, bodies that are not UTF-8, headers
 * past the server's size limit. Every request asks for `Connection: close`, so the response
 * ends when the socket does. `reader` follows a connection the caller keeps open and writes to.
 */
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RawRequest {
  readonly method: string;
  /** The request target, sent as is (no encoding). */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

export interface RawResponse {
  readonly status: number;
  /** Lower-cased names; repeated headers joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Serialises a request; adds Host, Connection: close and, with a body, Content-Length unless given. */
export function formatRequest(r: RawRequest): Buffer {
  const headers: Record<string, string> = { host: 'localhost', connection: 'close', ...r.headers };
  const names = new Set(Object.keys(headers).map((k) => k.toLowerCase()));
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body, 'utf8');
  if (body !== undefined && !names.has('content-length') && !names.has('transfer-encoding')) {
    headers['content-length'] = String(body.length);
  }
  let head = `${r.method} ${r.path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const parts: Buffer[] = [Buffer.from(head + '\r\n', 'latin1')];
  if (body !== undefined) parts.push(body);
  return Buffer.concat(parts);
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', i);
    if (eol < 0) throw new Error('truncated chunked body');
    const size = parseInt(data.toString('latin1', i, eol), 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(out);
    out.push(data.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

export function parseResponse(data: Buffer): RawResponse {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${data.length} bytes`);
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = data.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(m[1]), headers, body };
}

/**
 * Sends raw bytes and reads the response until the server closes the connection. A server
 * that answers early (413, 431) may reset the connection while the request is still being
 * written; what it answered before that is the response.
 */
export function sendRaw(port: number, bytes: Buffer, timeoutMs = 15_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const data = Buffer.concat(chunks);
      try {
        resolve(parseResponse(data));
      } catch (parseErr) {
        reject(err ?? parseErr);
      }
    };
    const timer = setTimeout(() => finish(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish());
    socket.write(bytes, () => {});
  });
}

export function request(port: number, r: RawRequest): Promise<RawResponse> {
  return sendRaw(port, formatRequest(r));
}

/** Bytes read from `socket` so far, and a way to wait until they hold `text` `times` times. */
export function reader(socket: Socket): { until(text: string, times?: number): Promise<Buffer>; ended: Promise<Buffer> } {
  let data = Buffer.alloc(0);
  const waiters: (() => void)[] = [];
  socket.on('data', (chunk: Buffer) => {
    data = Buffer.concat([data, chunk]);
    for (const w of waiters.splice(0)) w();
  });
  let closed = false;
  const ended = once(socket, 'close').then(() => {
    closed = true;
    return data;
  });
  const count = (text: string): number => data.toString('latin1').split(text).length - 1;
  return {
    async until(text, times = 1) {
      while (count(text) < times) {
        if (closed) throw new Error(`the connection closed before ${JSON.stringify(text)} came ${times} time(s); it sent ${data.length} bytes`);
        await Promise.race([new Promise<void>((r) => waiters.push(r)), ended]);
      }
      return data;
    },
    ended,
  };
}

/** Resolves once `port` refuses new connections: the server has begun to stop. */
export async function listenerClosed(port: number): Promise<void> {
  for (;;) {
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(false);
      });
      s.once('error', () => resolve(true));
    });
    if (refused) return;
    await sleep(10);
  }
}
