/**
 * `export`: entries per second of `logwarden fetch` writing a range to an NDJSON file, pages of
 * 1,000, unpaced (the bench tenant's limits are raised). The range is the whole data set up to
 * `maxEntries` entries (a stretch in the middle beyond that), so that the command's start-up is
 * a small part of the time. The CLI runs compiled, as an installed `logwarden` does (not through
 * the TypeScript loader), and the time is its whole run, start-up included, as a user sees it;
 * the start-up alone (`fetch --help`) is reported beside it.
 */
import { closeSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '../lib/http.ts';
import { buildCli, logwarden } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import { authHeader, firstPagePath, iso, type Target } from '../lib/target.ts';

export interface ExportOptions {
  /** The most entries an export reads (the whole data set when it holds no more). */
  readonly maxEntries: number;
  readonly runs: number;
  readonly workDir: string;
  /** Arguments for node running the `fetch` command (e.g. `--cpu-prof`). */
  readonly clientNodeArgs?: readonly string[];
}

export interface ExportFigures {
  readonly entriesPerSecond: number;
  readonly runs: number[];
  readonly entries: number;
  readonly megabytes: number;
  readonly pageSize: number;
  /** Median wall time of `logwarden fetch --help` with the same compiled CLI: the start-up in each run. */
  readonly startupMs: number;
}

const PAGE_SIZE = 1000;

/** Lines of `file`, read a chunk at a time (an export of millions of entries is larger than a Buffer can be). */
function lines(file: string): number {
  const chunk = Buffer.allocUnsafe(8 << 20);
  const fd = openSync(file, 'r');
  let n = 0;
  try {
    for (let read = readSync(fd, chunk); read > 0; read = readSync(fd, chunk)) {
      for (let i = chunk.indexOf(10); i !== -1 && i < read; i = chunk.indexOf(10, i + 1)) n++;
    }
  } finally {
    closeSync(fd);
  }
  return n;
}

export async function measureExport(t: Target, o: ExportOptions): Promise<ExportFigures> {
  const span = t.dataset.toMs - t.dataset.fromMs;
  const share = Math.min(1, o.maxEntries / t.dataset.entries);
  // The whole data set, or a stretch in its middle holding about maxEntries.
  const fromMs = share === 1 ? t.dataset.fromMs : t.dataset.fromMs + Math.floor((span * (1 - share)) / 2);
  const toMs = share === 1 ? t.dataset.toMs : fromMs + Math.floor(span * share);
  const first = await expect(200, t.server.url + firstPagePath(t, fromMs, toMs), { headers: authHeader(t) });
  const entries = (JSON.parse(first.body) as { records: { totalRecords: number } }).records.totalRecords;
  const compiled = await buildCli();
  const startups: number[] = [];
  for (let i = 0; i < 3; i++) startups.push((await logwarden(['fetch', '--help'], {}, 60_000, { compiled })).ms);
  const out = join(o.workDir, `export-${t.kind}.ndjson`);
  const rates: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < o.runs; i++) {
      rmSync(out, { force: true });
      const r = await logwarden(
        [
          'fetch',
          '--url',
          t.server.url,
          '--type',
          t.dataset.logType,
          '--from',
          iso(fromMs),
          '--to',
          iso(toMs),
          '--format',
          'ndjson',
          '--rate',
          '0',
          '--page-size',
          String(PAGE_SIZE),
          '--out',
          out,
        ],
        { LOGWARDEN_ACCESS_KEY: t.dataset.accessKey, LOGWARDEN_SECRET: t.dataset.secret },
        10 * 60_000,
        { compiled, nodeArgs: o.clientNodeArgs ?? [] },
      );
      const written = lines(out);
      if (written !== entries) throw new Error(`fetch wrote ${written} entries, the range holds ${entries}`);
      bytes = statSync(out).size;
      rates.push(entries / (r.ms / 1000));
    }
  } finally {
    rmSync(out, { force: true });
  }
  return {
    entriesPerSecond: round(median(rates)),
    runs: rates.map((r) => round(r)),
    entries,
    megabytes: round(bytes / 1024 ** 2, 1),
    pageSize: PAGE_SIZE,
    startupMs: round(median(startups)),
  };
}
