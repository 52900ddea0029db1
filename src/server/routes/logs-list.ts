/** `GET /v2/logs` — Gong's List logs operation. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { listLogs, type ListLogsContext } from '../../logs/list-logs.ts';
import type { AppContext } from '../context.ts';
import { ErrorEnvelope, ListLogsQuery, ListLogsResponse } from '../schemas.ts';

export function logsListRoute(app: FastifyInstance, ctx: AppContext): void {
  const list: ListLogsContext = {
    store: ctx.store,
    cursors: ctx.cursors,
    types: ctx.types,
    pageSize: ctx.config.pageSize,
    maxPageSize: ctx.config.maxPageSize,
    cursorTtlMs: ctx.config.cursorTtlSeconds * 1000,
    now: Date.now,
  };
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v2/logs',
    {
      onRequest: ctx.guard('api:logs:read', 'read'),
      schema: {
        summary: 'List logs',
        description:
          'Log entries of one type in a half-open time range [fromDateTime, toDateTime), in ascending eventTime, ' +
          '100 per page. Page on with records.cursor. Requires scope api:logs:read.',
        tags: ['logs'],
        querystring: ListLogsQuery,
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
