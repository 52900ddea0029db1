/** The SQLite store's retention settings and legal holds (tables of migration 7). */
import type Database from 'better-sqlite3';
import { checkHold, checkRetentionDays, checkRetentionType, newHoldId, settingsOf, TENANT_DEFAULT } from '../retention-records.ts';
import type { LegalHold, NewLegalHold, RetentionDays, RetentionSettings } from '../store.ts';

interface HoldRow {
  id: string;
  tenant_id: string;
  log_type: string | null;
  from_ms: number | null;
  to_ms: number | null;
  reason: string;
  created_at: string;
  created_by: string;
  released_at: string | null;
  released_by: string | null;
  release_reason: string | null;
}

function toHold(r: HoldRow): LegalHold {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    logType: r.log_type,
    fromMs: r.from_ms,
    toMs: r.to_ms,
    reason: r.reason,
    createdAt: r.created_at,
    createdBy: r.created_by,
    releasedAt: r.released_at,
    releasedBy: r.released_by,
    releaseReason: r.release_reason,
  };
}

const HOLD_COLUMNS = `h.id, t.id AS tenant_id, h.log_type, h.from_ms, h.to_ms, h.reason, h.created_at, h.created_by,
  h.released_at, h.released_by, h.release_reason`;

export class SqliteRetention {
  private readonly q;

  constructor(private readonly db: Database.Database) {
    this.q = {
      settings: db.prepare<[number], { log_type: string; days: number | null }>('SELECT log_type, days FROM retention WHERE tid = ?'),
      set: db.prepare<[number, string, number | null]>(
        'INSERT INTO retention (tid, log_type, days) VALUES (?, ?, ?) ON CONFLICT (tid, log_type) DO UPDATE SET days = excluded.days',
      ),
      unset: db.prepare<[number, string]>('DELETE FROM retention WHERE tid = ? AND log_type = ?'),
      addHold: db.prepare<[string, number, string | null, number | null, number | null, string, string, string]>(
        `INSERT INTO holds (id, tid, log_type, from_ms, to_ms, reason, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      hold: db.prepare<[string], HoldRow>(`SELECT ${HOLD_COLUMNS} FROM holds h JOIN tenants t ON t.tid = h.tid WHERE h.id = ?`),
      holds: db.prepare<[string | null, string | null, number], HoldRow>(
        `SELECT ${HOLD_COLUMNS} FROM holds h JOIN tenants t ON t.tid = h.tid
         WHERE (? IS NULL OR t.id = ?) AND (? = 1 OR h.released_at IS NULL) ORDER BY h.created_at, h.rowid`,
      ),
      activeOf: db.prepare<[number], HoldRow>(
        `SELECT ${HOLD_COLUMNS} FROM holds h JOIN tenants t ON t.tid = h.tid WHERE h.tid = ? AND h.released_at IS NULL`,
      ),
      release: db.prepare<[string, string, string, string]>(
        'UPDATE holds SET released_at = ?, released_by = ?, release_reason = ? WHERE id = ? AND released_at IS NULL',
      ),
    };
  }

  settings(tid: number): RetentionSettings {
    return settingsOf(this.q.settings.all(tid));
  }

  set(tid: number, logType: string | null, days: RetentionDays | undefined): RetentionSettings {
    checkRetentionDays(days);
    checkRetentionType(logType);
    return this.db
      .transaction(() => {
        const name = logType ?? TENANT_DEFAULT;
        if (days === undefined) this.q.unset.run(tid, name);
        else this.q.set.run(tid, name, days);
        return this.settings(tid);
      })
      .immediate();
  }

  createHold(tid: number, hold: NewLegalHold, now: Date): LegalHold {
    checkHold(hold);
    const id = newHoldId();
    this.q.addHold.run(id, tid, hold.logType, hold.fromMs, hold.toMs, hold.reason, now.toISOString(), hold.createdBy);
    return toHold(this.q.hold.get(id)!);
  }

  list(tenantId: string | undefined, includeReleased: boolean): LegalHold[] {
    return this.q.holds.all(tenantId ?? null, tenantId ?? null, includeReleased ? 1 : 0).map(toHold);
  }

  /** The tenant's active holds (inside the purge's transaction). */
  active(tid: number): LegalHold[] {
    return this.q.activeOf.all(tid).map(toHold);
  }

  release(id: string, release: { reason: string; releasedBy: string }, now: Date): LegalHold | undefined {
    return this.db
      .transaction(() => {
        if (this.q.release.run(now.toISOString(), release.releasedBy, release.reason, id).changes !== 1) return undefined;
        return toHold(this.q.hold.get(id)!);
      })
      .immediate();
  }
}
