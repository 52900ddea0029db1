/**
 * The admin trail of retention's purges: each deletion receipt the server's purge appends to a
 * tenant's tree is followed by a "purge run" entry in the tenant's admin trail, naming the log
 * type, the event-time range of what was deleted, how many entries and the receipt's leaf, so a
 * reader of the trail sees deletions next to the settings that caused them.
 */
import { formatEventTime } from '../logs/time.ts';
import type { PurgeReceipt, Store } from '../store/store.ts';
import { SERVER_ACTOR } from './actor.ts';
import { type AdminRecord, recordAdminAct } from './trail.ts';

/** Records one purge step that deleted something; a receipt of count 0 is no act (undefined). */
export async function recordPurgeRun(store: Store, tenantId: string, receipt: PurgeReceipt, clock: () => number): Promise<AdminRecord | undefined> {
  if (receipt.count === 0) return undefined;
  return recordAdminAct(
    store,
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
    clock,
  );
}
