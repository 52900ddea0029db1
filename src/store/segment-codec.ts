/**
 * Placeholder for the shared segment codec (same signatures as agreed); replaced on merge.
 */
import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

export interface SegmentOwner {
  readonly tenantId: string;
  readonly logType: string;
}

export interface SegmentEntry {
  readonly timeMs: number;
  readonly seq: number;
  readonly body: Buffer;
}

export interface DecodedSegment {
  readonly count: number;
  timeMs(i: number): number;
  seq(i: number): number;
  text(i: number): Buffer;
}

export class CorruptSegmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptSegmentError';
  }
}

export function encodeSegment(owner: SegmentOwner, entries: readonly SegmentEntry[]): Buffer {
  const head = Buffer.from(JSON.stringify({ o: [owner.tenantId, owner.logType], t: entries.map((e) => e.timeMs), s: entries.map((e) => e.seq), l: entries.map((e) => e.body.length) }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  const z = deflateRawSync(Buffer.concat([len, head, ...entries.map((e) => e.body)]), { level: 6 });
  const sum = createHash('sha256').update(z).digest();
  return Buffer.concat([sum, z]);
}

export function decodeSegment(data: Buffer, owner: SegmentOwner): DecodedSegment {
  if (data.length < 32 || !createHash('sha256').update(data.subarray(32)).digest().equals(data.subarray(0, 32))) throw new CorruptSegmentError('checksum');
  const raw = inflateRawSync(data.subarray(32));
  const hl = raw.readUInt32BE(0);
  const head = JSON.parse(raw.subarray(4, 4 + hl).toString()) as { o: [string, string]; t: number[]; s: number[]; l: number[] };
  if (head.o[0] !== owner.tenantId || head.o[1] !== owner.logType) throw new CorruptSegmentError('owner');
  const offs: number[] = [];
  let o = 4 + hl;
  for (const l of head.l) {
    offs.push(o);
    o += l;
  }
  return { count: head.t.length, timeMs: (i) => head.t[i]!, seq: (i) => head.s[i]!, text: (i) => raw.subarray(offs[i]!, offs[i]! + head.l[i]!) };
}
