/**
 * Strict standard base64 (RFC 4648 §4, padded). Node's decoder skips invalid characters and
 * ignores bad padding; the C2SP formats need the one canonical encoding, so a text that would
 * not re-encode to itself is refused (otherwise two different texts would mean the same bytes).
 */
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes canonical padded base64, or returns null. */
export function decodeBase64(text: string): Uint8Array | null {
  if (!CANONICAL.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return null;
  return new Uint8Array(bytes);
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
