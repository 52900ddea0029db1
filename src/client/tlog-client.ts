/**
 * Reading a tenant's verifiable log from logwarden (`/v2/tlog/<tenantId>/…`, SPEC §11): the
 * signed checkpoint, the verifier key, C2SP tlog-tiles (hash tiles and entry bundles), the JSON
 * inclusion and consistency proofs, and `GET /v2/logs` pages with the leaf index of each entry.
 *
 * Nothing here is trusted: every answer is raw material for the checks in log-verifier.ts.
 * Tile requests are not paced (`requestsPerSecond` applies to `/v2/logs` pages only), since an
 * audit reads thousands of them.
 */
import { decodeBase64, entryBundlePath, type Hash, MAX_ENTRY_BYTES, TILE_WIDTH, type Tile, tilePath } from '../tlog/index.ts';
import { isLogsApiError, LogsApiError } from './errors.ts';
import { type ListLogsParams, LogsClient, type LogsClientOptions } from './logs.ts';
import { nodeHttpFetch } from './node-http-fetch.ts';
import { emptyPage, emptyTextPage, type LogEntry, type LogsPage, type PageRecords, parsePage, type TextPage } from './page.ts';
import { parseTextPageChunks } from './page-bytes.ts';

/**
 * The largest answer each kind of request can have, so that a server cannot make a reader hold
 * more (a body sent without end, a small gzip body that inflates to gigabytes): a checkpoint or
 * key (a note of at most 100 signatures and a few extension lines), a hash tile (256 hashes),
 * an entry bundle (256 leaves of at most 65,535 bytes, each after a 2-byte length), and a proof
 * answer (1,000 inclusion proofs of at most 63 hashes, as JSON).
 */
export const MAX_NOTE_BYTES = 1 << 20;
export const MAX_TILE_BYTES = TILE_WIDTH * 32;
export const MAX_ENTRY_BUNDLE_BYTES = TILE_WIDTH * (2 + MAX_ENTRY_BYTES);
export const MAX_PROOF_BYTES = 16 << 20;

/** The opt-in request (and response) header that reports each entry's leaf index. */
export const LEAF_INDEX_HEADER = 'X-Logwarden-Leaf-Index';

export interface TlogClientOptions extends LogsClientOptions {
  // `fetch` defaults to node:http(s) with keep-alive here (node-http-fetch.ts): an audit makes thousands of requests.
  /** The tenant whose log is read (the `<tenantId>` of `/v2/tlog/<tenantId>/…`). */
  tenantId: string;
}

/** A `/v2/logs` page with, when the server reports them, each entry's leaf index. */
export interface IndexedPage extends LogsPage {
  /** One per entry in page order; null when the server did not report leaf indexes. */
  readonly leafIndexes: readonly number[] | null;
}

/** A `/v2/logs` page as entry texts with, when the server reports them, each entry's leaf index. */
export interface IndexedTextPage {
  readonly page: TextPage;
  readonly records: PageRecords;
  readonly requestId: string | undefined;
  /** One per entry in page order; null when the server did not report leaf indexes. */
  readonly leafIndexes: readonly number[] | null;
}

export interface InclusionAnswer {
  size: number;
  rootHash: Hash;
  proofs: { index: number; leafHash: Hash; hashes: Hash[] }[];
}

function hashField(v: unknown, what: string): Hash {
  const h = typeof v === 'string' ? decodeBase64(v) : null;
  if (!h || h.length !== 32) throw new TypeError(`${what} is not base64 of a 32-byte hash`);
  return h;
}

function hashList(v: unknown, what: string): Hash[] {
  if (!Array.isArray(v)) throw new TypeError(`${what} is not an array`);
  return v.map((h, i) => hashField(h, `${what}[${i}]`));
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what} is not a count`);
  return v;
}

/** Parses the leaf index header: decimal indexes, comma-separated, one per entry. */
export function parseLeafIndexes(header: string | null, entries: number): number[] | null {
  if (header === null) return null;
  const text = header.trim();
  const parts = text === '' ? [] : text.split(',').map((p) => p.trim());
  if (parts.length !== entries || !parts.every((p) => /^(0|[1-9][0-9]{0,15})$/.test(p))) {
    throw new TypeError(`${LEAF_INDEX_HEADER} does not list one leaf index per entry`);
  }
  return parts.map(Number);
}

/** Why `/v2/tlog/<tenantId>/` can answer 404: the server shows each key only its own tenant's log. */
export function noLogHint(tenantId: string): string {
  return (
    `the verifiable log endpoints answer 404 for any tenant but the credentials' own: the access key or token may belong to another tenant than ${tenantId}, ` +
    'or the tenant id is mistyped; otherwise the server keeps no verifiable log, or the URL is not a logwarden server'
  );
}

export class TlogClient extends LogsClient {
  readonly tenantId: string;

  constructor(options: TlogClientOptions) {
    const { tenantId, ...rest } = options;
    super({ fetch: nodeHttpFetch, ...rest });
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(tenantId)) throw new TypeError(`invalid tenant id ${JSON.stringify(tenantId)}`);
    this.tenantId = tenantId;
  }

  /** The log's path prefix below the base URL. */
  get logPath(): string {
    return `v2/tlog/${this.tenantId}/`;
  }

  private async getText(path: string, signal?: AbortSignal): Promise<string> {
    return this.send(
      {
        method: 'GET',
        path: this.logPath + path,
        signal,
        paced: false,
        headers: { accept: 'text/plain' },
        maxBodyBytes: MAX_NOTE_BYTES,
      },
      (res) => res.text,
    );
  }

  private async getBytes(path: string, maxBodyBytes: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.send(
      {
        method: 'GET',
        path: this.logPath + path,
        signal,
        paced: false,
        binary: true,
        headers: { accept: 'application/octet-stream' },
        maxBodyBytes,
      },
      (res) => res.bytes ?? new Uint8Array(0),
    );
  }

  private async getJson(path: string, query: URLSearchParams, signal?: AbortSignal): Promise<Record<string, unknown>> {
    // Repeated parameters (index=…&index=…) do not fit the transport's query map: put them in the path.
    return this.send(
      {
        method: 'GET',
        path: `${this.logPath}${path}?${query}`,
        signal,
        paced: false,
        maxBodyBytes: MAX_PROOF_BYTES,
      },
      (res) => {
        const doc = JSON.parse(res.text) as unknown;
        if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TypeError('the body is not a JSON object');
        return doc as Record<string, unknown>;
      },
    );
  }

  /**
   * The log's checkpoint or key, whichever a run reads first: a 404 there says why it most
   * likely happened (the error keeps its code, status and request id).
   */
  private async getEntryPoint(path: string, signal?: AbortSignal): Promise<string> {
    try {
      return await this.getText(path, signal);
    } catch (err) {
      if (isLogsApiError(err, 'not_found')) {
        // On the same line: the CLI prints only the first line of a library error.
        err.message += `; ${noLogHint(this.tenantId)}`;
      }
      throw err;
    }
  }

  /** The latest signed checkpoint note, as served (unverified). */
  checkpointNote(signal?: AbortSignal): Promise<string> {
    return this.getEntryPoint('checkpoint', signal);
  }

  /** The verifier key the server announces, in note form (only as good as the channel it came over). */
  async verifierKey(signal?: AbortSignal): Promise<string> {
    return (await this.getEntryPoint('key', signal)).trim();
  }

  /** A hash tile's bytes. */
  tile(t: Tile, signal?: AbortSignal): Promise<Uint8Array> {
    return this.getBytes(tilePath(t), MAX_TILE_BYTES, signal);
  }

  /** The entry bundle of level 0 tile `n` with `width` leaves. */
  entryBundle(n: number, width: number, signal?: AbortSignal): Promise<Uint8Array> {
    return this.getBytes(entryBundlePath(n, width), MAX_ENTRY_BUNDLE_BYTES, signal);
  }

  /** Inclusion proofs of up to 1000 leaves in the tree of `size` (default: the latest checkpoint's). */
  async inclusionProofs(indexes: readonly number[], size?: number, signal?: AbortSignal): Promise<InclusionAnswer> {
    const q = new URLSearchParams();
    for (const i of indexes) q.append('index', String(i));
    if (size !== undefined) q.set('size', String(size));
    const doc = await this.getJson('proof/inclusion', q, signal);
    if (!Array.isArray(doc.proofs)) throw new LogsApiError('invalid_response', 'inclusion answer has no proofs');
    return {
      size: count(doc.size, 'size'),
      rootHash: hashField(doc.rootHash, 'rootHash'),
      proofs: doc.proofs.map((p: Record<string, unknown>, i: number) => ({
        index: count(p.index, `proofs[${i}].index`),
        leafHash: hashField(p.leafHash, `proofs[${i}].leafHash`),
        hashes: hashList(p.hashes, `proofs[${i}].hashes`),
      })),
    };
  }

  /** The consistency proof between two tree sizes. */
  async consistencyProof(from: number, to: number, signal?: AbortSignal): Promise<Hash[]> {
    const doc = await this.getJson('proof/consistency', new URLSearchParams({ from: String(from), to: String(to) }), signal);
    if (doc.from !== from || doc.to !== to) throw new LogsApiError('invalid_response', 'consistency answer is for other sizes');
    return hashList(doc.hashes, 'hashes');
  }

  /**
   * One `/v2/logs` page, asking for the leaf index of each entry. A logwarden server fails the
   * leaf index header when an entry of the page has no leaf (an entry added behind the log's
   * back): the page is then read without it (`leafIndexes` null), so that a content check can
   * find that entry.
   */
  async listIndexed(params: ListLogsParams): Promise<IndexedPage> {
    return this.withoutIndexesOnFailure(
      () =>
        this.getPage(
          params,
          { headers: { [LEAF_INDEX_HEADER]: '1' } },
          (res) => {
            const page = parsePage(res.text, res.requestId);
            return { ...page, leafIndexes: parseLeafIndexes(res.headers.get(LEAF_INDEX_HEADER), page.logEntries.length) };
          },
          (requestId) => ({ ...emptyPage(requestId), leafIndexes: [] }),
        ),
      async () => ({ ...(await this.listLogs(params)), leafIndexes: null }),
    );
  }

  /** `read`, or `plain` (the page without leaf indexes) when the server fails the indexed read. */
  private async withoutIndexesOnFailure<T>(read: () => Promise<T>, plain: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (!isLogsApiError(err, 'server_error')) throw err;
      return plain();
    }
  }

  /**
   * One `/v2/logs` page as entry texts (see `listLogTexts`) with the leaf index of each entry,
   * read without them when the server fails them, as `listIndexed`.
   */
  async listIndexedTexts(params: ListLogsParams): Promise<IndexedTextPage> {
    return this.withoutIndexesOnFailure(
      () =>
        this.getPage(
          params,
          { headers: { [LEAF_INDEX_HEADER]: '1' }, chunks: true },
          (res) => {
            const page = parseTextPageChunks(res.chunks ?? [], res.requestId);
            return {
              page,
              records: page.records,
              requestId: page.requestId,
              leafIndexes: parseLeafIndexes(res.headers.get(LEAF_INDEX_HEADER), page.textBytes.length),
            };
          },
          (requestId) => {
            const page = emptyTextPage(requestId);
            return { page, records: page.records, requestId, leafIndexes: [] };
          },
        ),
      async () => {
        const page = await this.listLogTexts(params);
        return { page, records: page.records, requestId: page.requestId, leafIndexes: null };
      },
    );
  }

  /**
   * Every page of a query as entry texts with their leaf indexes, the next page asked for while
   * the caller works on this one: a window is checked page by page, never held whole.
   */
  async *indexedTextPages(params: ListLogsParams): AsyncGenerator<IndexedTextPage, void, undefined> {
    yield* this.follow(
      params,
      (cursor, signal) => this.listIndexedTexts({ ...params, cursor, signal }),
      (p) => p.page.textBytes.length,
    );
  }

  /**
   * Every entry of a query, parsed, with its leaf index (null when the server does not report
   * them). It holds the whole window: to check a large one, read `indexedTextPages`.
   */
  async servedWindow(params: ListLogsParams): Promise<{ entry: LogEntry; leafIndex: number | null }[]> {
    const out: { entry: LogEntry; leafIndex: number | null }[] = [];
    const pages = this.follow(
      params,
      (cursor, signal) => this.listIndexed({ ...params, cursor, signal }),
      (p) => p.logEntries.length,
    );
    for await (const page of pages) {
      page.logEntries.forEach((entry, i) => out.push({ entry, leafIndex: page.leafIndexes?.[i] ?? null }));
    }
    return out;
  }
}
