import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import {
  ConfigError,
  type ConfigOverrides,
  loadConfig,
  loadConfigFor,
  SETTING_VARIABLES,
  unknownVariableWarnings,
  verifyCacheDir,
  verifyStatePath,
} from '../src/config.ts';

const SECRET_32 = 's'.repeat(32);

/** The problems loadConfig reports for `env`, or [] when it accepts it. */
function problems(env: Record<string, string>, overrides: ConfigOverrides = {}): readonly string[] {
  try {
    loadConfig(overrides, env);
    return [];
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
}

describe('loadConfig', () => {
  it('has a default for every setting but the secrets, and reads nothing it is not given', () => {
    const c = loadConfig({}, {});
    assert.deepEqual(
      { ...c },
      {
        dataDir: resolve('logwarden-data'),
        databaseUrl: null,
        databasePoolMode: 'session',
        databaseDirectUrl: null,
        redisUrl: null,
        host: '127.0.0.1',
        port: 8080,
        signingKey: null,
        bootstrapAccessKey: null,
        bootstrapSecret: null,
        pageSize: 100,
        maxPageSize: 1000,
        cursorTtlSeconds: 86_400,
        tokenTtlSeconds: 3600,
        readPerSecond: 3,
        readPerDay: 10_000,
        ingestPerSecond: 100,
        maxJsonBodyBytes: 32 * 1024 * 1024,
        maxNdjsonLineBytes: 1024 * 1024,
        ndjsonMemoryBytes: 64 * 1024 * 1024,
        requestTimeoutMs: 30_000,
        drainTimeoutMs: 30_000,
        keepAliveTimeoutMs: 72_000,
        maxConcurrentIngests: 16,
        extraLogTypes: [],
        logLevel: 'info',
        logFormat: 'auto',
        limitsRefreshMs: 2000,
        authCacheMs: 0,
        logSigningSecret: null,
        logOriginPrefix: null,
        logWitnessDir: null,
        retentionDays: null,
        purgeIntervalSeconds: 60,
        statementTimeoutMs: 15_000,
        accessKey: null,
        secret: null,
      },
    );
    assert.ok(Object.isFrozen(c));
  });

  it('reads every variable', () => {
    const c = loadConfig(
      {},
      {
        LOGWARDEN_DATA_DIR: '/var/lib/lw',
        LOGWARDEN_DATABASE_URL: 'postgres://u@db/lw',
        LOGWARDEN_DATABASE_POOL_MODE: 'transaction',
        LOGWARDEN_DATABASE_DIRECT_URL: 'postgres://u@db-direct/lw',
        LOGWARDEN_REDIS_URL: 'rediss://cache:6380',
        LOGWARDEN_HOST: '0.0.0.0',
        LOGWARDEN_PORT: '9090',
        LOGWARDEN_SIGNING_KEY: 'k'.repeat(32),
        LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'ci_key-01',
        LOGWARDEN_BOOTSTRAP_SECRET: SECRET_32,
        LOGWARDEN_PAGE_SIZE: '50',
        LOGWARDEN_MAX_PAGE_SIZE: '500',
        LOGWARDEN_CURSOR_TTL_SECONDS: '60',
        LOGWARDEN_TOKEN_TTL_SECONDS: '120',
        LOGWARDEN_READ_PER_SECOND: '7',
        LOGWARDEN_READ_PER_DAY: '70',
        LOGWARDEN_INGEST_PER_SECOND: '9',
        LOGWARDEN_MAX_JSON_BODY_BYTES: '2048',
        LOGWARDEN_MAX_NDJSON_LINE_BYTES: '4096',
        LOGWARDEN_NDJSON_MEMORY_BYTES: '65536',
        LOGWARDEN_REQUEST_TIMEOUT_MS: '1500',
        LOGWARDEN_DRAIN_TIMEOUT_MS: '0',
        LOGWARDEN_KEEP_ALIVE_TIMEOUT_MS: '620000',
        LOGWARDEN_MAX_CONCURRENT_INGESTS: '3',
        LOGWARDEN_EXTRA_LOG_TYPES: ' BillingLog, Export_2 ,,',
        LOGWARDEN_LOG_LEVEL: 'debug',
        LOGWARDEN_LOG_FORMAT: 'json',
        LOGWARDEN_LIMITS_REFRESH_MS: '0',
        LOGWARDEN_AUTH_CACHE_MS: '250',
        LOGWARDEN_LOG_SIGNING_SECRET: 'L'.repeat(32),
        LOGWARDEN_LOG_ORIGIN_PREFIX: 'audit.example.com/log',
        LOGWARDEN_LOG_WITNESS_DIR: '/var/lib/lw-witness',
        LOGWARDEN_RETENTION_DAYS: '365',
        LOGWARDEN_PURGE_INTERVAL_SECONDS: '15',
        LOGWARDEN_STATEMENT_TIMEOUT_MS: '2500',
        LOGWARDEN_ACCESS_KEY: 'remote-key',
        LOGWARDEN_SECRET: 'remote-secret',
      },
    );
    assert.deepEqual(
      { ...c },
      {
        dataDir: '/var/lib/lw',
        databaseUrl: 'postgres://u@db/lw',
        databasePoolMode: 'transaction',
        databaseDirectUrl: 'postgres://u@db-direct/lw',
        redisUrl: 'rediss://cache:6380',
        host: '0.0.0.0',
        port: 9090,
        signingKey: 'k'.repeat(32),
        bootstrapAccessKey: 'ci_key-01',
        bootstrapSecret: SECRET_32,
        pageSize: 50,
        maxPageSize: 500,
        cursorTtlSeconds: 60,
        tokenTtlSeconds: 120,
        readPerSecond: 7,
        readPerDay: 70,
        ingestPerSecond: 9,
        maxJsonBodyBytes: 2048,
        maxNdjsonLineBytes: 4096,
        ndjsonMemoryBytes: 65_536,
        requestTimeoutMs: 1500,
        drainTimeoutMs: 0,
        keepAliveTimeoutMs: 620_000,
        maxConcurrentIngests: 3,
        extraLogTypes: ['BillingLog', 'Export_2'],
        logLevel: 'debug',
        logFormat: 'json',
        limitsRefreshMs: 0,
        authCacheMs: 250,
        logSigningSecret: 'L'.repeat(32),
        logOriginPrefix: 'audit.example.com/log',
        logWitnessDir: '/var/lib/lw-witness',
        retentionDays: 365,
        purgeIntervalSeconds: 15,
        statementTimeoutMs: 2500,
        accessKey: 'remote-key',
        secret: 'remote-secret',
      },
    );
  });

  it('refuses a pool mode PgBouncer has but logwarden cannot use, and a direct URL that is not PostgreSQL', () => {
    assert.deepEqual(problems({ LOGWARDEN_DATABASE_POOL_MODE: 'statement', LOGWARDEN_DATABASE_DIRECT_URL: 'db.internal:5432' }), [
      'LOGWARDEN_DATABASE_POOL_MODE must be one of session, transaction (got "statement")',
      'LOGWARDEN_DATABASE_DIRECT_URL must start with postgres:// or postgresql://',
    ]);
  });

  it('treats an empty variable as unset, and caches key lookups for a second by default with PostgreSQL', () => {
    assert.equal(loadConfig({}, { LOGWARDEN_PORT: '', LOGWARDEN_HOST: '' }).port, 8080);
    assert.equal(loadConfig({}, { LOGWARDEN_HOST: '' }).host, '127.0.0.1');
    assert.equal(loadConfig({}, { LOGWARDEN_DATABASE_URL: 'postgresql://db/lw' }).authCacheMs, 1000);
  });

  it('warns of each LOGWARDEN_* variable that is no setting, naming the one it likely misspells; the list of settings is what loadConfig reads', () => {
    const read = [...readFileSync(new URL('../src/config.ts', import.meta.url), 'utf8').matchAll(/(?:str|int)\('(LOGWARDEN_[A-Z_]+)'/g)].map(
      (m) => m[1],
    );
    assert.deepEqual([...new Set(read)].sort(), [...SETTING_VARIABLES].sort());
    assert.deepEqual(
      unknownVariableWarnings({ LOGWARDEN_RETENTON_DAYS: '30', LOGWARDEN_PORT: '1', LOGWARDEN_TEST_COMPILED: 'x', LOGWARDEN_FOO: '1', PATH: '/bin' }),
      [
        'LOGWARDEN_FOO is not a logwarden setting; it is ignored (settings: README, Configuration)',
        'LOGWARDEN_RETENTON_DAYS is not a logwarden setting (did you mean LOGWARDEN_RETENTION_DAYS?); it is ignored (settings: README, Configuration)',
      ],
    );
  });

  it('lets overrides (command-line flags) win over the environment', () => {
    const c = loadConfig(
      { port: 1234, host: '::1', dataDir: '/tmp/x', databaseUrl: 'postgres://flag/lw', logFormat: 'pretty' },
      { LOGWARDEN_PORT: '9090', LOGWARDEN_HOST: '0.0.0.0', LOGWARDEN_DATA_DIR: '/srv', LOGWARDEN_LOG_FORMAT: 'json' },
    );
    assert.equal(c.port, 1234);
    assert.equal(c.host, '::1');
    assert.equal(c.dataDir, '/tmp/x');
    assert.equal(c.databaseUrl, 'postgres://flag/lw');
    assert.equal(c.logFormat, 'pretty');
    assert.equal(loadConfig({ port: undefined }, { LOGWARDEN_PORT: '9090' }).port, 9090, 'an undefined override does not hide the variable');
    // A store named by a flag wins over the other kind named by the environment.
    const sqlite = loadConfig({ dataDir: '/tmp/x' }, { LOGWARDEN_DATABASE_URL: 'postgres://env/lw' });
    assert.deepEqual([sqlite.dataDir, sqlite.databaseUrl], ['/tmp/x', null]);
    assert.equal(loadConfig({ databaseUrl: 'postgres://flag/lw' }, { LOGWARDEN_DATA_DIR: '/srv' }).databaseUrl, 'postgres://flag/lw');
    assert.equal(loadConfig({}, { LOGWARDEN_DATABASE_URL: 'postgres://env/lw' }).databaseUrl, 'postgres://env/lw');
  });

  const integers: readonly [string, number, number][] = [
    ['LOGWARDEN_PORT', 0, 65535],
    ['LOGWARDEN_PAGE_SIZE', 1, 1000],
    ['LOGWARDEN_MAX_PAGE_SIZE', 1, 10_000],
    ['LOGWARDEN_CURSOR_TTL_SECONDS', 1, 366 * 86_400],
    ['LOGWARDEN_TOKEN_TTL_SECONDS', 1, 86_400],
    ['LOGWARDEN_READ_PER_SECOND', 1, 1_000_000],
    ['LOGWARDEN_READ_PER_DAY', 1, 1_000_000_000],
    ['LOGWARDEN_INGEST_PER_SECOND', 1, 1_000_000],
    ['LOGWARDEN_MAX_JSON_BODY_BYTES', 1024, 1024 ** 3],
    ['LOGWARDEN_MAX_NDJSON_LINE_BYTES', 1024, 64 * 1024 * 1024],
    ['LOGWARDEN_NDJSON_MEMORY_BYTES', 64 * 1024, 1024 ** 3],
    ['LOGWARDEN_REQUEST_TIMEOUT_MS', 100, 3_600_000],
    ['LOGWARDEN_DRAIN_TIMEOUT_MS', 0, 3_600_000],
    ['LOGWARDEN_MAX_CONCURRENT_INGESTS', 1, 10_000],
    ['LOGWARDEN_LIMITS_REFRESH_MS', 0, 600_000],
    ['LOGWARDEN_AUTH_CACHE_MS', 0, 60_000],
    ['LOGWARDEN_PURGE_INTERVAL_SECONDS', 1, 86_400],
    ['LOGWARDEN_STATEMENT_TIMEOUT_MS', 100, 3_600_000],
  ];
  for (const [name, min, max] of integers) {
    it(`accepts ${name} from ${min} to ${max} and refuses anything else`, () => {
      assert.deepEqual(problems({ [name]: String(min) }), []);
      assert.deepEqual(problems({ [name]: String(max) }), []);
      const bad = [String(max + 1), '-1', '1.5', '1e3', ' 8', 'ten', '0x10'];
      if (min > 0) bad.push(String(min - 1));
      for (const raw of bad) {
        assert.deepEqual(problems({ [name]: raw }), [`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`], raw);
      }
    });
  }

  it('reads LOGWARDEN_RETENTION_DAYS as forever (the default) or whole days from 1 to 365000', () => {
    assert.equal(loadConfig({}, {}).retentionDays, null);
    assert.equal(loadConfig({}, { LOGWARDEN_RETENTION_DAYS: 'forever' }).retentionDays, null);
    assert.equal(loadConfig({}, { LOGWARDEN_RETENTION_DAYS: '' }).retentionDays, null);
    assert.equal(loadConfig({}, { LOGWARDEN_RETENTION_DAYS: '1' }).retentionDays, 1);
    assert.equal(loadConfig({}, { LOGWARDEN_RETENTION_DAYS: '365000' }).retentionDays, 365_000);
    assert.equal(loadConfig({ retentionDays: 30 }, { LOGWARDEN_RETENTION_DAYS: '7' }).retentionDays, 30);
    for (const raw of ['0', '-1', '1.5', '365001', 'never', 'Forever', ' 7', '1e3']) {
      assert.deepEqual(
        problems({ LOGWARDEN_RETENTION_DAYS: raw }),
        [`LOGWARDEN_RETENTION_DAYS must be forever or a whole number of days from 1 to 365000 (got ${JSON.stringify(raw)})`],
        raw,
      );
    }
  });

  it('bounds the page size by the maximum page size', () => {
    assert.deepEqual(problems({ LOGWARDEN_MAX_PAGE_SIZE: '50', LOGWARDEN_PAGE_SIZE: '50' }), []);
    assert.deepEqual(problems({ LOGWARDEN_MAX_PAGE_SIZE: '50', LOGWARDEN_PAGE_SIZE: '51' }), [
      'LOGWARDEN_PAGE_SIZE must be an integer from 1 to 50 (got "51")',
    ]);
  });

  it('refuses each bad string setting with its own message', () => {
    const cases: readonly [Record<string, string>, string][] = [
      [{ LOGWARDEN_EXTRA_LOG_TYPES: 'Good,9bad' }, 'LOGWARDEN_EXTRA_LOG_TYPES: "9bad" is not a valid log type name'],
      [{ LOGWARDEN_EXTRA_LOG_TYPES: `A${'b'.repeat(64)}` }, `LOGWARDEN_EXTRA_LOG_TYPES: "A${'b'.repeat(64)}" is not a valid log type name`],
      [{ LOGWARDEN_EXTRA_LOG_TYPES: 'has-dash' }, 'LOGWARDEN_EXTRA_LOG_TYPES: "has-dash" is not a valid log type name'],
      [
        { LOGWARDEN_EXTRA_LOG_TYPES: 'Good,LogwardenAdminLog' },
        'LOGWARDEN_EXTRA_LOG_TYPES: LogwardenAdminLog is reserved for the admin trail (readable already, never writable by clients)',
      ],
      [{ LOGWARDEN_SIGNING_KEY: 'k'.repeat(31) }, 'LOGWARDEN_SIGNING_KEY must be at least 32 characters'],
      [{ LOGWARDEN_DATABASE_URL: 'mysql://db/lw' }, 'LOGWARDEN_DATABASE_URL must start with postgres:// or postgresql://'],
      [{ LOGWARDEN_REDIS_URL: 'http://cache' }, 'LOGWARDEN_REDIS_URL must start with redis:// or rediss://'],
      [{ LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'ci_key-01' }, 'LOGWARDEN_BOOTSTRAP_ACCESS_KEY and LOGWARDEN_BOOTSTRAP_SECRET must be set together'],
      [{ LOGWARDEN_BOOTSTRAP_SECRET: SECRET_32 }, 'LOGWARDEN_BOOTSTRAP_ACCESS_KEY and LOGWARDEN_BOOTSTRAP_SECRET must be set together'],
      [
        { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'ci_key-01', LOGWARDEN_BOOTSTRAP_SECRET: 's'.repeat(31) },
        'LOGWARDEN_BOOTSTRAP_SECRET must be at least 32 characters',
      ],
      [
        { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'ci_key-01', LOGWARDEN_BOOTSTRAP_SECRET: 's'.repeat(513) },
        'LOGWARDEN_BOOTSTRAP_SECRET must be at most 512 bytes (a longer one could never sign in)',
      ],
      [
        { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'short', LOGWARDEN_BOOTSTRAP_SECRET: SECRET_32 },
        'LOGWARDEN_BOOTSTRAP_ACCESS_KEY must be 8-64 letters, digits, _ or -',
      ],
      [
        { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'k'.repeat(65), LOGWARDEN_BOOTSTRAP_SECRET: SECRET_32 },
        'LOGWARDEN_BOOTSTRAP_ACCESS_KEY must be 8-64 letters, digits, _ or -',
      ],
      [
        { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'has space', LOGWARDEN_BOOTSTRAP_SECRET: SECRET_32 },
        'LOGWARDEN_BOOTSTRAP_ACCESS_KEY must be 8-64 letters, digits, _ or -',
      ],
      [{ LOGWARDEN_LOG_LEVEL: 'verbose' }, 'LOGWARDEN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")'],
      [{ LOGWARDEN_LOG_FORMAT: 'xml' }, 'LOGWARDEN_LOG_FORMAT must be one of auto, pretty, json (got "xml")'],
      [{ LOGWARDEN_LOG_SIGNING_SECRET: 'L'.repeat(31) }, 'LOGWARDEN_LOG_SIGNING_SECRET must be at least 32 bytes'],
      [{ LOGWARDEN_LOG_ORIGIN_PREFIX: 'has space' }, 'LOGWARDEN_LOG_ORIGIN_PREFIX must be 1-200 printable ASCII characters without spaces or +'],
      [{ LOGWARDEN_LOG_ORIGIN_PREFIX: 'a+b' }, 'LOGWARDEN_LOG_ORIGIN_PREFIX must be 1-200 printable ASCII characters without spaces or +'],
    ];
    for (const [env, message] of cases) assert.deepEqual(problems(env), [message], JSON.stringify(env));
  });

  it('checks overrides too: a bad --database-url or --log-format is reported like the variable', () => {
    assert.throws(
      () => loadConfig({ databaseUrl: 'sqlite://x' }, {}),
      (err: unknown) => err instanceof ConfigError && err.problems[0] === '--database-url must start with postgres:// or postgresql://',
    );
    assert.throws(() => loadConfig({ logFormat: 'xml' as never }, {}), /--log-format must be one of auto, pretty, json \(got "xml"\)/);
  });

  it('names what was given, the flag or the variable', () => {
    assert.deepEqual(problems({ LOGWARDEN_DATABASE_URL: 'mysql://x' }), ['LOGWARDEN_DATABASE_URL must start with postgres:// or postgresql://']);
    assert.deepEqual(problems({}, { databaseUrl: 'mysql://x' }), ['--database-url must start with postgres:// or postgresql://']);
    assert.deepEqual(problems({}, { redisUrl: 'http://x' }), ['--redis-url must start with redis:// or rediss://']);
    assert.deepEqual(problems({ LOGWARDEN_REDIS_URL: 'http://x' }), ['LOGWARDEN_REDIS_URL must start with redis:// or rediss://']);
    assert.deepEqual(problems({}, { logLevel: 'loud' }), ['--log-level must be one of fatal, error, warn, info, debug, trace, silent (got "loud")']);
  });

  it('refuses an invalid variable even when a flag overrides it, as for every integer', () => {
    assert.deepEqual(problems({ LOGWARDEN_PORT: 'abc' }, { port: 8080 }), ['LOGWARDEN_PORT must be an integer from 0 to 65535 (got "abc")']);
    assert.deepEqual(problems({ LOGWARDEN_LOG_LEVEL: 'bogus' }, { logLevel: 'info' }), [
      'LOGWARDEN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "bogus")',
    ]);
    assert.deepEqual(problems({ LOGWARDEN_LOG_FORMAT: 'xml' }, { logFormat: 'json' }), [
      'LOGWARDEN_LOG_FORMAT must be one of auto, pretty, json (got "xml")',
    ]);
    assert.deepEqual(problems({ LOGWARDEN_REDIS_URL: 'http://x' }, { redisUrl: 'redis://h' }), [
      'LOGWARDEN_REDIS_URL must start with redis:// or rediss://',
    ]);
    assert.deepEqual(problems({ LOGWARDEN_DATABASE_URL: 'mysql://x' }, { databaseUrl: 'postgres://h/db' }), [
      'LOGWARDEN_DATABASE_URL must start with postgres:// or postgresql://',
    ]);
  });

  it('refuses a flag given an empty value instead of taking it (every interface, the working directory) or ignoring it', () => {
    for (const key of ['host', 'dataDir', 'databaseUrl', 'redisUrl', 'logLevel', 'logFormat', 'accessKey', 'secret'] as const) {
      const flag = `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      assert.deepEqual(problems({}, { [key]: '' }), [`${flag} needs a value (it was given as "")`], key);
    }
    // The data directory's empty flag does not let the variable's database URL through unsaid.
    assert.deepEqual(problems({ LOGWARDEN_DATABASE_URL: 'postgres://h/db' }, { dataDir: '' }), ['--data-dir needs a value (it was given as "")']);
    // An empty variable is unset, as before.
    assert.equal(loadConfig({}, { LOGWARDEN_HOST: '' }).host, '127.0.0.1');
  });

  it('checks a Redis URL whole: its port a number, its database a whole number from 0', () => {
    for (const ok of ['redis://127.0.0.1:6379', 'redis://h:6379/', 'redis://h/0', 'rediss://user:pass@h:6380/15', 'redis://h:6379?family=6']) {
      assert.deepEqual(problems({ LOGWARDEN_REDIS_URL: ok }), [], ok);
    }
    assert.deepEqual(problems({ LOGWARDEN_REDIS_URL: 'redis://127.0.0.1:abc' }), [
      'LOGWARDEN_REDIS_URL is not a valid URL: redis://[user:password@]host[:port][/database], the port a number',
    ]);
    for (const db of ['abc', '-1', '1.5', '0x1', '1/2']) {
      assert.deepEqual(
        problems({}, { redisUrl: `redis://127.0.0.1:42421/${db}` }),
        [`--redis-url names the database ${JSON.stringify(db)}: the database must be a whole number from 0 (redis://host:6379/0), or left out`],
        db,
      );
    }
  });

  it('reports every bad setting in one error', () => {
    const env = {
      LOGWARDEN_PORT: 'http',
      LOGWARDEN_SIGNING_KEY: 'short',
      LOGWARDEN_REDIS_URL: 'localhost:6379',
      LOGWARDEN_BOOTSTRAP_SECRET: SECRET_32,
      LOGWARDEN_READ_PER_DAY: '0',
      LOGWARDEN_LOG_LEVEL: 'loud',
    };
    const expected = [
      'LOGWARDEN_SIGNING_KEY must be at least 32 characters',
      'LOGWARDEN_REDIS_URL must start with redis:// or rediss://',
      'LOGWARDEN_BOOTSTRAP_ACCESS_KEY and LOGWARDEN_BOOTSTRAP_SECRET must be set together',
      'LOGWARDEN_PORT must be an integer from 0 to 65535 (got "http")',
      'LOGWARDEN_READ_PER_DAY must be an integer from 1 to 1000000000 (got "0")',
      'LOGWARDEN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
    ];
    assert.throws(
      () => loadConfig({}, env),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.deepEqual(err.problems, expected);
        assert.equal(err.message, `invalid configuration:\n  - ${expected.join('\n  - ')}`);
        assert.equal(err.code, 'invalid_config');
        return true;
      },
    );
  });
  it('for the settings a command uses, refuses their problems and returns the others', () => {
    const env = { LOGWARDEN_PORT: 'http', LOGWARDEN_READ_PER_DAY: '0', LOGWARDEN_DATA_DIR: '/srv/lw', LOGWARDEN_ACCESS_KEY: 'LWKEY' };
    const port = 'LOGWARDEN_PORT must be an integer from 0 to 65535 (got "http")';
    const perDay = 'LOGWARDEN_READ_PER_DAY must be an integer from 1 to 1000000000 (got "0")';
    const { config, ignored } = loadConfigFor(['dataDir', 'accessKey'], {}, env);
    assert.deepEqual([config.dataDir, config.accessKey], ['/srv/lw', 'LWKEY']);
    assert.deepEqual(ignored, [port, perDay]);
    assert.deepEqual(loadConfigFor(['dataDir'], {}, {}).ignored, []);
    assert.throws(
      () => loadConfigFor(['dataDir', 'readPerDay', 'readPerSecond'], {}, env),
      (err: unknown) => err instanceof ConfigError && err.problems.length === 1 && err.problems[0] === perDay,
    );
    // A flag's problem belongs to its setting too.
    assert.throws(() => loadConfigFor(['dataDir'], { dataDir: '' }, env), ConfigError);
    assert.deepEqual(loadConfigFor(['dataDir'], { host: '' }, {}).ignored, ['--host needs a value (it was given as "")']);
  });

  it('reports every variable that is bad at once, each in its own line, in one error', () => {
    const env: Record<string, string> = {
      LOGWARDEN_EXTRA_LOG_TYPES: '9bad,LogwardenAdminLog',
      LOGWARDEN_SIGNING_KEY: 'short',
      LOGWARDEN_DATABASE_URL: 'mysql://db/lw',
      LOGWARDEN_REDIS_URL: 'http://cache',
      LOGWARDEN_BOOTSTRAP_ACCESS_KEY: 'no',
      LOGWARDEN_BOOTSTRAP_SECRET: 'short',
      LOGWARDEN_LOG_SIGNING_SECRET: 'short',
      LOGWARDEN_LOG_ORIGIN_PREFIX: 'a b',
      LOGWARDEN_RETENTION_DAYS: 'never',
      LOGWARDEN_LOG_LEVEL: 'loud',
      LOGWARDEN_LOG_FORMAT: 'xml',
    };
    for (const [name] of integers) env[name] = 'x';
    const got = problems(env);
    const expected = [
      'LOGWARDEN_EXTRA_LOG_TYPES: "9bad" is not a valid log type name',
      'LOGWARDEN_EXTRA_LOG_TYPES: LogwardenAdminLog is reserved for the admin trail (readable already, never writable by clients)',
      'LOGWARDEN_SIGNING_KEY must be at least 32 characters',
      'LOGWARDEN_DATABASE_URL must start with postgres:// or postgresql://',
      'LOGWARDEN_REDIS_URL must start with redis:// or rediss://',
      'LOGWARDEN_BOOTSTRAP_SECRET must be at least 32 characters',
      'LOGWARDEN_BOOTSTRAP_ACCESS_KEY must be 8-64 letters, digits, _ or -',
      'LOGWARDEN_LOG_SIGNING_SECRET must be at least 32 bytes',
      'LOGWARDEN_LOG_ORIGIN_PREFIX must be 1-200 printable ASCII characters without spaces or +',
      'LOGWARDEN_RETENTION_DAYS must be forever or a whole number of days from 1 to 365000 (got "never")',
      'LOGWARDEN_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
      'LOGWARDEN_LOG_FORMAT must be one of auto, pretty, json (got "xml")',
    ];
    for (const line of expected) assert.ok(got.includes(line), `missing: ${line}\n${got.join('\n')}`);
    for (const [name, min, max] of integers) {
      assert.ok(got.includes(`${name} must be an integer from ${min} to ${max} (got "x")`), `missing: ${name}\n${got.join('\n')}`);
    }
    assert.equal(got.length, expected.length + integers.length, got.join('\n'));
  });
});

describe('verify state and cache paths', () => {
  it('follow XDG_CONFIG_HOME and XDG_CACHE_HOME, and default under the home directory when they are unset or empty', () => {
    assert.equal(verifyStatePath({ XDG_CONFIG_HOME: '/cfg' }), '/cfg/logwarden/verify-state.json');
    assert.equal(verifyCacheDir({ XDG_CACHE_HOME: '/cache' }), '/cache/logwarden/tlog');
    for (const env of [{}, { XDG_CONFIG_HOME: '', XDG_CACHE_HOME: '' }]) {
      assert.equal(verifyStatePath(env), join(homedir(), '.config', 'logwarden', 'verify-state.json'));
      assert.equal(verifyCacheDir(env), join(homedir(), '.cache', 'logwarden', 'tlog'));
    }
  });
});
