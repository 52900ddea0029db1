/**
 * `POST /v2/logs` — ingest (a logwarden extension). A JSON batch of one log type, or NDJSON
 * streamed line by line. Either way the request is all or nothing, and 201 is sent only once
 * the store has durably committed.
 */

import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { invalid, LogwardenError } from '../../errors.ts';
import { LineTooLongError } from '../../logs/ndjson-lines.ts';
import { ingestJsonBatch, ingestNdjson, NoEntriesError } from '../../service/ingest-logs.ts';
import type { AppendResult } from '../../store/store.ts';
import type { AppContext } from '../context.ts';
import { IngestSlots } from '../ingest-slots.ts';
import { ErrorEnvelope, IngestResponse, ingestBatch } from '../schemas.ts';

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

export function ingestLogsRoute(app: FastifyInstance, ctx: AppContext): void {
  const slots = new IngestSlots(ctx.config.maxConcurrentIngests);
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Invalid UTF-8 is refused rather than decoded with replacement characters: an audit
    // record must be stored as sent or not at all.
    // The body stays bytes: the ingest parser takes it entry by entry.
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ctx.config.maxJsonBodyBytes }, (_req, body, done) =>
      isUtf8(body as Buffer) ? done(null, body) : done(invalid('body is not valid UTF-8')),
    );
    scope.addContentTypeParser(NDJSON_TYPES, (_req, payload, done) => done(null, payload));

    scope.post(
      '/v2/logs',
      {
        onRequest: ctx.guard('api:logs:write', 'write'),
        preParsing: slots.take,
        // The body is validated by the ingest parser, which also keeps each logRecord's raw text;
        // the schema below is built from the parser's definitions and documents it.
        validatorCompiler: () => () => true,
        schema: {
          summary: 'Ingest log entries',
          description:
            'logwarden extension. application/json: {"logType", "logEntries": [...]} with up to 10,000 entries. ' +
            'application/x-ndjson: one entry per line, each with its own logType, any size. A logRecord nests at most ' +
            '64 levels deep; an empty body is 400. All or nothing; ' +
            'identical entries are counted as duplicates and stored once. Requires scope api:logs:write.',
          tags: ['logs'],
          consumes: ['application/json', 'application/x-ndjson'],
          body: ingestBatch(ctx.types),
          response: {
            201: IngestResponse,
            400: ErrorEnvelope,
            401: ErrorEnvelope,
            408: ErrorEnvelope,
            413: ErrorEnvelope,
            415: ErrorEnvelope,
            429: ErrorEnvelope,
            500: ErrorEnvelope,
            503: ErrorEnvelope,
          },
          security: [{ basic: [] }, { bearer: [] }],
        },
      },
      async (request, reply) => {
        const tenantId = request.principal!.tenantId;
        let result: AppendResult;
        if (Buffer.isBuffer(request.body)) {
          result = await ingestJsonBatch(ctx.store, tenantId, request.body, ctx.types);
        } else if (request.body instanceof Readable) {
          result = await ingestNdjsonBody(ctx, tenantId, request.body);
        } else {
          // No body and no Content-Type: Fastify skips the parsers.
          throw invalid('body is empty: send entries as application/json, or application/x-ndjson');
        }
        ctx.metrics.ingested.inc(result.accepted);
        ctx.metrics.duplicates.inc(result.duplicates);
        return reply.code(201).send({ requestId: request.id, accepted: result.accepted, duplicates: result.duplicates });
      },
    );
  });
}

async function ingestNdjsonBody(ctx: AppContext, tenantId: string, body: Readable): Promise<AppendResult> {
  const options = { types: ctx.types, memoryBytes: ctx.config.ndjsonMemoryBytes, maxLineBytes: ctx.config.maxNdjsonLineBytes };
  try {
    return await ingestNdjson(ctx.store, tenantId, body, options);
  } catch (err) {
    if (err instanceof NoEntriesError)
      throw invalid('body has no entries (it is empty or blank): send one JSON object per line, each with its logType');
    if (err instanceof LineTooLongError) {
      throw new LogwardenError('payload_too_large', [`line ${err.lineNo}: longer than the limit of ${err.maxBytes} bytes per NDJSON line`]);
    }
    throw err;
  }
}
