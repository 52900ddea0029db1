/** The PostgreSQL store's retention settings and legal holds (tables of migration 6). */
import type pg from 'pg';
import { checkHold, checkRetentionDays, checkRetentionType, newHoldId, settingsOf, TENANT_DEFAULT } from '../retention-records.ts';
import type { LegalHold, NewLegalHold, RetentionDays, RetentionSettings } from '../store.ts';

interface HoldRow {
  id: string;
  tenant_id: string;
  log_type: string | null;
  from_ms: string | null;
  to_ms: string | null;
  reason: string;
  created_at: Date;
  created_by: string;
  released_at: Date | null;
  released_by: string | null;
  release_reason: string | null;
}

function toHold(r: HoldRow): LegalHold {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    logType: r.log_type,
    fromMs: r.from_ms === null ? null : Number(r.from_ms),
    toMs: r.to_ms === null ? null : Number(r.to_ms),
    reason: r.reason,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    releasedAt: r.released_at && r.released_at.toISOString(),
    releasedBy: r.released_by,
    releaseReason: r.release_reason,
  };
}

const HOLD_COLUMNS = `h.id, t.id AS tenant_id, h.log_type, h.from_ms, h.to_ms, h.reason, h.created_at, h.created_by,
  h.released_at, h.released_by, h.release_reason`;

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

export async function retentionSettings(db: Queryable, tid: number): Promise<RetentionSettings> {
  const r = await db.query<{ log_type: string; days: number | null }>('SELECT log_type, days FROM retention WHERE tid = $1', [tid]);
  return settingsOf(r.rows);
}

/**
 * The log types a tenant holds entries of or has a setting for, sorted (Store.logTypes): the
 * types its admin trail's retention depends on.
 */
export async function tenantLogTypes(db: Queryable, tid: number): Promise<string[]> {
  const r = await db.query<{ name: string }>(
    `SELECT l.name FROM log_types l WHERE l.type_id IN (SELECT DISTINCT type_id FROM entry_counts WHERE tid = $1 AND n > 0)
     UNION SELECT log_type FROM retention WHERE tid = $1 AND log_type <> ''`,
    [tid],
  );
  return r.rows.map((row) => row.name).sort();
}

export async function setRetention(
  pool: Queryable,
  tid: number,
  logType: string | null,
  days: RetentionDays | undefined,
): Promise<RetentionSettings> {
  checkRetentionDays(days);
  checkRetentionType(logType);
  const name = logType ?? TENANT_DEFAULT;
  if (days === undefined) await pool.query('DELETE FROM retention WHERE tid = $1 AND log_type = $2', [tid, name]);
  else {
    await pool.query(
      'INSERT INTO retention (tid, log_type, days) VALUES ($1, $2, $3) ON CONFLICT (tid, log_type) DO UPDATE SET days = excluded.days',
      [tid, name, days],
    );
  }
  return retentionSettings(pool, tid);
}

export async function createHold(pool: Queryable, tid: number, hold: NewLegalHold, now: Date): Promise<LegalHold> {
  checkHold(hold);
  const r = await pool.query<HoldRow>(
    `WITH h AS (INSERT INTO holds (id, tid, log_type, from_ms, to_ms, reason, created_at, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *)
     SELECT ${HOLD_COLUMNS} FROM h JOIN tenants t ON t.tid = h.tid`,
    [newHoldId(), tid, hold.logType, hold.fromMs, hold.toMs, hold.reason, now, hold.createdBy],
  );
  return toHold(r.rows[0]!);
}

export async function listHolds(pool: Queryable, tenantId: string | undefined, includeReleased: boolean): Promise<LegalHold[]> {
  const r = await pool.query<HoldRow>(
    `SELECT ${HOLD_COLUMNS} FROM holds h JOIN tenants t ON t.tid = h.tid
     WHERE ($1::text IS NULL OR t.id = $1) AND ($2 OR h.released_at IS NULL) ORDER BY h.created_at, h.id`,
    [tenantId ?? null, includeReleased],
  );
  return r.rows.map(toHold);
}

/** The tenant's active holds (inside the purge's transaction, which locks them against release). */
export async function activeHolds(client: pg.PoolClient, tid: number): Promise<LegalHold[]> {
  const r = await client.query<HoldRow>(
    `SELECT ${HOLD_COLUMNS} FROM holds h JOIN tenants t ON t.tid = h.tid WHERE h.tid = $1 AND h.released_at IS NULL FOR SHARE OF h`,
    [tid],
  );
  return r.rows.map(toHold);
}

export async function releaseHold(
  pool: Queryable,
  id: string,
  release: { reason: string; releasedBy: string },
  now: Date,
): Promise<LegalHold | undefined> {
  const r = await pool.query<HoldRow>(
    `WITH h AS (UPDATE holds SET released_at = $1, released_by = $2, release_reason = $3 WHERE id = $4 AND released_at IS NULL RETURNING *)
     SELECT ${HOLD_COLUMNS} FROM h JOIN tenants t ON t.tid = h.tid`,
    [now, release.releasedBy, release.reason, id],
  );
  return r.rows[0] && toHold(r.rows[0]);
}
