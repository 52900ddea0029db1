/**
 * `serve --workers N` on PostgreSQL: the primary prepares the store and closes it again before
 * it forks the workers, so it runs no sealing round there. A round begins at once in a process
 * that runs the sealer, plans a search of every month's partition, and closing waits for it:
 * every worker's start would wait with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { preparePrimary } from '../../src/server/workers.ts';
import { testConfig } from '../support/app.ts';
import { HOT_YEARS, hotYearsDatabase } from '../support/hot-years.ts';
import { startPostgres } from '../support/postgres.ts';

const { cluster, skip } = await startPostgres({ statementStats: true });
after(() => cluster?.stop());

describe("serve --workers: the primary's preparation on a PostgreSQL store", { skip }, () => {
  let url: string;

  before(async () => {
    url = await hotYearsDatabase(cluster!, 'Primary');
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
    assert.equal(Number(hot.rows[0]!.n), HOT_YEARS, 'the hot entries are still hot');
  });
});
