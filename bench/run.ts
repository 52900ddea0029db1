/**
 * `npm run bench` — every measurement of SPEC §10, side by side in one run: prints a table and
 * writes bench/results/latest.json. See docs/benchmarks.md for what each figure and baseline
 * means.
 *
 *   npm run bench [-- --cache DIR --entries N --pg-entries N --quick --no-postgres]
 *
 * --cache        where the large data set is kept between runs (default ~/.cache/logwarden-bench)
 * --entries      size of the SQLite data set (default 10,000,000)
 * --pg-entries   size of the PostgreSQL data set, loaded into a new cluster at every run (default 2,000,000)
 * --quick        short runs, to try the harness (figures not comparable)
 * --no-postgres  SQLite only
 * --no-sqlite    PostgreSQL only
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type Dataset, DEFAULT_SPEC, sqliteDataset } from './lib/dataset.ts';
import { sqliteDatabaseBytes } from './lib/disk.ts';
import { closeConnections } from './lib/http.ts';
import { describeMachine } from './lib/machine.ts';
import { ROOT, startLogwarden } from './lib/processes.ts';
import { barsOf, type DiskFigures, formatTable, progressLog, type StoreResults, storeResults } from './lib/report.ts';
import { sqliteTarget, type Target } from './lib/target.ts';
import { measureAudit } from './measure/audit.ts';
import { measureExport } from './measure/export.ts';
import { type IngestStores, measureIngest } from './measure/ingest.ts';
import { measurePages } from './measure/pages.ts';
import { cursorPaths, measureRead } from './measure/read.ts';
import { measureSoak } from './measure/soak.ts';
import { type PostgresSection, postgresSection } from './postgres.ts';

/** PostgreSQL loads ~25,000 entries/s here: ten million would take most of the run's time budget. */
const PG_ENTRIES = 2_000_000;

const { values: flags } = parseArgs({
  options: {
    cache: { type: 'string', default: join(homedir(), '.cache', 'logwarden-bench') },
    entries: { type: 'string', default: String(DEFAULT_SPEC.entries) },
    'pg-entries': { type: 'string', default: String(PG_ENTRIES) },
    quick: { type: 'boolean', default: false },
    'no-postgres': { type: 'boolean', default: false },
    'no-sqlite': { type: 'boolean', default: false },
  },
});

const quick = flags.quick;
const PLAN = {
  read: {
    pages: 400,
    connections: 16,
    seconds: quick ? 3 : 10,
    warmupSeconds: quick ? 1 : 3,
    runs: quick ? 1 : 5,
    workers: Math.max(2, availableParallelism()),
  },
  pages: { ranges: 20, samples: quick ? 60 : 400 },
  ingest: { entries: quick ? 30_000 : 200_000, warmupEntries: quick ? 5000 : 20_000, runs: quick ? 1 : 3 },
  export: { maxEntries: quick ? 50_000 : 2_000_000, runs: quick ? 1 : 3 },
  soak: { seconds: quick ? 10 : 60, connections: 64 },
  audit: { runs: quick ? 1 : 3, concurrency: 16 },
};

const started = Date.now();
const log = progressLog(started);
const spec = { ...DEFAULT_SPEC, entries: Number(flags.entries) };
const cacheDir = flags.cache;
const workDir = join(cacheDir, `work-${process.pid}`);
mkdirSync(workDir, { recursive: true });
// Cursors and tokens of the servers under test; the benchmark makes deep cursors with it.
const signingKey = randomBytes(32).toString('base64url');

/** Everything measured against one store kind, reads on the large data set. */
async function measureStore(target: Target, ingestStores: IngestStores, disk?: DiskFigures): Promise<StoreResults> {
  log(`${target.kind}: collecting cursor pages`);
  const paths = await cursorPaths(target, PLAN.read.pages);
  log(
    `${target.kind}: read (logwarden and bare node:http, 1 and ${PLAN.read.workers} processes each, ${PLAN.read.runs} x ${PLAN.read.seconds} s each)`,
  );
  const many = await startLogwarden(target.location, signingKey, PLAN.read.workers);
  let read;
  try {
    read = await measureRead(target, paths, { ...PLAN.read, workDir }, { server: many, processes: PLAN.read.workers });
  } finally {
    await many.stop();
  }
  log(`${target.kind}: deep page vs first page`);
  const pages = await measurePages(target, PLAN.pages);
  log(`${target.kind}: export with logwarden fetch`);
  const exported = await measureExport(target, { ...PLAN.export, workDir });
  log(`${target.kind}: verify's audit from leaf 0 (${PLAN.audit.runs} runs)`);
  const audit = await measureAudit({ server: target.server, ...target.dataset }, PLAN.audit);
  log(`${target.kind}: ${PLAN.soak.seconds} s of load at ${PLAN.soak.connections} connections`);
  const soak = await measureSoak(target, paths, PLAN.soak);
  log(`${target.kind}: ingest over HTTP${ingestStores.bare ? ' vs bare better-sqlite3' : ''}`);
  const ingest = await measureIngest(ingestStores, { ...PLAN.ingest, workDir }, signingKey);
  return storeResults(read, pages, ingest, exported, audit, soak, disk);
}

function publicDataset(d: Dataset): Omit<Dataset, 'accessKey' | 'secret'> {
  const { accessKey: _k, secret: _s, ...rest } = d;
  return rest;
}

async function sqliteSection(): Promise<{ results: StoreResults; dataset: Dataset }> {
  const dataset = await sqliteDataset(cacheDir, spec, log);
  // Measured before any server opens it: what the data set takes at rest.
  const databaseBytes = sqliteDatabaseBytes(dataset.dataDir);
  const disk: DiskFigures | undefined =
    dataset.jsonBytes === undefined ? undefined : { databaseBytes, jsonBytes: dataset.jsonBytes, ratio: round3(databaseBytes / dataset.jsonBytes) };
  log(`sqlite: the data set takes ${(databaseBytes / 1024 ** 2).toFixed(1)} MiB on disk${disk ? ` (${disk.ratio} of its JSON)` : ''}`);
  const server = await startLogwarden({ dataDir: dataset.dataDir }, signingKey);
  try {
    const target: Target = sqliteTarget(server, dataset, signingKey);
    const ingestStores: IngestStores = {
      bare: true,
      async fresh(i) {
        const dataDir = join(workDir, `ingest-${i}`);
        rmSync(dataDir, { recursive: true, force: true });
        return { at: { dataDir }, dispose: async () => rmSync(dataDir, { recursive: true, force: true }) };
      },
    };
    return { results: await measureStore(target, ingestStores, disk), dataset };
  } finally {
    await server.stop();
  }
}

try {
  const machine = describeMachine();
  log(`machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, Node ${machine.node}`);
  const sqlite = flags['no-sqlite'] ? null : await sqliteSection();
  const pgSpec = { ...spec, entries: Number(flags['pg-entries']) };
  const postgres: PostgresSection = flags['no-postgres']
    ? { skipped: '--no-postgres' }
    : await postgresSection({ spec: pgSpec, signingKey, log, measure: measureStore });
  const seconds = Math.round((Date.now() - started) / 1000);
  const r = sqlite?.results ?? null;
  const results = {
    command: `npm run bench${quick ? ' -- --quick' : ''}`,
    startedAt: new Date(started).toISOString(),
    seconds,
    machine,
    dataset: sqlite ? publicDataset(sqlite.dataset) : null,
    plan: PLAN,
    // One entry per figure, each with a value per store kind (null where not measured).
    bars: {
      ...barsOf({ sqlite: r, postgres: 'results' in postgres ? postgres.results : null }),
      load: r && { status5xx: r.load.status5xx, rssStartMiB: r.load.rssStartMiB, rssEndMiB: r.load.rssEndMiB },
    },
    sqlite: r ?? { skipped: '--no-sqlite' },
    postgres: 'results' in postgres ? { ...postgres.results, dataset: publicDataset(postgres.dataset) } : postgres,
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  const sections: Array<[string, 'sqlite' | 'postgres', StoreResults]> = r ? [['SQLite', 'sqlite', r]] : [];
  if ('results' in postgres) sections.push(['PostgreSQL', 'postgres', postgres.results]);
  process.stdout.write(`\n${formatTable(sections)}\n\n`);
  if (!('results' in postgres)) process.stdout.write(`PostgreSQL: skipped (${postgres.skipped})\n`);
  process.stdout.write(
    `${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}; data set ${spec.entries.toLocaleString('en-US')} ${spec.logType} entries; ` +
      `${seconds} s in all; written to bench/results/latest.json\n`,
  );
} finally {
  closeConnections();
  rmSync(workDir, { recursive: true, force: true });
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
