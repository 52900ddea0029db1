/**
 * Signing a tenant's next checkpoint inside a store's append transaction. The rule is the
 * library's signNextCheckpoint (src/tlog/next-checkpoint.ts): the stored tree, at the size of
 * the last signed checkpoint, must still have that checkpoint's root, and the size must not
 * shrink; otherwise InconsistentTreeError and nothing is signed. This variant computes roots
 * synchronously (tree-hashes.ts), so a store with a synchronous driver (SQLite) signs within
 * the transaction that appends the leaves: a checkpoint then exists for every committed tree
 * size, in every process, and the check and the write of the next one cannot interleave with
 * another writer's. A store with an asynchronous driver can call signNextCheckpoint itself.
 */
import { type Checkpoint, formatCheckpoint, openCheckpoint, signCheckpoint } from '../tlog/checkpoint.ts';
import { type Hash, hashesEqual } from '../tlog/hash.ts';
import { InconsistentTreeError, type NextCheckpoint } from '../tlog/next-checkpoint.ts';
import type { NoteSigner, NoteVerifier } from '../tlog/note-key.ts';

export function signNextCheckpointNow(options: {
  origin: string;
  size: number;
  root: (size: number) => Hash;
  signer: NoteSigner;
  previous: Checkpoint | null;
}): NextCheckpoint {
  const { origin, size, root, signer, previous } = options;
  if (previous) {
    if (previous.origin !== origin) throw new InconsistentTreeError('the previous checkpoint has another origin');
    if (size < previous.size) throw new InconsistentTreeError(`tree size ${size} is smaller than the last signed size ${previous.size}`);
    if (!hashesEqual(root(previous.size), previous.rootHash)) {
      throw new InconsistentTreeError(`the stored tree at size ${previous.size} no longer has the root of the last signed checkpoint`);
    }
  }
  // A copy of its own: stores keep each tenant's last checkpoint, and the root as computed is a
  // view of a shared 8 KiB allocation slab that it would keep alive.
  const checkpoint: Checkpoint = { origin, size, rootHash: new Uint8Array(root(size)), extensions: [] };
  formatCheckpoint(checkpoint);
  return { checkpoint, note: signCheckpoint(checkpoint, signer) };
}

/**
 * The checkpoint a stored signed note carries, once its signature by the tenant's key checks
 * out: an edited stored checkpoint is refused rather than signed over.
 */
export function checkpointOfNote(note: string, verifier: NoteVerifier): Checkpoint {
  return openCheckpoint(note, verifier).checkpoint;
}

/**
 * The failure when a tenant's last stored checkpoint does not open with the log's key: nothing
 * is signed over it (a checkpoint signed with another key would make two logs of one origin).
 */
export function unopenedCheckpoint(origin: string, size: number | string, err: unknown): Error {
  return new Error(
    `the last checkpoint of ${origin} (size ${size}) does not verify with the log key ` +
      `(${err instanceof Error ? err.message : String(err)}): was the log signing secret changed, or the checkpoint edited? ` +
      'Nothing is signed over it: give the signing secret it was signed with (LOGWARDEN_LOG_SIGNING_SECRET), ' +
      'or a new LOGWARDEN_LOG_ORIGIN_PREFIX to begin a new series of checkpoints (verifiers then pin its new key)',
  );
}
