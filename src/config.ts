/**
 * Configuration: the only module that reads process.env. Parsed once, typed, frozen; every
 * bad setting is reported in one error. Command-line flags arrive as `overrides`, which win
 * over the environment.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CodedError } from './errors.ts';
import { ACCESS_KEY_PATTERN } from './logs/access-keys.ts';
import { ADMIN_LOG_TYPE } from './logs/log-types.ts';
import { isRetentionDays, MAX_RETENTION_DAYS } from './store/retention-policy.ts';

export interface Config {
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  /**
   * What one connection of `databaseUrl` is: `session`, a PostgreSQL session of its own (a direct
   * connection, or PgBouncer's pool_mode=session); `transaction`, a session only for the length
   * of a transaction (PgBouncer's pool_mode=transaction): then no statement is prepared by name
   * and nothing relies on a session's state.
   */
  readonly databasePoolMode: DatabasePoolMode;
  /**
   * A URL of the same database reaching PostgreSQL itself (or a session pooler), for the work
   * that needs a session of its own: hearing key changes (LISTEN) and rebuilding emptied hot
   * partitions' indexes. Default: `databaseUrl` in session mode; none in transaction mode.
   */
  readonly databaseDirectUrl: string | null;
  readonly redisUrl: string | null;
  readonly host: string;
  readonly port: number;
  /** Overrides the signing secret kept in the store (tokens and cursors). */
  readonly signingKey: string | null;
  readonly bootstrapAccessKey: string | null;
  readonly bootstrapSecret: string | null;
  readonly pageSize: number;
  readonly maxPageSize: number;
  readonly cursorTtlSeconds: number;
  readonly tokenTtlSeconds: number;
  readonly readPerSecond: number;
  readonly readPerDay: number;
  readonly ingestPerSecond: number;
  readonly maxJsonBodyBytes: number;
  readonly maxNdjsonLineBytes: number;
  /** Memory one NDJSON ingest may hold before it spools to an unlinked temporary file. */
  readonly ndjsonMemoryBytes: number;
  /**
   * How long a request may take to send its headers, and the window over which a request body
   * must keep arriving at MIN_BODY_BYTES_PER_SECOND or faster (else 408).
   */
  readonly requestTimeoutMs: number;
  /**
   * How long a stop (SIGTERM, SIGINT) waits for requests in flight (a slow upload may take
   * minutes) before it closes their connections. Nothing they carried was acknowledged, so a
   * client retries it. Below the supervisor's own stop timeout (systemd: 90 s; Kubernetes'
   * grace period: 30 s, so set it lower there), that timeout never ends the server mid-write.
   */
  readonly drainTimeoutMs: number;
  /**
   * How long a connection may stay idle between requests before the server closes it. Longer
   * than the idle timeout of whatever keeps connections to it open (a proxy, a load balancer),
   * so that one never sends a request on a connection the server is closing (a 502 there).
   */
  readonly keepAliveTimeoutMs: number;
  /** Ingest requests whose bodies one process reads at once; past it, 503 with Retry-After. */
  readonly maxConcurrentIngests: number;
  readonly extraLogTypes: readonly string[];
  readonly logLevel: string;
  /** `pretty`: one readable line per event, for a person at a terminal; `json`: pino's JSON lines; `auto`: pretty when stdout is a terminal. */
  readonly logFormat: LogFormat;
  /** How often a running server re-reads tenants' limits from the store. */
  readonly limitsRefreshMs: number;
  /** How long an access key lookup may be cached (0: look up on every request). */
  readonly authCacheMs: number;
  /** The verifiable log's signing secret (tenants' Ed25519 keys derive from it); default: one kept in the store. */
  readonly logSigningSecret: string | null;
  /** The verifiable log's origin prefix (`<prefix>/<tenantId>`); default `logwarden/<store id>`. */
  readonly logOriginPrefix: string | null;
  /**
   * Where the witness of the signed checkpoints is kept (`log-witness.db`): default the SQLite
   * data directory, none for PostgreSQL. Outside what is backed up, it catches a whole data
   * directory (or database) put back.
   */
  readonly logWitnessDir: string | null;
  /**
   * Days an entry is kept after its event time unless its tenant or log type says otherwise
   * (src/store/retention-policy.ts); null keeps entries forever (the default).
   */
  readonly retentionDays: number | null;
  /** How often the server's background purge looks for expired entries. */
  readonly purgeIntervalSeconds: number;
  /**
   * PostgreSQL: how long one statement of a request may run, lock waits included, before it is
   * cancelled (503 with Retry-After). Background work (sealing, migrations, purging) is not bound by it.
   */
  readonly statementTimeoutMs: number;
  /** Credentials for `fetch` and `sync` against a remote source. */
  readonly accessKey: string | null;
  readonly secret: string | null;
}

export const LOG_FORMATS = ['auto', 'pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** The command-line flag of a setting: `dataDir` is `--data-dir`. */
function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/**
 * What is wrong with a Redis URL, if anything: ioredis takes a database number that is not one
 * (`redis://host:6379/abc`) for SELECT NaN, which fails after the start as an uncaught error.
 */
function redisUrlProblem(url: string): string | undefined {
  if (!/^rediss?:\/\//.test(url)) return 'must start with redis:// or rediss://';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid URL: redis://[user:password@]host[:port][/database], the port a number';
  }
  const db = decodeURIComponent(u.pathname.slice(1));
  if (db !== '' && !/^\d{1,9}$/.test(db)) {
    return `names the database ${JSON.stringify(db)}: the database must be a whole number from 0 (redis://host:6379/0), or left out`;
  }
  return undefined;
}

export type ConfigOverrides = { -readonly [K in keyof Config]?: Config[K] | undefined };

export class ConfigError extends CodedError {
  override readonly code = 'invalid_config';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export const DATABASE_POOL_MODES = ['session', 'transaction'] as const;
export type DatabasePoolMode = (typeof DATABASE_POOL_MODES)[number];

/**
 * The configuration of `env` and `overrides`, every setting checked: one ConfigError lists every
 * bad setting. `serve` uses this; a command that uses only some settings, `loadConfigFor`.
 */
export function loadConfig(overrides: ConfigOverrides = {}, env: Env = process.env): Config {
  const { config, problems } = parseConfig(overrides, env);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => p.message));
  return config;
}

/**
 * The configuration for a command that uses only the settings `uses`: a bad one among them is
 * refused as `loadConfig` refuses it (one ConfigError listing them), while a bad setting the
 * command does not use (a server's port or rate limit, for `keys list`) does not stop it: its
 * problem is returned in `ignored`, for the command to warn about.
 */
export function loadConfigFor<K extends keyof Config>(
  uses: readonly K[],
  overrides: ConfigOverrides = {},
  env: Env = process.env,
): { config: Pick<Config, K>; ignored: string[] } {
  const { config, problems } = parseConfig(overrides, env);
  const used = (p: ConfigProblem) => (uses as readonly (keyof Config)[]).includes(p.setting);
  const refused = problems.filter(used);
  if (refused.length > 0) throw new ConfigError(refused.map((p) => p.message));
  return { config, ignored: problems.filter((p) => !used(p)).map((p) => p.message) };
}

/** A bad setting: which one (its Config key) and what is wrong, in words. */
interface ConfigProblem {
  readonly setting: keyof Config;
  readonly message: string;
}

function parseConfig(overrides: ConfigOverrides, env: Env): { config: Config; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (setting: keyof Config, message: string): void => {
    problems.push({ setting, message });
  };
  const str = (name: string): string | null => {
    const v = env[name];
    return v === undefined || v === '' ? null : v;
  };
  const int = (name: string, key: keyof Config, fallback: number, min: number, max: number): number => {
    const raw = str(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < min || n > max) {
      problem(key, `${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };
  // A flag given an empty value (`--host ""`) is refused, not taken for a value (every interface,
  // the working directory) nor for an absent flag: the empty environment variable means unset.
  const pick = <K extends keyof Config>(key: K, value: Config[K]): Config[K] => {
    const given = overrides[key];
    if (given === '') {
      problem(key, `${flagName(key)} needs a value (it was given as "")`);
      return value;
    }
    return given !== undefined ? (given as Config[K]) : value;
  };
  /** An invalid variable is an error even when a flag overrides it, as for the integers above; then the flag's value is checked. */
  const checkBoth = (key: keyof Config, variable: string, check: (value: string) => string | undefined): void => {
    const fromEnv = str(variable);
    const fromFlag = overrides[key];
    for (const [name, value] of [
      [variable, fromEnv],
      [flagName(key), fromFlag],
    ] as const) {
      if (typeof value !== 'string' || value === '') continue;
      const p = check(value);
      if (p !== undefined) problem(key, `${name} ${p}`);
    }
  };

  const extra = (str('LOGWARDEN_EXTRA_LOG_TYPES') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const t of extra) {
    if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(t))
      problem('extraLogTypes', `LOGWARDEN_EXTRA_LOG_TYPES: ${JSON.stringify(t)} is not a valid log type name`);
    else if (t === ADMIN_LOG_TYPE)
      problem('extraLogTypes', `LOGWARDEN_EXTRA_LOG_TYPES: ${t} is reserved for the admin trail (readable already, never writable by clients)`);
  }
  const signingKey = str('LOGWARDEN_SIGNING_KEY');
  if (signingKey !== null && signingKey.length < 32) problem('signingKey', 'LOGWARDEN_SIGNING_KEY must be at least 32 characters');
  // A store named by a flag wins over the environment's: --data-dir is not overruled by LOGWARDEN_DATABASE_URL.
  const databaseUrl = pick('databaseUrl', overrides.dataDir !== undefined ? null : str('LOGWARDEN_DATABASE_URL'));
  checkBoth('databaseUrl', 'LOGWARDEN_DATABASE_URL', (url) =>
    /^postgres(ql)?:\/\//.test(url) ? undefined : 'must start with postgres:// or postgresql://',
  );
  const poolModeRaw = str('LOGWARDEN_DATABASE_POOL_MODE');
  let databasePoolMode: DatabasePoolMode = 'session';
  if (poolModeRaw !== null) {
    if ((DATABASE_POOL_MODES as readonly string[]).includes(poolModeRaw)) databasePoolMode = poolModeRaw as DatabasePoolMode;
    else
      problem(
        'databasePoolMode',
        `LOGWARDEN_DATABASE_POOL_MODE must be one of ${DATABASE_POOL_MODES.join(', ')} (got ${JSON.stringify(poolModeRaw)})`,
      );
  }
  const databaseDirectUrl = str('LOGWARDEN_DATABASE_DIRECT_URL');
  if (databaseDirectUrl !== null && !/^postgres(ql)?:\/\//.test(databaseDirectUrl)) {
    problem('databaseDirectUrl', 'LOGWARDEN_DATABASE_DIRECT_URL must start with postgres:// or postgresql://');
  }
  const redisUrl = pick('redisUrl', str('LOGWARDEN_REDIS_URL'));
  checkBoth('redisUrl', 'LOGWARDEN_REDIS_URL', redisUrlProblem);
  const bootstrapAccessKey = str('LOGWARDEN_BOOTSTRAP_ACCESS_KEY');
  const bootstrapSecret = str('LOGWARDEN_BOOTSTRAP_SECRET');
  if ((bootstrapAccessKey === null) !== (bootstrapSecret === null)) {
    problem('bootstrapAccessKey', 'LOGWARDEN_BOOTSTRAP_ACCESS_KEY and LOGWARDEN_BOOTSTRAP_SECRET must be set together');
  }
  // At most what a Basic credential the server reads can carry beside the longest access key.
  if (bootstrapSecret !== null && bootstrapSecret.length < 32)
    problem('bootstrapSecret', 'LOGWARDEN_BOOTSTRAP_SECRET must be at least 32 characters');
  else if (bootstrapSecret !== null && Buffer.byteLength(bootstrapSecret) > 512)
    problem('bootstrapSecret', 'LOGWARDEN_BOOTSTRAP_SECRET must be at most 512 bytes (a longer one could never sign in)');
  if (bootstrapAccessKey !== null && !ACCESS_KEY_PATTERN.test(bootstrapAccessKey)) {
    problem('bootstrapAccessKey', 'LOGWARDEN_BOOTSTRAP_ACCESS_KEY must be 8-64 letters, digits, _ or -');
  }
  const maxPageSize = int('LOGWARDEN_MAX_PAGE_SIZE', 'maxPageSize', 1000, 1, 10_000);
  const logSigningSecret = str('LOGWARDEN_LOG_SIGNING_SECRET');
  if (logSigningSecret !== null && Buffer.byteLength(logSigningSecret) < 32)
    problem('logSigningSecret', 'LOGWARDEN_LOG_SIGNING_SECRET must be at least 32 bytes');
  const logOriginPrefix = str('LOGWARDEN_LOG_ORIGIN_PREFIX');
  if (logOriginPrefix !== null && !/^[!-*,-~]{1,200}$/.test(logOriginPrefix)) {
    problem('logOriginPrefix', 'LOGWARDEN_LOG_ORIGIN_PREFIX must be 1-200 printable ASCII characters without spaces or +');
  }

  const logWitnessDir = str('LOGWARDEN_LOG_WITNESS_DIR');

  const retentionRaw = str('LOGWARDEN_RETENTION_DAYS');
  let retentionDays: number | null = null;
  if (retentionRaw !== null && retentionRaw !== 'forever') {
    const days = Number(retentionRaw);
    if (!/^\d+$/.test(retentionRaw) || !isRetentionDays(days)) {
      problem(
        'retentionDays',
        `LOGWARDEN_RETENTION_DAYS must be forever or a whole number of days from 1 to ${MAX_RETENTION_DAYS} (got ${JSON.stringify(retentionRaw)})`,
      );
    } else retentionDays = days;
  }

  const config: Config = {
    dataDir: resolve(pick('dataDir', str('LOGWARDEN_DATA_DIR') ?? 'logwarden-data')),
    databaseUrl,
    databasePoolMode,
    databaseDirectUrl,
    redisUrl,
    host: pick('host', str('LOGWARDEN_HOST') ?? '127.0.0.1'),
    port: pick('port', int('LOGWARDEN_PORT', 'port', 8080, 0, 65535)),
    signingKey: pick('signingKey', signingKey),
    bootstrapAccessKey,
    bootstrapSecret,
    pageSize: pick('pageSize', int('LOGWARDEN_PAGE_SIZE', 'pageSize', 100, 1, maxPageSize)),
    maxPageSize,
    cursorTtlSeconds: pick('cursorTtlSeconds', int('LOGWARDEN_CURSOR_TTL_SECONDS', 'cursorTtlSeconds', 86_400, 1, 366 * 86_400)),
    tokenTtlSeconds: pick('tokenTtlSeconds', int('LOGWARDEN_TOKEN_TTL_SECONDS', 'tokenTtlSeconds', 3600, 1, 86_400)),
    readPerSecond: pick('readPerSecond', int('LOGWARDEN_READ_PER_SECOND', 'readPerSecond', 3, 1, 1_000_000)),
    readPerDay: pick('readPerDay', int('LOGWARDEN_READ_PER_DAY', 'readPerDay', 10_000, 1, 1_000_000_000)),
    ingestPerSecond: pick('ingestPerSecond', int('LOGWARDEN_INGEST_PER_SECOND', 'ingestPerSecond', 100, 1, 1_000_000)),
    maxJsonBodyBytes: pick('maxJsonBodyBytes', int('LOGWARDEN_MAX_JSON_BODY_BYTES', 'maxJsonBodyBytes', 32 * 1024 * 1024, 1024, 1024 ** 3)),
    maxNdjsonLineBytes: pick('maxNdjsonLineBytes', int('LOGWARDEN_MAX_NDJSON_LINE_BYTES', 'maxNdjsonLineBytes', 1024 * 1024, 1024, 64 * 1024 * 1024)),
    ndjsonMemoryBytes: pick('ndjsonMemoryBytes', int('LOGWARDEN_NDJSON_MEMORY_BYTES', 'ndjsonMemoryBytes', 64 * 1024 * 1024, 64 * 1024, 1024 ** 3)),
    requestTimeoutMs: pick('requestTimeoutMs', int('LOGWARDEN_REQUEST_TIMEOUT_MS', 'requestTimeoutMs', 30_000, 100, 3_600_000)),
    drainTimeoutMs: pick('drainTimeoutMs', int('LOGWARDEN_DRAIN_TIMEOUT_MS', 'drainTimeoutMs', 30_000, 0, 3_600_000)),
    keepAliveTimeoutMs: pick('keepAliveTimeoutMs', int('LOGWARDEN_KEEP_ALIVE_TIMEOUT_MS', 'keepAliveTimeoutMs', 72_000, 1000, 3_600_000)),
    maxConcurrentIngests: pick('maxConcurrentIngests', int('LOGWARDEN_MAX_CONCURRENT_INGESTS', 'maxConcurrentIngests', 16, 1, 10_000)),
    extraLogTypes: pick('extraLogTypes', Object.freeze(extra)),
    logLevel: pick('logLevel', str('LOGWARDEN_LOG_LEVEL') ?? 'info'),
    logFormat: pick('logFormat', (str('LOGWARDEN_LOG_FORMAT') ?? 'auto') as LogFormat),
    limitsRefreshMs: pick('limitsRefreshMs', int('LOGWARDEN_LIMITS_REFRESH_MS', 'limitsRefreshMs', 2000, 0, 600_000)),
    authCacheMs: pick('authCacheMs', int('LOGWARDEN_AUTH_CACHE_MS', 'authCacheMs', databaseUrl ? 1000 : 0, 0, 60_000)),
    logSigningSecret: pick('logSigningSecret', logSigningSecret),
    logOriginPrefix: pick('logOriginPrefix', logOriginPrefix),
    logWitnessDir: logWitnessDir === null ? null : resolve(logWitnessDir),
    retentionDays: pick('retentionDays', retentionDays),
    purgeIntervalSeconds: pick('purgeIntervalSeconds', int('LOGWARDEN_PURGE_INTERVAL_SECONDS', 'purgeIntervalSeconds', 60, 1, 86_400)),
    statementTimeoutMs: pick('statementTimeoutMs', int('LOGWARDEN_STATEMENT_TIMEOUT_MS', 'statementTimeoutMs', 15_000, 100, 3_600_000)),
    accessKey: pick('accessKey', str('LOGWARDEN_ACCESS_KEY')),
    secret: pick('secret', str('LOGWARDEN_SECRET')),
  };
  const oneOf = (allowed: readonly string[]) => (value: string) =>
    allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`;
  checkBoth('logLevel', 'LOGWARDEN_LOG_LEVEL', oneOf(LOG_LEVELS));
  checkBoth('logFormat', 'LOGWARDEN_LOG_FORMAT', oneOf(LOG_FORMATS));
  return { config: Object.freeze(config), problems };
}

/** `$XDG_CONFIG_HOME/logwarden/verify-state.json` (default under `~/.config`): `verify`'s trust anchors. */
export function verifyStatePath(env: Env = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'logwarden', 'verify-state.json');
}

/** Every variable `loadConfig` reads (test/config.test.ts holds this list to the reads above). */
export const SETTING_VARIABLES = [
  'LOGWARDEN_ACCESS_KEY',
  'LOGWARDEN_AUTH_CACHE_MS',
  'LOGWARDEN_BOOTSTRAP_ACCESS_KEY',
  'LOGWARDEN_BOOTSTRAP_SECRET',
  'LOGWARDEN_CURSOR_TTL_SECONDS',
  'LOGWARDEN_DATABASE_DIRECT_URL',
  'LOGWARDEN_DATABASE_POOL_MODE',
  'LOGWARDEN_DATABASE_URL',
  'LOGWARDEN_DATA_DIR',
  'LOGWARDEN_DRAIN_TIMEOUT_MS',
  'LOGWARDEN_EXTRA_LOG_TYPES',
  'LOGWARDEN_HOST',
  'LOGWARDEN_INGEST_PER_SECOND',
  'LOGWARDEN_KEEP_ALIVE_TIMEOUT_MS',
  'LOGWARDEN_LIMITS_REFRESH_MS',
  'LOGWARDEN_LOG_FORMAT',
  'LOGWARDEN_LOG_LEVEL',
  'LOGWARDEN_LOG_ORIGIN_PREFIX',
  'LOGWARDEN_LOG_WITNESS_DIR',
  'LOGWARDEN_LOG_SIGNING_SECRET',
  'LOGWARDEN_MAX_CONCURRENT_INGESTS',
  'LOGWARDEN_MAX_JSON_BODY_BYTES',
  'LOGWARDEN_MAX_NDJSON_LINE_BYTES',
  'LOGWARDEN_MAX_PAGE_SIZE',
  'LOGWARDEN_NDJSON_MEMORY_BYTES',
  'LOGWARDEN_PAGE_SIZE',
  'LOGWARDEN_PORT',
  'LOGWARDEN_PURGE_INTERVAL_SECONDS',
  'LOGWARDEN_READ_PER_DAY',
  'LOGWARDEN_READ_PER_SECOND',
  'LOGWARDEN_REDIS_URL',
  'LOGWARDEN_REQUEST_TIMEOUT_MS',
  'LOGWARDEN_RETENTION_DAYS',
  'LOGWARDEN_SECRET',
  'LOGWARDEN_SIGNING_KEY',
  'LOGWARDEN_STATEMENT_TIMEOUT_MS',
  'LOGWARDEN_TOKEN_TTL_SECONDS',
] as const;

/** Variables of the project's own test suite and benchmarks: not settings, and not warned about. */
const TOOL_VARIABLES = new Set([
  'LOGWARDEN_TEST_COMPILED',
  'LOGWARDEN_TEST_VERBOSE',
  'LOGWARDEN_REQUIRE_SERVICES',
  'LOGWARDEN_CONSOLE_PAINT_DATA_DIR',
  'LOGWARDEN_CONSOLE_PAINT_TENANT',
]);

/** Edits (insert, delete, replace) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * A warning for each LOGWARDEN_* variable of `env` that is no setting (a misspelt one is
 * otherwise ignored without a word, its setting left at its default), naming the setting it is
 * closest to.
 */
export function unknownVariableWarnings(env: Env = process.env): string[] {
  const known: readonly string[] = SETTING_VARIABLES;
  return Object.keys(env)
    .filter((name) => name.startsWith('LOGWARDEN_') && !known.includes(name) && !TOOL_VARIABLES.has(name))
    .sort()
    .map((name) => {
      const near = known.map((k) => [k, editDistance(name, k)] as const).sort((x, y) => x[1] - y[1])[0];
      const hint = near && near[1] <= 2 ? ` (did you mean ${near[0]}?)` : '';
      return `${name} is not a logwarden setting${hint}; it is ignored (settings: README, Configuration)`;
    });
}

/**
 * A warning when the environment names two stores and no flag chooses: PostgreSQL is used, as it
 * always was (refusing the pair would stop deployments that set a default data directory).
 * The same pair as flags is a usage error.
 */
export function storeChoiceWarning(
  flags: { dataDir?: string | undefined; databaseUrl?: string | undefined },
  env: Env = process.env,
): string | undefined {
  if (flags.dataDir !== undefined || flags.databaseUrl !== undefined) return undefined;
  if (!env.LOGWARDEN_DATA_DIR || !env.LOGWARDEN_DATABASE_URL) return undefined;
  return 'LOGWARDEN_DATA_DIR and LOGWARDEN_DATABASE_URL are both set: the PostgreSQL store of LOGWARDEN_DATABASE_URL is used and LOGWARDEN_DATA_DIR is ignored (unset one, or choose with --data-dir or --database-url)';
}

/** `$XDG_CACHE_HOME/logwarden/tlog` (default under `~/.cache`): leaves `verify` has audited. */
export function verifyCacheDir(env: Env = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'logwarden', 'tlog');
}
