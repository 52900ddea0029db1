/**
 * A batch's entries packed in a few flat arrays, to pass between threads without a copy (each
 * array's buffer is moved: movedBuffers): per entry its event time, idempotency key, wire-text
 * digest and the end of its text in `text`, which holds the texts back to back.
 */
import { ENTRY_KEY_BYTES, type NewEntry } from './entry.ts';

/** A wire text's digest: SHA-256. */
export const DIGEST_BYTES = 32;

/** What crosses threads: the arrays (structured cloning keeps no class). */
export interface PackedArrays {
  readonly logType: string;
  readonly times: Float64Array;
  readonly keys: Uint8Array;
  readonly digests: Uint8Array;
  readonly text: Uint8Array;
  readonly ends: Uint32Array;
}

/** The buffers to move with a batch posted to another thread (the batch is then empty here). */
export function movedBuffers(p: PackedArrays): ArrayBuffer[] {
  return [p.times, p.keys, p.digests, p.text, p.ends].map((a) => a.buffer as ArrayBuffer);
}

/**
 * Entries of one log type, each made when asked for (so that its garbage dies young), with
 * their texts' bytes; a text is decoded only when its `body` is read.
 */
export class PackedEntries implements Iterable<NewEntry> {
  private moved = false;

  constructor(private readonly arrays: PackedArrays) {}

  get count(): number {
    return this.arrays.ends.length;
  }

  /** The arrays, to post to another thread with their buffers (movedBuffers): these entries are then gone from here. */
  move(): PackedArrays {
    if (this.moved) throw new Error('these entries were moved to another thread');
    this.moved = true;
    return this.arrays;
  }

  *[Symbol.iterator](): Generator<NewEntry> {
    if (this.moved) throw new Error('these entries were moved to another thread');
    const p = this.arrays;
    const text = Buffer.from(p.text.buffer, p.text.byteOffset, p.text.byteLength);
    const keys = Buffer.from(p.keys.buffer, p.keys.byteOffset, p.keys.byteLength);
    let start = 0;
    for (let i = 0; i < p.ends.length; i++) {
      const bodyBytes = text.subarray(start, p.ends[i]!);
      yield {
        logType: p.logType,
        eventTimeMs: p.times[i]!,
        get body() {
          return bodyBytes.toString('utf8');
        },
        bodyBytes,
        key: keys.subarray(i * ENTRY_KEY_BYTES, (i + 1) * ENTRY_KEY_BYTES),
        digest: p.digests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
      };
      start = p.ends[i]!;
    }
  }
}
