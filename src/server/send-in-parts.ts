/**
 * An answer whose body comes in parts, sent without joining them: a page of `GET /v2/logs` is
 * its head, the stored texts and its end (service/list-logs.ts). Fastify sends one buffer per
 * answer, and joining an 80 KB page into one cost a page 5-9 µs of the server's CPU more than
 * handing the parts to the socket (docs/benchmarks.md).
 *
 * The answer is what Fastify's `send` would make of the parts joined: the status and headers the
 * reply holds, then `Content-Length`, after the onSend hook's `Connection: close` (the only
 * onSend hook there is, body-timeout.ts), and the body. It leaves in one write, as Fastify's
 * does. Fastify's onResponse hooks (the request's log line and metrics) run when it finishes,
 * as for every answer.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { closeIfBodyUnread } from './body-timeout.ts';

export function sendInParts(request: FastifyRequest, reply: FastifyReply, parts: readonly Buffer[], bytes: number): FastifyReply {
  if (parts.length === 1) return reply.send(parts[0]);
  closeIfBodyUnread(request, reply);
  reply.header('content-length', String(bytes));
  reply.hijack();
  const res = reply.raw;
  res.writeHead(reply.statusCode, reply.getHeaders() as OutgoingHttpHeaders);
  // Corked until `end`: the headers and every part go to the socket together (one writev).
  res.cork();
  for (let i = 0; i < parts.length - 1; i++) res.write(parts[i]);
  res.end(parts[parts.length - 1]);
  return reply;
}
