/** Reading a store's export the way an import does, checking each batch's size as it comes. */
import assert from 'node:assert/strict';
import type { StoreExport } from '../../src/store/store-transfer.ts';

/**
 * The sequences of a tenant's exported entries, in the order they came, and each batch's text
 * size; every batch is checked to hold at most `maxBytes` of text before its last entry (one
 * entry at least). The export is closed at the end.
 */
export async function readBatches(from: StoreExport, tenantId: string, maxBytes: number): Promise<{ seen: number[]; sizes: number[] }> {
  const seen: number[] = [];
  const sizes: number[] = [];
  try {
    for await (const batch of from.entries(tenantId)) {
      const bytes = batch.reduce((sum, e) => sum + e.body.length, 0);
      sizes.push(bytes);
      assert.ok(batch.length === 1 || bytes - batch[batch.length - 1]!.body.length < maxBytes, `a batch of ${batch.length} entries, ${bytes} bytes`);
      for (const e of batch) seen.push(e.seq);
    }
  } finally {
    await from.close();
  }
  return { seen, sizes };
}
