/** A running logwarden server on a seeded store: what the read-side measurements work against. */
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import type { Store } from '../../src/store/store.ts';
import type { Dataset } from './dataset.ts';
import { basicAuth } from './http.ts';
import type { ServerProcess, StoreLocation } from './processes.ts';

export interface Target {
  readonly kind: 'sqlite' | 'postgres';
  readonly server: ServerProcess;
  readonly dataset: Dataset;
  /** Where the server's store is, for starting more servers on it. */
  readonly location: StoreLocation;
  /** The signing key the server runs with, so that the benchmark can make cursors for it. */
  readonly signingKey: string;
  /** Opens the server's store in this process, read-only use: to find positions deep in the range. */
  openStore(): Promise<Store>;
}

/** The target of a server running on a SQLite data set. */
export function sqliteTarget(server: ServerProcess, dataset: Dataset & { readonly dataDir: string }, signingKey: string): Target {
  return {
    kind: 'sqlite',
    server,
    dataset,
    signingKey,
    location: { dataDir: dataset.dataDir },
    openStore: async () => openSqliteStore({ dataDir: dataset.dataDir }),
  };
}

export function authHeader(t: Target): Record<string, string> {
  return { authorization: basicAuth(t.dataset.accessKey, t.dataset.secret) };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A first-page path of the data set's log type. */
export function firstPagePath(t: Target, fromMs: number, toMs: number): string {
  return `/v2/logs?logType=${t.dataset.logType}&fromDateTime=${iso(fromMs)}&toDateTime=${iso(toMs)}`;
}

/** A deterministic generator, so every run measures the same requests. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (s * 48271) % 2147483647) / 2147483647;
}
