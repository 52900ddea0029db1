/**
 * Slow request bodies are cut. A client that trickles its body (a byte every few seconds)
 * would otherwise hold a connection, memory and an ingest slot for ever: Fastify's own
 * request timeout is off and a whole-request timeout would cut large NDJSON uploads, which
 * have no size limit. So the rule is about progress: in every window of `requestTimeoutMs`
 * the body must bring at least MIN_BODY_BYTES_PER_SECOND × the window, or the request is
 * answered 408 and its connection closed. A 32 MiB upload passes on any link faster than
 * 8 kbit/s, however long it takes; a trickle is cut at the end of its first window.
 *
 * Headers get the same time (Node's `headersTimeout`, which Node checks every 30 s). A response sent before its request's
 * body was read in full (401, 408, 413, 503) closes the connection, so the rest of a body
 * nobody will read is not drained at the sender's pace.
 */
import { Transform, type TransformCallback } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LogwardenError } from '../errors.ts';

export const MIN_BODY_BYTES_PER_SECOND = 1024;

/** Passes the body through, counting what arrives in each window. */
class BodyProgress extends Transform {
  /** Read by Fastify to compare the body with its Content-Length. */
  receivedEncodedLength = 0;
  private windowBytes = 0;
  private windowStart = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly windowMs: number,
    private readonly minBytes: number,
  ) {
    super();
    this.timer = setInterval(() => this.check(), windowMs);
    // A body's watch never keeps the process alive by itself (its socket does while it is open).
    this.timer.unref();
  }

  private check(): void {
    const now = Date.now();
    // A late timer means this process was busy (bytes may be waiting in the socket), and bytes
    // waiting to be read are the server's delay: neither is held against the client.
    const late = now - this.windowStart > this.windowMs * 1.25;
    this.windowStart = now;
    if (!late && this.windowBytes < this.minBytes && this.readableLength === 0 && this.writableLength === 0) {
      const seconds = this.windowMs / 1000;
      this.destroy(
        new LogwardenError('request_timeout', [
          `request body arrived too slowly: ${this.windowBytes} bytes in ${seconds} s, at least ${this.minBytes} expected (${MIN_BODY_BYTES_PER_SECOND} bytes/s)`,
        ]),
      );
      return;
    }
    this.windowBytes = 0;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.windowBytes += chunk.length;
    this.receivedEncodedLength += chunk.length;
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    clearInterval(this.timer);
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.timer);
    callback(err);
  }
}

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * An answer sent before its request's body was read in full closes the connection: what is left
 * of the body must not be read as the next request. Every answer sent through Fastify gets this
 * from the onSend hook below; one written in parts (send-in-parts.ts) calls it itself.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  if (request.raw.complete === false) reply.header('connection', 'close');
}

export function limitSlowBodies(app: FastifyInstance, requestTimeoutMs: number): void {
  app.server.headersTimeout = requestTimeoutMs;
  const minBytes = Math.max(1, Math.ceil((MIN_BODY_BYTES_PER_SECOND * requestTimeoutMs) / 1000));

  app.addHook('preParsing', (request, reply, payload, done) => {
    if (!hasBody(request)) {
      done(null, payload);
      return;
    }
    const progress = new BodyProgress(requestTimeoutMs, minBytes);
    // The reader of the body (Fastify's, or the NDJSON route) gets the error; this listener only
    // keeps a body nobody reads (the request was refused first) from failing the process.
    progress.on('error', () => {});
    payload.on('error', (err: Error) => progress.destroy(err));
    payload.pipe(progress);
    reply.raw.once('close', () => progress.destroy());
    done(null, progress);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    closeIfBodyUnread(request, reply);
    done(null, payload);
  });
}
