/**
 * Reading a whole PostgreSQL store out (../store-transfer.ts) for `logwarden copy`. Everything is
 * read in ONE REPEATABLE READ transaction on one connection of its own, its statements unbounded
 * (a store of any size is read to its end), entries and the trees in keyset batches of bounded
 * size: one state of the store, whatever the other sessions do meanwhile.
 *
 * What other processes may do: before its snapshot, the transaction locks every table a write
 * of the store changes in SHARE mode, which lets reads go on and makes every write (an append, a
 * key's creation, a seal, a purge) wait until `close`: nothing is committed between the state
 * read and the end of the copy. The export opens only when no session of another logwarden
 * process (application_name 'logwarden', the sessions of this store aside) is connected to the
 * database, and `close` looks again before it lets the writes in: a session that connected
 * meanwhile, or any session whose statement waits on these locks, fails the export
 * (StoreInUseError, `meanwhile`), since what such a process acknowledges next is not in the copy.
 */
import type pg from 'pg';
import { corruptHotRow } from '../hot-rows.ts';
import { decodeSegment } from '../segment-codec.ts';
import type { AccessKeyRecord, Checkpoint, LegalHold, RetentionSettings, Tenant } from '../store.ts';
import {
  BATCH_BYTES,
  type CheckpointText,
  type EntryRow,
  type HighHashRow,
  type ReceiptText,
  type SeqRunRow,
  type StoreExport,
  StoreInUseError,
  type TenantExport,
  type TreeExport,
} from '../store-transfer.ts';
import { type CheckpointRow, noteOfRow } from '../tree-checkpoint-rows.ts';
import type { LogKeys } from '../tree-keys.ts';
import { hotRowOk } from './hot-rows.ts';
import { LOCK_NOT_AVAILABLE } from './table-locks.ts';
import { latestCheckpoint } from './tree.ts';

const BATCH = 1000;
/** Sealed segments read per statement: each is one batch, of at most SEGMENT_BYTES of text (../segment-codec.ts). */
const SEGMENTS_PER_READ = 4;
/** How long the export waits for writes under way to commit before it says the store is in use. */
const IN_USE_WAIT_MS = 2000;
/** PostgreSQL's SQLSTATE for a deadlock it broke (a write waiting for one table while holding another the export asks for). */
const DEADLOCK = '40P01';

/**
 * Every table a write of the store changes (appends, administration, sealing, purges, the
 * trees), locked SHARE for the export's whole length; `schema_version` too (a newer logwarden
 * migrating meanwhile).
 */
const WRITTEN_TABLES = [
  'schema_version',
  'secrets',
  'tenants',
  'log_types',
  'access_keys',
  'retention',
  'holds',
  'checkpoints',
  'entry_seqs',
  'entries',
  'entry_keys',
  'entry_counts',
  'segments',
  'segment_users',
  'segment_users_pending',
  'tree_tiles',
  'tree_high',
  'tree_runs',
  'tree_receipts',
  'tree_origins',
  'tree_checkpoints',
  'tree_backfill',
];

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PostgresExportParts {
  /** Where the export takes its connection: statements on it are not bounded in time. */
  readonly pool: pg.Pool;
  readonly keys: LogKeys;
  /** The backend pids of this store's own connections (not another process's). */
  readonly ownSessions: () => number[];
  readonly tenants: (db: Queryable) => Promise<Tenant[]>;
  readonly accessKeys: (db: Queryable, tenantId: string) => Promise<AccessKeyRecord[]>;
  readonly retention: (db: Queryable, tid: number) => Promise<RetentionSettings>;
  readonly holds: (db: Queryable, tenantId: string) => Promise<LegalHold[]>;
  readonly syncCheckpoints: (db: Queryable, tenantId: string) => Promise<Checkpoint[]>;
}

/** Rows of `read(after)` in keyset batches, `after` the key of the last row of the batch before. */
async function* batches<R, K>(read: (after: K) => Promise<R[]>, keyOf: (row: R) => K, start: K): AsyncGenerator<R[]> {
  for (let after = start; ; ) {
    const rows = await read(after);
    if (rows.length > 0) yield rows;
    if (rows.length < BATCH) return;
    after = keyOf(rows[rows.length - 1]!);
  }
}

/** The sessions of other logwarden processes connected to the database, and any session waiting on the export's locks. */
async function otherSessions(client: pg.PoolClient, own: readonly number[]): Promise<number> {
  // The activity view is read once per transaction unless told to read it again.
  await client.query('SELECT pg_stat_clear_snapshot()');
  const r = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_stat_activity
     WHERE pid <> pg_backend_pid() AND NOT (pid = ANY($1::int4[]))
       AND ((datname = current_database() AND application_name = 'logwarden') OR pg_backend_pid() = ANY(pg_blocking_pids(pid)))`,
    [own],
  );
  return Number(r.rows[0]!.n);
}

export async function exportPostgresStore(p: PostgresExportParts): Promise<StoreExport> {
  const client = await p.pool.connect();
  try {
    await client.query(
      `BEGIN ISOLATION LEVEL REPEATABLE READ; SET LOCAL statement_timeout = 0; SET LOCAL idle_in_transaction_session_timeout = 0;
       SET LOCAL lock_timeout = ${IN_USE_WAIT_MS}`,
    );
    // Before the first read, which takes the snapshot: the state read is the one the locks keep.
    await client.query(`LOCK TABLE ${WRITTEN_TABLES.join(', ')} IN SHARE MODE`);
    // Held: nothing read after them waits for a lock a write holds.
    await client.query('SET LOCAL lock_timeout = 0');
    if ((await otherSessions(client, p.ownSessions())) > 0) throw new StoreInUseError();
    return await exportIn(client, p);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
    const code = (err as { code?: unknown }).code;
    if (code === LOCK_NOT_AVAILABLE || code === DEADLOCK) throw new StoreInUseError();
    throw err;
  }
}

async function exportIn(client: pg.PoolClient, p: PostgresExportParts): Promise<StoreExport> {
  const q = <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) => client.query<R>(text, values).then((r) => r.rows);
  const secrets = await q<{ name: string; value: string }>('SELECT name, value FROM secrets ORDER BY name');
  const typeNames = new Map(
    (await q<{ type_id: number; name: string }>('SELECT type_id, name FROM log_types ORDER BY type_id')).map((r) => [r.type_id, r.name] as const),
  );
  const nameOf = (typeId: number): string => {
    const name = typeNames.get(typeId);
    if (name === undefined) throw new Error(`entries of unknown log type number ${typeId}`);
    return name;
  };
  const tids = new Map((await q<{ tid: number; id: string }>('SELECT tid, id FROM tenants')).map((r) => [r.id, r.tid] as const));
  const tidOf = (tenantId: string): number => {
    const tid = tids.get(tenantId);
    if (tid === undefined) throw new Error(`no tenant ${tenantId}`);
    return tid;
  };
  const heads = new Map(
    (
      await q<{ tid: number; last_seq: string; tree_size: string; tree_partial: Buffer }>(
        'SELECT tid, last_seq, tree_size, tree_partial FROM entry_seqs',
      )
    ).map((r) => [r.tid, { lastSeq: Number(r.last_seq), size: Number(r.tree_size), partial: r.tree_partial }] as const),
  );

  const tenants: TenantExport[] = [];
  for (const tenant of await p.tenants(client)) {
    const tid = tidOf(tenant.id);
    const entryCounts: Record<string, number> = {};
    for (const c of await q<{ type_id: number; n: string }>(
      'SELECT type_id, sum(n) AS n FROM entry_counts WHERE tid = $1 GROUP BY type_id ORDER BY type_id',
      [tid],
    )) {
      if (Number(c.n) > 0) entryCounts[nameOf(c.type_id)] = Number(c.n);
    }
    const origin = p.keys.origin(tenant.id);
    const last = await latestCheckpoint(client, tid, origin);
    tenants.push({
      tenant,
      accessKeys: await p.accessKeys(client, tenant.id),
      retention: await p.retention(client, tid),
      holds: await p.holds(client, tenant.id),
      syncCheckpoints: await p.syncCheckpoints(client, tenant.id),
      entryCounts,
      lastSeq: heads.get(tid)?.lastSeq ?? 0,
      latest: last && { origin, ...last },
      verifierKey: p.keys.verifierKey(tenant.id),
    });
  }

  async function* entries(tenantId: string): AsyncGenerator<EntryRow[]> {
    const tid = tidOf(tenantId);
    // Hot rows in page order, up to BATCH of them and BATCH_BYTES of text (one at least) a batch.
    for (let after = { typeId: -1, timeMs: Number.MIN_SAFE_INTEGER, seq: -1 }; ; ) {
      const rows = await q<{ type_id: number; event_time: string; seq: string; body: string; ok: boolean }>(
        `SELECT type_id, event_time, seq, body, ok FROM (
           SELECT type_id, event_time, seq, body, ok,
                  sum(octet_length(body)) OVER (ORDER BY type_id, event_time, seq) - octet_length(body) AS before
           FROM (SELECT type_id, event_time, seq, body,
                        ${hotRowOk("(SELECT convert_to(t.name, 'UTF8') || '\\x00'::bytea FROM log_types t WHERE t.type_id = entries.type_id)")} AS ok
                 FROM entries
                 WHERE tid = $1 AND (type_id, event_time, seq) > ($2, $3, $4)
                 ORDER BY type_id, event_time, seq LIMIT ${BATCH}) l) c
         WHERE before < ${BATCH_BYTES} ORDER BY type_id, event_time, seq`,
        [tid, after.typeId, after.timeMs, after.seq],
      );
      if (rows.length === 0) break;
      // A row whose text no longer gives the key stored at its ingest is not copied as if it were sound.
      const damaged = rows.find((r) => r.ok !== true);
      if (damaged) throw corruptHotRow(Number(damaged.seq), tid, nameOf(damaged.type_id));
      yield rows.map((r) => ({ logType: nameOf(r.type_id), timeMs: Number(r.event_time), seq: Number(r.seq), body: Buffer.from(r.body, 'utf8') }));
      const last = rows[rows.length - 1]!;
      after = { typeId: last.type_id, timeMs: Number(last.event_time), seq: Number(last.seq) };
    }
    // Sealed segments, a few per statement, each decoded (and checked) into one batch.
    for (let after = { typeId: -1, timeMs: Number.MIN_SAFE_INTEGER, seq: -1 }; ; ) {
      const rows = await q<{ id: string; type_id: number; last_time: string; last_seq: string; data: Buffer }>(
        `SELECT id, type_id, last_time, last_seq, data FROM segments
         WHERE tid = $1 AND (type_id, last_time, last_seq) > ($2, $3, $4)
         ORDER BY type_id, last_time, last_seq LIMIT ${SEGMENTS_PER_READ}`,
        [tid, after.typeId, after.timeMs, after.seq],
      );
      for (const row of rows) {
        const logType = nameOf(row.type_id);
        const seg = decodeSegment(row.data, { tenantId, logType }, Number(row.id));
        const out: EntryRow[] = [];
        for (let i = 0; i < seg.count; i++) out.push({ logType, timeMs: seg.timeMs(i), seq: seg.seq(i), body: Buffer.from(seg.body(i)) });
        yield out;
      }
      if (rows.length < SEGMENTS_PER_READ) break;
      const last = rows[rows.length - 1]!;
      after = { typeId: last.type_id, timeMs: Number(last.last_time), seq: Number(last.last_seq) };
    }
  }

  function tree(tenantId: string): TreeExport {
    const tid = tidOf(tenantId);
    const head = heads.get(tid);
    const size = head?.size ?? 0;
    return {
      size,
      async *tiles() {
        yield* batches(
          async (after: number) =>
            (
              await q<{ tile: string; records: Buffer }>('SELECT tile, records FROM tree_tiles WHERE tid = $1 AND tile > $2 ORDER BY tile LIMIT $3', [
                tid,
                after,
                BATCH,
              ])
            ).map((r) => ({ tile: Number(r.tile), records: r.records })),
          (r) => r.tile,
          -1,
        );
        if (head && head.partial.length > 0) yield [{ tile: Math.floor(size / 256), records: head.partial }];
      },
      high: () =>
        batches(
          async (after: { level: number; n: number }): Promise<HighHashRow[]> =>
            (
              await q<{ level: number; n: string; hash: Buffer }>(
                'SELECT level, n, hash FROM tree_high WHERE tid = $1 AND (level, n) > ($2, $3) ORDER BY level, n LIMIT $4',
                [tid, after.level, after.n, BATCH],
              )
            ).map((r) => ({ level: r.level, n: Number(r.n), hash: r.hash })),
          (r) => ({ level: r.level, n: r.n }),
          { level: -1, n: -1 },
        ),
      runs: () =>
        batches(
          async (after: number): Promise<SeqRunRow[]> =>
            (
              await q<{ first_seq: string; first_leaf: string; n: string }>(
                'SELECT first_seq, first_leaf, n FROM tree_runs WHERE tid = $1 AND first_seq > $2 ORDER BY first_seq LIMIT $3',
                [tid, after, BATCH],
              )
            ).map((r) => ({ firstSeq: Number(r.first_seq), firstLeaf: Number(r.first_leaf), n: Number(r.n) })),
          (r) => r.firstSeq,
          -1,
        ),
      receipts: () =>
        batches(
          async (after: number): Promise<ReceiptText[]> =>
            (
              await q<{ leaf: string; text: string; trailed: boolean }>(
                'SELECT leaf, text, trailed FROM tree_receipts WHERE tid = $1 AND leaf > $2 ORDER BY leaf LIMIT $3',
                [tid, after, BATCH],
              )
            ).map((r) => ({ leaf: Number(r.leaf), text: r.text, trailed: r.trailed })),
          (r) => r.leaf,
          -1,
        ),
      async *checkpoints() {
        for (const o of await q<{ oid: number; origin: string }>('SELECT oid, origin FROM tree_origins WHERE tid = $1 ORDER BY oid', [tid])) {
          yield* batches(
            async (after: number): Promise<CheckpointText[]> =>
              (
                await q<{ size: string } & CheckpointRow>(
                  'SELECT size, root, sig, note FROM tree_checkpoints WHERE tid = $1 AND oid = $2 AND size > $3 ORDER BY size LIMIT $4',
                  [tid, o.oid, after, BATCH],
                )
              ).map((r) => ({ origin: o.origin, size: Number(r.size), note: noteOfRow(o.origin, Number(r.size), r) })),
            (r) => r.size,
            -1,
          );
        }
      },
    };
  }

  let open = true;
  return {
    kind: 'postgres',
    sharedSequences: false,
    secrets,
    typeNames,
    tenants,
    entries,
    tree,
    async close() {
      if (!open) return;
      open = false;
      try {
        // Another process connected meanwhile, or a write waits on the locks: it would go on
        // (and acknowledge) once they are let go, and the copy would not hold what it wrote.
        if ((await otherSessions(client, p.ownSessions())) > 0) throw new StoreInUseError(true);
      } finally {
        await client.query('ROLLBACK').catch(() => {});
        client.release();
      }
    },
  };
}
