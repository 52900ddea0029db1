/**
 * `load`: a minute of cursor-page reads on 64 connections against one server, with its memory
 * sampled throughout (SPEC §10: no 5xx, flat memory).
 */
import { load } from '../lib/load.ts';
import { round } from '../lib/stats.ts';
import { authHeader, type Target } from '../lib/target.ts';

export interface SoakOptions {
  readonly seconds: number;
  readonly connections: number;
}

export interface SoakFigures {
  readonly seconds: number;
  readonly connections: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly status5xx: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly latencyP99Ms: number;
  readonly rssStartMiB: number;
  readonly rssEndMiB: number;
  readonly rssMaxMiB: number;
  /** RSS every few seconds, MiB. */
  readonly rssSamplesMiB: number[];
}

export async function measureSoak(t: Target, paths: readonly string[], o: SoakOptions): Promise<SoakFigures> {
  const samples = [t.server.rssMiB()];
  const timer = setInterval(() => samples.push(t.server.rssMiB()), 5000);
  let r;
  try {
    r = await load({ url: t.server.url, paths, connections: o.connections, seconds: o.seconds, headers: authHeader(t) });
  } finally {
    clearInterval(timer);
  }
  samples.push(t.server.rssMiB());
  return {
    seconds: o.seconds,
    connections: o.connections,
    requests: r.requests,
    requestsPerSecond: round(r.requestsPerSecond),
    status5xx: r.status5xx,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    latencyP99Ms: r.latencyP99Ms,
    rssStartMiB: samples[0]!,
    rssEndMiB: samples[samples.length - 1]!,
    rssMaxMiB: Math.max(...samples),
    rssSamplesMiB: samples,
  };
}
