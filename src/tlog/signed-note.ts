/**
 * C2SP signed-note: a text ending in a newline, a blank line, then signature lines
 * `— <key name> <base64(4-byte key id ‖ signature)>`.
 *
 * Opening a note follows the spec's rules: the whole note must be UTF-8 without control
 * characters other than newline; a signature whose (name, id) matches a known key must verify
 * or the note is rejected; signatures by unknown keys are ignored (kept as unverified); at
 * least one known key must have signed.
 */
import { decodeBase64, encodeBase64 } from './base64.ts';
import { isValidKeyName, type NoteSigner, type NoteVerifier } from './note-key.ts';
import { isWellFormedText } from './well-formed.ts';

export type NoteErrorCode = 'malformed' | 'invalid-signature' | 'unverified';

export class NoteError extends Error {
  override readonly name = 'NoteError';
  constructor(
    readonly code: NoteErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface NoteSignature {
  name: string;
  keyId: number;
  /** The base64 of key id ‖ signature, as it appeared. */
  base64: string;
}

export interface OpenedNote {
  /** The signed text, including its final newline. */
  text: string;
  /** Signatures by known keys, all verified. */
  verified: NoteSignature[];
  /** Signatures by keys the caller does not know (not checked). */
  unverified: NoteSignature[];
}

/** Verifiers accept at least 16 signatures (the spec's floor); far more means abuse. */
export const MAX_SIGNATURES = 100;
const DASH = '\u2014 ';

/** Signs `text` (which must end in a newline) with each signer; returns the note. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!text.endsWith('\n')) throw new NoteError('malformed', 'note text must end with a newline');
  checkCharacters(text);
  if (signers.length === 0) throw new NoteError('malformed', 'a note needs at least one signature');
  const message = new TextEncoder().encode(text);
  const lines = signers.map((s) => {
    if (!isValidKeyName(s.name)) throw new NoteError('malformed', 'invalid key name');
    const sig = s.sign(message);
    const payload = new Uint8Array(4 + sig.length);
    new DataView(payload.buffer).setUint32(0, s.keyId);
    payload.set(sig, 4);
    return `${DASH}${s.name} ${encodeBase64(payload)}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

function checkCharacters(text: string): void {
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) throw new NoteError('malformed', 'note contains a control character');
}

/** Decodes note bytes as strict UTF-8. */
function decodeNote(note: Uint8Array | string): string {
  if (typeof note === 'string') {
    if (!isWellFormedText(note)) {
      throw new NoteError('malformed', 'note is not valid UTF-8');
    }
    return note;
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
  } catch {
    throw new NoteError('malformed', 'note is not valid UTF-8');
  }
}

/** Splits a note into its text and signature lines without checking any signature. */
export function splitNote(note: Uint8Array | string): { text: string; signatures: NoteSignature[]; raw: Uint8Array[] } {
  const s = decodeNote(note);
  checkCharacters(s);
  const split = s.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed', 'note has no signature block');
  const text = s.slice(0, split + 1);
  const block = s.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) throw new NoteError('malformed', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError('malformed', `note has more than ${MAX_SIGNATURES} signatures`);
  const signatures: NoteSignature[] = [];
  const raw: Uint8Array[] = [];
  for (const line of lines) {
    if (!line.startsWith(DASH)) throw new NoteError('malformed', 'signature line must start with an em dash and a space');
    const rest = line.slice(DASH.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw new NoteError('malformed', 'signature line has no signature');
    const name = rest.slice(0, space);
    const b64 = rest.slice(space + 1);
    const bytes = decodeBase64(b64);
    if (!isValidKeyName(name) || !bytes || bytes.length < 5) throw new NoteError('malformed', 'malformed signature line');
    signatures.push({ name, keyId: new DataView(bytes.buffer, bytes.byteOffset).getUint32(0), base64: b64 });
    raw.push(bytes.subarray(4));
  }
  return { text, signatures, raw };
}

/**
 * Opens a note with the keys the caller trusts. Throws NoteError: `malformed`,
 * `invalid-signature` (a known key's signature fails), or `unverified` (no known key signed).
 */
export function openNote(note: Uint8Array | string, known: readonly NoteVerifier[]): OpenedNote {
  const { text, signatures, raw } = splitNote(note);
  const message = new TextEncoder().encode(text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  signatures.forEach((sig, i) => {
    const key = `${sig.name}\n${sig.keyId}`;
    const matches = known.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (matches.length === 0) {
      if (!seen.has(`${key}\n${sig.base64}`)) unverified.push(sig);
      seen.add(`${key}\n${sig.base64}`);
      return;
    }
    if (matches.length > 1) throw new NoteError('malformed', `ambiguous key ${sig.name}+${sig.keyId.toString(16).padStart(8, '0')}`);
    if (!matches[0]!.verify(message, raw[i]!)) {
      throw new NoteError('invalid-signature', `invalid signature by ${sig.name}+${sig.keyId.toString(16).padStart(8, '0')}`);
    }
    if (!seen.has(key)) verified.push(sig);
    seen.add(key);
  });
  if (verified.length === 0) throw new NoteError('unverified', 'note is not signed by a known key');
  return { text, verified, unverified };
}
