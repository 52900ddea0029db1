/**
 * C2SP tlog-tiles entry bundles: consecutive log entries, each as a big-endian uint16 length
 * followed by that many bytes. Entry i of bundle N is leaf N·256 + i.
 */
import { TILE_WIDTH } from './tile.ts';

export const MAX_ENTRY_BYTES = 0xffff;

export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length === 0 || entries.length > TILE_WIDTH) throw new RangeError(`a bundle holds 1 … ${TILE_WIDTH} entries`);
  let total = 0;
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) throw new RangeError(`an entry of ${e.length} bytes does not fit a bundle`);
    total += 2 + e.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const e of entries) {
    out[at] = e.length >> 8;
    out[at + 1] = e.length & 0xff;
    out.set(e, at + 2);
    at += 2 + e.length;
  }
  return out;
}

/** Splits a bundle into its entries; throws on a truncated bundle or more than 256 entries. */
export function decodeEntryBundle(bundle: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bundle.length) {
    if (at + 2 > bundle.length) throw new Error('entry bundle truncated in a length prefix');
    const len = (bundle[at]! << 8) | bundle[at + 1]!;
    if (at + 2 + len > bundle.length) throw new Error('entry bundle truncated in an entry');
    out.push(bundle.subarray(at + 2, at + 2 + len));
    at += 2 + len;
    if (out.length > TILE_WIDTH) throw new Error(`entry bundle holds more than ${TILE_WIDTH} entries`);
  }
  return out;
}
