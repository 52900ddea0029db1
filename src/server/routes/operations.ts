/** Operational endpoints: liveness, readiness, Prometheus metrics. No authentication. */
import type { FastifyInstance } from 'fastify';
import { LogwardenError } from '../../errors.ts';
import type { AppContext } from '../context.ts';
import { outOfSpaceLately } from '../error-handler.ts';
import { ErrorEnvelope, HealthResponse } from '../schemas.ts';

/** How long after a write failed for lack of disk space `/readyz` says not ready. */
const OUT_OF_SPACE_READY_MS = 30_000;

const stoppingServers = new WeakSet<object>();

/** Marks the app serving on `server` (its Node HTTP server) as stopping: `/readyz` says not ready from then on. */
export function markStopping(server: object): void {
  stoppingServers.add(server);
}

export function operationsRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.get('/healthz', { schema: { summary: 'Liveness: the process is up', tags: ['operations'], response: { 200: HealthResponse } } }, async () => ({
    status: 'ok',
  }));

  app.get(
    '/readyz',
    {
      schema: {
        summary:
          'Readiness: the server is not stopping, the store and the rate limits (Redis, when configured) are reachable, and no write failed for lack of disk space in the last 30 s',
        tags: ['operations'],
        response: { 200: HealthResponse, 503: ErrorEnvelope },
      },
    },
    async (request) => {
      // A load balancer that checks over a connection it keeps open sends no new work to a
      // server that is stopping; what it already sent is still answered.
      if (stoppingServers.has(request.server.server)) throw new LogwardenError('unavailable', ['server stopping']);
      try {
        await ctx.store.health();
      } catch (err) {
        request.log.warn({ err }, 'store not ready');
        throw new LogwardenError('unavailable', ['store unreachable']);
      }
      // Reads still work on a full disk, but no write does: not ready until a write may succeed again.
      if (outOfSpaceLately(request.server.server, OUT_OF_SPACE_READY_MS)) {
        request.log.warn('store out of disk space');
        throw new LogwardenError('unavailable', ['store out of disk space: writes are refused; free space']);
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
