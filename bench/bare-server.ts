/**
 * The baseline of the read benchmark: a bare node:http server that answers each recorded path
 * with the very bytes logwarden answered it with (body, content type, a trace id header), and
 * does nothing else. What logwarden adds on top of this is the cost being measured.
 *
 *   node --import tsx bench/bare-server.ts PAGES.json   (PAGES.json: [[path, body], …])
 */
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';

const recorded = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Array<[string, string]>;
const pages = new Map(recorded.map(([path, body]) => [path, Buffer.from(body)]));
const TRACE_ID = '0'.repeat(19);

const server = createServer((req, res) => {
  const body = pages.get(req.url ?? '');
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length, 'x-traceid': TRACE_ID });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`listening on http://127.0.0.1:${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
