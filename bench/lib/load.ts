/** Load with autocannon: many connections cycling through a list of paths, for a fixed time. */
import autocannon from 'autocannon';

export interface LoadOptions {
  readonly url: string;
  readonly paths: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  readonly headers?: Record<string, string>;
}

export interface LoadResult {
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly status5xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

export async function load(o: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const r = await autocannon({
    url: o.url,
    connections: o.connections,
    duration: o.seconds,
    pipelining: 1,
    headers: o.headers,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: o.paths[next++ % o.paths.length]! }) }],
  });
  return {
    requestsPerSecond: r.requests.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    status5xx: r['5xx'],
    errors: r.errors,
    timeouts: r.timeouts,
  };
}
