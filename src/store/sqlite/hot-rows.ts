/**
 * The check of a hot row (an entry stored in `entries`, not yet sealed) before its text is
 * served or sealed. Segments carry a checksum; a hot row is held against its idempotency key in
 * `entry_keys`, the digest of its log type and text stored beside it with its tenant and event
 * time in the same transaction. Bytes of the database file overwritten in a row's text (or its
 * time) no longer give a key that is there: the row is refused, never served as if it were what
 * was acknowledged, nor sealed into a segment whose checksum would then vouch for it.
 */

import { createHash } from 'node:crypto';
import type Database from 'better-sqlite3';
import { ENTRY_KEY_BYTES } from '../../logs/entry.ts';
import { CorruptEntryError } from '../store.ts';

export type HotRowCheck = (tid: number, logType: string, timeMs: number, seq: number, body: Buffer) => void;

export function hotRowCheck(db: Database.Database): HotRowCheck {
  const has = db.prepare<[number, number, Buffer], number>('SELECT 1 FROM entry_keys WHERE tid = ? AND event_time = ? AND key = ?').pluck();
  return (tid, logType, timeMs, seq, body) => {
    // entryKey (../../logs/entry.ts) over the stored bytes, which are the UTF-8 of the text it was computed on.
    const key = createHash('sha256').update(`${logType}\0`).update(body).digest().subarray(0, ENTRY_KEY_BYTES);
    if (has.get(tid, timeMs, key) === undefined) {
      throw new CorruptEntryError(
        `stored entry ${seq} (tenant number ${tid}, ${logType}, not yet sealed) is corrupt: its text or time differs from the digest stored at its ingest`,
      );
    }
  };
}
