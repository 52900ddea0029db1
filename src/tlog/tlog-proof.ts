/**
 * C2SP tlog-proof@v1: an offline proof that one entry is in a log. The text is
 *   c2sp.org/tlog-proof@v1
 *   [extra <base64>]
 *   index <leaf index>
 *   <base64 inclusion proof hash, leaf's sibling first> (zero or more lines)
 *   <empty line>
 *   <the signed checkpoint, verbatim>
 */
import { decodeBase64, encodeBase64 } from './base64.ts';
import { type Checkpoint, openCheckpoint } from './checkpoint.ts';
import { HASH_SIZE, type Hash } from './hash.ts';
import { verifyInclusion } from './inclusion-proof.ts';
import type { NoteVerifier } from './note-key.ts';

export const TLOG_PROOF_V1 = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  index: number;
  proof: Hash[];
  /** The signed checkpoint note. */
  checkpoint: string;
  extra?: Uint8Array;
}

export class TlogProofError extends Error {
  override readonly name = 'TlogProofError';
}

export function formatTlogProof(p: TlogProof): string {
  if (!Number.isSafeInteger(p.index) || p.index < 0) throw new TlogProofError('bad leaf index');
  const lines = [TLOG_PROOF_V1];
  if (p.extra !== undefined) lines.push(`extra ${encodeBase64(p.extra)}`);
  lines.push(`index ${p.index}`);
  for (const h of p.proof) {
    if (h.length !== HASH_SIZE) throw new TlogProofError('proof hashes are 32 bytes');
    lines.push(encodeBase64(h));
  }
  return `${lines.join('\n')}\n\n${p.checkpoint}`;
}

/** Parses a tlog-proof@v1 text strictly (the checkpoint is not opened here). */
export function parseTlogProof(text: string): TlogProof {
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw new TlogProofError('proof has no checkpoint');
  const head = text.slice(0, blank).split('\n');
  const checkpoint = text.slice(blank + 2);
  if (head[0] !== TLOG_PROOF_V1) throw new TlogProofError(`proof does not start with ${TLOG_PROOF_V1}`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (head[at]?.startsWith('extra ')) {
    const bytes = decodeBase64(head[at]!.slice('extra '.length));
    if (!bytes) throw new TlogProofError('extra is not base64');
    extra = bytes;
    at++;
  }
  const m = /^index (0|[1-9][0-9]*)$/.exec(head[at] ?? '');
  if (!m) throw new TlogProofError('proof has no valid index line');
  const index = Number(m[1]);
  if (!Number.isSafeInteger(index)) throw new TlogProofError('index is too large');
  const proof = head.slice(at + 1).map((line) => {
    const h = decodeBase64(line);
    if (!h || h.length !== HASH_SIZE) throw new TlogProofError('proof line is not base64 of a 32-byte hash');
    return h;
  });
  if (checkpoint.length === 0) throw new TlogProofError('proof has no checkpoint');
  return extra === undefined ? { index, proof, checkpoint } : { index, proof, checkpoint, extra };
}

/**
 * Verifies a tlog proof for the leaf whose RFC 6962 hash is `leaf`: the checkpoint must be
 * signed by `logKey` with its name as origin, and the inclusion proof must lead from the leaf
 * at the stated index to the checkpoint's root. Returns the checkpoint; throws otherwise.
 */
export function verifyTlogProof(text: string, leaf: Hash, logKey: NoteVerifier): { index: number; checkpoint: Checkpoint } {
  const p = parseTlogProof(text);
  const { checkpoint } = openCheckpoint(p.checkpoint, logKey);
  if (p.index >= checkpoint.size) throw new TlogProofError(`index ${p.index} is beyond the checkpoint's tree size ${checkpoint.size}`);
  if (!verifyInclusion(leaf, p.index, checkpoint.size, p.proof, checkpoint.rootHash)) {
    throw new TlogProofError('the inclusion proof does not lead to the checkpoint root');
  }
  return { index: p.index, checkpoint };
}
