/**
 * C2SP tlog-checkpoint: the note text `<origin>\n<tree size>\n<base64 root hash>\n`, then
 * optional non-empty extension lines, signed as a signed-note by the log's key (whose name is
 * the origin).
 */
import { decodeBase64, encodeBase64 } from './base64.ts';
import { HASH_SIZE, type Hash } from './hash.ts';
import type { NoteSigner, NoteVerifier } from './note-key.ts';
import { NoteError, openNote, signNote } from './signed-note.ts';

export interface Checkpoint {
  origin: string;
  size: number;
  rootHash: Hash;
  extensions: string[];
}

export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

const SIZE = /^(0|[1-9][0-9]*)$/;

export function formatCheckpoint(c: Checkpoint): string {
  if (!validLine(c.origin)) throw new CheckpointError('origin must be a non-empty line');
  if (!Number.isSafeInteger(c.size) || c.size < 0) throw new CheckpointError('bad tree size');
  if (c.rootHash.length !== HASH_SIZE) throw new CheckpointError('root hash must be 32 bytes');
  for (const e of c.extensions) if (!validLine(e)) throw new CheckpointError('extension lines must be non-empty lines');
  return [c.origin, String(c.size), encodeBase64(c.rootHash), ...c.extensions].map((l) => `${l}\n`).join('');
}

function validLine(l: string): boolean {
  return l.length > 0 && !l.includes('\n');
}

/** Parses a checkpoint's note text strictly; throws CheckpointError. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointError('checkpoint text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new CheckpointError('checkpoint needs an origin, a tree size and a root hash');
  const [origin, sizeText, rootText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) throw new CheckpointError('checkpoint origin is empty');
  if (!SIZE.test(sizeText)) throw new CheckpointError('checkpoint tree size is not a decimal without leading zeroes');
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new CheckpointError('checkpoint tree size is too large');
  const rootHash = decodeBase64(rootText);
  if (!rootHash || rootHash.length !== HASH_SIZE) throw new CheckpointError('checkpoint root hash is not base64 of 32 bytes');
  if (extensions.some((e) => e.length === 0)) throw new CheckpointError('checkpoint has an empty extension line');
  return { origin, size, rootHash, extensions };
}

/** Signs a checkpoint with the log's key; the key name must be the origin. */
export function signCheckpoint(c: Checkpoint, signer: NoteSigner): string {
  if (signer.name !== c.origin) throw new CheckpointError('the log key name must be the checkpoint origin');
  return signNote(formatCheckpoint(c), [signer]);
}

/**
 * Opens a signed checkpoint: the note must carry a valid signature by `logKey` (other
 * signatures, such as witness cosignatures, are ignored), and its origin must be the key's
 * name. Throws NoteError or CheckpointError.
 */
export function openCheckpoint(note: Uint8Array | string, logKey: NoteVerifier): { checkpoint: Checkpoint; text: string } {
  const opened = openNote(note, [logKey]);
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== logKey.name) {
    throw new CheckpointError(`checkpoint origin ${JSON.stringify(checkpoint.origin)} is not the log key's name`);
  }
  return { checkpoint, text: opened.text };
}

export { NoteError };
