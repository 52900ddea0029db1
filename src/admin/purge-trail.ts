/**
 * The admin trail of retention's purges: each deletion receipt the server's purge appends to a
 * tenant's tree is followed by a "purge run" entry in the tenant's admin trail, naming the log
 * type, the event-time range of what was deleted, how many entries and the receipt's leaf, so a
 * reader of the trail sees deletions next to the settings that caused them.
 *
 * The entry is written once per receipt, in a transaction after the receipt's (the store marks
 * the receipt recorded in the entry's own). A process that ends between the two leaves a
 * receipt without its entry: the next purge cycle, in whichever process, writes it
 * (`completePurgeTrail`), so no deletion stays out of the trail.
 */
import { formatEventTime, parseDateTime } from '../logs/time.ts';
import { PurgeFailedError, type PurgeFailure } from '../store/background-purge.ts';
import { backgroundProblem, type PurgeReceipt, type Store } from '../store/store.ts';
import { encodeBase64, parseDeletionReceipt } from '../tlog/index.ts';
import { SERVER_ACTOR } from './actor.ts';
import { type AdminRecord, adminEntry } from './trail.ts';

/** Records one purge step that deleted something; undefined when there is nothing to record (count 0, or recorded before). */
export async function recordPurgeRun(store: Store, tenantId: string, receipt: PurgeReceipt, clock: () => number): Promise<AdminRecord | undefined> {
  if (receipt.count === 0 || receipt.leafIndex === null) return undefined;
  const { entry, record } = adminEntry(
    tenantId,
    {
      action: 'purge.run',
      actor: SERVER_ACTOR,
      target: { logType: receipt.logType },
      before: null,
      after: {
        logType: receipt.logType,
        firstEventTime: formatEventTime(receipt.fromMs),
        lastEventTime: formatEventTime(receipt.toMs),
        count: receipt.count,
        receiptLeafIndex: receipt.leafIndex,
        digest: receipt.digest,
        purgedAt: receipt.purgedAt,
      },
    },
    clock(),
  );
  return (await store.recordPurgeTrail(tenantId, receipt.leafIndex, entry)) ? record : undefined;
}

/** A receipt's text as the PurgeReceipt its step returned. */
function receiptOf(leafIndex: number, text: string): PurgeReceipt {
  const r = parseDeletionReceipt(text);
  const ms = (t: string) => {
    const p = parseDateTime(t);
    if (!p.ok) throw new RangeError(`receipt leaf ${leafIndex}: ${p.problem}`);
    return p.instant.ms;
  };
  return {
    count: r.count,
    logType: r.logType,
    fromMs: ms(r.firstEventTime),
    toMs: ms(r.lastEventTime),
    leafIndex,
    digest: encodeBase64(r.digest),
    purgedAt: r.deletedAt,
  };
}

/**
 * Writes the trail entry of every receipt that has none (a purge that ended between the two),
 * oldest first; returns how many it wrote. Run by the process holding the purge lease, before
 * it purges. A tenant whose entry cannot be written keeps it and its later ones for the next
 * cycle (its trail stays in order), and every other tenant's are written; then it fails with
 * PurgeFailedError naming those tenants (the purge leaves them for the next cycle).
 */
export async function completePurgeTrail(store: Store, clock: () => number): Promise<number> {
  let written = 0;
  const failures: PurgeFailure[] = [];
  const stuck = new Set<string>();
  for (const r of await store.untrailedReceipts()) {
    if (stuck.has(r.tenantId)) continue;
    try {
      if (await recordPurgeRun(store, r.tenantId, receiptOf(r.leafIndex, r.text), clock)) written++;
    } catch (err) {
      stuck.add(r.tenantId);
      failures.push({ tenantId: r.tenantId, err: backgroundProblem(err, `the admin trail entry of receipt leaf ${r.leafIndex}`) });
    }
  }
  if (failures.length > 0) throw new PurgeFailedError(failures);
  return written;
}
