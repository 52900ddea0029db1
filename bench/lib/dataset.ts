/**
 * The large data set the read figures are measured on: one tenant with ten million AccessLog
 * entries over 30 days, made by `logwarden seed` once and kept outside the repository. Its
 * name carries a digest of the generator's and the schema's sources and of the parameters,
 * so a change to either makes a new one (and older ones are removed: each is ~10 GB).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { sqliteJsonBytes } from './disk.ts';
import { logwarden, ROOT, type StoreLocation, storeArgs } from './processes.ts';

export const DAY_MS = 86_400_000;

export interface DatasetSpec {
  readonly entries: number;
  readonly days: number;
  /** End of the covered range (exclusive). */
  readonly until: string;
  readonly seed: number;
  readonly logType: string;
}

export interface Dataset extends DatasetSpec {
  readonly tenantId: string;
  readonly accessKey: string;
  readonly secret: string;
  readonly fromMs: number;
  readonly toMs: number;
  /** How long loading the entries took (only when made by this run). */
  readonly seedSeconds?: number;
  /** How long sealing them into segments took afterwards (SQLite; only when made by this run). */
  readonly sealSeconds?: number;
  /** The entries' wire texts, UTF-8 bytes (SQLite: read back from the store; see disk.ts). */
  readonly jsonBytes?: number;
}

export const DEFAULT_SPEC: DatasetSpec = { entries: 10_000_000, days: 30, until: '2026-01-31T00:00:00Z', seed: 1, logType: 'AccessLog' };

/** Sources whose change may change the stored data: the generator, the entry format, the store (schema, file settings). */
const SOURCES = ['src/logs/entry.ts', 'src/logs/time.ts'];
const SOURCE_DIRS = ['src/demo'];

function sourceDigest(kind: 'sqlite' | 'postgres'): string {
  const h = createHash('sha256');
  const files = [
    ...SOURCES,
    `src/store/${kind}/migrations.ts`,
    `src/store/${kind}/index.ts`,
    // How the store lays out sealed entries, which the data set keeps.
    'src/store/segment-codec.ts',
    ...SOURCE_DIRS.flatMap((d) =>
      readdirSync(join(ROOT, d))
        .sort()
        .map((f) => `${d}/${f}`),
    ),
  ];
  for (const f of files)
    h.update(f)
      .update('\0')
      .update(readFileSync(join(ROOT, f)))
      .update('\0');
  return h.digest('hex');
}

export function datasetName(spec: DatasetSpec, kind: 'sqlite' | 'postgres'): string {
  const digest = createHash('sha256').update(sourceDigest(kind)).update(JSON.stringify(spec)).digest('hex').slice(0, 12);
  return `${kind}-${spec.logType}-${spec.entries}-s${spec.seed}-${digest}`;
}

/** Removes data sets of `kind` other than `keep` from the cache. */
export function pruneDatasets(cacheDir: string, kind: 'sqlite' | 'postgres', keep: string): void {
  if (!existsSync(cacheDir)) return;
  for (const name of readdirSync(cacheDir)) {
    if (name !== keep && name.startsWith(`${kind}-`)) rmSync(join(cacheDir, name), { recursive: true, force: true });
  }
}

/** Creates the tenant and its key (limits raised so the benchmark measures the server, not the limiter), then seeds. */
export async function populate(at: StoreLocation, spec: DatasetSpec, log: (line: string) => void): Promise<Omit<Dataset, keyof DatasetSpec>> {
  const store = storeArgs(at);
  const tenant = JSON.parse((await logwarden(['tenants', 'create', '--name', 'bench', '--json', ...store])).stdout) as { id: string };
  const key = JSON.parse(
    (await logwarden(['keys', 'create', '--tenant', tenant.id, '--scope', 'api:logs:read', '--scope', 'api:logs:write', '--json', ...store])).stdout,
  ) as { accessKey: string; secret: string };
  await logwarden(['tenants', 'limits', tenant.id, '--per-second', '1000000', '--per-day', '1000000000', '--ingest-per-second', '1000000', ...store]);
  const toMs = Date.parse(spec.until);
  const fromMs = toMs - spec.days * DAY_MS;
  let seedSeconds: number | undefined;
  if (spec.entries > 0) {
    log(`seeding ${spec.entries.toLocaleString('en-US')} ${spec.logType} entries…`);
    const args = ['seed', '--tenant', tenant.id, '--entries', String(spec.entries), '--days', String(spec.days), '--until', spec.until];
    args.push('--seed', String(spec.seed), '--types', spec.logType, '--json', ...store);
    const r = await logwarden(args, {}, 60 * 60_000);
    const summary = JSON.parse(r.stdout) as { seconds: number };
    seedSeconds = summary.seconds;
    log(`seeded in ${seedSeconds.toFixed(0)} s`);
  }
  return {
    tenantId: tenant.id,
    accessKey: key.accessKey,
    secret: key.secret,
    fromMs,
    toMs,
    ...(seedSeconds !== undefined && { seedSeconds }),
  };
}

/** The SQLite data set, made on first use. */
export async function sqliteDataset(cacheDir: string, spec: DatasetSpec, log: (line: string) => void): Promise<Dataset & { dataDir: string }> {
  const name = datasetName(spec, 'sqlite');
  const dir = join(cacheDir, name);
  const metaFile = join(dir, 'dataset.json');
  if (existsSync(metaFile)) return { ...(JSON.parse(readFileSync(metaFile, 'utf8')) as Dataset), dataDir: join(dir, 'store') };
  pruneDatasets(cacheDir, 'sqlite', name);
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true });
  log(`making the SQLite data set in ${dir} (once)`);
  const made = await populate({ dataDir: join(partial, 'store') }, spec, log);
  // A server seals entries a few minutes after they are stored; the data set is measured as it
  // is then, every entry sealed.
  log('sealing the entries into segments…');
  const sealStarted = performance.now();
  const store = openSqliteStore({ dataDir: join(partial, 'store'), sealAgeMs: 0 });
  try {
    store.settle();
  } finally {
    await store.close();
  }
  const sealSeconds = Math.round((performance.now() - sealStarted) / 1000);
  log(`sealed in ${sealSeconds} s`);
  // Creating the tenant, its key and its limits wrote a few entries of the tenant's admin trail beside the data set's.
  const { jsonBytes, byType } = sqliteJsonBytes(join(partial, 'store'));
  const entries = byType.get(spec.logType) ?? 0;
  if (entries !== spec.entries) throw new Error(`the data set holds ${entries} ${spec.logType} entries, not ${spec.entries}`);
  const dataset: Dataset = { ...spec, ...made, sealSeconds, jsonBytes };
  writeFileSync(join(partial, 'dataset.json'), JSON.stringify(dataset, null, 2));
  renameSync(partial, dir);
  return { ...dataset, dataDir: join(dir, 'store') };
}
