/**
 * A real app over a real store for HTTP-level tests: a fresh SQLite file in a temp dir (or
 * another store kind), one tenant, and keys for reading, writing and both. Requests go
 * through `app.inject()` unless a test needs the socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { type Config, type ConfigOverrides, loadConfig } from '../../src/config.ts';
import { buildApp } from '../../src/server/app.ts';
import { type KeyUseOptions, KeyUseRecorder, keyUseWarning } from '../../src/server/key-use.ts';
import type { LimiterStore } from '../../src/server/limiter/limiter.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createTenant, type IssuedKey, issueAccessKey } from '../../src/service/access-keys.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import { WireSchemas } from './wire-schemas.ts';

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
  /** What notes the keys' uses, when the test made its own (startTestApp's `keyUses`). */
  readonly keyUses: KeyUseRecorder | undefined;
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
  options: {
    factory?: StoreFactory;
    config?: ConfigOverrides;
    limiter?: LimiterStore;
    store?: Store;
    logger?: import('pino').Logger;
    /** The app's clock (see TestClock); defaults to the real one. */
    now?: () => number;
    /** Notes keys' uses with these options (flushMs 0: written only when the test flushes); omitted, the app's own. */
    keyUses?: KeyUseOptions;
  } = {},
): Promise<TestApp> {
  const created = options.store ? { store: options.store, dispose: async () => {} } : await (options.factory ?? sqliteFactory).create();
  const { store } = created;
  const config = testConfig(options.config);
  const tenant = await createTenant(store, 'test tenant');
  const key = await issueAccessKey(store, tenant.id, ['api:logs:read', 'api:logs:write']);
  const readKey = await issueAccessKey(store, tenant.id, ['api:logs:read']);
  const writeKey = await issueAccessKey(store, tenant.id, ['api:logs:write']);
  const keyUses =
    options.keyUses &&
    new KeyUseRecorder(store, { ...(options.now && { now: options.now }), warn: keyUseWarning(options.logger), ...options.keyUses });
  const app = await buildApp({
    ...(keyUses && { keyUses }),
    config,
    store,
    ...(options.limiter && { limiter: options.limiter }),
    ...(options.logger && { logger: options.logger }),
    ...(options.now && { now: options.now }),
  });
  await app.ready();
  const wire = new WireSchemas(app);
  // Every answer a test receives through this helper is checked against the API reference.
  const inject = async (o: InjectOptions): Promise<LightMyRequestResponse> => {
    const res = await app.inject(o);
    const target = o.url ?? o.path ?? '/';
    wire.check(o.method ?? 'GET', typeof target === 'string' ? target : target.pathname, res);
    return res;
  };
  return {
    app,
    store,
    config,
    tenantId: tenant.id,
    key,
    readKey,
    writeKey,
    keyUses,
    inject,
    list: (query, k = key) => inject({ method: 'GET', url: '/v2/logs', query, headers: { authorization: basic(k) } }),
    ingest: (logType, logEntries, k = key) =>
      inject({
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

/** A JSON logger at `level` whose lines (one per entry) the test reads from `lines`. */
export function capturedLog(level: string): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: createLogger(level, sink), lines };
}

/** A clock a test moves by hand, so nothing waits for real seconds (pass `now` to startTestApp). */
export class TestClock {
  constructor(public ms: number = Date.UTC(2026, 5, 1, 12, 0, 0)) {}
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
  /** Moves to the start of the next whole second (plus `extraMs`). */
  nextSecond(extraMs = 0): void {
    this.ms = Math.floor(this.ms / 1000) * 1000 + 1000 + extraMs;
  }
}

/** POST /oauth2/token with a form body, authenticated as `key` with HTTP Basic (or `auth`). */
export function requestToken(t: TestApp, key: { accessKey: string; secret: string }, form: string, auth = basic(key)) {
  return t.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form,
  });
}

export const FIXTURE_DIR = new URL('../fixtures/gong/', import.meta.url);
