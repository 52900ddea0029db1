/**
 * A seeded pseudo-random source for synthetic data. sfc32 keeps 128 bits of state using only
 * 32-bit integer operations, so a (seed, stream) pair yields the same numbers on every
 * platform, and the many independent streams a large data set needs (one per hour of data)
 * cannot drift into each other the way the single 2^32 cycle of a 32-bit generator would.
 */

const GOLDEN = 0x9e3779b9;
const TWO_32 = 4294967296;
const HEX = '0123456789abcdef';
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** A 32-bit avalanche mix: every input bit flips about half of the output bits. */
export function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** Distinct `stream` values give unrelated sequences for the same seed. */
  constructor(seed: number, stream = 0) {
    const s = mix32(mix32(seed >>> 0) ^ Math.imul(stream >>> 0, GOLDEN));
    this.a = mix32(s + GOLDEN);
    this.b = mix32(s + 2 * GOLDEN);
    this.c = mix32(s + 3 * GOLDEN);
    this.d = mix32(s + 4 * GOLDEN);
    for (let i = 0; i < 12; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / TWO_32;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  /** Uniform integer in [min, max]. */
  between(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]!;
  }

  /** An index into items biased towards the front: a few items get most of the picks. */
  skewedIndex(length: number): number {
    const u = this.float();
    return Math.floor(u * u * length);
  }

  /** A number of `n` decimal digits without a leading zero, as Gong's numeric ids are. */
  digits(n: number): string {
    let out = String(1 + this.int(9));
    while (out.length < n) out += String(this.int(1_000_000)).padStart(6, '0');
    return out.slice(0, n);
  }

  hex(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += HEX[this.uint32() & 15];
    return out;
  }

  base36(n: number): string {
    let out = '';
    for (let i = 0; i < n; i++) out += BASE36[this.int(36)];
    return out;
  }
}
