/**
 * Signing the next checkpoint of a log without ever contradicting an earlier one (C2SP
 * tlog-checkpoint: a log must not sign two inconsistent checkpoints). Before signing size n,
 * the tree the stored hashes describe at the previous checkpoint's size must still have the
 * previous checkpoint's root: then the new tree extends it, whatever happened to the store in
 * between (a restored backup, a row edited by hand, a second writer that diverged).
 */
import { type Checkpoint, formatCheckpoint, signCheckpoint } from './checkpoint.ts';
import { hashesEqual } from './hash.ts';
import type { HashReader } from './hash-reader.ts';
import type { NoteSigner } from './note-key.ts';
import { treeHash } from './tree-hash.ts';

export class InconsistentTreeError extends Error {
  override readonly name = 'InconsistentTreeError';
}

export interface NextCheckpoint {
  checkpoint: Checkpoint;
  /** The signed note. */
  note: string;
}

/**
 * Signs the checkpoint for `size` leaves of the tree behind `reader`, after checking that it
 * extends `previous` (the last checkpoint signed for this origin, or null for the first).
 * Throws InconsistentTreeError instead of signing when it does not.
 */
export async function signNextCheckpoint(options: {
  origin: string;
  size: number;
  reader: HashReader;
  signer: NoteSigner;
  previous: Checkpoint | null;
}): Promise<NextCheckpoint> {
  const { origin, size, reader, signer, previous } = options;
  if (previous) {
    if (previous.origin !== origin) throw new InconsistentTreeError('the previous checkpoint has another origin');
    if (size < previous.size) {
      throw new InconsistentTreeError(`tree size ${size} is smaller than the last signed size ${previous.size}`);
    }
    const then = await treeHash(previous.size, reader);
    if (!hashesEqual(then, previous.rootHash)) {
      throw new InconsistentTreeError(`the stored tree at size ${previous.size} no longer has the root of the last signed checkpoint`);
    }
  }
  const checkpoint: Checkpoint = { origin, size, rootHash: await treeHash(size, reader), extensions: [] };
  formatCheckpoint(checkpoint); // validates before signing
  return { checkpoint, note: signCheckpoint(checkpoint, signer) };
}
