/**
 * The admin trail: every administrative act on a tenant is written into that tenant's own log
 * as an entry of the reserved type LogwardenAdminLog, through `store.append`, so it gets a leaf
 * of the tenant's verifiable log like any entry, and its read keys read it with
 * `GET /v2/logs?logType=LogwardenAdminLog`. Clients cannot write the type (ingest refuses it).
 *
 * The entry is Gong-shaped (README, "Admin trail"):
 *   {"userId": <access key, when a key acted>, "userFullName": <who>, "eventTime": <when>,
 *    "logRecord": {"action", "actId", "tenantId", "actor", "target", "before", "after", "reason"?}}
 * `actId` is random, so two identical acts in one millisecond are two entries, never one
 * idempotent duplicate.
 */
import { randomBytes } from 'node:crypto';
import { type NewEntry, toNewEntry } from '../logs/entry.ts';
import { ADMIN_LOG_TYPE } from '../logs/log-types.ts';
import { formatEventTime } from '../logs/time.ts';
import type { Store, TrailOf } from '../store/store.ts';
import { type Actor, actorName } from './actor.ts';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export type AdminAction =
  | 'tenant.created'
  | 'tenant.limits.changed'
  | 'tenant.demo'
  | 'key.created'
  | 'key.revoked'
  | 'retention.changed'
  | 'hold.created'
  | 'hold.released'
  | 'purge.run';

export interface AdminAct {
  readonly action: AdminAction;
  readonly actor: Actor;
  /** What the act concerns, beyond the tenant: `{"accessKey": …}`, `{"logType": …}`, `{"holdId": …}`; null for the tenant itself. */
  readonly target: { readonly [key: string]: Json } | null;
  /** The state before the act (null when it created the thing) and after it (null when it removed it). */
  readonly before: Json;
  readonly after: Json;
  /** Why, when the operator had to say (holds). */
  readonly reason?: string;
}

/** The entry's `logRecord`, in its documented key order. */
export interface AdminRecord {
  readonly action: AdminAction;
  readonly actId: string;
  readonly tenantId: string;
  readonly actor: Actor;
  readonly target: { readonly [key: string]: Json } | null;
  readonly before: Json;
  readonly after: Json;
  readonly reason?: string;
}

export const newActId = (): string => 'act_' + randomBytes(12).toString('hex');

/** The trail entry of `act` on `tenantId` at `nowMs`, with its record. */
export function adminEntry(tenantId: string, act: AdminAct, nowMs: number, actId: string = newActId()): { entry: NewEntry; record: AdminRecord } {
  const record: AdminRecord = {
    action: act.action,
    actId,
    tenantId,
    actor: act.actor,
    target: act.target,
    before: act.before,
    after: act.after,
    ...(act.reason !== undefined && { reason: act.reason }),
  };
  const wire = {
    ...(act.actor.kind === 'key' && { userId: act.actor.accessKey }),
    userFullName: actorName(act.actor),
    eventTime: formatEventTime(nowMs),
    logRecord: record,
  };
  return { entry: toNewEntry(ADMIN_LOG_TYPE, wire, JSON.stringify(record)), record };
}

/**
 * An act's trail for the store method that performs it (Store's `trail` parameters): the store
 * hands over the state before and after inside the act's transaction, `describe` makes the act
 * of them (undefined: nothing to record), and its entry, timed by `clock`, is appended to the
 * tenant's log in that same transaction, so an act and its record are committed together or not
 * at all. The record appended is passed to `onRecord`.
 */
export function actTrail<T>(
  tenantOf: (after: T) => string,
  describe: (before: T | undefined, after: T) => AdminAct | undefined,
  clock: () => number,
  onRecord?: (record: AdminRecord) => void,
): TrailOf<T> {
  return (before, after) => {
    const act = describe(before, after);
    if (!act) return undefined;
    const { entry, record } = adminEntry(tenantOf(after), act, clock());
    onRecord?.(record);
    return entry;
  };
}

/**
 * Appends the entry of `act` to the tenant's log, timed by `clock`, in a transaction of its
 * own: for what the server did (a purge run, recorded after its receipt). Returns the record.
 */
export async function recordAdminAct(store: Store, tenantId: string, act: AdminAct, clock: () => number): Promise<AdminRecord> {
  const { entry, record } = adminEntry(tenantId, act, clock());
  await store.append(tenantId, [entry]);
  return record;
}
