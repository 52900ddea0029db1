/**
 * A small Gong-compatible `/v2/logs` server for client tests, which can be told to misbehave:
 * 429 with Retry-After, 5xx, slow headers, stalled or cut-short bodies, reset connections.
 * It pages with a fresh cursor on every page (clients must pass back the latest one) and
 * serves entry texts exactly as given, so big integers and `1.0` travel unchanged.
 */

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { ceilMs, compareInstants, parseDateTime } from '../../src/logs/time.ts';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string; location?: string }
  /** Answers normally, but only after `ms`. */
  | { kind: 'slow'; ms: number }
  /** Sends the headers and half the body, then nothing more (until the server closes). */
  | { kind: 'stall' }
  /** Announces the full Content-Length, sends half the body and closes the connection. */
  | { kind: 'truncate' }
  /** A chunked body that ends cleanly after half the JSON. */
  | { kind: 'truncate-chunked' }
  /** Destroys the connection without an answer. */
  | { kind: 'reset' }
  /** A page with no entries whose cursor continues where this page would have begun. */
  | { kind: 'empty' };

export interface RecordedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  /** When it arrived, by the monotonic clock (performance.now): the wall clock may be stepped meanwhile. */
  readonly atMs: number;
}

export interface FaultServer {
  readonly url: string;
  readonly requests: RecordedRequest[];
  /** Applied one per request, in order, to the next requests of `GET /v2/logs`. */
  readonly faults: Fault[];
  /** Replaces a type's entries: exact entry texts (each with an `eventTime`). */
  setEntries(logType: string, texts: readonly string[]): void;
  /** Adds entries to a type (as a source receiving late or new entries). */
  addEntries(logType: string, texts: readonly string[]): void;
  close(): Promise<void>;
}

export interface FaultServerOptions {
  pageSize?: number;
  /** When set, requests must carry exactly this Authorization header. */
  authorization?: string;
}

interface Stored {
  readonly ms: number;
  readonly text: string;
}

interface CursorState {
  readonly key: string;
  readonly offset: number;
  readonly page: number;
  readonly total: number;
  readonly snapshot: number;
}

function eventMs(text: string): number {
  const m = /"eventTime"\s*:\s*"([^"]+)"/.exec(text);
  const p = m && parseDateTime(m[1]!);
  if (!p || !p.ok) throw new Error(`test entry without a valid eventTime: ${text.slice(0, 80)}`);
  return p.instant.ms;
}

function newRequestId(): string {
  return randomBytes(12).toString('hex').slice(0, 19);
}

export async function startFaultServer(options: FaultServerOptions = {}): Promise<FaultServer> {
  const data = new Map<string, Stored[]>();
  const cursors = new Map<string, CursorState>();
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const pageSize = options.pageSize ?? 100;

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    const requestId = /"requestId":"([^"]+)"/.exec(body)?.[1] ?? newRequestId();
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-traceid': requestId, ...headers });
    res.end(body);
  };
  const fail = (res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}) =>
    send(res, status, JSON.stringify({ requestId: newRequestId(), errors: [message] }), headers);

  function page(url: URL, empty = false): { status: number; body: string } | { status: number; message: string } {
    const logType = url.searchParams.get('logType');
    const fromText = url.searchParams.get('fromDateTime');
    const toText = url.searchParams.get('toDateTime');
    if (!logType) return { status: 400, message: 'logType: is required' };
    if (!fromText) return { status: 400, message: 'fromDateTime: is required' };
    const from = parseDateTime(fromText);
    if (!from.ok) return { status: 400, message: `fromDateTime: ${from.problem}` };
    const to = toText === null ? null : parseDateTime(toText);
    if (to && !to.ok) return { status: 400, message: `toDateTime: ${to.problem}` };
    // As logwarden compares them: at the precision given; entries are whole milliseconds.
    if (to?.ok && compareInstants(from.instant, to.instant) >= 0) return { status: 400, message: 'toDateTime: must be later than fromDateTime' };
    const fromMs = ceilMs(from.instant);
    const toMs = to && to.ok ? ceilMs(to.instant) : Number.MAX_SAFE_INTEGER;
    const key = `${logType}|${fromMs}|${toMs}`;
    const limit = Number(url.searchParams.get('limit') ?? pageSize);
    const all = data.get(logType) ?? [];
    const cursorText = url.searchParams.get('cursor');
    let state: CursorState;
    if (cursorText) {
      const found = cursors.get(cursorText);
      if (!found) return { status: 400, message: 'cursor: is not valid' };
      if (found.key !== key) return { status: 400, message: 'cursor does not match the request' };
      state = found;
    } else {
      const snapshot = all.length;
      const total = all.slice(0, snapshot).filter((e) => e.ms >= fromMs && e.ms < toMs).length;
      if (total === 0) return { status: 404, message: NO_RECORDS_MESSAGE };
      state = { key, offset: 0, page: 0, total, snapshot };
    }
    const matching = [...all.slice(0, state.snapshot)].sort((a, b) => a.ms - b.ms).filter((e) => e.ms >= fromMs && e.ms < toMs);
    const entries = empty ? [] : matching.slice(state.offset, state.offset + limit);
    const more = state.offset + entries.length < matching.length;
    let cursor: string | undefined;
    if (more) {
      cursor = `c${randomBytes(9).toString('base64url')}`;
      cursors.set(cursor, { ...state, offset: state.offset + entries.length, page: state.page + 1 });
    }
    const records =
      `{"totalRecords":${state.total},"currentPageSize":${entries.length},"currentPageNumber":${state.page}` +
      (cursor ? `,"cursor":"${cursor}"` : '') +
      '}';
    // Pretty-ish layout on purpose: clients must not depend on whitespace.
    const body = `{\n  "requestId": "${newRequestId()}",\n  "records": ${records},\n  "logEntries": [\n    ${entries.map((e) => e.text).join(',\n    ')}\n  ]\n}`;
    return { status: 200, body };
  }

  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push({ method: req.method ?? 'GET', url, headers: req.headers, atMs: performance.now() });
    if (url.pathname !== '/v2/logs' || req.method !== 'GET') return fail(res, 404, 'route not found');
    if (options.authorization !== undefined && req.headers.authorization !== options.authorization) {
      return fail(res, 401, 'Access denied: invalid credentials');
    }
    const fault = faults.shift();
    const answer = page(url, fault?.kind === 'empty');
    const body = 'body' in answer ? answer.body : JSON.stringify({ requestId: newRequestId(), errors: [answer.message] });
    if (!fault) return send(res, answer.status, body);
    switch (fault.kind) {
      case 'status':
        return send(
          res,
          fault.status,
          fault.body ??
            JSON.stringify({ requestId: newRequestId(), errors: [fault.status === 429 ? 'API request limit exceeded' : 'Internal server error'] }),
          {
            ...(fault.retryAfter !== undefined && { 'retry-after': fault.retryAfter }),
            ...(fault.location !== undefined && { location: fault.location }),
          },
        );
      case 'slow': {
        // A client that gave up long ago must not keep the test process alive until it fires.
        const timer = setTimeout(() => {
          pending.delete(timer);
          send(res, answer.status, body);
        }, fault.ms);
        pending.add(timer);
        return;
      }
      case 'stall':
        res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.write(body.slice(0, body.length >> 1));
        return;
      case 'truncate':
        res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.write(body.slice(0, body.length >> 1), () => res.destroy());
        return;
      case 'truncate-chunked':
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(body.slice(0, body.length >> 1));
        return;
      case 'reset':
        req.socket.destroy();
        return;
      case 'empty':
        return send(res, answer.status, body);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const insert = (logType: string, texts: readonly string[], replace: boolean) => {
    const list = replace ? [] : [...(data.get(logType) ?? [])];
    for (const text of texts) list.push({ ms: eventMs(text), text });
    data.set(logType, list);
  };

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    faults,
    setEntries: (logType, texts) => insert(logType, texts, true),
    addEntries: (logType, texts) => insert(logType, texts, false),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `logwarden fetch` of this server's UserCallPlay entries from 2026-01-01, unpaced, with `more` after. */
export function fetchPlayArgs(url: string, ...more: string[]): string[] {
  return ['fetch', '--url', url, '--type', 'UserCallPlay', '--rate', '0', '--from', '2026-01-01', ...more];
}
