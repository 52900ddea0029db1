/**
 * A PostgreSQL store whose tenant '7' holds one hot entry each year from 2000 to 2025, added
 * long ago: work any sealer would do at once, in a month's partition of its own each, and with
 * pg_stat_statements there to count the statements a process ran.
 */
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import type { PostgresCluster } from './postgres.ts';

/** The hot entries stored. */
export const HOT_YEARS = 26;

export async function hotYearsDatabase(cluster: PostgresCluster, tenantName: string): Promise<string> {
  const url = await cluster.createDatabase();
  const store = await openPostgresStore({ url, noSealer: true });
  try {
    await store.createTenant({ id: '7', name: tenantName });
    const entries = [];
    for (let y = 2000; y < 2000 + HOT_YEARS; y++) entries.push(makeEntry('AccessLog', Date.UTC(y, 5, 1), `{"y":${y}}`));
    await store.append('7', entries);
  } finally {
    await store.close();
  }
  // Added long ago: old enough for any sealer to seal.
  await cluster.query(url, 'UPDATE entries SET added_at = 0');
  await cluster.query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  return url;
}
