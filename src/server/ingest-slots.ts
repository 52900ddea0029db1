/**
 * A bound on the ingest requests one process reads at once. Each holds up to a JSON body
 * (32 MiB) or an NDJSON spool's memory budget, and a slow client holds its slot as long as its
 * body keeps arriving; past the bound a request is refused at once with 503 and Retry-After
 * instead of queuing behind them. Slots are taken after authentication, so only a key with
 * write access can hold one.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LogwardenError } from '../errors.ts';

export class IngestSlots {
  private inUse = 0;

  constructor(readonly max: number) {}

  /** A preParsing hook: takes a slot for the request, given back when its response is done. */
  readonly take = async (_request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (this.inUse >= this.max) {
      throw new LogwardenError('unavailable', [`this server is already reading ${this.max} ingest requests (its limit); retry shortly`], {
        'retry-after': '1',
      });
    }
    this.inUse++;
    reply.raw.once('close', () => this.inUse--);
  };
}
