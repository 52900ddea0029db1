/**
 * C2SP tlog-tiles coordinates: the tree served as tiles of height 8. Tile (L, N) holds up to
 * 256 consecutive hashes at tree level 8·L, namely the stored hashes (8·L, N·256 + i); level 0
 * tiles hold leaf hashes. A tile narrower than 256 is partial (`.p/<W>`); entry bundles share
 * the level 0 tiles' numbering.
 */
import { HASH_SIZE } from './hash.ts';
import { type HashReader, readHashes } from './hash-reader.ts';
import { storedHashIndex } from './stored-hash-index.ts';

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 2 ** TILE_HEIGHT;

export interface Tile {
  /** Tile level: the hashes are at tree level 8·L. 0 ≤ L ≤ 63. */
  level: number;
  /** Index within the level. */
  n: number;
  /** Number of hashes (entries for a bundle), 1 … 256; 256 is a full tile. */
  width: number;
}

/** Encodes N as zero-padded 3-digit path elements, all but the last prefixed by `x`. */
export function encodeTileIndex(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad tile index ${n}`);
  const groups: string[] = [];
  let rest = n;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

function widthSuffix(width: number): string {
  if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) throw new RangeError(`bad tile width ${width}`);
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

/** `tile/<L>/<N>[.p/<W>]` */
export function tilePath(t: Tile): string {
  if (!Number.isInteger(t.level) || t.level < 0 || t.level > 63) throw new RangeError(`bad tile level ${t.level}`);
  return `tile/${t.level}/${encodeTileIndex(t.n)}${widthSuffix(t.width)}`;
}

/** `tile/entries/<N>[.p/<W>]`: the entry bundle matching level 0 tile N. */
export function entryBundlePath(n: number, width: number): string {
  return `tile/entries/${encodeTileIndex(n)}${widthSuffix(width)}`;
}

export type ParsedTilePath = { kind: 'hashes'; tile: Tile } | { kind: 'entries'; n: number; width: number };

const DECIMAL = /^(0|[1-9][0-9]*)$/;

/**
 * Parses a tile or entry bundle path (relative to the log's prefix). Only the canonical
 * spelling is accepted (no leading zeroes in L or W, no superfluous `x000/` groups), so that
 * each resource has exactly one path. Returns null for anything else.
 */
export function parseTilePath(path: string): ParsedTilePath | null {
  const parts = path.split('/');
  if (parts.length < 3 || parts[0] !== 'tile') return null;
  let width = TILE_WIDTH;
  if (parts.length >= 4 && parts[parts.length - 2]!.endsWith('.p')) {
    const w = parts.pop()!;
    if (!DECIMAL.test(w)) return null;
    width = Number(w);
    if (width < 1 || width >= TILE_WIDTH) return null;
    const last = parts.pop()!;
    parts.push(last.slice(0, -2));
  }
  const levelText = parts[1]!;
  const groups = parts.slice(2);
  if (groups.length > 6) return null; // beyond 2^53
  let n = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    const digits = i < groups.length - 1 ? (g.startsWith('x') ? g.slice(1) : null) : g;
    if (digits === null || !/^[0-9]{3}$/.test(digits)) return null;
    n = n * 1000 + Number(digits);
  }
  if (!Number.isSafeInteger(n) || encodeTileIndex(n) !== groups.join('/')) return null;
  if (levelText === 'entries') return { kind: 'entries', n, width };
  if (!DECIMAL.test(levelText)) return null;
  const level = Number(levelText);
  if (level > 63) return null;
  return { kind: 'hashes', tile: { level, n, width } };
}

/**
 * Every tile of a tree of `size` leaves: at each level, the full tiles and then the partial
 * one when the level's hash count is not a multiple of 256.
 */
export function tilesForTree(size: number): Tile[] {
  return newTiles(0, size);
}

/**
 * The tiles a tree of `newSize` leaves has that a tree of `oldSize` leaves lacks: the full
 * tiles completed since, and the partial tiles of the new size (C2SP: a log serves the partial
 * tiles of every size it signed a checkpoint for). Widths in between are not listed, since no
 * checkpoint needs them.
 */
export function newTiles(oldSize: number, newSize: number): Tile[] {
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || newSize < oldSize) {
    throw new RangeError(`bad tree sizes ${oldSize} → ${newSize}`);
  }
  const out: Tile[] = [];
  for (let level = 0; Math.floor(newSize / TILE_WIDTH ** level) > 0; level++) {
    const oldHashes = Math.floor(oldSize / TILE_WIDTH ** level);
    const newHashes = Math.floor(newSize / TILE_WIDTH ** level);
    const fullCount = Math.floor(newHashes / TILE_WIDTH);
    for (let n = Math.floor(oldHashes / TILE_WIDTH); n < fullCount; n++) out.push({ level, n, width: TILE_WIDTH });
    const width = newHashes % TILE_WIDTH;
    if (width > 0 && newHashes !== oldHashes) out.push({ level, n: fullCount, width });
  }
  return out;
}

/** The stored hash indexes a tile holds, in order. */
export function tileStoredIndexes(t: Tile): number[] {
  const out: number[] = [];
  for (let i = 0; i < t.width; i++) out.push(storedHashIndex(TILE_HEIGHT * t.level, t.n * TILE_WIDTH + i));
  return out;
}

/** True when tile `t` exists in a tree of `size` leaves (full, or partial of exactly that width). */
export function tileInTree(t: Tile, size: number): boolean {
  const hashes = Math.floor(size / TILE_WIDTH ** t.level);
  const end = t.n * TILE_WIDTH + t.width;
  if (t.width === TILE_WIDTH) return end <= hashes;
  return end === hashes;
}

/** A tile's bytes: its hashes concatenated, read from the stored hashes. */
export async function readTile(t: Tile, reader: HashReader): Promise<Uint8Array> {
  const hashes = await readHashes(reader, tileStoredIndexes(t));
  const out = new Uint8Array(t.width * HASH_SIZE);
  hashes.forEach((h, i) => out.set(h, i * HASH_SIZE));
  return out;
}
