/**
 * How the stores keep every signed checkpoint (SPEC §11) without its text's repetitions. A
 * checkpoint the log signs is `<origin>\n<size>\n<base64 root>\n\n— <origin> <base64 sig>\n`:
 * the origin twice and two base64 fields make about 250 bytes, signed once per append, so a
 * producer sending one entry per request would spend more disk on checkpoints than on entries.
 * A kept checkpoint is its origin's number (one row per tenant and origin), its size, its root
 * hash and the 68 bytes of its signature (key id ‖ Ed25519 signature), from which the note is
 * rebuilt byte for byte. A note of another shape (extension lines, more signatures) is kept
 * whole; so is one that would not rebuild to exactly itself, which the row then says.
 */
import { decodeBase64 } from '../tlog/base64.ts';

/** A kept checkpoint: `note` set (the whole text) or `root` and `sig` (rebuilt by noteOfRow). */
export interface CheckpointRow {
  readonly root: Buffer | null;
  readonly sig: Buffer | null;
  readonly note: string | null;
}

const SIGNATURE_BYTES = 68;

function canonical(origin: string, size: number, root: Buffer, sig: Buffer): string {
  return `${origin}\n${size}\n${root.toString('base64')}\n\n\u2014 ${origin} ${sig.toString('base64')}\n`;
}

/** The row that keeps `note`, the checkpoint of `origin` at `size`. */
export function checkpointRow(origin: string, size: number, note: string): CheckpointRow {
  const lines = note.split('\n');
  const whole = { root: null, sig: null, note };
  if (lines.length !== 6) return whole;
  const root = decodeBase64(lines[2]!);
  const prefix = `\u2014 ${origin} `;
  const sig = lines[4]!.startsWith(prefix) ? decodeBase64(lines[4]!.slice(prefix.length)) : null;
  if (!root || root.length !== 32 || !sig || sig.length !== SIGNATURE_BYTES) return whole;
  const row = { root: Buffer.from(root), sig: Buffer.from(sig), note: null };
  return canonical(origin, size, row.root, row.sig) === note ? row : whole;
}

/** The note a row keeps (`origin` and `size` are the row's keys). */
export function noteOfRow(origin: string, size: number, row: CheckpointRow): string {
  if (row.note !== null) return row.note;
  if (!row.root || !row.sig) throw new Error(`the kept checkpoint of ${origin} at size ${size} has neither its text nor its signature`);
  return canonical(origin, size, row.root, row.sig);
}
