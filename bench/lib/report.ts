/** The printed table of a benchmark run, from its results. */
import type { ExportFigures } from '../measure/export.ts';
import type { IngestFigures } from '../measure/ingest.ts';
import type { PagesFigures } from '../measure/pages.ts';
import type { ReadFigures } from '../measure/read.ts';
import type { SoakFigures } from '../measure/soak.ts';

export interface StoreResults {
  readonly read: ReadFigures;
  readonly deepPage: { readonly deepMs: number; readonly firstMs: number; readonly ratio: number; readonly deepP99Ms: number; readonly pageNumbers: string };
  readonly firstPageTotal: { readonly medianMs: number; readonly p99Ms: number; readonly totalRecords: number };
  readonly ingest: IngestFigures;
  readonly export: ExportFigures;
  readonly load: SoakFigures;
}

export const BARS = { readRatio: 1 / 3, deepOverFirst: 1.5, ingestRatio: 0.25 } as const;

export function storeResults(read: ReadFigures, pages: PagesFigures, ingest: IngestFigures, exported: ExportFigures, soak: SoakFigures): StoreResults {
  return {
    read,
    deepPage: {
      deepMs: pages.deep.medianMs,
      firstMs: pages.first.medianMs,
      ratio: pages.ratio,
      deepP99Ms: pages.deep.p99Ms,
      pageNumbers: `${pages.deep.minPageNumber}-${pages.deep.maxPageNumber}`,
    },
    firstPageTotal: { medianMs: pages.first.medianMs, p99Ms: pages.first.p99Ms, totalRecords: pages.first.totalRecords },
    ingest,
    export: exported,
    load: soak,
  };
}

const n = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (x: number): string => `${n(x, 2)} ms`;
const processes = (k: number): string => (k === 1 ? '1 process' : `${k} processes`);

function rows(r: StoreResults): Array<[string, string, string, string]> {
  const met = (ok: boolean, bar: string): string => `${ok ? 'met' : 'MISSED'} (${bar})`;
  return [
    [
      'read: 100-entry cursor pages, req/s, each side at its best',
      `${n(r.read.best.logwarden.requestsPerSecond)} (${processes(r.read.best.logwarden.processes)}) vs bare ${n(r.read.best.bare.requestsPerSecond)} (${processes(r.read.best.bare.processes)})`,
      n(r.read.best.ratio, 3),
      met(r.read.best.ratio >= BARS.readRatio, '>= 0.33'),
    ],
    [
      'read, 1 process each',
      `${n(r.read.logwarden.requestsPerSecond)} vs bare ${n(r.read.bare.requestsPerSecond)}; CPU/req ${n(r.read.logwarden.cpuUsPerRequest)} vs ${n(r.read.bare.cpuUsPerRequest)} µs`,
      n(r.read.ratio, 3),
      '',
    ],
    ...(r.read.perCore
      ? [
          [
            `read, ${r.read.perCore.logwarden.processes} processes each (serve --workers)`,
            `${n(r.read.perCore.logwarden.requestsPerSecond)} vs bare ${n(r.read.perCore.bare.requestsPerSecond)}`,
            n(r.read.perCore.ratio, 3),
            '',
          ] as [string, string, string, string],
        ]
      : []),
    [
      'deepPage: page deep in the range vs first page',
      `${ms(r.deepPage.deepMs)} vs ${ms(r.deepPage.firstMs)}`,
      n(r.deepPage.ratio, 3),
      met(r.deepPage.ratio <= BARS.deepOverFirst, '<= 1.5'),
    ],
    [
      `firstPageTotal: first page counting ${n(r.firstPageTotal.totalRecords)}`,
      `${ms(r.firstPageTotal.medianMs)} (p99 ${ms(r.firstPageTotal.p99Ms)})`,
      '',
      '',
    ],
    [
      'ingest: HTTP JSON batches, entries/s',
      r.ingest.bareEntriesPerSecond === null ? n(r.ingest.logwardenEntriesPerSecond) : `${n(r.ingest.logwardenEntriesPerSecond)} vs bare ${n(r.ingest.bareEntriesPerSecond)}`,
      r.ingest.ratio === null ? '' : n(r.ingest.ratio, 3),
      r.ingest.ratio === null ? '' : met(r.ingest.ratio >= BARS.ingestRatio, '>= 0.25'),
    ],
    ['export: logwarden fetch to NDJSON, entries/s', `${n(r.export.entriesPerSecond)} (${n(r.export.entries)} entries)`, '', ''],
    [
      `load: ${r.load.seconds} s at ${r.load.connections} connections`,
      `${n(r.load.requestsPerSecond)} req/s, ${r.load.status5xx} 5xx, RSS ${n(r.load.rssStartMiB)} -> ${n(r.load.rssEndMiB)} MiB`,
      '',
      r.load.status5xx === 0 && r.load.errors === 0 ? 'no 5xx' : 'FAILURES',
    ],
  ];
}

export function formatTable(sections: ReadonlyArray<readonly [title: string, results: StoreResults]>): string {
  const head: [string, string, string, string] = ['measurement', 'result', 'ratio', 'bar'];
  const body: string[][] = [];
  for (const [title, r] of sections) {
    body.push([`[${title}]`, '', '', '']);
    body.push(...rows(r));
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
