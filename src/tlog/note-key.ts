/**
 * C2SP signed-note Ed25519 keys (signature type 0x01), in the text forms Go's
 * `golang.org/x/mod/sumdb/note` uses:
 *   verifier key  `<name>+<hex key id>+<base64(0x01 ‖ 32-byte public key)>`
 *   signer key    `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 ‖ 32-byte seed)>`
 * The key id is the first four bytes of SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key), big-endian.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { decodeBase64, encodeBase64 } from './base64.ts';

export const ED25519_TYPE = 0x01;

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** The key in verifier key text form. */
  readonly text: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly verifier: NoteVerifier;
  sign(message: Uint8Array): Uint8Array;
}

export class NoteKeyError extends Error {
  override readonly name = 'NoteKeyError';
}

/** Key names: non-empty, no Unicode space, no `+` (they would break the key and note syntax). */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\p{White_Space}+]/u.test(name) && !/[\u0000-\u001f]/.test(name) && isWellFormed(name);
}

function isWellFormed(s: string): boolean {
  // Lone surrogates cannot be encoded as UTF-8.
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

export function keyId(name: string, typeAndKey: Uint8Array): number {
  const sum = createHash('sha256').update(name, 'utf8').update('\n').update(typeAndKey).digest();
  return sum.readUInt32BE(0);
}

const hex8 = (id: number): string => id.toString(16).padStart(8, '0');

// DER prefixes of Ed25519 keys (RFC 8410), followed by the 32 raw bytes.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(priv: KeyObject): Uint8Array {
  const der = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** A verifier for an Ed25519 public key under a key name. */
export function ed25519Verifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isValidKeyName(name)) throw new NoteKeyError('invalid key name');
  if (publicKey.length !== 32) throw new NoteKeyError('an Ed25519 public key is 32 bytes');
  const typed = new Uint8Array([ED25519_TYPE, ...publicKey]);
  const id = keyId(name, typed);
  const key = publicKeyObject(publicKey);
  return {
    name,
    keyId: id,
    text: `${name}+${hex8(id)}+${encodeBase64(typed)}`,
    verify(message, signature) {
      if (signature.length !== 64) return false;
      try {
        return verify(null, message, key, signature);
      } catch {
        return false;
      }
    },
  };
}

/** A signer for an Ed25519 private key given by its 32-byte seed (RFC 8032). */
export function ed25519Signer(name: string, seed: Uint8Array): NoteSigner & { readonly text: string } {
  if (seed.length !== 32) throw new NoteKeyError('an Ed25519 seed is 32 bytes');
  const priv = privateKeyObject(seed);
  const verifier = ed25519Verifier(name, rawPublicKey(priv));
  return {
    name,
    keyId: verifier.keyId,
    verifier,
    text: `PRIVATE+KEY+${name}+${hex8(verifier.keyId)}+${encodeBase64(new Uint8Array([ED25519_TYPE, ...seed]))}`,
    sign: (message) => new Uint8Array(sign(null, message, priv)),
  };
}

/** Generates a new Ed25519 note key pair for `name`. */
export function generateNoteKey(name: string): { signerKey: string; verifierKey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const der = privateKey.export({ format: 'der', type: 'pkcs8' });
  const signer = ed25519Signer(name, new Uint8Array(der.subarray(der.length - 32)));
  return { signerKey: signer.text, verifierKey: signer.verifier.text };
}

function splitKeyText(text: string, parts: number): string[] | null {
  const out = text.split('+');
  // The base64 part may itself contain `+`: rejoin everything after the fixed fields.
  if (out.length < parts) return null;
  return [...out.slice(0, parts - 1), out.slice(parts - 1).join('+')];
}

/** Parses a verifier key text; throws NoteKeyError when it is malformed or its id is wrong. */
export function parseVerifierKey(text: string): NoteVerifier {
  if (text.startsWith('PRIVATE+KEY+')) {
    throw new NoteKeyError('this is a signer key (PRIVATE+KEY+…), which is secret; a verifier key has the form <name>+<hex id>+<base64 key>');
  }
  const parts = splitKeyText(text, 3);
  if (!parts) throw new NoteKeyError('a verifier key has the form <name>+<hex id>+<base64 key>');
  const [name, idHex, keyB64] = parts as [string, string, string];
  if (!isValidKeyName(name)) throw new NoteKeyError('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteKeyError('the key id is 8 lowercase hex digits');
  const typed = decodeBase64(keyB64);
  if (!typed || typed.length === 0) throw new NoteKeyError('the key is not canonical base64');
  if (typed[0] !== ED25519_TYPE) throw new NoteKeyError(`unsupported signature type 0x${typed[0]!.toString(16).padStart(2, '0')}`);
  if (typed.length !== 33) throw new NoteKeyError('an Ed25519 public key is 32 bytes');
  if (keyId(name, typed) !== parseInt(idHex, 16)) throw new NoteKeyError('the key id does not match the name and key');
  return ed25519Verifier(name, typed.subarray(1));
}

/** Parses a signer key text (`PRIVATE+KEY+…`); throws NoteKeyError when malformed. */
export function parseSignerKey(text: string): NoteSigner & { readonly text: string } {
  const parts = splitKeyText(text, 5);
  if (!parts || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new NoteKeyError('a signer key has the form PRIVATE+KEY+<name>+<hex id>+<base64 key>');
  }
  const [, , name, idHex, keyB64] = parts as [string, string, string, string, string];
  if (!isValidKeyName(name)) throw new NoteKeyError('invalid key name');
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteKeyError('the key id is 8 lowercase hex digits');
  const typed = decodeBase64(keyB64);
  if (!typed || typed.length === 0) throw new NoteKeyError('the key is not canonical base64');
  if (typed[0] !== ED25519_TYPE) throw new NoteKeyError('unsupported signature type');
  if (typed.length !== 33) throw new NoteKeyError('an Ed25519 seed is 32 bytes');
  const signer = ed25519Signer(name, typed.subarray(1));
  if (signer.keyId !== parseInt(idHex, 16)) throw new NoteKeyError('the key id does not match the name and key');
  return signer;
}
