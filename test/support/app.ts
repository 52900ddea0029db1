/**
 * A real app over a real store for HTTP-level tests: a fresh SQLite file in a temp dir (or
 * another store kind), one tenant, and keys for reading, writing and both. Requests go
 * through `app.inject()` unless a test needs the socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { loadConfig, type Config, type ConfigOverrides } from '../../src/config.ts';
import { createTenant, issueAccessKey, type IssuedKey } from '../../src/logs/access-keys.ts';
import { buildApp } from '../../src/server/app.ts';
import type { LimiterStore } from '../../src/server/limiter/limiter.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';

export interface StoreFactory {
  readonly name: string;
  /** A fresh, empty store and a function that removes it. */
  create(): Promise<{ store: Store; dispose(): Promise<void> }>;
}

export const sqliteFactory: StoreFactory = {
  name: 'sqlite',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-test-'));
    const store = openSqliteStore({ dataDir: dir });
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/**
 * SQLite sealing whatever it stores every millisecond or so (seal age 0): every read then races
 * the sealer and compaction of late entries, as it would on a busy store after a few minutes.
 */
export const sqliteSealingFactory: StoreFactory = {
  name: 'sqlite, sealing at once',
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'logwarden-test-'));
    const store = openSqliteStore({ dataDir: dir, sealAgeMs: 0, sealIntervalMs: 1 });
    return {
      store,
      async dispose() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

/** Config for tests: generous limits unless a test sets its own. Nothing is read from the environment. */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  return loadConfig({ readPerSecond: 100_000, readPerDay: 100_000_000, ingestPerSecond: 100_000, logLevel: 'silent', ...overrides }, {});
}

export interface TestApp {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly config: Config;
  readonly tenantId: string;
  /** Read + write key. */
  readonly key: IssuedKey;
  readonly readKey: IssuedKey;
  readonly writeKey: IssuedKey;
  inject(options: InjectOptions): Promise<LightMyRequestResponse>;
  /** GET /v2/logs with the read+write key. */
  list(query: Record<string, string>, key?: IssuedKey): Promise<LightMyRequestResponse>;
  /** POST /v2/logs (JSON batch) with the read+write key. */
  ingest(logType: string, logEntries: unknown[] | string, key?: IssuedKey): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export function basic(key: { accessKey: string; secret: string }): string {
  return 'Basic ' + Buffer.from(`${key.accessKey}:${key.secret}`).toString('base64');
}

export async function startTestApp(
  options: { factory?: StoreFactory; config?: ConfigOverrides; limiter?: LimiterStore; store?: Store; logger?: import('pino').Logger } = {},
): Promise<TestApp> {
  const created = options.store ? { store: options.store, dispose: async () => {} } : await (options.factory ?? sqliteFactory).create();
  const { store } = created;
  const config = testConfig(options.config);
  const tenant = await createTenant(store, 'test tenant');
  const key = await issueAccessKey(store, tenant.id, ['api:logs:read', 'api:logs:write']);
  const readKey = await issueAccessKey(store, tenant.id, ['api:logs:read']);
  const writeKey = await issueAccessKey(store, tenant.id, ['api:logs:write']);
  const app = await buildApp({ config, store, ...(options.limiter && { limiter: options.limiter }), ...(options.logger && { logger: options.logger }) });
  await app.ready();
  return {
    app,
    store,
    config,
    tenantId: tenant.id,
    key,
    readKey,
    writeKey,
    inject: (o) => app.inject(o),
    list: (query, k = key) => app.inject({ method: 'GET', url: '/v2/logs', query, headers: { authorization: basic(k) } }),
    ingest: (logType, logEntries, k = key) =>
      app.inject({
        method: 'POST',
        url: '/v2/logs',
        headers: { authorization: basic(k), 'content-type': 'application/json' },
        payload: typeof logEntries === 'string' ? logEntries : JSON.stringify({ logType, logEntries }),
      }),
    async close() {
      await app.close();
      await created.dispose();
    },
  };
}

export const FIXTURE_DIR = new URL('../fixtures/gong/', import.meta.url);
