/**
 * Which tenant `serve --demo` may fill with synthetic entries. Entries appended to a tenant's
 * log can never be taken out of it (its verifiable log signs them), and `--gong-retention`
 * deletes a tenant's AccessLog entries after 14 days: so the demo goes only into a tenant known
 * to be a demo tenant. A tenant becomes one at its first start, when `serve --demo` finds it
 * created by that start (or left by a first start stopped before its key) and holding nothing
 * but its admin trail; the server then records the act `tenant.demo` in that trail. Any other
 * store is refused, with nothing written.
 */
import { type Actor, SERVER_ACTOR } from '../admin/actor.ts';
import { recordAdminAct } from '../admin/trail.ts';
import { CodedError } from '../errors.ts';
import { ADMIN_LOG_TYPE } from '../logs/log-types.ts';
import type { Store } from '../store/store.ts';

/** The name a first start gives its tenant, the only name a demo tenant has. */
const FIRST_TENANT_NAME = 'default';

/**
 * The mark is recorded right after the tenant's creation act, at its first start: it is among
 * the first entries of its trail, so that many are read to find it, however long the trail.
 */
const MARK_SEARCH = 100;

/** Raised when `serve --demo` meets a store whose tenant is not a demo tenant: nothing was written. */
export class DemoRefusedError extends CodedError {
  // --demo given on a store it does not fit: the call, not the store, is wrong (exit 2).
  override readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'DemoRefusedError';
  }
}

/** Whether the tenant's admin trail opens with the demo mark. */
export async function isDemoTenant(store: Store, tenantId: string): Promise<boolean> {
  const page = await store.firstPage({ tenantId, logType: ADMIN_LOG_TYPE, fromMs: 0, toMs: null }, MARK_SEARCH);
  if (page.count === 0) return false;
  const entries = JSON.parse(`[${page.text.toString('utf8')}]`) as Array<{ logRecord?: { action?: unknown } }>;
  return entries.some((e) => e.logRecord?.action === 'tenant.demo');
}

/**
 * The demo tenant of the store: the one marked as such; else `firstStart` (the tenant this
 * start gives the first key) when it holds nothing but its admin trail, marked now. Otherwise
 * throws DemoRefusedError saying why and what to do (`where` names the store), having written
 * nothing.
 */
export async function demoTenant(store: Store, firstStart: string | undefined, where: string, clock: () => number): Promise<string> {
  const tenants = await store.listTenants();
  // Only a first start's tenant is ever marked, and it is named so: other tenants are not read.
  for (const t of tenants) {
    if (t.name === FIRST_TENANT_NAME && (await isDemoTenant(store, t.id))) return t.id;
  }
  if (firstStart !== undefined && (await markIfUnused(store, firstStart, SERVER_ACTOR, clock))) return firstStart;
  const which =
    tenants.length === 1
      ? `its tenant ${tenants[0]!.id} ('${tenants[0]!.name}') is not a demo tenant`
      : `none of its ${tenants.length} tenants is a demo tenant`;
  throw new DemoRefusedError(
    `--demo refused: ${where} holds data and ${which}. --demo would write thousands of synthetic entries into ` +
      "that tenant's audit log, where they could never be removed (its verifiable log signs them), and --gong-retention " +
      'would delete its AccessLog entries older than 14 days. Nothing was written. To try the demo, give it a store of its ' +
      'own: a new --data-dir (or another --database-url); to serve this store, start without --demo. A demo tenant is one ' +
      'that `serve --demo` created on an empty store (its admin trail records `tenant.demo`); a demo store made by an ' +
      'earlier logwarden has no such record and is refused too: if it holds nothing but demo data, delete it and start the demo again.',
  );
}

/** Marks the tenant a demo tenant when it holds nothing but its admin trail; says whether it did. */
async function markIfUnused(store: Store, tenantId: string, actor: Actor, clock: () => number): Promise<boolean> {
  if (!(await store.logTypes(tenantId)).every((type) => type === ADMIN_LOG_TYPE)) return false;
  await recordAdminAct(store, tenantId, { action: 'tenant.demo', actor, target: null, before: null, after: { demo: true } }, clock);
  return true;
}

/** Raised when `seed` is pointed at a tenant that holds real entries: nothing was written. */
export class SeedRefusedError extends CodedError {
  // The tenant named is the wrong one for synthetic entries: the call is wrong (exit 2).
  override readonly code = 'usage';
  constructor(message: string) {
    super(message);
    this.name = 'SeedRefusedError';
  }
}

/**
 * Makes sure `seed` may write synthetic entries into the tenant: a demo tenant (its admin trail
 * records `tenant.demo`, by `serve --demo` or an earlier `seed`), or one that holds nothing but
 * its admin trail, which is marked a demo tenant now (the act names `actor`). Any other tenant
 * holds real entries, among which synthetic ones could never be told apart or taken out (the
 * tenant's verifiable log signs them): SeedRefusedError, with nothing written.
 */
export async function requireSeedableTenant(store: Store, tenantId: string, actor: Actor, clock: () => number): Promise<void> {
  if (await isDemoTenant(store, tenantId)) return;
  if (await markIfUnused(store, tenantId, actor, clock)) return;
  throw new SeedRefusedError(
    `seed refused: tenant ${tenantId} holds entries of its own and is not a demo tenant. Synthetic entries written ` +
      'into it could never be told apart from its real ones or taken out of its audit log (its verifiable log signs them). ' +
      'Nothing was written. Seed a tenant of its own instead: `logwarden tenants create --name NAME` makes one, and seed marks ' +
      'it a demo tenant (its admin trail records `tenant.demo`) before its first entry, so that later seeds may add to it.',
  );
}
