/** A remote source's entry as the local store keeps it (used by the mirror's pass and its completeness check). */
import type { LogEntry } from '../client/index.ts';
import { EntryProblem, type NewEntry, toNewEntry, USER_FIELDS } from '../logs/entry.ts';

/** The local entry for a remote one: same wire text, so the same body on both sides. */
export function localEntry(logType: string, e: LogEntry): NewEntry {
  // The raw text decides which fields exist (an unknown one is refused, never dropped);
  // the SDK's values carry ids as exact strings.
  const fields: Record<string, unknown> = JSON.parse(e.raw) as Record<string, unknown>;
  for (const f of USER_FIELDS) if (e[f] !== undefined) fields[f] = e[f];
  try {
    return toNewEntry(logType, fields, e.logRecordText);
  } catch (err) {
    if (err instanceof EntryProblem) {
      throw new Error(`${logType} entry at ${e.eventTime} cannot be stored: ${err.field ? `${err.field}: ` : ''}${err.message}`);
    }
    throw err;
  }
}
