/**
 * Access keys and their secrets (creating them in a store: ../service/access-keys.ts). A secret is 256 random bits; only its SHA-256 digest is
 * stored. A fast digest is the right tool here: the secret has full entropy, so there is
 * nothing for a slow password hash to protect, and checking a request costs microseconds.
 * Digests are compared in constant time.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2';

/**
 * What an access key id can be: generated ids (`LW` and 20 base-32 characters) and ids preset
 * by LOGWARDEN_BOOTSTRAP_ACCESS_KEY both fit. The configuration refuses a preset outside it,
 * and authentication never sends anything outside it to the store.
 */
export const ACCESS_KEY_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function newAccessKeyId(): string {
  const bytes = randomBytes(20);
  let id = 'LW';
  for (const b of bytes) id += BASE32[b & 31];
  return id;
}

/** A new secret: 32 random bytes (256 bits), base64url. */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

const SECRET_LABEL = Buffer.from('logwarden secret v1\0');

/**
 * SHA-256 of the label and the secret's UTF-8. Computed in JavaScript: node:crypto's
 * `createHash`, made for every request, cost a served page several times its 1.5 µs in a loop
 * on its own (docs/benchmarks.md).
 */
export function hashSecret(secret: string): Buffer {
  const digest = sha256.create().update(SECRET_LABEL).update(Buffer.from(secret, 'utf8')).digest();
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
}

export function secretMatches(secret: string, storedHash: Buffer): boolean {
  const h = hashSecret(secret);
  return h.length === storedHash.length && timingSafeEqual(h, storedHash);
}

/** A tenant id in Gong's style: a numeric string of 18 digits, no leading zero. */
export function newTenantId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 17; i++) id += String(randomInt(0, 10));
  return id;
}
