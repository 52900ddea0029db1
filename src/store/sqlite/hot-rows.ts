/**
 * The hot-row check on SQLite (../hot-rows.ts): the key is computed here over the stored bytes
 * and looked up in `entry_keys` with the row's tenant and event time.
 */

import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ENTRY_KEY_BYTES } from '../../logs/entry.ts';
import { corruptHotRow, hotKeyPrefix } from '../hot-rows.ts';

export type HotRowCheck = (tid: number, logType: string, timeMs: number, seq: number, body: Buffer) => void;

export function hotRowCheck(db: Database.Database): HotRowCheck {
  const has = db.prepare<[number, number, Buffer], number>('SELECT 1 FROM entry_keys WHERE tid = ? AND event_time = ? AND key = ?').pluck();
  return (tid, logType, timeMs, seq, body) => {
    // entryKey (../../logs/entry.ts) over the stored bytes, which are the UTF-8 of the text it was computed on.
    const key = createHash('sha256').update(hotKeyPrefix(logType)).update(body).digest().subarray(0, ENTRY_KEY_BYTES);
    if (has.get(tid, timeMs, key) === undefined) throw corruptHotRow(seq, tid, logType);
  };
}
