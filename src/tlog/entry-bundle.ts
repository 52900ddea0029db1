/**
 * C2SP tlog-tiles entry bundles: consecutive log entries, each as a big-endian uint16 length
 * followed by that many bytes. Entry i of bundle N is leaf N·256 + i.
 */
import { TILE_WIDTH } from './tile.ts';

export const MAX_ENTRY_BYTES = 0xffff;

/** The bundle of `entries`, bytes or texts (a text is written as its UTF-8 bytes, with no copy of its own). */
export function encodeEntryBundle(entries: readonly (Uint8Array | string)[]): Buffer {
  if (entries.length === 0 || entries.length > TILE_WIDTH) throw new RangeError(`a bundle holds 1 … ${TILE_WIDTH} entries`);
  const lengths = entries.map((e) => (typeof e === 'string' ? Buffer.byteLength(e, 'utf8') : e.length));
  let total = 0;
  for (const length of lengths) {
    if (length > MAX_ENTRY_BYTES) throw new RangeError(`an entry of ${length} bytes does not fit a bundle`);
    total += 2 + length;
  }
  const out = Buffer.alloc(total);
  let at = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const length = lengths[i]!;
    out[at] = length >> 8;
    out[at + 1] = length & 0xff;
    if (typeof e === 'string') out.write(e, at + 2, length, 'utf8');
    else out.set(e, at + 2);
    at += 2 + length;
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
