/**
 * The time a retention purge measures by: the server's clock, held back to the end of the
 * latest hour holding an entry (of any tenant, other than the admin trail) plus a day.
 *
 * A clock stepped ahead (set a year wrong, a VM's clock taken from a bad source) would
 * otherwise make every entry within its retention look expired, and the purge deletes what it
 * deems expired at once, irreversibly. Entries are dated by the clocks of the systems that
 * acted (`eventTime`), not by this server's, so the latest of them says how far time has got;
 * the admin trail is left out, since its entries are dated by this server's clock. Entries
 * dated after the server's clock are left out too: a client may date an entry years ahead (a
 * clock of its own set wrong, or on purpose), and one such entry of any tenant would otherwise
 * say that time had got there, and leave every tenant's entries unprotected from a clock
 * stepped ahead. The cost is on a quiet store: with no entry for more than a day, entries
 * expire no later than a day after the latest one arrived until entries arrive again. A store
 * holding no entry but admin-trail ones deletes nothing.
 */
import { ADMIN_LOG_TYPE } from '../logs/log-types.ts';
import { BUCKET_MS } from './count-plan.ts';
import { DAY_MS } from './retention-policy.ts';
import type { Store } from './store.ts';

/** How far the purge's time may run ahead of the latest entry stored. */
export const PURGE_CLOCK_MARGIN_MS = DAY_MS;

export interface PurgeClock {
  /** The server's clock (ms). */
  readonly clockMs: number;
  /** The end of the latest hour, starting at or before the clock, holding an entry other than the admin trail's; null when there is none. */
  readonly latestMs: number | null;
  /** The time retention is measured at; null when nothing may be deleted (no entry to measure by). */
  readonly asOfMs: number | null;
}

/** Whether the purge's time is held back from the server's clock. */
export const heldBack = (c: PurgeClock): boolean => c.asOfMs !== c.clockMs;

/** The purge's time when the server's clock reads `clockMs`. */
export async function purgeClock(store: Store, clockMs: number): Promise<PurgeClock> {
  let latestMs: number | null = null;
  for (const tenant of await store.listTenants()) {
    for (const logType of await store.logTypes(tenant.id)) {
      if (logType === ADMIN_LOG_TYPE) continue;
      const hour = await store.latestEntryHour(tenant.id, logType, clockMs);
      if (hour !== undefined && (latestMs === null || hour + BUCKET_MS > latestMs)) latestMs = hour + BUCKET_MS;
    }
  }
  const asOfMs = latestMs === null ? null : Math.min(clockMs, latestMs + PURGE_CLOCK_MARGIN_MS);
  return { clockMs, latestMs, asOfMs };
}
