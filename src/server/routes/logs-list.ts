/** `GET /v2/logs` — Gong's List logs operation. */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { invalid } from '../../errors.ts';
import { type ListLogsContext, listLogs, unknownLogType } from '../../logs/list-logs.ts';
import type { LogTypes } from '../../logs/log-types.ts';
import type { AppContext } from '../context.ts';
import { type SchemaProblem, schemaMessage } from '../error-handler.ts';
import { ErrorEnvelope, ListLogsResponse, listLogsQuery } from '../schemas.ts';

/** Today's words for what the query schema refuses (Gong's clients see exactly these). */
function queryProblem(problems: readonly SchemaProblem[], types: LogTypes): string {
  const p = problems[0];
  if (!p) return 'request: is invalid';
  const field = p.instancePath.replace(/^\//, '');
  if ((field === 'logType' || field === 'fromDateTime') && p.data === '') return `${field}: is required`;
  if (p.keyword === 'required' && typeof p.params.missingProperty === 'string') return `${p.params.missingProperty}: is required`;
  if (field === 'logType' && p.keyword === 'enum' && typeof p.data === 'string') return unknownLogType(p.data, types);
  return schemaMessage(p);
}

export function logsListRoute(app: FastifyInstance, ctx: AppContext): void {
  const list: ListLogsContext = {
    store: ctx.store,
    cursors: ctx.cursors,
    types: ctx.types,
    pageSize: ctx.config.pageSize,
    maxPageSize: ctx.config.maxPageSize,
    cursorTtlMs: ctx.config.cursorTtlSeconds * 1000,
    now: ctx.now,
  };
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v2/logs',
    {
      onRequest: ctx.guard('api:logs:read', 'read'),
      schemaErrorFormatter: (problems) => invalid(queryProblem(problems as SchemaProblem[], ctx.types)),
      schema: {
        summary: 'List logs',
        description:
          'Log entries of one type in a half-open time range [fromDateTime, toDateTime), in ascending eventTime, ' +
          '100 per page. Page on with records.cursor. Requires scope api:logs:read.',
        tags: ['logs'],
        querystring: listLogsQuery(ctx.types),
        response: {
          200: ListLogsResponse,
          400: ErrorEnvelope,
          401: ErrorEnvelope,
          404: ErrorEnvelope,
          429: ErrorEnvelope,
          500: ErrorEnvelope,
        },
        security: [{ basic: [] }, { bearer: [] }],
      },
    },
    async (request, reply) => {
      const page = await listLogs(list, request.principal!.tenantId, request.query, request.id);
      // The page is already JSON, encoded (the schema above documents it); it is sent as is.
      return (reply as FastifyReply).type('application/json; charset=utf-8').send(page);
    },
  );
}
