/**
 * `/console` — the web console (src/console/): one HTML page, its script and stylesheet, all
 * from this server (no CDN), under a policy that lets the page talk to this server only. The page
 * names its script, stylesheet and API paths relative to its own address, so that it works
 * under a path prefix a reverse proxy adds (`/audit/console` served from `/console`); asked
 * for as `/console/`, it redirects to `/console` (relatively) for them to resolve.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Asset, type ConsoleAssets, loadConsoleAssets } from '../console-assets.ts';

const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>logwarden console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="console/console.css">
<script type="module" src="console/console.js"></script>
</head>
<body>
<div id="app"></div>
<noscript>The logwarden console needs JavaScript. The API reference is at <a href="docs/">/docs</a>.</noscript>
</body>
</html>
`;

const HEADERS = {
  'content-security-policy': POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

function send(request: FastifyRequest, reply: FastifyReply, a: Asset): FastifyReply {
  void reply.headers({ ...HEADERS, etag: a.etag, vary: 'accept-encoding' }).type(a.type);
  if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

export function consoleRoutes(app: FastifyInstance): void {
  let assets: Promise<ConsoleAssets> | undefined;
  // Loaded on first use; a failed build is retried on the next request rather than kept.
  const load = (): Promise<ConsoleAssets> =>
    (assets ??= loadConsoleAssets().catch((err: unknown) => {
      assets = undefined;
      throw err;
    }));
  const hide = { schema: { hide: true } };
  app.get('/console', hide, async (request, reply) => {
    // The router takes `/console/` too: relative paths would resolve below it.
    if (request.url.split('?', 1)[0]!.endsWith('/')) return reply.redirect('../console', 302);
    return reply.headers(HEADERS).type('text/html; charset=utf-8').send(PAGE);
  });
  app.get('/console/console.js', hide, async (request, reply) => send(request, reply, (await load()).js));
  app.get('/console/console.css', hide, async (request, reply) => send(request, reply, (await load()).css));
}
