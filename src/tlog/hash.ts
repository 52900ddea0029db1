/**
 * RFC 6962 §2.1 Merkle tree hashing with SHA-256: a leaf is hashed with the prefix byte 0x00
 * and an interior node with 0x01, so that a leaf can never be passed off as a node (second
 * preimage resistance).
 */
import * as crypto from 'node:crypto';
import { createHash, timingSafeEqual } from 'node:crypto';

export const HASH_SIZE = 32;

/** A 32-byte SHA-256 Merkle tree hash. */
export type Hash = Uint8Array;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/**
 * SHA-256 of one buffer, as a plain Uint8Array. Node's one-shot `crypto.hash` (Node 20.12 and
 * later) costs about half of a Hash object's create-update-digest for inputs this small, and
 * every entry appended or audited takes several of these; older Node versions use the latter.
 * Its digest is asked for as a 'binary' (latin1) string, one character a byte, exact, and made
 * a Buffer here: on Node 20 that is 0.4–0.5 µs cheaper a hash than its own 'buffer' output.
 */
const oneShot: ((data: Uint8Array | string) => Uint8Array) | undefined =
  typeof crypto.hash === 'function' ? (data) => Buffer.from(crypto.hash('sha256', data, 'binary'), 'latin1') : undefined;

/** SHA-256 of bytes, or of a string's UTF-8 bytes. */
export function sha256(data: Uint8Array | string): Hash {
  const d = oneShot ? oneShot(data) : createHash('sha256').update(data).digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** `SHA-256(0x00 ‖ leaf)`: the hash of one leaf. */
export function leafHash(leaf: Uint8Array | string): Hash {
  // A string's UTF-8 bytes follow the NUL character's single 0x00 byte.
  return sha256(typeof leaf === 'string' ? `\0${leaf}` : Buffer.concat([LEAF_PREFIX, leaf]));
}

/** `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node. */
export function nodeHash(left: Hash, right: Hash): Hash {
  return sha256(Buffer.concat([NODE_PREFIX, left, right]));
}

/** RFC 6962 defines the hash of an empty tree as the SHA-256 of the empty string. */
export const EMPTY_TREE_HASH: Hash = new Uint8Array(createHash('sha256').digest());

export function isHash(h: unknown): h is Hash {
  return h instanceof Uint8Array && h.length === HASH_SIZE;
}

/** Compares two hashes without leaking where they differ. */
export function hashesEqual(a: Hash, b: Hash): boolean {
  return a.length === HASH_SIZE && b.length === HASH_SIZE && timingSafeEqual(a, b);
}
