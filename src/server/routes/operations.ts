/** Operational endpoints: liveness, readiness, Prometheus metrics. No authentication. */
import type { FastifyInstance } from 'fastify';
import { LogwardenError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { ErrorEnvelope, HealthResponse } from '../schemas.ts';

export function operationsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { summary: 'Liveness: the process is up', tags: ['operations'], response: { 200: HealthResponse } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    {
      schema: {
        summary: 'Readiness: the store and the rate limits (Redis, when configured) are reachable',
        tags: ['operations'],
        response: { 200: HealthResponse, 503: ErrorEnvelope },
      },
    },
    async (request) => {
      try {
        await ctx.store.health();
      } catch (err) {
        request.log.warn({ err }, 'store not ready');
        throw new LogwardenError('unavailable', ['store unreachable']);
      }
      try {
        await ctx.limiter.health();
      } catch (err) {
        request.log.warn({ err }, 'rate-limit store not ready');
        throw new LogwardenError('unavailable', ['rate-limit store (Redis) unreachable']);
      }
      return { status: 'ready' };
    },
  );

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['operations'], produces: ['text/plain'] } }, async (_request, reply) => {
    const text = await ctx.metrics.text();
    return reply.type(ctx.metrics.registry.contentType).send(text);
  });
}
