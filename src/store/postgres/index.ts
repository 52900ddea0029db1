/**
 * The server store: PostgreSQL through a `pg` pool, for data beyond one file and for several
 * server processes sharing one store. Schema and its rationale: migrations.ts.
 *
 * Snapshot paging: PostgreSQL hands out sequence values in call order, not commit order, so a
 * watermark taken from a sequence would let a batch that took lower values but committed later
 * slip into a running query. Here `seq` comes from the tenant's `entry_seqs` row, updated in the
 * appending transaction: the row stays locked until commit, so one tenant's batches commit in
 * seq order, and the row's value as seen by a query's snapshot bounds exactly the entries that
 * snapshot sees. A tenant's appends are serialised; different tenants' run in parallel.
 */
import pg from 'pg';
import type { NewEntry } from '../../logs/entry.ts';
import type {
  AccessKeyRecord,
  AppendResult,
  Checkpoint,
  EntryQuery,
  FirstPage,
  NewAccessKey,
  Position,
  Scope,
  Store,
  StoredEntry,
  StoredPage,
  Tenant,
  TenantLimits,
} from '../store.ts';
import { UnknownTenantError } from '../store.ts';
import { planCount } from '../count-plan.ts';
import { EMPTY_PAGE, pageOfRows } from '../page.ts';
import { attachMonth, migrate, monthOf, partitionOf } from './migrations.ts';

const NO_UPPER_BOUND = Number.MAX_SAFE_INTEGER;
/** Rows per INSERT statement, and the text size at which a chunk is cut short. */
const CHUNK_ROWS = 5000;
const CHUNK_CHARS = 8 * 1024 * 1024;
/** Months after the current one that get their own partition; later (and pre-1970) times go to DEFAULT. */
const FUTURE_MONTHS = 12;
/** How long attaching a partition may wait for locks before the rows go to DEFAULT instead. */
const PARTITION_LOCK_TIMEOUT_MS = 5000;
const PARTITION_RETRY_MS = 30_000;

interface TenantRow {
  id: string;
  name: string;
  created_at: Date;
  read_per_second: number | null;
  read_per_day: number | null;
  ingest_per_second: number | null;
}

interface KeyRow {
  access_key: string;
  tenant_id: string;
  secret_hash: Buffer;
  scopes: string[];
  created_at: Date;
  revoked_at: Date | null;
}

/** int8 columns arrive as strings; every value here is far below 2^53. */
interface EntryRow {
  event_time: string;
  seq: string;
  body: string;
}

function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at.toISOString(),
    limits: { readPerSecond: r.read_per_second, readPerDay: r.read_per_day, ingestPerSecond: r.ingest_per_second },
  };
}

function toKey(r: KeyRow): AccessKeyRecord {
  return {
    accessKey: r.access_key,
    tenantId: r.tenant_id,
    secretHash: r.secret_hash,
    scopes: r.scopes as Scope[],
    createdAt: r.created_at.toISOString(),
    revokedAt: r.revoked_at && r.revoked_at.toISOString(),
  };
}

function toEntry(r: EntryRow): StoredEntry {
  return { timeMs: Number(r.event_time), seq: Number(r.seq), body: r.body };
}

/** One INSERT's worth of entries, as the column arrays `unnest` takes. */
interface Chunk {
  types: string[];
  times: number[];
  keys: Buffer[];
  bodies: string[];
}

function pull(it: Iterator<NewEntry>): Chunk {
  const chunk: Chunk = { types: [], times: [], keys: [], bodies: [] };
  let chars = 0;
  while (chunk.times.length < CHUNK_ROWS && chars < CHUNK_CHARS) {
    const next = it.next();
    if (next.done) break;
    const e = next.value;
    chunk.types.push(e.logType);
    chunk.times.push(e.eventTimeMs);
    chunk.keys.push(e.key);
    chunk.bodies.push(e.body);
    chars += e.body.length;
  }
  return chunk;
}

const SQL = {
  // The UPDATE takes the tenant's seq range and its row lock in the same statement as the insert.
  insert: `
    WITH s AS (UPDATE entry_seqs SET last_seq = last_seq + $2 WHERE tid = $1 RETURNING last_seq - $2 AS base)
    INSERT INTO entries (event_time, seq, tid, type_id, key, body)
    SELECT u.t, s.base + u.n, $1, u.ty, u.k, u.b
    FROM s, unnest($3::int4[], $4::int8[], $5::bytea[], $6::text[]) WITH ORDINALITY AS u (ty, t, k, b, n)
    ON CONFLICT (tid, key, event_time) DO NOTHING`,
  // One statement, hence one snapshot, for the watermark, the total and the first page. The
  // total is the hourly tallies of the whole hours ($6 to $7) corrected by two short counts
  // ($8-$10, $11-$13: from, to, sign; see count-plan.ts).
  first: `
    SELECT c.total, s.last_seq AS watermark, p.event_time, p.seq, p.body
    FROM entry_seqs s
    CROSS JOIN (
      SELECT coalesce((SELECT sum(n) FROM entry_counts WHERE tid = $1 AND type_id = $2 AND hour >= $6 AND hour < $7), 0)
        + $10::int * (SELECT count(*) FROM entries WHERE tid = $1 AND type_id = $2 AND event_time >= $8 AND event_time < $9)
        + $13::int * (SELECT count(*) FROM entries WHERE tid = $1 AND type_id = $2 AND event_time >= $11 AND event_time < $12)
        AS total
    ) c
    LEFT JOIN LATERAL (
      SELECT event_time, seq, body FROM entries
      WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND event_time < $4
      ORDER BY event_time, seq LIMIT $5
    ) p ON true
    WHERE s.tid = $1
    ORDER BY p.event_time, p.seq`,
  // The plain lower bound on event_time lets the planner prune partitions; the row comparison
  // alone would not.
  next: `
    SELECT event_time, seq, body FROM entries
    WHERE tid = $1 AND type_id = $2 AND event_time >= $3 AND (event_time, seq) > ($4, $5)
      AND event_time < $6 AND seq <= $7
    ORDER BY event_time, seq LIMIT $8`,
  tenantColumns: 'id, name, created_at, read_per_second, read_per_day, ingest_per_second',
  keyColumns: `k.access_key, t.id AS tenant_id, k.secret_hash, k.scopes, k.created_at, k.revoked_at`,
};

export interface PostgresStoreOptions {
  /** A `postgres://` connection URL. */
  url: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const pool = newPool(options.url, options.poolSize ?? 10);
  try {
    const client = await pool.connect();
    try {
      await migrate(client);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end();
    throw err;
  }
  return new PostgresStore(pool, newPool(options.url, 1));
}

function newPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, application_name: 'logwarden' });
  // An idle connection dropped by the server emits 'error' on the pool; unhandled, that would
  // crash the process. The pool discards the connection, and the next query reports trouble.
  pool.on('error', () => {});
  return pool;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  private readonly tids = new Map<string, number>();
  private readonly typeIds = new Map<string, number>();
  /** Months known to have their own partition. */
  private readonly months = new Set<number>();
  /** When a month whose partition could not be attached may be tried again. */
  private readonly retryAt = new Map<number, number>();
  private closed = false;

  /**
   * `side` runs the short autocommit work an append needs while it holds a connection of `pool`
   * (registering log types, attaching partitions); a separate pool so that appends filling the
   * main pool can never wait on each other for it.
   */
  constructor(
    private readonly pool: pg.Pool,
    private readonly side: pg.Pool,
  ) {}

  async health(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.pool.end(), this.side.end()]);
  }

  private async tid(tenantId: string): Promise<number | undefined> {
    let tid = this.tids.get(tenantId);
    if (tid === undefined) {
      const r = await this.pool.query<{ tid: number }>('SELECT tid FROM tenants WHERE id = $1', [tenantId]);
      tid = r.rows[0]?.tid;
      if (tid !== undefined) this.tids.set(tenantId, tid);
    }
    return tid;
  }

  private async requireTid(tenantId: string): Promise<number> {
    const tid = await this.tid(tenantId);
    if (tid === undefined) throw new UnknownTenantError(tenantId);
    return tid;
  }

  private async typeId(name: string): Promise<number | undefined> {
    let id = this.typeIds.get(name);
    if (id === undefined) {
      const r = await this.pool.query<{ type_id: number }>('SELECT type_id FROM log_types WHERE name = $1', [name]);
      id = r.rows[0]?.type_id;
      if (id !== undefined) this.typeIds.set(name, id);
    }
    return id;
  }

  /** Ids of the given type names, registering new ones (committed at once: a type id is never rolled back). */
  private async registerTypes(names: readonly string[]): Promise<number[]> {
    const missing = [...new Set(names.filter((n) => !this.typeIds.has(n)))];
    if (missing.length > 0) {
      await this.side.query('INSERT INTO log_types (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING', [missing]);
      const r = await this.side.query<{ type_id: number; name: string }>(
        'SELECT type_id, name FROM log_types WHERE name = ANY($1::text[])',
        [missing],
      );
      for (const row of r.rows) this.typeIds.set(row.name, row.type_id);
    }
    return names.map((n) => this.typeIds.get(n)!);
  }

  /**
   * Attaches the partitions that the given months lack, where allowed. `mayAttach` is false
   * while the calling transaction holds DEFAULT: attaching needs DEFAULT to itself.
   */
  private async ensurePartitions(months: ReadonlySet<number>, mayAttach: boolean): Promise<void> {
    const now = Date.now();
    const last = monthOf(now) + FUTURE_MONTHS;
    for (const m of months) {
      if (this.months.has(m) || !mayAttach || m < 0 || m > last || (this.retryAt.get(m) ?? 0) > now) continue;
      const client = await this.side.connect();
      let failed = false;
      try {
        await attachMonth(client, m, PARTITION_LOCK_TIMEOUT_MS);
        this.months.add(m);
      } catch {
        // The rows go to DEFAULT meanwhile: a write never fails for want of a partition.
        failed = true;
        this.retryAt.set(m, now + PARTITION_RETRY_MS);
      } finally {
        client.release(failed);
      }
    }
  }

  async append(tenantId: string, entries: Iterable<NewEntry>): Promise<AppendResult> {
    const tid = await this.requireTid(tenantId);
    const it = entries[Symbol.iterator]();
    let chunk = pull(it);
    if (chunk.times.length === 0) return { accepted: 0, duplicates: 0 };
    const client = await this.pool.connect();
    let accepted = 0;
    let seen = 0;
    let holdsDefault = false;
    // Months whose partition this transaction's INSERTs know of; undefined before the first INSERT.
    let visible: Set<number> | undefined;
    try {
      // An append is acknowledged only once durable, whatever the server's default.
      await client.query('BEGIN; SET LOCAL synchronous_commit = on');
      while (chunk.times.length > 0) {
        const months = new Set(chunk.times.map(monthOf));
        const typeIds = await this.registerTypes(chunk.types);
        await this.ensurePartitions(months, !holdsDefault);
        let toDefault = false;
        for (const m of months) {
          if (!this.months.has(m)) toDefault = true;
          else if (visible && !visible.has(m)) {
            // Attached after this transaction's first INSERT, which fixed the partitions it
            // routes to; taking a new lock makes the backend read the catalogue changes.
            await client.query(`LOCK TABLE ${partitionOf(m)} IN ROW EXCLUSIVE MODE`);
            visible.add(m);
          }
        }
        if (toDefault && !holdsDefault) {
          // The tenant's row first: holding DEFAULT while queueing behind this tenant's other
          // appends could stall one of them attaching a partition (until its lock timeout).
          if (!visible) await client.query('SELECT FROM entry_seqs WHERE tid = $1 FOR UPDATE', [tid]);
          // Keeps anyone from attaching a partition for the rows routed to DEFAULT until this
          // commits: PostgreSQL would refuse them (and reading the catalogue here catches any
          // partition attached just before).
          await client.query('LOCK TABLE entries_default IN ROW EXCLUSIVE MODE');
          holdsDefault = true;
        }
        visible ??= new Set(this.months);
        const r = await client.query({
          name: 'lw_append',
          text: SQL.insert,
          values: [tid, chunk.times.length, typeIds, chunk.times, chunk.keys, chunk.bodies],
        });
        accepted += r.rowCount ?? 0;
        seen += chunk.times.length;
        chunk = pull(it);
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    return { accepted, duplicates: seen - accepted };
  }

  async firstPage(query: EntryQuery, limit: number): Promise<FirstPage> {
    const tid = await this.tid(query.tenantId);
    const typeId = await this.typeId(query.logType);
    if (tid === undefined || typeId === undefined) return { total: 0, watermark: 0, ...EMPTY_PAGE };
    // One row beyond the page tells whether more follow.
    const plan = planCount(query.fromMs, query.toMs);
    const ranges = [0, 1].map((i) => plan.ranges[i] ?? { fromMs: 0, toMs: 0, sign: 0 });
    const r = await this.pool.query<EntryRow & { total: string; watermark: string }>({
      name: 'lw_first',
      text: SQL.first,
      values: [
        tid,
        typeId,
        query.fromMs,
        query.toMs ?? NO_UPPER_BOUND,
        limit + 1,
        plan.fromBucket,
        plan.toBucket,
        ...ranges.flatMap((c) => [c.fromMs, c.toMs, c.sign]),
      ],
    });
    const head = r.rows[0];
    const total = head ? Number(head.total) : 0;
    if (!head || total === 0) return { total: 0, watermark: 0, ...EMPTY_PAGE };
    const rows = r.rows.filter((row) => row.event_time !== null).map(toEntry);
    return { total, watermark: Number(head.watermark), ...pageOfRows(rows, limit) };
  }

  async nextPage(query: EntryQuery, after: Position, watermark: number, limit: number): Promise<StoredPage> {
    const tid = await this.tid(query.tenantId);
    const typeId = await this.typeId(query.logType);
    if (tid === undefined || typeId === undefined) return EMPTY_PAGE;
    const r = await this.pool.query<EntryRow>({
      name: 'lw_next',
      text: SQL.next,
      values: [
        tid,
        typeId,
        Math.max(query.fromMs, after.timeMs),
        after.timeMs,
        after.seq,
        query.toMs ?? NO_UPPER_BOUND,
        watermark,
        limit + 1,
      ],
    });
    return pageOfRows(r.rows.map(toEntry), limit);
  }

  async createTenant(input: { id: string; name: string }): Promise<Tenant> {
    const r = await this.pool.query<TenantRow>(
      `WITH t AS (INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) RETURNING *),
            s AS (INSERT INTO entry_seqs (tid) SELECT tid FROM t)
       SELECT ${SQL.tenantColumns} FROM t`,
      [input.id, input.name, new Date()],
    );
    return toTenant(r.rows[0]!);
  }

  async getTenant(id: string): Promise<Tenant | undefined> {
    const r = await this.pool.query<TenantRow>(`SELECT ${SQL.tenantColumns} FROM tenants WHERE id = $1`, [id]);
    return r.rows[0] && toTenant(r.rows[0]);
  }

  async listTenants(): Promise<Tenant[]> {
    const r = await this.pool.query<TenantRow>(`SELECT ${SQL.tenantColumns} FROM tenants ORDER BY tid`);
    return r.rows.map(toTenant);
  }

  async setTenantLimits(id: string, limits: Partial<TenantLimits>): Promise<Tenant | undefined> {
    // A flag per field distinguishes "leave as is" from "set to null" (the server's default).
    const r = await this.pool.query<TenantRow>(
      `UPDATE tenants SET
         read_per_second = CASE WHEN $2 THEN $3::integer ELSE read_per_second END,
         read_per_day = CASE WHEN $4 THEN $5::integer ELSE read_per_day END,
         ingest_per_second = CASE WHEN $6 THEN $7::integer ELSE ingest_per_second END
       WHERE id = $1 RETURNING ${SQL.tenantColumns}`,
      [
        id,
        limits.readPerSecond !== undefined,
        limits.readPerSecond ?? null,
        limits.readPerDay !== undefined,
        limits.readPerDay ?? null,
        limits.ingestPerSecond !== undefined,
        limits.ingestPerSecond ?? null,
      ],
    );
    return r.rows[0] && toTenant(r.rows[0]);
  }

  async createAccessKey(key: NewAccessKey): Promise<AccessKeyRecord> {
    const tid = await this.requireTid(key.tenantId);
    await this.pool.query(
      'INSERT INTO access_keys (access_key, tid, secret_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5)',
      [key.accessKey, tid, key.secretHash, key.scopes, new Date()],
    );
    return (await this.getAccessKey(key.accessKey))!;
  }

  async getAccessKey(accessKey: string): Promise<AccessKeyRecord | undefined> {
    const r = await this.pool.query<KeyRow>(
      `SELECT ${SQL.keyColumns} FROM access_keys k JOIN tenants t ON t.tid = k.tid WHERE k.access_key = $1`,
      [accessKey],
    );
    return r.rows[0] && toKey(r.rows[0]);
  }

  async listAccessKeys(tenantId: string): Promise<AccessKeyRecord[]> {
    const r = await this.pool.query<KeyRow>(
      `SELECT ${SQL.keyColumns} FROM access_keys k JOIN tenants t ON t.tid = k.tid
       WHERE t.id = $1 ORDER BY k.created_at, k.access_key`,
      [tenantId],
    );
    return r.rows.map(toKey);
  }

  async revokeAccessKey(accessKey: string): Promise<boolean> {
    const r = await this.pool.query('UPDATE access_keys SET revoked_at = $1 WHERE access_key = $2 AND revoked_at IS NULL', [
      new Date(),
      accessKey,
    ]);
    return r.rowCount === 1;
  }

  async getOrCreateSecret(name: string, create: () => string): Promise<string> {
    const read = async (): Promise<string | undefined> =>
      (await this.pool.query<{ value: string }>('SELECT value FROM secrets WHERE name = $1', [name])).rows[0]?.value;
    const existing = await read();
    if (existing !== undefined) return existing;
    // Whoever inserts first wins; the others' values are dropped and they read the winner's.
    await this.pool.query('INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', [name, create()]);
    return (await read())!;
  }

  async getCheckpoint(source: string, tenantId: string, logType: string): Promise<Checkpoint | undefined> {
    const tid = await this.tid(tenantId);
    if (tid === undefined) return undefined;
    const r = await this.pool.query<{ through_ms: string; entries_seen: string; updated_at: Date }>(
      'SELECT through_ms, entries_seen, updated_at FROM checkpoints WHERE tid = $1 AND source = $2 AND log_type = $3',
      [tid, source, logType],
    );
    const row = r.rows[0];
    return (
      row && {
        source,
        tenantId,
        logType,
        throughMs: Number(row.through_ms),
        entriesSeen: Number(row.entries_seen),
        updatedAt: row.updated_at.toISOString(),
      }
    );
  }

  async setCheckpoint(c: Omit<Checkpoint, 'updatedAt'>): Promise<void> {
    const tid = await this.requireTid(c.tenantId);
    await this.pool.query(
      `INSERT INTO checkpoints (tid, source, log_type, through_ms, entries_seen, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (tid, source, log_type) DO UPDATE SET through_ms = excluded.through_ms,
         entries_seen = excluded.entries_seen, updated_at = excluded.updated_at`,
      [tid, c.source, c.logType, c.throughMs, c.entriesSeen, new Date()],
    );
  }
}
