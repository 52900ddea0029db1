/**
 * `/v2/tlog/{tenantId}/…` — a tenant's verifiable log (SPEC §11, TLOG-API.md): the latest
 * signed checkpoint, the tree as C2SP tlog-tiles (hash tiles and entry bundles), inclusion and
 * consistency proofs as JSON for light clients, and the verifier key.
 *
 * Access: `api:logs:read` of that very tenant. Any other tenant's log, like an unknown
 * tenant's, does not exist to the caller (404, the same answer for both). These reads are not
 * counted against the tenant's read limits: tiles are immutable, cacheable and many (a monitor
 * auditing a log reads one bundle per 256 entries).
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { invalid, LogwardenError } from '../../errors.ts';
import type { TenantLog } from '../../store/store.ts';
import { encodeBase64 } from '../../tlog/base64.ts';
import { proveConsistency } from '../../tlog/consistency-proof.ts';
import { encodeEntryBundle } from '../../tlog/entry-bundle.ts';
import { readHashes } from '../../tlog/hash-reader.ts';
import { proveInclusion } from '../../tlog/inclusion-proof.ts';
import { storedHashIndex } from '../../tlog/stored-hash-index.ts';
import { parseTilePath, readTile, TILE_WIDTH } from '../../tlog/tile.ts';
import { treeHash } from '../../tlog/tree-hash.ts';
import { requireScope } from '../auth.ts';
import type { AppContext } from '../context.ts';
import { WHOLE_NUMBER_PATTERN } from '../error-handler.ts';
import { ErrorEnvelope } from '../schemas.ts';
import { FULL_TILE_CACHE_BYTES, FullTileCache } from '../tile-cache.ts';

/** Indexes one inclusion proof request may ask for. */
export const MAX_PROOF_INDEXES = 1000;
/** Inclusion proofs made in one turn of the event loop (a few milliseconds' work on a large tree). */
const PROOFS_PER_TURN = 8;
// `private`: a tile is one tenant's, read with its credentials; a shared cache (a proxy, a CDN)
// must not keep it and hand it to another requester. The client's own cache may.
const IMMUTABLE = 'private, max-age=31536000, immutable';
const PARTIAL = 'private, max-age=60';

const TenantParams = Type.Object({ tenantId: Type.String({ description: 'The tenant whose log is read; it must be the caller’s own.' }) });
const TileParams = Type.Object({
  tenantId: Type.String(),
  '*': Type.String({ description: 'The rest of a C2SP tlog-tiles path: `<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`.' }),
});
const Decimal = Type.String({ pattern: WHOLE_NUMBER_PATTERN });
const InclusionQuery = Type.Object({
  index: Type.Union([Decimal, Type.Array(Decimal, { minItems: 1, maxItems: MAX_PROOF_INDEXES })], {
    description: `Leaf index; repeat for several (up to ${MAX_PROOF_INDEXES}).`,
  }),
  size: Type.Optional(Type.String({ ...Decimal, description: 'Tree size to prove against (default: the latest checkpoint’s).' })),
});
const ConsistencyQuery = Type.Object({
  from: Type.String({ ...Decimal, description: 'The older tree size.' }),
  to: Type.String({ ...Decimal, description: 'The newer tree size, at most the latest checkpoint’s.' }),
});
const B64 = Type.String({ description: 'Base64 (RFC 4648 §4, padded) of a 32-byte SHA-256 hash.' });
const InclusionResponse = Type.Object({
  requestId: Type.String(),
  size: Type.Integer(),
  rootHash: B64,
  proofs: Type.Array(Type.Object({ index: Type.Integer(), leafHash: B64, hashes: Type.Array(B64) })),
});
const ConsistencyResponse = Type.Object({ requestId: Type.String(), from: Type.Integer(), to: Type.Integer(), hashes: Type.Array(B64) });

const text = (description: string) => ({ description, content: { 'text/plain; charset=utf-8': { schema: Type.String() } } });
const binary = (description: string) => ({ description, content: { 'application/octet-stream': { schema: Type.String({ format: 'binary' }) } } });
const errors = { 400: ErrorEnvelope, 401: ErrorEnvelope, 404: ErrorEnvelope, 500: ErrorEnvelope, 503: ErrorEnvelope };
const SECURITY: { [label: string]: string[] }[] = [{ basic: [] }, { bearer: [] }];
const common = { tags: ['verifiable log'], security: SECURITY };

function noSuchLog(tenantId: string): LogwardenError {
  const shown = JSON.stringify(tenantId.length > 64 ? `${tenantId.slice(0, 64)}…` : tenantId);
  return new LogwardenError('route_not_found', [`no verifiable log of tenant ${shown}`]);
}

export function tlogRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tiles = new FullTileCache(FULL_TILE_CACHE_BYTES, (hit) => ctx.metrics.tileCache.inc({ result: hit ? 'hit' : 'miss' }));
  const authorize = async (request: FastifyRequest) => {
    const principal = await ctx.auth.authenticate(request.headers.authorization);
    requireScope(principal, 'api:logs:read');
    request.principal = principal;
  };

  /** The caller's own tenant's log, or 404 for any other (or unknown) tenant. */
  const logOf = async (request: FastifyRequest, tenantId: string): Promise<TenantLog> => {
    const log = request.principal!.tenantId === tenantId && ctx.store.log ? await ctx.store.log(tenantId) : undefined;
    if (log === undefined) throw noSuchLog(tenantId);
    return log;
  };

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/v2/tlog/:tenantId/checkpoint',
    {
      onRequest: authorize,
      schema: {
        ...common,
        summary: 'Latest signed checkpoint',
        description:
          'The latest C2SP tlog-checkpoint of the tenant’s tree, signed as a C2SP signed-note with the tenant’s Ed25519 key. Requires api:logs:read of that tenant.',
        params: TenantParams,
        response: { 200: text('The signed checkpoint note.'), ...errors },
      },
    },
    async (request, reply) => {
      const log = await logOf(request, request.params.tenantId);
      return reply.type('text/plain; charset=utf-8').header('cache-control', 'no-cache').send(Buffer.from(log.checkpoint.note));
    },
  );

  app.get<{ Params: Static<typeof TenantParams> }>(
    '/v2/tlog/:tenantId/key',
    {
      onRequest: authorize,
      schema: {
        ...common,
        summary: 'Verifier key',
        description: 'The tenant’s log verifier key in note form `<name>+<hex key id>+<base64>`; its name is the checkpoints’ origin.',
        params: TenantParams,
        response: { 200: text('The verifier key, one line.'), ...errors },
      },
    },
    async (request, reply) => {
      const log = await logOf(request, request.params.tenantId);
      return reply
        .type('text/plain; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(Buffer.from(`${log.verifierKey}\n`));
    },
  );

  app.get<{ Params: Static<typeof TileParams> }>(
    '/v2/tlog/:tenantId/tile/*',
    {
      onRequest: authorize,
      schema: {
        ...common,
        summary: 'Hash tile or entry bundle (C2SP tlog-tiles)',
        description:
          '`tile/<L>/<N>[.p/<W>]`: a hash tile of height 8 (W hashes of 32 bytes). `tile/entries/<N>[.p/<W>]`: the entry bundle of level 0 tile N ' +
          '(per leaf a big-endian uint16 length, then the SPEC §11 entry leaf v1), gzip-encoded when the client accepts gzip. ' +
          'Full tiles never change and are cached for a year; partial tiles (any width up to the latest checkpoint’s) for a minute.',
        params: TileParams,
        response: { 200: binary('The tile or entry bundle.'), ...errors },
      },
    },
    async (request, reply) => {
      const { tenantId } = request.params;
      const log = await logOf(request, tenantId);
      // The path as sent: the router has decoded percent-escapes (tile/0/%30%30%31 would pass for tile/0/001).
      const sent = request.url.split('?', 1)[0]!;
      const parsed = sent.includes('%') ? null : parseTilePath(`tile/${request.params['*']}`);
      if (parsed === null) throw invalid('tile path: not a canonical C2SP tlog-tiles path (tile/<L>/<N>[.p/<W>] or tile/entries/<N>[.p/<W>])');
      const size = log.checkpoint.size;
      const level = parsed.kind === 'entries' ? 0 : parsed.tile.level;
      const n = parsed.kind === 'entries' ? parsed.n : parsed.tile.n;
      const width = parsed.kind === 'entries' ? parsed.width : parsed.tile.width;
      // A tile exists once the tree has its hashes: full tiles when complete, partial ones of
      // any width the tree has reached (every size was signed, so every width was published).
      if (n * TILE_WIDTH + width > Math.floor(size / TILE_WIDTH ** level)) {
        throw new LogwardenError('route_not_found', [`no such tile in the tree of ${size} leaves (latest checkpoint)`]);
      }
      reply.header('cache-control', width === TILE_WIDTH ? IMMUTABLE : PARTIAL).type('application/octet-stream');
      if (parsed.kind === 'hashes') {
        const read = async () => Buffer.from(await readTile(parsed.tile, log.reader));
        return reply.send(width === TILE_WIDTH ? await tiles.get(tenantId, `${level}/${n}`, read) : await read());
      }
      const plain = async () => encodeEntryBundle(await log.leaves(n * TILE_WIDTH, width));
      // A full bundle is kept in the form it was asked for, so the cache holds only what is
      // served (a gzipped bundle is about 40% of the plain one).
      const gzipped = async () => gzipSync(await plain());
      const gzip = acceptsGzip(request.headers['accept-encoding']);
      const body = gzip ? gzipped : plain;
      reply.header('vary', 'Accept-Encoding');
      if (gzip) reply.header('content-encoding', 'gzip');
      return reply.send(width === TILE_WIDTH ? await tiles.get(tenantId, `entries/${n}${gzip ? '.gz' : ''}`, body) : await body());
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof InclusionQuery> }>(
    '/v2/tlog/:tenantId/proof/inclusion',
    {
      onRequest: authorize,
      schema: {
        ...common,
        summary: 'Inclusion proofs',
        description:
          'RFC 6962 inclusion proofs of the given leaves in the tree of `size` leaves (default: the latest checkpoint’s), with that tree’s root.',
        params: TenantParams,
        querystring: InclusionQuery,
        response: { 200: InclusionResponse, ...errors },
      },
    },
    async (request, reply) => {
      // Proofs of the latest tree when no size is given: kept by no cache, as pages are not.
      reply.header('cache-control', 'no-store');
      const log = await logOf(request, request.params.tenantId);
      const latest = log.checkpoint.size;
      const size = request.query.size === undefined ? latest : Number(request.query.size);
      if (size > latest) throw invalid(`size: must be at most the latest checkpoint's size, ${latest}`);
      const raw = request.query.index;
      const indexes = (Array.isArray(raw) ? raw : [raw]).map(Number);
      for (const i of indexes) if (i >= size) throw invalid(`index: ${i} is not a leaf of a tree of ${size}`);
      // The store's reads are synchronous: a thousand proofs made at once held the event loop
      // for seconds, and every other request of every tenant with it (these reads are not
      // rate-limited). They are made a slice at a time, each waiting its turn behind what else
      // has arrived.
      const proofs = [];
      for (let at = 0; at < indexes.length; at += PROOFS_PER_TURN) {
        await nextTurn();
        const slice = indexes.slice(at, at + PROOFS_PER_TURN);
        const leafHashes = await readHashes(
          log.reader,
          slice.map((i) => storedHashIndex(0, i)),
        );
        for (let k = 0; k < slice.length; k++) {
          const hashes = await proveInclusion(slice[k]!, size, log.reader);
          proofs.push({ index: slice[k]!, leafHash: encodeBase64(leafHashes[k]!), hashes: hashes.map(encodeBase64) });
        }
      }
      return { requestId: request.id, size, rootHash: encodeBase64(await treeHash(size, log.reader)), proofs };
    },
  );

  app.get<{ Params: Static<typeof TenantParams>; Querystring: Static<typeof ConsistencyQuery> }>(
    '/v2/tlog/:tenantId/proof/consistency',
    {
      onRequest: authorize,
      schema: {
        ...common,
        summary: 'Consistency proof',
        description: 'RFC 6962 consistency proof that the tree of `to` leaves extends the tree of `from` leaves.',
        params: TenantParams,
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyResponse, ...errors },
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      const log = await logOf(request, request.params.tenantId);
      const from = Number(request.query.from);
      const to = Number(request.query.to);
      if (to > log.checkpoint.size) throw invalid(`to: must be at most the latest checkpoint's size, ${log.checkpoint.size}`);
      if (from > to) throw invalid('from: must be at most to');
      const hashes = await proveConsistency(from, to, log.reader);
      return { requestId: request.id, from, to, hashes: hashes.map(encodeBase64) };
    },
  );
}

/** Whether an Accept-Encoding header admits gzip (a q of 0 refuses it). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '');
  for (const part of value.split(',')) {
    const [coding, ...params] = part.trim().split(';');
    if (coding?.trim().toLowerCase() !== 'gzip' && coding?.trim() !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}
