/**
 * The baseline of the read benchmark: a bare node:http server that answers each recorded path
 * with the very bytes logwarden answered it with (body, content type, a trace id header), and
 * does nothing else. What logwarden adds on top of this is the cost being measured. With a
 * process count, that many processes share the port (node:cluster), as `serve --workers` does.
 *
 *   node --import tsx bench/bare-server.ts PAGES.json [PROCESSES]   (PAGES.json: [[path, body], …])
 */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const processes = Number(process.argv[3] ?? 1);

function serve(onListening: (url: string) => void): void {
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
    if (address && typeof address === 'object') onListening(`http://127.0.0.1:${address.port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}

const announce = (url: string) => void process.stdout.write(`listening on ${url}\n`);

if (processes <= 1) {
  serve(announce);
} else if (cluster.isPrimary) {
  let ready = 0;
  for (let i = 0; i < processes; i++) {
    cluster.fork().on('message', (url: string) => {
      if (++ready === processes) announce(url);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  });
} else {
  serve((url) => process.send!(url));
}
