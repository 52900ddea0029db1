import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/tlog/checkpoint.ts';
import type { Hash } from '../../src/tlog/hash.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { InconsistentTreeError, signNextCheckpoint } from '../../src/tlog/next-checkpoint.ts';
import { deriveTenantSigner } from '../../src/tlog/tenant-key.ts';

const ORIGIN = 'logwarden/next/42';
const signer = deriveTenantSigner('a secret for the next-checkpoint tests, long enough', ORIGIN);

async function treeOf(n: number, edit?: number): Promise<MemoryTree> {
  const t = new MemoryTree();
  for (let i = 0; i < n; i++) await t.append(i === edit ? 'edited' : `leaf ${i}`);
  return t;
}

describe('signing the next checkpoint', () => {
  it('signs the first checkpoint and each one that extends the last', async () => {
    const tree = await treeOf(10);
    const first = await signNextCheckpoint({ origin: ORIGIN, size: 4, reader: tree.reader, signer, previous: null });
    assert.equal(openCheckpoint(first.note, signer.verifier).checkpoint.size, 4);
    const second = await signNextCheckpoint({ origin: ORIGIN, size: 10, reader: tree.reader, signer, previous: first.checkpoint });
    assert.deepEqual(second.checkpoint.rootHash, await tree.root());
    const same = await signNextCheckpoint({ origin: ORIGIN, size: 10, reader: tree.reader, signer, previous: second.checkpoint });
    assert.deepEqual(same.checkpoint, second.checkpoint);
    const empty = await signNextCheckpoint({ origin: ORIGIN, size: 0, reader: tree.reader, signer, previous: null });
    assert.equal(openCheckpoint(empty.note, signer.verifier).checkpoint.size, 0);
  });

  it('refuses to sign when the stored tree no longer extends the last checkpoint', async () => {
    const honest = await treeOf(10);
    const last = await signNextCheckpoint({ origin: ORIGIN, size: 6, reader: honest.reader, signer, previous: null });
    for (const edit of [0, 3, 5]) {
      const rewritten = await treeOf(12, edit);
      await assert.rejects(
        signNextCheckpoint({ origin: ORIGIN, size: 12, reader: rewritten.reader, signer, previous: last.checkpoint }),
        InconsistentTreeError,
      );
    }
    // An edit after the last signed size is new history, not a contradiction.
    const later = await treeOf(12, 8);
    await signNextCheckpoint({ origin: ORIGIN, size: 12, reader: later.reader, signer, previous: last.checkpoint });
    await assert.rejects(
      signNextCheckpoint({ origin: ORIGIN, size: 5, reader: honest.reader, signer, previous: last.checkpoint }),
      /smaller than the last signed size/,
    );
    await assert.rejects(
      signNextCheckpoint({ origin: 'logwarden/next/43', size: 10, reader: honest.reader, signer, previous: last.checkpoint }),
      InconsistentTreeError,
    );
    const flipped: Hash = new Uint8Array(last.checkpoint.rootHash);
    flipped[0]! ^= 1;
    await assert.rejects(
      signNextCheckpoint({ origin: ORIGIN, size: 10, reader: honest.reader, signer, previous: { ...last.checkpoint, rootHash: flipped } }),
      InconsistentTreeError,
    );
  });
});
