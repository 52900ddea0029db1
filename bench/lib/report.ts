/** The printed table of a benchmark run, from its results. */
import type { AuditFigures } from '../measure/audit.ts';
import type { ExportFigures } from '../measure/export.ts';
import type { IngestFigures } from '../measure/ingest.ts';
import type { PagesFigures } from '../measure/pages.ts';
import type { ReadFigures } from '../measure/read.ts';
import type { SoakFigures } from '../measure/soak.ts';

/** A progress line on stderr, prefixed with the seconds since `startedMs`. */
export function progressLog(startedMs: number): (line: string) => void {
  return (line) => void process.stderr.write(`[${((Date.now() - startedMs) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
}

export interface StoreResults {
  readonly read: ReadFigures;
  readonly deepPage: {
    readonly deepMs: number;
    readonly firstMs: number;
    readonly ratio: number;
    readonly deepP99Ms: number;
    readonly pageNumbers: string;
  };
  readonly firstPageTotal: { readonly medianMs: number; readonly p99Ms: number; readonly totalRecords: number };
  readonly ingest: IngestFigures;
  readonly export: ExportFigures;
  readonly audit: AuditFigures;
  readonly load: SoakFigures;
  /** What the read data set takes on disk, against its entries' JSON (when the store kind measures it). */
  readonly disk?: DiskFigures;
}

export interface DiskFigures {
  /** SQLite: database file + WAL after a truncating checkpoint. PostgreSQL: relation sizes incl. indexes and TOAST. */
  readonly databaseBytes: number;
  /** The data set's entries as JSON (their wire texts, UTF-8). */
  readonly jsonBytes: number;
  readonly ratio: number;
}

/** The bars of issues 10 and 11 (SPEC §10 as revised), per store kind where they differ. */
export const BARS = {
  readRatio: { sqlite: 1 / 3, postgres: 0.25 },
  deepOverFirst: 1.5,
  ingestRatio: 0.4,
  ingestEntriesPerSecondPostgres: 40_000,
  diskRatio: { sqlite: 0.25, postgres: 0.35 },
  exportEntriesPerSecond: 100_000,
  auditLeavesPerSecond: 200_000,
  checkpointLagP99Ms: 1000,
} as const;

export interface Bar {
  readonly value: number | null;
  readonly atLeast?: number;
  readonly atMost?: number;
  /** null when not measured. */
  readonly met: boolean | null;
  readonly [detail: string]: unknown;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const atLeast = (value: number | null, bar: number, detail: Record<string, unknown> = {}): Bar => ({
  value,
  atLeast: r3(bar),
  met: value === null ? null : value >= bar,
  ...detail,
});
const atMost = (value: number | null, bar: number, detail: Record<string, unknown> = {}): Bar => ({
  value,
  atMost: bar,
  met: value === null ? null : value <= bar,
  ...detail,
});

/** A figure reported without a bar for this store kind. */
const unbarred = (value: number, detail: Record<string, unknown> = {}): Bar => ({ value, met: null, ...detail });

/** One store kind's bars, as `latest.json` reports them under `bars.<figure>.<kind>`. */
export function storeBars(kind: 'sqlite' | 'postgres', r: StoreResults): Record<string, Bar> {
  const audit = {
    leaves: r.audit.leaves,
    perClientCpuSecond: r.audit.leavesPerClientCpuSecond,
    perServerCpuSecond: r.audit.leavesPerServerCpuSecond,
  };
  return {
    diskRatio: atMost(
      r.disk?.ratio ?? null,
      BARS.diskRatio[kind],
      r.disk ? { databaseBytes: r.disk.databaseBytes, jsonBytes: r.disk.jsonBytes } : {},
    ),
    readRatio: atLeast(r.read.ratio, BARS.readRatio[kind], {
      note: 'one process each',
      perCoreEach: r.read.perCore?.ratio ?? null,
      eachAtItsBest: r.read.best.ratio,
    }),
    deepOverFirst: atMost(r.deepPage.ratio, BARS.deepOverFirst, { deepMs: r.deepPage.deepMs, firstMs: r.deepPage.firstMs }),
    ingest:
      kind === 'sqlite'
        ? atLeast(r.ingest.ratio, BARS.ingestRatio, { note: 'HTTP ÷ bare insert loop', entriesPerSecond: r.ingest.logwardenEntriesPerSecond })
        : atLeast(r.ingest.logwardenEntriesPerSecond, BARS.ingestEntriesPerSecondPostgres, { note: 'entries/s' }),
    exportEntriesPerSecond: kind === 'sqlite' ? atLeast(r.export.entriesPerSecond, BARS.exportEntriesPerSecond) : unbarred(r.export.entriesPerSecond),
    auditLeavesPerSecond:
      kind === 'sqlite' ? atLeast(r.audit.leavesPerSecond, BARS.auditLeavesPerSecond, audit) : unbarred(r.audit.leavesPerSecond, audit),
    checkpointLagP99Ms: atMost(r.ingest.checkpointLagMs.p99, BARS.checkpointLagP99Ms, {
      note: 'from each ingest 201 until a signed checkpoint covers it',
      maxMs: r.ingest.checkpointLagMs.max,
      batches: r.ingest.checkpointLagMs.batches,
    }),
  };
}

/**
 * The `bars` object of `latest.json`: for each figure, one entry per store kind (null when that
 * kind was not measured in this run).
 */
export function barsOf(results: {
  readonly sqlite: StoreResults | null;
  readonly postgres: StoreResults | null;
}): Record<string, Record<'sqlite' | 'postgres', Bar | null>> {
  const sqlite = results.sqlite && storeBars('sqlite', results.sqlite);
  const postgres = results.postgres && storeBars('postgres', results.postgres);
  const out: Record<string, Record<'sqlite' | 'postgres', Bar | null>> = {};
  for (const figure of Object.keys(sqlite ?? postgres ?? {}))
    out[figure] = { sqlite: sqlite?.[figure] ?? null, postgres: postgres?.[figure] ?? null };
  return out;
}

export function storeResults(
  read: ReadFigures,
  pages: PagesFigures,
  ingest: IngestFigures,
  exported: ExportFigures,
  audit: AuditFigures,
  soak: SoakFigures,
  disk?: DiskFigures,
): StoreResults {
  return {
    ...(disk && { disk }),
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
    audit,
    load: soak,
  };
}

const n = (x: number, digits = 0): string => x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (x: number): string => `${n(x, 2)} ms`;
const processes = (k: number): string => (k === 1 ? '1 process' : `${k} processes`);

function rows(kind: 'sqlite' | 'postgres', r: StoreResults): Array<[string, string, string, string]> {
  const bars = storeBars(kind, r);
  const met = (bar: Bar): string =>
    bar.met === null
      ? ''
      : `${bar.met ? 'met' : 'MISSED'} (${bar.atLeast !== undefined ? `>= ${n(bar.atLeast, bar.atLeast < 10 ? 2 : 0)}` : `<= ${n(bar.atMost!, 2)}`})`;
  return [
    ...(r.disk
      ? [
          [
            "disk: database bytes ÷ the entries' JSON bytes",
            `${n(r.disk.databaseBytes / 1024 ** 2, 1)} MiB for ${n(r.disk.jsonBytes / 1024 ** 2, 1)} MiB`,
            n(r.disk.ratio, 3),
            met(bars.diskRatio!),
          ] as [string, string, string, string],
        ]
      : []),
    [
      'read: 100-entry cursor pages, req/s, 1 process each',
      `${n(r.read.logwarden.requestsPerSecond)} vs bare ${n(r.read.bare.requestsPerSecond)}; CPU/req ${n(r.read.logwarden.cpuUsPerRequest)} vs ${n(r.read.bare.cpuUsPerRequest)} µs`,
      n(r.read.ratio, 3),
      met(bars.readRatio!),
    ],
    [
      'read, each side at its best',
      `${n(r.read.best.logwarden.requestsPerSecond)} (${processes(r.read.best.logwarden.processes)}) vs bare ${n(r.read.best.bare.requestsPerSecond)} (${processes(r.read.best.bare.processes)})`,
      n(r.read.best.ratio, 3),
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
      met(bars.deepOverFirst!),
    ],
    [
      `firstPageTotal: first page counting ${n(r.firstPageTotal.totalRecords)}`,
      `${ms(r.firstPageTotal.medianMs)} (p99 ${ms(r.firstPageTotal.p99Ms)})`,
      '',
      '',
    ],
    [
      'ingest: HTTP JSON batches, entries/s',
      r.ingest.bareEntriesPerSecond === null
        ? n(r.ingest.logwardenEntriesPerSecond)
        : `${n(r.ingest.logwardenEntriesPerSecond)} vs bare ${n(r.ingest.bareEntriesPerSecond)}`,
      r.ingest.ratio === null ? '' : n(r.ingest.ratio, 3),
      met(bars.ingest!),
    ],
    [
      'export: logwarden fetch to NDJSON, entries/s',
      `${n(r.export.entriesPerSecond)} (${n(r.export.entries)} entries; start-up ${n(r.export.startupMs)} ms)`,
      '',
      met(bars.exportEntriesPerSecond!),
    ],
    [
      'audit: verify from leaf 0, leaves/s',
      `${n(r.audit.leavesPerSecond)} (${n(r.audit.leaves)} leaves; per CPU-second: client ${n(r.audit.leavesPerClientCpuSecond)}, server ${n(r.audit.leavesPerServerCpuSecond)})`,
      '',
      met(bars.auditLeavesPerSecond!),
    ],
    [
      'checkpoint: from an ingest 201 until signed',
      `p99 ${ms(r.ingest.checkpointLagMs.p99)} (p50 ${ms(r.ingest.checkpointLagMs.p50)}, max ${ms(r.ingest.checkpointLagMs.max)}; ${r.ingest.checkpointLagMs.batches} batches)`,
      '',
      met(bars.checkpointLagP99Ms!),
    ],
    [
      `load: ${r.load.seconds} s at ${r.load.connections} connections`,
      `${n(r.load.requestsPerSecond)} req/s, ${r.load.status5xx} 5xx, RSS ${n(r.load.rssStartMiB)} -> ${n(r.load.rssEndMiB)} MiB`,
      '',
      r.load.status5xx === 0 && r.load.errors === 0 ? 'no 5xx' : 'FAILURES',
    ],
  ];
}

export function formatTable(sections: ReadonlyArray<readonly [title: string, kind: 'sqlite' | 'postgres', results: StoreResults]>): string {
  const head: [string, string, string, string] = ['measurement', 'result', 'ratio', 'bar'];
  const body: string[][] = [];
  for (const [title, kind, r] of sections) {
    body.push([`[${title}]`, '', '', '']);
    body.push(...rows(kind, r));
  }
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}
