/** Cursors as the versions of early December 2026 sealed them, which the server now refuses by name. */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { poly1305 } from '@noble/ciphers/_poly1305';
import type { CursorState } from '../../src/logs/cursor.ts';

/** A cursor's fields, as its payload holds them (no user filter). */
export function cursorFields(c: CursorState): unknown[] {
  return [
    1,
    c.tenantId,
    c.logType,
    c.from.ms,
    c.from.sub,
    c.to?.ms ?? null,
    c.to?.sub ?? null,
    c.limit,
    c.watermark,
    c.afterTimeMs,
    c.afterSeq,
    c.page,
    c.total,
    c.expiresMs,
  ];
}

/**
 * `fields` sealed under `secret` as those versions did: AES-256-CTR from a position (`blockIndex`
 * its block), the Poly1305 tag keyed by the 32 bytes of keystream before the payload's.
 */
export function sealRetiredCursor(secret: string, fields: readonly unknown[], blockIndex = 0): string {
  const key = createHash('sha256').update('logwarden cursor v2\0').update(secret).digest();
  const payload = Buffer.from(JSON.stringify(fields));
  const position = randomBytes(16);
  position.writeUInt32BE(blockIndex, 12);
  const stream = createCipheriv('aes-256-ctr', key, position).update(Buffer.alloc(32 + payload.length));
  const sealed = Buffer.concat([position, Buffer.from(payload.map((b, i) => b ^ stream[32 + i]!))]);
  return Buffer.concat([sealed, poly1305(sealed, stream.subarray(0, 32))]).toString('base64url');
}
