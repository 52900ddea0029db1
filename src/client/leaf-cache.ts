/**
 * Where a verifier keeps the leaves it has audited, so that the next audit fetches only what
 * was appended since and a window of any type can still be checked against every leaf. Only
 * full entry bundles (immutable: 256 leaves each) are kept. The verifier's saved state says
 * how many leaves the cache holds that were checked against a signed checkpoint; leaves beyond
 * that (an audit that failed or was interrupted) are dropped on the next run.
 */
import { mkdir, open, readFile, truncate as truncateFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LeafCache {
  /**
   * Reads leaves [0, count) and hands them over in order; resolves false when the cache
   * holds fewer (it was lost or cut short), after handing over none.
   */
  read(count: number, visit: (index: number, leaf: Uint8Array) => void): Promise<boolean>;
  /** Keeps `count` leaves, dropping the rest. */
  truncate(count: number): Promise<void>;
  /** Appends leaves in entry bundle form (full bundles, concatenated); they follow the ones held. */
  append(bundles: Uint8Array): Promise<void>;
}

/** A cache in memory (tests, one-off runs). */
export class MemoryLeafCache implements LeafCache {
  private leaves: Uint8Array[] = [];

  async read(count: number, visit: (index: number, leaf: Uint8Array) => void): Promise<boolean> {
    if (this.leaves.length < count) return false;
    for (let i = 0; i < count; i++) visit(i, this.leaves[i]!);
    return true;
  }

  async truncate(count: number): Promise<void> {
    this.leaves = this.leaves.slice(0, count);
  }

  async append(bundles: Uint8Array): Promise<void> {
    for (let at = 0; at < bundles.length; ) {
      const len = (bundles[at]! << 8) | bundles[at + 1]!;
      this.leaves.push(bundles.slice(at + 2, at + 2 + len));
      at += 2 + len;
    }
  }
}

/**
 * A cache in one file: the full entry bundles concatenated (each leaf a big-endian uint16
 * length and its bytes, as in C2SP entry bundles).
 */
export class FileLeafCache implements LeafCache {
  constructor(readonly path: string) {}

  private async bytes(): Promise<Uint8Array> {
    try {
      return new Uint8Array(await readFile(this.path));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Uint8Array(0);
      throw err;
    }
  }

  /** The byte length of the first `count` leaves, or -1 when the file holds fewer. */
  private static prefixLength(data: Uint8Array, count: number): number {
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 2 > data.length) return -1;
      const len = (data[at]! << 8) | data[at + 1]!;
      if (at + 2 + len > data.length) return -1;
      at += 2 + len;
    }
    return at;
  }

  async read(count: number, visit: (index: number, leaf: Uint8Array) => void): Promise<boolean> {
    const data = await this.bytes();
    if (FileLeafCache.prefixLength(data, count) < 0) return false;
    let at = 0;
    for (let i = 0; i < count; i++) {
      const len = (data[at]! << 8) | data[at + 1]!;
      visit(i, data.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    return true;
  }

  async truncate(count: number): Promise<void> {
    if (count === 0) {
      await mkdir(dirname(this.path), { recursive: true });
      await (await open(this.path, 'w')).close();
      return;
    }
    const at = FileLeafCache.prefixLength(await this.bytes(), count);
    if (at < 0) throw new Error(`${this.path} holds fewer than ${count} leaves`);
    await truncateFile(this.path, at);
  }

  async append(bundles: Uint8Array): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const f = await open(this.path, 'a');
    try {
      await f.write(bundles);
    } finally {
      await f.close();
    }
  }
}
