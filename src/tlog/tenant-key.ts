/**
 * Per-tenant log keys derived from one server secret, so a deployment keeps one secret and
 * every tenant's log still has its own Ed25519 key (SPEC §11). The 32-byte Ed25519 seed is
 * HKDF-SHA-256 (RFC 5869) of the secret, with a fixed salt naming this use and the tenant's
 * origin as info; the key's name is the origin, as C2SP checkpoints expect.
 */
import { hkdfSync } from 'node:crypto';
import { ed25519Signer, type NoteSigner } from './note-key.ts';

/** Domain separation: the same secret used for another purpose gives unrelated keys. */
export const TENANT_KEY_SALT = 'logwarden tlog tenant signing key v1';
export const MIN_SECRET_BYTES = 32;

export function deriveTenantSigner(secret: Uint8Array | string, origin: string): NoteSigner & { readonly text: string } {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.length < MIN_SECRET_BYTES) throw new RangeError(`the log key secret must have at least ${MIN_SECRET_BYTES} bytes`);
  const seed = new Uint8Array(hkdfSync('sha256', bytes, TENANT_KEY_SALT, Buffer.from(origin, 'utf8'), 32));
  return ed25519Signer(origin, seed);
}
