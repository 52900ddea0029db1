/**
 * Entries of one log type packed as a batch parsed on a worker thread delivers them
 * (PackedEntries: their texts as UTF-8 bytes, back to back in one buffer), for a store to take as
 * it takes such a batch.
 */
import { ENTRY_KEY_BYTES, type NewEntry } from '../../src/logs/entry.ts';
import { DIGEST_BYTES, PackedEntries } from '../../src/logs/packed-entries.ts';
import { wireTextDigest } from '../../src/tlog/entry-leaf.ts';

export function packedOf(entries: readonly NewEntry[]): PackedEntries {
  const logType = entries[0]?.logType ?? 'AccessLog';
  if (entries.some((e) => e.logType !== logType)) throw new Error('a packed batch holds one log type');
  const texts = entries.map((e) => Buffer.from(e.body, 'utf8'));
  const ends = new Uint32Array(entries.length);
  let end = 0;
  texts.forEach((t, i) => {
    end += t.length;
    ends[i] = end;
  });
  const keys = new Uint8Array(entries.length * ENTRY_KEY_BYTES);
  const digests = new Uint8Array(entries.length * DIGEST_BYTES);
  entries.forEach((e, i) => {
    keys.set(e.key, i * ENTRY_KEY_BYTES);
    digests.set(wireTextDigest(texts[i]!), i * DIGEST_BYTES);
  });
  return new PackedEntries({
    logType,
    times: Float64Array.from(entries.map((e) => e.eventTimeMs)),
    keys,
    digests,
    text: new Uint8Array(Buffer.concat(texts)),
    ends,
  });
}
