/** `GET /v2/logs` — Gong's List logs operation. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { invalid } from '../../errors.ts';
import type { LogTypes } from '../../logs/log-types.ts';
import { type ListLogsContext, listLogs, unknownLogType } from '../../service/list-logs.ts';
import type { Store, StoredPage } from '../../store/store.ts';
import { AnswerBuffers } from '../answer-buffers.ts';
import type { AppContext } from '../context.ts';
import { type SchemaProblem, schemaMessage } from '../error-handler.ts';
import { ErrorEnvelope, ListLogsResponse, listLogsQuery } from '../schemas.ts';
import { sendInParts } from '../send-in-parts.ts';

/** Today's words for what the query schema refuses (Gong's clients see exactly these). */
function queryProblem(problems: readonly SchemaProblem[], types: LogTypes, maxPageSize: number): string {
  const p = problems[0];
  if (!p) return 'request: is invalid';
  const field = p.instancePath.replace(/^\//, '');
  if ((field === 'logType' || field === 'fromDateTime') && p.data === '') return `${field}: is required`;
  if (p.keyword === 'required' && typeof p.params.missingProperty === 'string') return `${p.params.missingProperty}: is required`;
  if (field === 'logType' && p.keyword === 'enum' && typeof p.data === 'string') return unknownLogType(p.data, types);
  // Not digits (`ten`, `-3`, `1.5`, empty) or out of range: one wording for both patterns.
  if (field === 'limit' && p.keyword === 'pattern') return `limit: must be an integer from 1 to ${maxPageSize}`;
  return schemaMessage(p);
}

/**
 * Opt-in (request header value `1`): the response header lists the leaf index, in the tenant's
 * verifiable log, of each entry of the page, in page order, comma-separated. The body is
 * unchanged; without the request header nothing changes.
 */
export const LEAF_INDEX_HEADER = 'x-logwarden-leaf-index';

/**
 * The header's value; undefined (the header is then left out) when the store keeps no
 * verifiable log, or when an entry of the page has no leaf yet: entries stored before the store
 * kept a tree get theirs while an upgrade builds it. The page itself is served either way; a
 * missing leaf is logged, for it should not outlast the upgrade.
 */
async function leafIndexHeader(store: Store, request: FastifyRequest, tenantId: string, page: StoredPage): Promise<string | undefined> {
  if (!store.leafIndexes) return undefined;
  if (!page.seqs || page.seqs.length !== page.count) throw new Error('the store did not report the page entries sequences');
  const indexes = await store.leafIndexes(tenantId, page.seqs);
  const leafless = indexes.filter((i) => i < 0).length;
  if (leafless > 0) {
    request.log.warn(
      { requestId: request.id, tenantId, leafless },
      'entries of the page have no leaf in the verifiable log yet: the leaf-index header is left out',
    );
    return undefined;
  }
  return indexes.join(',');
}

export function listLogsRoute(app: FastifyInstance, ctx: AppContext): void {
  const answers = new AnswerBuffers();
  const list: ListLogsContext = {
    store: ctx.store,
    cursors: ctx.cursors,
    types: ctx.types,
    pageSize: ctx.config.pageSize,
    cursorTtlMs: ctx.config.cursorTtlSeconds * 1000,
    now: ctx.now,
  };
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v2/logs',
    {
      onRequest: ctx.guard('api:logs:read', 'read'),
      schemaErrorFormatter: (problems) => invalid(queryProblem(problems as SchemaProblem[], ctx.types, ctx.config.maxPageSize)),
      schema: {
        summary: 'List logs',
        description:
          'Log entries of one type in a half-open time range [fromDateTime, toDateTime), in ascending eventTime, ' +
          '100 per page. Page on with records.cursor. Requires scope api:logs:read. ' +
          'Extension: with the request header `X-Logwarden-Leaf-Index: 1`, the response header of that name lists the leaf index ' +
          'of each entry of the page in the tenant’s verifiable log (decimal, comma-separated, page order); the body is unchanged.',
        headers: Type.Object({
          'x-logwarden-leaf-index': Type.Optional(
            Type.String({ description: '`1`: list the entries’ leaf indexes in the response header of the same name (any other value: ignored).' }),
          ),
        }),
        tags: ['logs'],
        querystring: listLogsQuery(ctx.types, ctx.config.maxPageSize),
        response: {
          200: ListLogsResponse,
          400: ErrorEnvelope,
          401: ErrorEnvelope,
          404: ErrorEnvelope,
          429: ErrorEnvelope,
          500: ErrorEnvelope,
          503: ErrorEnvelope,
        },
        security: [{ basic: [] }, { bearer: [] }],
      },
    },
    async (request, reply) => {
      const tenantId = request.principal!.tenantId;
      let stored: StoredPage | undefined;
      const wantsLeaves = request.headers[LEAF_INDEX_HEADER] === '1';
      const answer = await listLogs(list, tenantId, request.query, request.id, wantsLeaves ? (p) => (stored = p) : undefined, (bytes) =>
        answers.take(bytes, reply.raw),
      );
      const leaves = wantsLeaves && stored ? await leafIndexHeader(ctx.store, request, tenantId, stored) : undefined;
      if (leaves !== undefined) reply.header(LEAF_INDEX_HEADER, leaves);
      // Audit entries: kept by no cache, shared or the client's.
      reply.header('cache-control', 'no-store');
      // The page is already JSON, encoded (the schema above documents it); it is sent as is.
      return sendInParts(request, (reply as FastifyReply).type('application/json; charset=utf-8'), answer.parts, answer.bytes);
    },
  );
}
