/**
 * RFC 6962 §2.1 Merkle tree hashing with SHA-256: a leaf is hashed with the prefix byte 0x00
 * and an interior node with 0x01, so that a leaf can never be passed off as a node (second
 * preimage resistance).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const HASH_SIZE = 32;

/** A 32-byte SHA-256 Merkle tree hash. */
export type Hash = Uint8Array;

const LEAF_PREFIX = new Uint8Array([0x00]);
const NODE_PREFIX = new Uint8Array([0x01]);

/** `SHA-256(0x00 ‖ leaf)`: the hash of one leaf. */
export function leafHash(leaf: Uint8Array | string): Hash {
  return new Uint8Array(createHash('sha256').update(LEAF_PREFIX).update(leaf).digest());
}

/** `SHA-256(0x01 ‖ left ‖ right)`: the hash of an interior node. */
export function nodeHash(left: Hash, right: Hash): Hash {
  return new Uint8Array(createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest());
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
