/**
 * The check of a hot row (an entry stored unsealed, one row per entry) before its text is
 * served or sealed, the same on both stores. Segments carry a checksum; a hot row is held
 * against its idempotency key (`entryKey`, ../logs/entry.ts: the digest of its log type and
 * text), stored beside it with its tenant and event time in the same transaction at ingest. A
 * row whose text (or time) was altered where it is stored no longer gives a key that is there:
 * it is refused, never served as if it were what was acknowledged, nor sealed into a segment
 * whose checksum would then vouch for it.
 */

import { CorruptEntryError } from './store.ts';

/** What the digest of an entry's key covers before its text: the log type and a NUL (`entryKey`). */
export function hotKeyPrefix(logType: string): Buffer {
  return Buffer.from(`${logType}\0`, 'utf8');
}

/** The failure of a hot row's check: names the row (the store's own tenant number), never its text. */
export function corruptHotRow(seq: number, tid: number, logType: string): CorruptEntryError {
  return new CorruptEntryError(
    `stored entry ${seq} (tenant number ${tid}, ${logType}, not yet sealed) is corrupt: its text or time differs from the digest stored at its ingest`,
  );
}
