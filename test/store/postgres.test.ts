import assert from 'node:assert/strict';
import { after } from 'node:test';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres/index.ts';
import { MIGRATIONS } from '../../src/store/postgres/migrations.ts';
import { startPostgres, UNDO_KEY_LAST_USED, UNDO_USES_RECORDED_SINCE } from '../support/postgres.ts';
import { runStoreContract } from './contract/store.contract.ts';
import type { TransferSource } from './contract/store-transfer.contract.ts';

const { cluster, skip } = await startPostgres();

after(() => cluster?.stop());

/** A PostgreSQL store to copy out of: it seals when told; `another` opens it as another process would. */
const postgresSource: TransferSource = {
  name: 'postgres',
  async make() {
    const url = await cluster!.createDatabase({ migrated: true });
    const opened: PostgresStore[] = [];
    const open = async () => {
      const s = await openPostgresStore({ url, poolSize: 4, sealAgeMs: 0, noSealer: true });
      opened.push(s);
      return s;
    };
    const store = await open();
    return {
      store,
      seal: () => store.settle(),
      another: open,
      run: async (sql, params) => void (await cluster!.query(url, sql.postgres, params)),
      async remove() {
        for (const s of opened) await s.close();
        await cluster!.dropDatabase(url);
      },
    };
  },
};

runStoreContract({
  name: 'postgres',
  skip,
  verifiableLog: true,
  transferSources: [postgresSource],
  async create(options = {}) {
    const url = await cluster!.createDatabase({ migrated: !options.fresh });
    return {
      open: () => openPostgresStore({ url, poolSize: 4, sealAgeMs: 0, sealIntervalMs: 20 }),
      schemaVersion: async () => (await cluster!.query<{ version: number }>(url, 'SELECT version FROM schema_version')).rows[0]!.version,
      setSchemaVersion: async (v) => void (await cluster!.query(url, 'UPDATE schema_version SET version = $1', [v])),
      toPreviousSchema: async () =>
        void (await cluster!.query(url, `BEGIN; ${UNDO_USES_RECORDED_SINCE}; UPDATE schema_version SET version = ${MIGRATIONS.length - 1}; COMMIT`)),
      beforeKeyUses: async () =>
        void (await cluster!.query(url, `BEGIN; ${UNDO_KEY_LAST_USED}; UPDATE schema_version SET version = ${MIGRATIONS.length - 2}; COMMIT`)),
      teardown: () => cluster!.dropDatabase(url),
      segments: {
        // Stores of this fixture seal at any age, so settling seals everything.
        settle: (store) => (store as PostgresStore).settle(),
        sealedEntries: async () => Number((await cluster!.query<{ n: string }>(url, 'SELECT coalesce(sum(n), 0) AS n FROM segments')).rows[0]!.n),
        openUnsealing: () => openPostgresStore({ url, poolSize: 4, sealAgeMs: 0, noSealer: true }),
        async alterHot(tenantId, holding, replacement) {
          const r = await cluster!.query<{ seq: string }>(
            url,
            replacement === undefined
              ? `UPDATE entries e SET event_time = event_time + 1 FROM tenants t
                 WHERE t.tid = e.tid AND t.id = $1 AND strpos(e.body, $2) > 0 RETURNING e.seq`
              : `UPDATE entries e SET body = replace(body, $2, $3) FROM tenants t
                 WHERE t.tid = e.tid AND t.id = $1 AND strpos(e.body, $2) > 0 RETURNING e.seq`,
            replacement === undefined ? [tenantId, holding] : [tenantId, holding, replacement],
          );
          assert.equal(r.rows.length, 1, `one hot row holds ${holding}`);
          return Number(r.rows[0]!.seq);
        },
        async corrupt(tenantId, logType) {
          const r = await cluster!.query(
            url,
            `UPDATE segments SET data = set_byte(data, octet_length(data) / 2, get_byte(data, octet_length(data) / 2) # 255)
             WHERE id = (SELECT s.id FROM segments s JOIN tenants t ON t.tid = s.tid JOIN log_types l ON l.type_id = s.type_id
                         WHERE t.id = $1 AND l.name = $2 ORDER BY s.id LIMIT 1)`,
            [tenantId, logType],
          );
          return r.rowCount === 1;
        },
        // The pages of every segment partition, its TOAST table and all their indexes (main
        // forks: the free-space and visibility maps, a few fixed pages per relation, are left
        // out, or at this test's size they alone would be half the live data).
        // test/store/postgres-segments.test.ts checks the total with the maps on more data.
        async space() {
          await cluster!.query(url, 'VACUUM segments');
          const r = await cluster!.query<{ live: string; used: string }>(
            url,
            `WITH parts AS (SELECT inhrelid AS oid FROM pg_inherits WHERE inhparent = 'segments'::regclass),
                  tables AS (SELECT oid FROM parts UNION ALL SELECT reltoastrelid FROM pg_class WHERE oid IN (SELECT oid FROM parts) AND reltoastrelid <> 0),
                  rels AS (SELECT oid FROM tables UNION ALL SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM tables))
             SELECT (SELECT coalesce(sum(octet_length(data) + coalesce(pg_column_size(key_times) + pg_column_size(keys), 0)), 0) FROM segments) AS live,
                    (SELECT sum(pg_relation_size(oid, 'main')) FROM rels) AS used`,
          );
          return { live: Number(r.rows[0]!.live), used: Number(r.rows[0]!.used) };
        },
      },
    };
  },
});
