/**
 * `POST /v2/logs` — ingest (a logwarden extension). A JSON batch of one log type, or NDJSON
 * streamed line by line. Either way the request is all or nothing, and 201 is sent only once
 * the store has durably committed.
 */

import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { invalid, LogwardenError } from '../../errors.ts';
import { LineTooLongError } from '../../logs/ndjson-lines.ts';
import { ingestJsonBatch, ingestNdjson, NoEntriesError } from '../../service/ingest-logs.ts';
import type { AppendResult } from '../../store/store.ts';
import type { AppContext } from '../context.ts';
import { errorHandler } from '../error-handler.ts';
import { IngestSlots } from '../ingest-slots.ts';
import { ErrorEnvelope, IngestResponse, ingestBatch } from '../schemas.ts';

const NDJSON_TYPES = ['application/x-ndjson', 'application/ndjson', 'application/jsonl'];

/** The NDJSON body as documented: lines of text, not the JSON batch's object. */
const NDJSON_BODY = Type.String({
  description:
    'One entry per line, each a JSON object with its own logType beside the entry fields, e.g. ' +
    '{"logType":"AccessLog","userId":"5120938476102938475","eventTime":"2026-03-04T09:15:02.117Z","logRecord":{"method":"GET"}}. ' +
    'Lines end with \\n (\\r\\n accepted); blank lines are skipped.',
});

/** What a JSON body starting with a byte-order mark is told (an NDJSON line is told the same, ingest-parse.ts). */
const BOM_REFUSAL = 'body starts with a UTF-8 byte-order mark (EF BB BF): send it without one';

/** A compressed body is not read (it would be refused as text that is not UTF-8, which says nothing of why). */
function encodingRefusal(encoding: string | undefined): LogwardenError | undefined {
  const coding = encoding?.trim().toLowerCase();
  if (coding === undefined || coding === '' || coding === 'identity') return undefined;
  return new LogwardenError('unsupported_media_type', [
    `Content-Encoding ${JSON.stringify(encoding!.slice(0, 40))} is not supported: send the body uncompressed`,
  ]);
}

export function ingestLogsRoute(app: FastifyInstance, ctx: AppContext): void {
  const slots = new IngestSlots(ctx.config.maxConcurrentIngests);
  const reauthorize = ctx.authorize('api:logs:write');
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Invalid UTF-8 is refused rather than decoded with replacement characters: an audit
    // record must be stored as sent or not at all.
    // The body stays bytes: the ingest parser takes it entry by entry.
    scope.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: ctx.config.maxJsonBodyBytes }, (req, body, done) => {
      const refused = encodingRefusal(req.headers['content-encoding']);
      if (refused) return done(refused);
      const bytes = body as Buffer;
      if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return done(invalid(BOM_REFUSAL));
      return isUtf8(bytes) ? done(null, bytes) : done(invalid('body is not valid UTF-8'));
    });
    // A JSON body over the limit is told the limit, and what to send instead.
    scope.setErrorHandler((err, request, reply) => {
      const tooLarge = (err as { code?: unknown }).code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      errorHandler(
        tooLarge
          ? new LogwardenError('payload_too_large', [
              `request body is larger than this server accepts: a JSON batch is at most ${ctx.config.maxJsonBodyBytes} bytes ` +
                '(LOGWARDEN_MAX_JSON_BODY_BYTES); send fewer entries per batch, or NDJSON (application/x-ndjson), which has no total limit',
            ])
          : err,
        request,
        reply,
      );
    });
    scope.addContentTypeParser(NDJSON_TYPES, (req, payload, done) => {
      const refused = encodingRefusal(req.headers['content-encoding']);
      return refused ? done(refused) : done(null, payload);
    });

    scope.post(
      '/v2/logs',
      {
        // A slot before the rate limit: a request refused for want of one (503) is not counted
        // against the tenant's ingest limit (rejected requests do not count).
        onRequest: [reauthorize, slots.take, ctx.limit('write')],
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
          body: {
            content: {
              'application/json': { schema: ingestBatch(ctx.types) },
              'application/x-ndjson': { schema: NDJSON_BODY },
            },
          },
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
        // The credentials were checked when the request began; a body can take long to arrive
        // (NDJSON has no size limit), and a key revoked meanwhile must store nothing more.
        const stillAllowed = () => reauthorize(request);
        let result: AppendResult;
        if (Buffer.isBuffer(request.body)) {
          await stillAllowed();
          result = await ingestJsonBatch(ctx.store, tenantId, request.body, ctx.types);
        } else if (request.body instanceof Readable) {
          result = await ingestNdjsonBody(ctx, tenantId, request.body, stillAllowed);
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

async function ingestNdjsonBody(ctx: AppContext, tenantId: string, body: Readable, beforeAppend: () => Promise<void>): Promise<AppendResult> {
  const options = { types: ctx.types, memoryBytes: ctx.config.ndjsonMemoryBytes, maxLineBytes: ctx.config.maxNdjsonLineBytes, beforeAppend };
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
