/**
 * `export`: entries per second of `logwarden fetch` writing a range of about a million entries
 * to an NDJSON file, pages of 1,000, unpaced (the bench tenant's limits are raised). The time is
 * the command's whole run, start-up included, as a user sees it.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '../lib/http.ts';
import { logwarden } from '../lib/processes.ts';
import { median, round } from '../lib/stats.ts';
import { authHeader, firstPagePath, iso, type Target } from '../lib/target.ts';

export interface ExportOptions {
  readonly days: number;
  readonly runs: number;
  readonly workDir: string;
}

export interface ExportFigures {
  readonly entriesPerSecond: number;
  readonly runs: number[];
  readonly entries: number;
  readonly megabytes: number;
  readonly pageSize: number;
}

const PAGE_SIZE = 1000;

function lines(file: string): number {
  const data = readFileSync(file);
  let n = 0;
  for (let i = data.indexOf(10); i !== -1; i = data.indexOf(10, i + 1)) n++;
  return n;
}

export async function measureExport(t: Target, o: ExportOptions): Promise<ExportFigures> {
  // A stretch in the middle of the data set.
  const fromMs = t.dataset.fromMs + Math.floor((t.dataset.toMs - t.dataset.fromMs) / 3);
  const toMs = fromMs + o.days * 86_400_000;
  const first = await expect(200, t.server.url + firstPagePath(t, fromMs, toMs), { headers: authHeader(t) });
  const entries = (JSON.parse(first.body) as { records: { totalRecords: number } }).records.totalRecords;
  const out = join(o.workDir, `export-${t.kind}.ndjson`);
  const rates: number[] = [];
  let bytes = 0;
  try {
    for (let i = 0; i < o.runs; i++) {
      rmSync(out, { force: true });
      const r = await logwarden(
        ['fetch', '--url', t.server.url, '--type', t.dataset.logType, '--from', iso(fromMs), '--to', iso(toMs), '--format', 'ndjson', '--rate', '0', '--page-size', String(PAGE_SIZE), '--out', out],
        { LOGWARDEN_ACCESS_KEY: t.dataset.accessKey, LOGWARDEN_SECRET: t.dataset.secret },
      );
      const written = lines(out);
      if (written !== entries) throw new Error(`fetch wrote ${written} entries, the range holds ${entries}`);
      bytes = statSync(out).size;
      rates.push(entries / (r.ms / 1000));
    }
  } finally {
    rmSync(out, { force: true });
  }
  return { entriesPerSecond: round(median(rates)), runs: rates.map((r) => round(r)), entries, megabytes: round(bytes / 1024 ** 2, 1), pageSize: PAGE_SIZE };
}
