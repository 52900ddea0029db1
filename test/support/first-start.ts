/** What a server's first start leaves in a store when it is stopped before it made its key. */
import { FIRST_TENANT_ID } from '../../src/server/start.ts';
import type { Store } from '../../src/store/store.ts';

/** The `default` tenant `tenantId`, its id recorded before it was made (as start.ts records it), and no key. */
export async function leftByFirstStart(store: Store, tenantId: string): Promise<void> {
  await store.getOrCreateSecret(FIRST_TENANT_ID, () => tenantId);
  await store.createTenant({ id: tenantId, name: 'default' });
}
