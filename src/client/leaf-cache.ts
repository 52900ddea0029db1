/**
 * Where a verifier keeps the leaves it has audited, so that the next audit fetches only what
 * was appended since and a window of any type can still be checked against every leaf. Only
 * full entry bundles (immutable: 256 leaves each) are kept. The verifier's saved state says
 * how many leaves the cache holds that were checked against a signed checkpoint; leaves beyond
 * that (an audit that failed or was interrupted) are dropped on the next run.
 */
import { type FileHandle, mkdir, open, truncate as truncateFile } from 'node:fs/promises';
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
 * The cache holds the tenant's leaves (each entry's log type, eventTime and digest), which the
 * server shows only to the tenant's readers: its owner alone may read it.
 */
const PRIVATE_FILE = 0o600;
const PRIVATE_DIR = 0o700;

/**
 * A cache in one file: the full entry bundles concatenated (each leaf a big-endian uint16
 * length and its bytes, as in C2SP entry bundles). Read in chunks, so a cache of any size
 * needs only a chunk of memory (a leaf handed to `visit` stays valid after the call).
 */
export class FileLeafCache implements LeafCache {
  private readonly chunkBytes: number;

  constructor(
    readonly path: string,
    options: { chunkBytes?: number } = {},
  ) {
    this.chunkBytes = Math.max(options.chunkBytes ?? 4 << 20, 2);
  }

  /**
   * Walks the first `count` leaves in order, handing each to `visit` if given; the byte length
   * they take, or -1 when the file holds fewer (a missing file holds none).
   */
  private async scan(count: number, visit?: (index: number, leaf: Uint8Array) => void): Promise<number> {
    if (count === 0) return 0;
    let file: FileHandle;
    try {
      file = await open(this.path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
      throw err;
    }
    try {
      let carry: Uint8Array = new Uint8Array(0); // the start of a leaf that the last chunk cut
      let consumed = 0; // bytes of the file before `carry`
      let index = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.max(this.chunkBytes, carry.length + 2 + 65_535));
        chunk.set(carry, 0);
        const { bytesRead } = await file.read(chunk, carry.length, chunk.length - carry.length, consumed + carry.length);
        const end = carry.length + bytesRead;
        let at = 0;
        while (index < count && at + 2 <= end) {
          const len = (chunk[at]! << 8) | chunk[at + 1]!;
          if (at + 2 + len > end) break;
          visit?.(index, chunk.subarray(at + 2, at + 2 + len));
          index++;
          at += 2 + len;
        }
        if (index === count) return consumed + at;
        if (bytesRead === 0) return -1;
        carry = chunk.subarray(at, end);
        consumed += at;
      }
    } finally {
      await file.close();
    }
  }

  async read(count: number, visit: (index: number, leaf: Uint8Array) => void): Promise<boolean> {
    // Checked whole first, so a cache cut short hands over nothing.
    if ((await this.scan(count)) < 0) return false;
    if ((await this.scan(count, visit)) < 0) throw new Error(`${this.path} shrank while it was read`);
    return true;
  }

  async truncate(count: number): Promise<void> {
    if (count === 0) {
      await mkdir(dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
      const f = await open(this.path, 'w', PRIVATE_FILE);
      try {
        await f.chmod(PRIVATE_FILE);
      } finally {
        await f.close();
      }
      return;
    }
    const at = await this.scan(count);
    if (at < 0) throw new Error(`${this.path} holds fewer than ${count} leaves`);
    await truncateFile(this.path, at);
  }

  async append(bundles: Uint8Array): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
    const f = await open(this.path, 'a', PRIVATE_FILE);
    try {
      // A cache made before it was kept private is made private too.
      await f.chmod(PRIVATE_FILE);
      await f.write(bundles);
    } finally {
      await f.close();
    }
  }
}
