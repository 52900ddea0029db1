import type Database from 'better-sqlite3';
import { type CheckpointRow, noteOfRow } from '../../src/store/tree-checkpoint-rows.ts';

/**
 * SQL that takes a SQLite store back to before keys that existed before uses were recorded were
 * told apart (the step to schema version 11): one version back.
 */
export const UNDO_USES_RECORDED_SINCE = 'ALTER TABLE access_keys DROP COLUMN uses_recorded_since';

/**
 * SQL that takes a SQLite store back to before access keys' last uses were kept: the steps to
 * schema versions 10 and 11, so two versions back.
 */
export const UNDO_KEY_LAST_USED = `${UNDO_USES_RECORDED_SINCE}; ALTER TABLE access_keys DROP COLUMN last_used_at`;

/**
 * Takes a SQLite store back to before checkpoints were kept compactly (src/store/
 * tree-checkpoint-rows.ts): each kept checkpoint becomes its whole text again, by origin.
 * Returns the texts; `extra` are added as texts too.
 */
export function undoCompactCheckpoints(
  db: Database.Database,
  extra: readonly { tid: number; origin: string; size: number; note: string }[] = [],
): { tid: number; origin: string; size: number; note: string }[] {
  const rows = db
    .prepare<[], { tid: number; origin: string; size: number } & CheckpointRow>(
      'SELECT c.tid, o.origin, c.size, c.root, c.sig, c.note FROM tree_checkpoints c JOIN tree_origins o ON o.tid = c.tid AND o.oid = c.oid',
    )
    .all();
  const texts = [...rows.map((r) => ({ tid: r.tid, origin: r.origin, size: r.size, note: noteOfRow(r.origin, r.size, r) })), ...extra];
  db.exec(`DROP TABLE tree_checkpoints; DROP TABLE tree_origins;
    CREATE TABLE tree_checkpoints (tid INTEGER NOT NULL, origin TEXT NOT NULL, size INTEGER NOT NULL, note TEXT NOT NULL,
      PRIMARY KEY (tid, origin, size)) WITHOUT ROWID;`);
  const add = db.prepare('INSERT INTO tree_checkpoints (tid, origin, size, note) VALUES (?, ?, ?, ?)');
  for (const t of texts) add.run(t.tid, t.origin, t.size, t.note);
  return texts;
}
