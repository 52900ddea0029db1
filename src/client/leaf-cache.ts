/**
 * Where a verifier keeps the leaves it has audited, so that the next audit fetches only what
 * was appended since and a window of any type can still be checked against every leaf. Only
 * full entry bundles (immutable: 256 leaves each) are kept. Leaves are appended as they are
 * fetched, and marked checked once their root was a signed checkpoint's (`checked`): `read`
 * hands out checked leaves only, whatever the verifier's saved state says. A run that failed
 * or was interrupted (a server serving leaves that no checkpoint signs, say, before failing on
 * purpose) leaves only unchecked leaves behind, which the next run drops; were they read as
 * audited, a window check over them could pass while the server hides an entry.
 */
import { type FileHandle, mkdir, open, readFile, rename, truncate as truncateFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LeafCache {
  /**
   * Reads leaves [0, count) and hands them over in order; resolves false when the cache
   * holds fewer checked leaves (it was lost or cut short, or never checked), after handing
   * over none.
   */
  read(count: number, visit: (index: number, leaf: Uint8Array) => void): Promise<boolean>;
  /** Keeps `count` leaves (checked or not, as they were), dropping the rest. */
  truncate(count: number): Promise<void>;
  /**
   * Appends leaves in entry bundle form (full bundles, each piece one or more of them
   * concatenated), unchecked; they follow the ones held. The pieces are not copied where the
   * cache keeps them in memory: the caller leaves them unchanged.
   */
  append(...pieces: Uint8Array[]): Promise<void>;
  /** Marks the first `count` leaves held (at most all) as checked against a signed checkpoint. */
  checked(count: number): Promise<void>;
}

/**
 * A cache in memory (tests, one-off runs): the appended pieces as they came, with the count of
 * leaves each holds. No object per leaf is kept: a million of them made the
 * garbage collector's every pass walk a million objects, a third of an audit's time.
 */
export class MemoryLeafCache implements LeafCache {
  private chunks: { bytes: Uint8Array; leaves: number }[] = [];
  private held = 0;
  private checkedCount = 0;

  /** Hands `visit` the first `count` leaves of `bytes` (from leaf `first` on); the byte length they take. */
  private static walk(bytes: Uint8Array, count: number, first: number, visit?: (index: number, leaf: Uint8Array) => void): number {
    let at = 0;
    for (let i = 0; i < count; i++) {
      const len = (bytes[at]! << 8) | bytes[at + 1]!;
      visit?.(first + i, bytes.subarray(at + 2, at + 2 + len));
      at += 2 + len;
    }
    return at;
  }

  async read(count: number, visit: (index: number, leaf: Uint8Array) => void): Promise<boolean> {
    if (this.checkedCount < count) return false;
    let index = 0;
    for (const c of this.chunks) {
      if (index === count) break;
      const n = Math.min(c.leaves, count - index);
      MemoryLeafCache.walk(c.bytes, n, index, visit);
      index += n;
    }
    return true;
  }

  async truncate(count: number): Promise<void> {
    let index = 0;
    const kept: { bytes: Uint8Array; leaves: number }[] = [];
    for (const c of this.chunks) {
      if (index === count) break;
      const n = Math.min(c.leaves, count - index);
      kept.push(n === c.leaves ? c : { bytes: c.bytes.subarray(0, MemoryLeafCache.walk(c.bytes, n, 0)), leaves: n });
      index += n;
    }
    this.chunks = kept;
    this.held = index;
    this.checkedCount = Math.min(this.checkedCount, index);
  }

  async checked(count: number): Promise<void> {
    this.checkedCount = Math.min(count, this.held);
  }

  async append(...pieces: Uint8Array[]): Promise<void> {
    for (const bytes of pieces) {
      let leaves = 0;
      for (let at = 0; at < bytes.length; leaves++) at += 2 + ((bytes[at]! << 8) | bytes[at + 1]!);
      this.chunks.push({ bytes, leaves });
      this.held += leaves;
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

  /** Where the count of checked leaves is kept: beside the leaves, `<path>.checked`. */
  private get checkedPath(): string {
    return `${this.path}.checked`;
  }

  /** The count of checked leaves; none without the file (a cache made before it was kept, too). */
  private async checkedCount(): Promise<number> {
    try {
      const n = Number((await readFile(this.checkedPath, 'utf8')).trim());
      return Number.isSafeInteger(n) && n > 0 ? n : 0;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
  }

  /** Writes the count of checked leaves whole (a new file renamed over the old). */
  private async setChecked(count: number): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
    const next = `${this.checkedPath}.next`;
    await writeFile(next, `${count}\n`, { mode: PRIVATE_FILE });
    await rename(next, this.checkedPath);
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
    if ((await this.checkedCount()) < count) return false;
    // Checked whole first, so a cache cut short hands over nothing.
    if ((await this.scan(count)) < 0) return false;
    if ((await this.scan(count, visit)) < 0) throw new Error(`${this.path} shrank while it was read`);
    return true;
  }

  async truncate(count: number): Promise<void> {
    // The count first: leaves cut and appended again later are not taken for checked ones.
    if ((await this.checkedCount()) > count) await this.setChecked(count);
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

  async checked(count: number): Promise<void> {
    // Not scanned: `read` finds the file cut short, should it be.
    await this.setChecked(count);
  }

  async append(...pieces: Uint8Array[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: PRIVATE_DIR });
    const f = await open(this.path, 'a', PRIVATE_FILE);
    try {
      // A cache made before it was kept private is made private too.
      await f.chmod(PRIVATE_FILE);
      await writeAll(f, pieces);
    } finally {
      await f.close();
    }
  }
}

/** Writes `pieces` at the file's end as they are, however few bytes each system call takes. */
async function writeAll(f: FileHandle, pieces: readonly Uint8Array[]): Promise<void> {
  const rest = pieces.filter((p) => p.length > 0);
  while (rest.length > 0) {
    // 512 vectors a call at most: systems take 1024.
    let { bytesWritten } = await f.writev(rest.slice(0, 512));
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) bytesWritten -= rest.shift()!.length;
    if (bytesWritten > 0) rest[0] = rest[0]!.subarray(bytesWritten);
  }
}
