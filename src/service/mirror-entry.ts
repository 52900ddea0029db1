/** A remote source's entry as the local store keeps it (used by the mirror's pass and its completeness check). */
import type { LogEntry } from '../client/index.ts';
import { EntryProblem, entryKey, type NewEntry, toNewEntry, USER_FIELDS } from '../logs/entry.ts';
import { ENTRY_FIELDS } from '../logs/entry-fields.ts';
import { objectMembers } from '../logs/json-text.ts';

/**
 * The local entry for a remote one: same wire text, so the same body on both sides. The source
 * is not ours to refuse: a field the contract does not name (one a newer Gong added) is kept,
 * its text as the source wrote it, after `logRecord` in the source's order; and user fields
 * longer than ingest accepts, or empty where ingest refuses them, are kept. Only what no page
 * of ours could carry (no `eventTime`, a `logRecord` that is not an object) still fails.
 */
export function localEntry(logType: string, e: LogEntry): NewEntry {
  // The SDK's values carry ids as exact strings.
  const fields: Record<string, unknown> = JSON.parse(e.raw) as Record<string, unknown>;
  for (const f of USER_FIELDS) if (e[f] !== undefined) fields[f] = e[f];
  const extra = objectMembers(e.raw, 0).filter((m) => !(ENTRY_FIELDS as readonly string[]).includes(m.key));
  try {
    const entry = toNewEntry(
      logType,
      fields,
      e.logRecordText,
      extra.map((m) => m.key),
      false,
    );
    if (extra.length === 0) return entry;
    const body = `${entry.body.slice(0, -1)}${extra.map((m) => `,${JSON.stringify(m.key)}:${e.raw.slice(m.start, m.end)}`).join('')}}`;
    return { logType, eventTimeMs: entry.eventTimeMs, body, key: entryKey(logType, body) };
  } catch (err) {
    if (err instanceof EntryProblem) {
      throw new Error(`${logType} entry at ${e.eventTime} cannot be stored: ${err.field ? `${err.field}: ` : ''}${err.message}`);
    }
    throw err;
  }
}
