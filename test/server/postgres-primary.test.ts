/**
 * `serve --workers N` on PostgreSQL: the primary prepares the store and closes it again before
 * it forks the workers, so it runs no sealing round there. A round begins at once in a process
 * that runs the sealer, plans a search of every month's partition, and closing waits for it:
 * every worker's start would wait with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { preparePrimary } from '../../src/server/workers.ts';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { testConfig } from '../support/app.ts';
import { startPostgres } from '../support/postgres.ts';

const { cluster, skip } = await startPostgres({ statementStats: true });
after(() => cluster?.stop());

describe("serve --workers: the primary's preparation on a PostgreSQL store", { skip }, () => {
  let url: string;

  before(async () => {
    url = await cluster!.createDatabase();
    const store = await openPostgresStore({ url, noSealer: true });
    try {
      await store.createTenant({ id: '7', name: 'Primary' });
      // A month a year: hot entries old enough for any sealer to seal.
      const entries = [];
      for (let y = 2000; y < 2026; y++) entries.push(makeEntry('AccessLog', Date.UTC(y, 5, 1), `{"y":${y}}`));
      await store.append('7', entries);
    } finally {
      await store.close();
    }
    await cluster!.query(url, 'UPDATE entries SET added_at = 0');
    await cluster!.query(url, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  });

  it('runs no sealing round', async () => {
    await cluster!.query(url, 'SELECT pg_stat_statements_reset()');
    const prepared = await preparePrimary(testConfig({ databaseUrl: url, port: 0 }), {});
    assert.equal(prepared.tenantId, '7');
    const r = await cluster!.query<{ calls: string }>(
      url,
      `SELECT coalesce(sum(calls), 0) AS calls FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE '%FROM entries WHERE added_at <=%'`,
    );
    assert.equal(Number(r.rows[0]!.calls), 0, "the sealer's search");
    const hot = await cluster!.query<{ n: string }>(url, 'SELECT count(*) AS n FROM entries');
    assert.equal(Number(hot.rows[0]!.n), 26, 'the hot entries are still hot');
  });
});
