/**
 * A bound on the ingest requests one process reads at once. Each holds up to a JSON body
 * (32 MiB) or an NDJSON spool's memory budget, and a slow client holds its slot as long as its
 * body keeps arriving; past the bound a request is refused at once with 503 and Retry-After
 * instead of queuing behind them. Slots are taken after authentication, so only a key with
 * write access can hold one, and one tenant holds at most half of them (rounded up): a tenant
 * that keeps many slow uploads open cannot shut every other tenant out of ingest.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LogwardenError } from '../errors.ts';

export class IngestSlots {
  private inUse = 0;
  private readonly byTenant = new Map<string, number>();
  /** The most one tenant holds at once. */
  readonly perTenant: number;

  constructor(readonly max: number) {
    this.perTenant = Math.ceil(max / 2);
  }

  /** A preParsing hook: takes a slot for the request, given back when its response is done. */
  readonly take = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const tenant = request.principal?.tenantId ?? '';
    const held = this.byTenant.get(tenant) ?? 0;
    if (this.inUse >= this.max) {
      throw new LogwardenError('unavailable', [`this server is already reading ${this.max} ingest requests (its limit); retry shortly`], {
        'retry-after': '1',
      });
    }
    if (held >= this.perTenant) {
      throw new LogwardenError(
        'unavailable',
        [`this tenant already has ${held} ingest requests being read, its share of this server's ${this.max}; retry shortly`],
        { 'retry-after': '1' },
      );
    }
    this.inUse++;
    this.byTenant.set(tenant, held + 1);
    reply.raw.once('close', () => {
      this.inUse--;
      const left = (this.byTenant.get(tenant) ?? 1) - 1;
      if (left > 0) this.byTenant.set(tenant, left);
      else this.byTenant.delete(tenant);
    });
  };
}
