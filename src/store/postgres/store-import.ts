/**
 * Taking a whole store in (../store-transfer.ts) for `logwarden copy`: into an empty PostgreSQL
 * store, in ONE transaction, so an interrupted copy leaves the database as empty as it was (and
 * a rerun starts afresh), never a part that looks whole. Entries keep their sequences and go in
 * as hot rows (`added_at` 0), which the sealer seals afterwards; idempotency keys and the hourly
 * tallies are made from them as an append makes them. Each tenant's sequence goes on from the
 * source's last (a watermark its cursors may carry). The tenants' trees come in as kept: leaf
 * records (their log type numbers renumbered), hashes, the sequence map, deletion receipts and
 * every signed checkpoint, the tip (`entry_seqs`) made of them; nothing is signed here.
 */
import type pg from 'pg';
import { entryKey } from '../../logs/entry.ts';
import { HASH_SIZE } from '../../tlog/hash.ts';
import { TILE_WIDTH } from '../../tlog/tile.ts';
import { BucketTally } from '../count-plan.ts';
import { TENANT_DEFAULT } from '../retention-records.ts';
import {
  type CheckpointText,
  type ImportProgress,
  renumberLeafRecords,
  type StoreExport,
  TABLES_AN_IMPORT_NEEDS_EMPTY,
  TargetNotEmptyError,
  typeNumbering,
} from '../store-transfer.ts';
import { checkpointRow } from '../tree-checkpoint-rows.ts';
import { leafRecordCount } from '../tree-leaf-records.ts';
import { FUTURE_MONTHS, LOCK_NAMESPACE, monthOf, monthTable, PARTITION_LOCK, PARTITIONED } from './migrations.ts';
import { peakCoordinates } from './tree.ts';

export async function importIntoPostgres(client: pg.PoolClient, from: StoreExport, progress: ImportProgress = () => {}): Promise<void> {
  await client.query('BEGIN');
  try {
    await refuseUnlessEmpty(client);
    await importAll(client, from, progress);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {}); // the original error says more
    throw err;
  }
}

async function refuseUnlessEmpty(client: pg.PoolClient): Promise<void> {
  // Nothing is written meanwhile by another process starting a tenant or an append, nor a month attached.
  await client.query('LOCK TABLE tenants, log_types IN EXCLUSIVE MODE');
  await client.query('SELECT pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, PARTITION_LOCK]);
  for (const [table, what] of TABLES_AN_IMPORT_NEEDS_EMPTY) {
    const r = await client.query(`SELECT 1 FROM ${table} LIMIT 1`);
    if ((r.rowCount ?? 0) > 0) throw new TargetNotEmptyError(`it already holds ${what}`);
  }
  const months = await client.query("SELECT 1 FROM pg_inherits WHERE inhparent = 'entries'::regclass AND inhrelid <> 'entries_default'::regclass");
  if ((months.rowCount ?? 0) > 0) throw new TargetNotEmptyError('it already holds monthly partitions');
}

/**
 * Gives the months of `times` their partitions (entries, entry_keys, segments) as attachMonth
 * makes them, inside the import's transaction and before their rows go in, for the months the
 * store partitions (1970 to a year ahead): imported entries are kept by month as appended ones
 * are, so retention can drop whole months, and DEFAULT is left empty.
 */
async function partitionMonths(client: pg.PoolClient, times: readonly number[], attached: Set<number>): Promise<void> {
  const last = monthOf(Date.now()) + FUTURE_MONTHS;
  for (const month of new Set(times.map(monthOf))) {
    if (attached.has(month) || month < 0 || month > last) continue;
    const from = Date.UTC(1970, month, 1);
    const to = Date.UTC(1970, month + 1, 1);
    for (const table of PARTITIONED) {
      const name = monthTable(table, month);
      await client.query(`CREATE TABLE ${name} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)`);
      await client.query(`ALTER TABLE ${table} ATTACH PARTITION ${name} FOR VALUES FROM (${from}) TO (${to})`);
    }
    attached.add(month);
  }
}

/** An idempotency key as `entry_keys` keeps it: the first 64 bits of `entryKey`, in decimal. */
function keyOf(logType: string, body: string): string {
  return entryKey(logType, body).readBigInt64BE(0).toString();
}

async function importAll(client: pg.PoolClient, from: StoreExport, progress: ImportProgress): Promise<void> {
  // The source's secrets replace those this store made when it was opened (its own store id and signing secret).
  await client.query('DELETE FROM secrets');
  await client.query('INSERT INTO secrets (name, value) SELECT unnest($1::text[]), unnest($2::text[])', [
    from.secrets.map((s) => s.name),
    from.secrets.map((s) => s.value),
  ]);
  const typeIds = new Map<string, number>();
  for (const name of from.typeNames.values()) {
    const r = await client.query<{ type_id: number }>('INSERT INTO log_types (name) VALUES ($1) RETURNING type_id', [name]);
    typeIds.set(name, r.rows[0]!.type_id);
  }
  const targetType = typeNumbering(from, (name) => typeIds.get(name)!);

  let entries = 0;
  let leaves = 0;
  const months = new Set<number>();
  for (const t of from.tenants) {
    const { tenant } = t;
    const tid = (
      await client.query<{ tid: number }>(
        'INSERT INTO tenants (id, name, created_at, read_per_second, read_per_day, ingest_per_second) VALUES ($1, $2, $3, $4, $5, $6) RETURNING tid',
        [tenant.id, tenant.name, tenant.createdAt, tenant.limits.readPerSecond, tenant.limits.readPerDay, tenant.limits.ingestPerSecond],
      )
    ).rows[0]!.tid;
    for (const k of t.accessKeys) {
      await client.query(
        'INSERT INTO access_keys (access_key, tid, secret_hash, scopes, created_at, revoked_at, last_used_at, uses_recorded_since) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [k.accessKey, tid, k.secretHash, k.scopes, k.createdAt, k.revokedAt, k.lastUsedAt, k.usesRecordedSince],
      );
    }
    const retention: [string, number | null][] = Object.entries(t.retention.perType);
    if (t.retention.tenantDays !== undefined) retention.push([TENANT_DEFAULT, t.retention.tenantDays]);
    for (const [logType, days] of retention)
      await client.query('INSERT INTO retention (tid, log_type, days) VALUES ($1, $2, $3)', [tid, logType, days]);
    for (const h of t.holds) {
      await client.query(
        `INSERT INTO holds (id, tid, log_type, from_ms, to_ms, reason, created_at, created_by, released_at, released_by, release_reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [h.id, tid, h.logType, h.fromMs, h.toMs, h.reason, h.createdAt, h.createdBy, h.releasedAt, h.releasedBy, h.releaseReason],
      );
    }
    for (const c of t.syncCheckpoints) {
      await client.query('INSERT INTO checkpoints (tid, source, log_type, through_ms, entries_seen, updated_at) VALUES ($1, $2, $3, $4, $5, $6)', [
        tid,
        c.source,
        c.logType,
        c.throughMs,
        c.entriesSeen,
        c.updatedAt,
      ]);
    }

    const tally = new BucketTally();
    for await (const batch of from.entries(tenant.id)) {
      const bodies = batch.map((e) => e.body.toString('utf8'));
      const types = batch.map((e) => {
        const id = typeIds.get(e.logType);
        if (id === undefined) throw new Error(`an entry of tenant ${tenant.id} has log type ${e.logType}, which the source does not list`);
        tally.add(id, e.timeMs);
        return id;
      });
      const times = batch.map((e) => e.timeMs);
      await partitionMonths(client, times, months);
      await client.query(
        `INSERT INTO entries (event_time, seq, tid, type_id, added_at, body)
         SELECT unnest($1::int8[]), unnest($2::int8[]), $3, unnest($4::int4[]), 0, unnest($5::text[])`,
        [times, batch.map((e) => e.seq), tid, types, bodies],
      );
      await client.query('INSERT INTO entry_keys (tid, event_time, key) SELECT $1, unnest($2::int8[]), unnest($3::int8[])', [
        tid,
        times,
        batch.map((e, i) => keyOf(e.logType, bodies[i]!)),
      ]);
      entries += batch.length;
      progress({ entries, leaves });
    }
    const counts = [...tally.entries()];
    await client.query('INSERT INTO entry_counts (tid, type_id, hour, n) SELECT $1, unnest($2::int4[]), unnest($3::int8[]), unnest($4::int8[])', [
      tid,
      counts.map((c) => c.typeId),
      counts.map((c) => c.hour),
      counts.map((c) => c.n),
    ]);

    const tree = from.tree(tenant.id);
    let partial: Buffer = Buffer.alloc(0);
    for await (const batch of tree.tiles()) {
      const full: { tile: number; records: Buffer }[] = [];
      for (const tile of batch) {
        const records = renumberLeafRecords(tile.records, targetType);
        const n = leafRecordCount(records);
        if (n === TILE_WIDTH) full.push({ tile: tile.tile, records });
        else if (tile.tile === Math.floor(tree.size / TILE_WIDTH) && n === tree.size % TILE_WIDTH) partial = records;
        else throw new Error(`tile ${tile.tile} of tenant ${tenant.id}'s tree holds ${n} leaves, which its size ${tree.size} does not allow`);
        leaves += n;
      }
      await client.query('INSERT INTO tree_tiles (tid, tile, records) SELECT $1, unnest($2::int8[]), unnest($3::bytea[])', [
        tid,
        full.map((f) => f.tile),
        full.map((f) => f.records),
      ]);
      progress({ entries, leaves });
    }
    // The tip keeps the hashes of the complete subtrees left of its partial tile (tree.ts).
    const peaks = new Map(peakCoordinates(tree.size).map(({ level, n }) => [`${level}/${n}`, undefined as Buffer | undefined]));
    for await (const batch of tree.high()) {
      for (const h of batch) if (peaks.has(`${h.level}/${h.n}`)) peaks.set(`${h.level}/${h.n}`, h.hash);
      await client.query('INSERT INTO tree_high (tid, level, n, hash) SELECT $1, unnest($2::int2[]), unnest($3::int8[]), unnest($4::bytea[])', [
        tid,
        batch.map((h) => h.level),
        batch.map((h) => h.n),
        batch.map((h) => h.hash),
      ]);
    }
    for await (const batch of tree.runs()) {
      await client.query(
        'INSERT INTO tree_runs (tid, first_seq, first_leaf, n) SELECT $1, unnest($2::int8[]), unnest($3::int8[]), unnest($4::int8[])',
        [tid, batch.map((r) => r.firstSeq), batch.map((r) => r.firstLeaf), batch.map((r) => r.n)],
      );
    }
    for await (const batch of tree.receipts()) {
      await client.query(
        'INSERT INTO tree_receipts (tid, leaf, text, trailed) SELECT $1, unnest($2::int8[]), unnest($3::text[]), unnest($4::bool[])',
        [tid, batch.map((r) => r.leaf), batch.map((r) => r.text), batch.map((r) => r.trailed)],
      );
    }
    let newest: CheckpointText | undefined;
    const oids = new Map<string, number>();
    for await (const batch of tree.checkpoints()) {
      for (const origin of new Set(batch.map((c) => c.origin))) {
        if (oids.has(origin)) continue;
        const r = await client.query<{ oid: number }>('INSERT INTO tree_origins (tid, origin) VALUES ($1, $2) RETURNING oid', [tid, origin]);
        oids.set(origin, r.rows[0]!.oid);
      }
      const rows = batch.map((c) => checkpointRow(c.origin, c.size, c.note));
      await client.query(
        `INSERT INTO tree_checkpoints (tid, oid, size, root, sig, note)
         SELECT $1, unnest($2::int4[]), unnest($3::int8[]), unnest($4::bytea[]), unnest($5::bytea[]), unnest($6::text[])`,
        [
          tid,
          batch.map((c) => oids.get(c.origin)!),
          batch.map((c) => c.size),
          rows.map((r) => r.root),
          rows.map((r) => r.sig),
          rows.map((r) => r.note),
        ],
      );
      for (const c of batch) if (newest === undefined || c.size > newest.size) newest = c;
    }
    const missing = [...peaks].filter(([, h]) => h === undefined).map(([k]) => k);
    if (missing.length > 0) throw new Error(`tenant ${tenant.id}'s tree of size ${tree.size} lacks the hashes ${missing.join(', ')}`);
    const tipPeaks = Buffer.concat([...peaks.values()] as Buffer[]);
    if (tipPeaks.length !== peaks.size * HASH_SIZE) throw new Error(`tenant ${tenant.id}'s tree holds hashes that are not ${HASH_SIZE} bytes`);
    await client.query('INSERT INTO entry_seqs (tid, last_seq, tree_size, tree_partial, tree_peaks, tree_note) VALUES ($1, $2, $3, $4, $5, $6)', [
      tid,
      t.lastSeq,
      tree.size,
      partial,
      tipPeaks,
      (t.latest ?? newest)?.note ?? null,
    ]);
  }
}
