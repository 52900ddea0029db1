/**
 * A small real HTTP server that serves one tenant's verifiable log exactly as the agreed wire
 * surface describes it (notes/TLOG-API: `/v2/tlog/<tenantId>/…` and `GET /v2/logs` with the
 * opt-in leaf index header), from an in-memory tree. Tests reach into its state to tamper with
 * what it serves: the served entries, the leaves in entry bundles, tiles, the checkpoint.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import {
  buildEntryLeaf,
  encodeBase64,
  encodeEntryBundle,
  generateNoteKey,
  leafHash,
  MemoryTree,
  type NoteSigner,
  parseSignerKey,
  parseTilePath,
  proveConsistency,
  proveInclusion,
  readTile,
  signCheckpoint,
  storedHashIndex,
  TILE_WIDTH,
  tileInTree,
} from '../../src/tlog/index.ts';

export interface LoggedEntry {
  logType: string;
  eventTime: string;
  /** The entry's JSON object as `/v2/logs` serves it. */
  wireText: string;
  leafIndex: number;
}

export interface TlogTestServer {
  readonly url: string;
  readonly tenantId: string;
  readonly accessKey: string;
  readonly secret: string;
  readonly origin: string;
  /** The verifier key in note form. */
  readonly verifierKey: string;
  readonly signer: NoteSigner;
  tree: MemoryTree;
  /** The leaves as entry bundles serve them (tamper here to change bundles only). */
  leaves: Uint8Array[];
  /** What `/v2/logs` serves (tamper here to change served entries only). */
  entries: LoggedEntry[];
  /** The checkpoint note served; `sign()` refreshes it. */
  checkpoint: string;
  /** Rewrites a tile or entry bundle before it is sent (path relative to the log prefix). */
  mutate: ((path: string, body: Uint8Array) => Uint8Array) | null;
  /** Counts requests per kind. */
  readonly requests: Record<string, number>;
  /** Appends entries as the log would: a leaf each, then a new checkpoint. */
  append(entries: { logType: string; eventTime: string; wireText?: string }[]): Promise<LoggedEntry[]>;
  /** Replaces the whole history (tree and bundles, not the served entries) and signs it: a rewritten log. */
  rewrite(leaves: (Uint8Array | string)[]): Promise<string>;
  /** Signs and serves a checkpoint for the current tree. */
  sign(): Promise<string>;
  close(): Promise<void>;
}

let seq = 0;

export function wireText(eventTime: string, n: number): string {
  return `{"userId":"${String(5120938476102938475n + BigInt(n))}","eventTime":"${eventTime}","logRecord":{"n":${n},"path":"/calls/${n}"}}`;
}

export async function startTlogServer(options: { tenantId?: string; origin?: string } = {}): Promise<TlogTestServer> {
  const tenantId = options.tenantId ?? '681063174048086563';
  const origin = options.origin ?? `logwarden/test-store/${tenantId}`;
  const { signerKey, verifierKey } = generateNoteKey(origin);
  const signer = parseSignerKey(signerKey);
  const accessKey = 'TESTKEY';
  const secret = 'test-secret-0123456789';
  const tree = new MemoryTree();
  const state: TlogTestServer = {
    url: '',
    tenantId,
    accessKey,
    secret,
    origin,
    verifierKey,
    signer,
    tree,
    leaves: [],
    entries: [],
    checkpoint: '',
    mutate: null,
    requests: {},
    async append(batch) {
      const out: LoggedEntry[] = [];
      const hashes: Uint8Array[] = [];
      for (const e of batch) {
        const text = e.wireText ?? wireText(e.eventTime, seq++);
        const leaf = new TextEncoder().encode(buildEntryLeaf({ logType: e.logType, eventTime: e.eventTime, wireText: text }));
        const logged = { logType: e.logType, eventTime: e.eventTime, wireText: text, leafIndex: state.tree.size + hashes.length };
        hashes.push(leafHash(leaf));
        state.leaves.push(leaf);
        state.entries.push(logged);
        out.push(logged);
      }
      // The batch's leaves in one step, as a store appends them.
      await state.tree.appendHashes(hashes);
      await state.sign();
      return out;
    },
    async rewrite(leaves) {
      const t = new MemoryTree();
      const bytes = leaves.map((l) => (typeof l === 'string' ? new TextEncoder().encode(l) : l));
      for (const l of bytes) await t.append(l);
      state.tree = t;
      state.leaves = bytes;
      return state.sign();
    },
    async sign() {
      state.checkpoint = signCheckpoint({ origin, size: state.tree.size, rootHash: await state.tree.root(), extensions: [] }, signer);
      return state.checkpoint;
    },
    close: async () => {},
  };
  state.checkpoint = signCheckpoint({ origin, size: 0, rootHash: await state.tree.root(), extensions: [] }, signer);

  const basic = `Basic ${Buffer.from(`${accessKey}:${secret}`).toString('base64')}`;
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, message: string) => json(res, status, { requestId: 'test', errors: [message] });
  const count = (kind: string) => (state.requests[kind] = (state.requests[kind] ?? 0) + 1);

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization !== basic) return fail(res, 401, 'Unauthorized');
    if (url.pathname === '/v2/logs') return listLogs(req, res, url);
    const prefix = `/v2/tlog/${tenantId}/`;
    if (!url.pathname.startsWith(prefix)) return fail(res, 404, 'Not Found');
    const rest = url.pathname.slice(prefix.length);
    const size = state.tree.size;
    if (rest === 'checkpoint') {
      count('checkpoint');
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
      return res.end(state.checkpoint);
    }
    if (rest === 'key') {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      return res.end(`${verifierKey}\n`);
    }
    if (rest === 'proof/inclusion') {
      count('inclusion');
      const s = url.searchParams.has('size') ? Number(url.searchParams.get('size')) : size;
      const indexes = url.searchParams.getAll('index').map(Number);
      if (s > size || indexes.some((i) => !(i < s))) return fail(res, 400, 'bad index or size');
      const root = await state.tree.root(s);
      const proofs = await Promise.all(
        indexes.map(async (index) => ({
          index,
          leafHash: encodeBase64((await state.tree.reader([storedHashIndex(0, index)]))[0]!),
          hashes: (await proveInclusion(index, s, state.tree.reader)).map(encodeBase64),
        })),
      );
      return json(res, 200, { requestId: 'test', size: s, rootHash: encodeBase64(root), proofs });
    }
    if (rest === 'proof/consistency') {
      count('consistency');
      const from = Number(url.searchParams.get('from'));
      const to = Number(url.searchParams.get('to'));
      if (!(from <= to && to <= size)) return fail(res, 400, 'bad sizes');
      return json(res, 200, { requestId: 'test', from, to, hashes: (await proveConsistency(from, to, state.tree.reader)).map(encodeBase64) });
    }
    const parsed = parseTilePath(rest);
    if (!parsed) return fail(res, 404, 'Not Found');
    let body: Uint8Array;
    if (parsed.kind === 'hashes') {
      count('tile');
      if (!tileInTree(parsed.tile, size)) return fail(res, 404, 'Not Found');
      body = await readTile(parsed.tile, state.tree.reader);
    } else {
      count('entries');
      if (!tileInTree({ level: 0, n: parsed.n, width: parsed.width }, size)) return fail(res, 404, 'Not Found');
      body = encodeEntryBundle(state.leaves.slice(parsed.n * TILE_WIDTH, parsed.n * TILE_WIDTH + parsed.width));
    }
    if (state.mutate) body = state.mutate(rest, body);
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      'cache-control':
        (parsed.kind === 'hashes' ? parsed.tile.width : parsed.width) === TILE_WIDTH ? 'private, max-age=31536000, immutable' : 'private, max-age=5',
    };
    if (parsed.kind === 'entries' && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
      headers['content-encoding'] = 'gzip';
      body = gzipSync(body, { level: 1 });
    }
    res.writeHead(200, headers);
    res.end(body);
  };

  const snapshots = new Map<string, LoggedEntry[]>();
  const listLogs = (req: IncomingMessage, res: ServerResponse, url: URL) => {
    count('logs');
    const logType = url.searchParams.get('logType');
    const from = Date.parse(url.searchParams.get('fromDateTime') ?? '');
    const toText = url.searchParams.get('toDateTime');
    const to = toText ? Date.parse(toText) : Infinity;
    const limit = Number(url.searchParams.get('limit') ?? '100');
    // A cursor names the query's snapshot, taken by its first page (as logwarden's own cursors do), and the offset in it.
    const cursor = url.searchParams.get('cursor');
    const [snapshot, offsetText] = cursor === null ? [undefined, '0'] : cursor.split('.');
    const offset = Number(offsetText);
    let all: LoggedEntry[] | undefined;
    if (snapshot !== undefined) {
      all = snapshots.get(snapshot);
      if (all === undefined) return fail(res, 400, 'cursor: unknown');
    } else {
      // Each time parsed once per request, not once per comparison: windows of 100,000s of entries stay quick.
      all = state.entries
        .flatMap((e) => {
          const t = e.logType === logType ? Date.parse(e.eventTime) : Number.NaN;
          return t >= from && t < to ? [{ e, t }] : [];
        })
        .sort((a, b) => a.t - b.t || a.e.leafIndex - b.e.leafIndex)
        .map((x) => x.e);
    }
    const id = snapshot ?? String(snapshots.size);
    if (snapshot === undefined) snapshots.set(id, all);
    if (all.length === 0) return fail(res, 404, NO_RECORDS_MESSAGE);
    const page = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (req.headers['x-logwarden-leaf-index'] === '1') headers['x-logwarden-leaf-index'] = page.map((e) => e.leafIndex).join(',');
    const records = `{"totalRecords":${all.length},"currentPageSize":${limit},"currentPageNumber":${Math.floor(offset / limit)}${more ? `,"cursor":"${id}.${offset + limit}"` : ''}}`;
    res.writeHead(200, headers);
    res.end(`{"requestId":"test","records":${records},"logEntries":[${page.map((e) => e.wireText).join(',')}]}`);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return state;
}

/**
 * A fetch for clients of this server whose `/v2/logs` cursors lead in a circle: the cursor to
 * offset `back` of any query leads to its offset 0 again.
 */
export function circlingFetch(back: number): (input: string, init: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const res = await fetch(input, init);
    if (new URL(input).pathname !== '/v2/logs' || res.status !== 200) return res;
    const text = (await res.text()).replace(new RegExp(`"cursor":"(\\d+)\\.${back}"`), '"cursor":"$1.0"');
    return new Response(text, { status: 200, headers: res.headers });
  };
}
