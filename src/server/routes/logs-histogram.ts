/**
 * `GET /v2/logs/histogram` — an extension (not in Gong's API): entries of one type per hour
 * over a range, from the stores' hourly tallies. The console draws it above its table.
 */

import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { histogram } from '../../service/logs-histogram.ts';
import type { AppContext } from '../context.ts';
import { ErrorEnvelope } from '../schemas.ts';

export const HistogramQuery = Type.Object({
  logType: Type.String({ description: 'The log type, as for GET /v2/logs.' }),
  fromDateTime: Type.String({ description: 'Inclusive lower bound, as for GET /v2/logs.' }),
  toDateTime: Type.Optional(
    Type.String({
      description:
        'Exclusive upper bound; omitted: no upper bound, as for GET /v2/logs (entries dated later than now are counted), and fromDateTime at most 366 days before now. Given: at most 366 days after fromDateTime.',
    }),
  ),
  userId: Type.Optional(
    Type.String({
      description:
        'Only the entries whose userId is exactly this, as the GET /v2/logs extension (its hours counted from the per-segment user index). Not with userEmailAddress.',
    }),
  ),
  userEmailAddress: Type.Optional(
    Type.String({ description: 'Only the entries whose userEmailAddress is exactly this, as the GET /v2/logs extension. Not with userId.' }),
  ),
  timeZone: Type.Optional(
    Type.String({
      maxLength: 64,
      description:
        'An IANA time zone (e.g. Asia/Kathmandu): each hour in which one of its local midnights falls (zones whose offset is not whole hours) is two buckets split at that midnight, the part before it counted exactly, so that local days can be summed from the buckets. No effect in zones whose offset is whole hours.',
    }),
  ),
});

export const HistogramResponse = Type.Object({
  requestId: Type.String(),
  logType: Type.String(),
  interval: Type.Literal('hour'),
  buckets: Type.Array(
    Type.Object({
      start: Type.String({ description: 'The UTC hour, e.g. 2026-03-01T10:00:00.000Z (with timeZone, or the local midnight that splits it)' }),
      count: Type.Integer({ description: 'Entries stored with an eventTime in that hour.' }),
    }),
    { description: 'Hours with at least one entry, ascending. The first and last hour are counted whole.' },
  ),
});

export function logsHistogramRoute(app: FastifyInstance, ctx: AppContext): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/v2/logs/histogram',
    {
      onRequest: ctx.guard('api:logs:read', 'read'),
      schema: {
        summary: 'Entries per hour (extension)',
        description:
          "A logwarden extension, not part of Gong's API: the number of entries of one type in each UTC hour that overlaps " +
          '[fromDateTime, toDateTime), from the hourly tallies the store keeps (no entry is read). Hours without entries are left out. ' +
          'With userId or userEmailAddress (exact, as for GET /v2/logs), the hours of that user’s entries only. ' +
          'Requires scope api:logs:read.',
        tags: ['logs'],
        querystring: HistogramQuery,
        response: { 200: HistogramResponse, 400: ErrorEnvelope, 401: ErrorEnvelope, 429: ErrorEnvelope, 500: ErrorEnvelope, 503: ErrorEnvelope },
        security: [{ basic: [] }, { bearer: [] }],
      },
    },
    async (request, reply) => {
      // A tenant's counts (and a user's, named in the URL): kept by no cache, as pages are not.
      reply.header('cache-control', 'no-store');
      return { requestId: request.id, ...(await histogram(ctx.store, ctx.types, request.principal!.tenantId, request.query, ctx.now())) };
    },
  );
}
