/** Prometheus metrics of one app instance (its own registry, so several apps in one process don't clash). */
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'logwarden_http_requests_total',
    help: 'HTTP requests by route, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'logwarden_http_request_duration_seconds',
    help: 'HTTP request latency by route',
    labelNames: ['route', 'method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly ingested = new Counter({
    name: 'logwarden_entries_ingested_total',
    help: 'Log entries newly stored through the ingest API',
    registers: [this.registry],
  });
  readonly duplicates = new Counter({
    name: 'logwarden_entries_duplicate_total',
    help: 'Ingested log entries already stored (idempotent replays)',
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: 'logwarden_rate_limited_total',
    help: 'Requests rejected by a rate limit, by kind (read, write or token)',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });

  readonly tileCache = new Counter({
    name: 'logwarden_tlog_tile_cache_total',
    help: 'Full tiles and entry bundles of the verifiable log served, by whether they came from the in-memory cache (hit) or the store (miss)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  /** The text a scrape gets: this registry's, or (a worker of `serve --workers`) every worker's. */
  readonly text: () => Promise<string>;

  constructor(options: { processMetrics?: boolean; reader?: (registry: Registry) => () => Promise<string> } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'logwarden_' });
    this.text = options.reader ? options.reader(this.registry) : () => this.registry.metrics();
  }
}
