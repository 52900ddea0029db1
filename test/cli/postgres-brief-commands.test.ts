/**
 * A command that opens a PostgreSQL store for a moment (`tenants list`, `keys list`) does only
 * its own work there: no sealing round (which begins at once in a process that runs the sealer,
 * and which closing waits for), and no search of every month's segments for segments left to
 * index. A command that writes entries (`ingest`) still runs the sealer, as a server does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli.ts';
import { HOT_YEARS, hotYearsDatabase } from '../support/hot-years.ts';
import { startPostgres } from '../support/postgres.ts';

const { cluster, skip } = await startPostgres({ statementStats: true });
after(() => cluster?.stop());

describe('brief commands on a PostgreSQL store', { skip }, () => {
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'lw-brief-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Hot entries (not yet sealed) of the tenant. */
  const hot = async () => Number((await cluster!.query<{ n: string }>(url, 'SELECT count(*) AS n FROM entries')).rows[0]!.n);

  before(async () => {
    url = await hotYearsDatabase(cluster!, 'Brief');
  });

  /** How often statements like `like` were planned and run since the last reset. */
  const stats = async (like: string) => {
    const r = await cluster!.query<{ plans: string; calls: string }>(
      url,
      `SELECT coalesce(sum(plans), 0) AS plans, coalesce(sum(calls), 0) AS calls FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND query LIKE $1`,
      [like],
    );
    return { plans: Number(r.rows[0]!.plans), calls: Number(r.rows[0]!.calls) };
  };
  const SEALER_SEARCH = '%FROM entries WHERE added_at <=%';

  it('tenants list and keys list seal nothing and search no segments', async () => {
    await cluster!.query(url, 'SELECT pg_stat_statements_reset()');
    for (const args of [
      ['tenants', 'list'],
      ['keys', 'list', '--tenant', '7'],
    ]) {
      const r = await runCli([...args, '--database-url', url]);
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(await hot(), HOT_YEARS, 'the hot entries are still hot');
    assert.deepEqual(await stats(SEALER_SEARCH), { plans: 0, calls: 0 }, "the sealer's search");
    assert.deepEqual(await stats('%LEFT JOIN segments s%'), { plans: 0, calls: 0 }, 'the search for segments left to index');
  });

  it('ingest runs the sealer', async () => {
    await cluster!.query(url, 'SELECT pg_stat_statements_reset()');
    const file = join(dir, 'one.ndjson');
    writeFileSync(file, `{"logType":"AccessLog","userId":"1","eventTime":"2026-01-02T03:04:05Z","logRecord":{}}\n`);
    const r = await runCli(['ingest', file, '--tenant', '7', '--database-url', url]);
    assert.equal(r.code, 0, r.stderr);
    // Its first round began at the start; whether it sealed before the command ended is a race.
    assert.ok((await stats(SEALER_SEARCH)).calls >= 1);
  });
});
