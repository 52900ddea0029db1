/**
 * A real logwarden app on a real SQLite store, listening on 127.0.0.1 (a random port), to be
 * read by the SDK and by spawned `fetch`/`sync` processes; plus helpers to seed a store and
 * read back everything a tenant holds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { type ConfigOverrides, loadConfig } from '../../src/config.ts';
import { parseJsonBatch } from '../../src/logs/ingest-parse.ts';
import { LogTypes } from '../../src/logs/log-types.ts';
import { MIN_MS } from '../../src/logs/time.ts';
import { buildApp } from '../../src/server/app.ts';
import { createTenant, type IssuedKey, issueAccessKey } from '../../src/service/access-keys.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store, StoredPage } from '../../src/store/store.ts';
import { entriesOf } from './page-entries.ts';

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function tempDir(prefix = 'logwarden-sync-'): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface LiveSource {
  readonly url: string;
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly tenantId: string;
  readonly key: IssuedKey;
  readonly dataDir: string;
  close(): Promise<void>;
}

/** `now`: the server's clock (rate windows, tokens, caches), Date.now unless given. */
export async function startLiveSource(config: ConfigOverrides = {}, options: { now?: () => number } = {}): Promise<LiveSource> {
  const dir = tempDir('logwarden-source-');
  const store = openSqliteStore({ dataDir: dir.path });
  const tenant = await createTenant(store, 'source');
  const key = await issueAccessKey(store, tenant.id, ['api:logs:read']);
  const app = await buildApp({
    config: loadConfig({ readPerSecond: 100_000, readPerDay: 100_000_000, logLevel: 'silent', ...config }, {}),
    store,
    ...(options.now && { now: options.now }),
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    app,
    store,
    tenantId: tenant.id,
    key,
    dataDir: dir.path,
    async close() {
      await app.close();
      await store.close();
      dir.remove();
    },
  };
}

/** Stores entry texts of one type, as an ingest batch would. */
export async function seed(store: Store, tenantId: string, logType: string, texts: readonly string[]): Promise<void> {
  const batch = `{"logType":${JSON.stringify(logType)},"logEntries":[${texts.join(',')}]}`;
  await store.append(tenantId, parseJsonBatch(batch, new LogTypes()));
}

/** Every stored body of a tenant's type, in the order the API pages them. */
export async function allBodies(store: Store, tenantId: string, logType: string): Promise<string[]> {
  const query = { tenantId, logType, fromMs: MIN_MS, toMs: null };
  const first = await store.firstPage(query, 1000);
  const out = entriesOf(first).map((e) => e.body);
  let page: StoredPage = first;
  while (page.next !== null) {
    page = await store.nextPage(query, page.next, first.watermark, 1000);
    out.push(...entriesOf(page).map((e) => e.body));
  }
  return out;
}
