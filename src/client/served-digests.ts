/**
 * What a window check keeps of each entry served, in flat arrays rather than one object per
 * entry: its eventTime, the SHA-256 of its exact wire text, and the leaf index the server
 * claimed for it. About a hundred bytes an entry, so that a window of millions can be checked.
 */
import type { ServedEntry } from '../tlog/index.ts';
import { writeSha256 } from './fast-hash.ts';

const DIGEST = 32;

export class ServedDigests {
  private readonly eventTimes: string[] = [];
  private readonly claims: number[] = [];
  private digests = Buffer.alloc(DIGEST * 1024);
  /** One more than the highest leaf index claimed (0: none). */
  private claimedEnd = 0;

  get length(): number {
    return this.eventTimes.length;
  }

  /** One past the highest leaf index any entry was claimed to be. */
  get claimedSize(): number {
    return this.claimedEnd;
  }

  add(eventTime: string, wireText: Uint8Array, leafIndex: number | null): void {
    const i = this.eventTimes.length;
    if ((i + 1) * DIGEST > this.digests.length) {
      const grown = Buffer.alloc(this.digests.length * 2);
      this.digests.copy(grown);
      this.digests = grown;
    }
    writeSha256(wireText, this.digests, i * DIGEST);
    this.eventTimes.push(eventTime);
    this.claims.push(leafIndex ?? -1);
    if (leafIndex !== null && leafIndex >= this.claimedEnd) this.claimedEnd = leafIndex + 1;
  }

  eventTime(i: number): string {
    return this.eventTimes[i]!;
  }

  digest(i: number): Uint8Array {
    return this.digests.subarray(i * DIGEST, (i + 1) * DIGEST);
  }

  /** The leaf index the server claimed for entry `i`, or null. */
  claim(i: number): number | null {
    const c = this.claims[i]!;
    return c < 0 ? null : c;
  }

  /** Every leaf index claimed, ascending. */
  claimedAscending(): Float64Array {
    return Float64Array.from(this.claims.filter((c) => c >= 0)).sort();
  }

  *entries(): Generator<ServedEntry & { claim: number | null }> {
    for (let i = 0; i < this.eventTimes.length; i++) yield { eventTime: this.eventTimes[i]!, wireTextSha256: this.digest(i), claim: this.claim(i) };
  }
}
