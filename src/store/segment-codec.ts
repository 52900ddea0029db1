/**
 * Segments: the wire texts of consecutive entries of one tenant and one log type, in page
 * order, compressed together and sealed with a checksum. Both stores keep sealed entries this
 * way (a BLOB / bytea per segment); this module is the one place that writes and reads them.
 *
 * A segment is self-describing and checked before a byte of it is served:
 *
 *   "LWSG" | version u8 | codec u8 | tenant (u16 length + UTF-8) | log type (u16 length + UTF-8)
 *   | count u32 | plain length u32 | compressed body | SHA-256 of everything before it (32 bytes)
 *
 * The body, once decompressed: per entry its event time and sequence (zigzag varint deltas) and
 * its text length (varint), then the texts joined by commas — so the texts of any run of
 * consecutive entries are one contiguous stretch, exactly what a page puts between the brackets.
 *
 * Brotli at quality 5 was chosen by measurement on the benchmark's AccessLog entries
 * (docs/benchmarks.md, "Segments"): about 13.5× smaller than the JSON at 256 entries per
 * segment, 15 % smaller than deflate at level 6, decoding as fast.
 */
import { createHash } from 'node:crypto';
import { brotliCompressSync, brotliDecompressSync, constants } from 'node:zlib';
import { CorruptSegmentError } from './store.ts';

/** Entries per sealed segment (the last of a range may hold fewer). */
export const SEGMENT_ENTRIES = 256;
/**
 * The entry text at which a segment is cut short of SEGMENT_ENTRIES (a single larger entry is a
 * segment of its own). Entries of an ingest may be megabytes each: 256 of them would make a
 * segment larger than a database value may be (SQLite's limit is 1e9 bytes) or a decode accepts.
 */
export const SEGMENT_BYTES = 512 * 1024;

const MAGIC = Buffer.from('LWSG');
const VERSION = 1;
const CODEC_BROTLI = 1;
const BROTLI_QUALITY = 5;
const CHECKSUM_BYTES = 32;
const COMMA = 0x2c;
const COMMA_BUF = Buffer.from(',');
/** Far beyond any real segment; bounds what a corrupt length field can make us allocate. */
const MAX_PLAIN_BYTES = 1 << 30;

export interface SegmentOwner {
  readonly tenantId: string;
  readonly logType: string;
}

export interface SegmentEntry {
  readonly timeMs: number;
  readonly seq: number;
  /** The entry's wire text, UTF-8. */
  readonly body: Buffer;
}

/** Page order: event time, then sequence. */
function follows(aTime: number, aSeq: number, bTime: number, bSeq: number): boolean {
  return aTime > bTime || (aTime === bTime && aSeq > bSeq);
}

class Writer {
  private buf = Buffer.allocUnsafe(1024);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  /** A non-negative safe integer, seven bits a byte. */
  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.length++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.length++] = n;
  }

  /** Any safe integer: zigzag, so small negative deltas stay small. */
  signed(n: number): void {
    this.varint(n >= 0 ? n * 2 : -n * 2 - 1);
  }

  bytes(b: Buffer): void {
    this.room(b.length);
    b.copy(this.buf, this.length);
    this.length += b.length;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

class Reader {
  at = 0;
  constructor(private readonly buf: Buffer) {}

  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.at >= this.buf.length) throw new CorruptSegmentError('truncated entry index');
      const b = this.buf[this.at++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new CorruptSegmentError('malformed entry index');
    }
    if (!Number.isSafeInteger(n)) throw new CorruptSegmentError('malformed entry index');
    return n;
  }

  signed(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
}

function ownerBytes(owner: SegmentOwner): Buffer {
  const tenant = Buffer.from(owner.tenantId, 'utf8');
  const type = Buffer.from(owner.logType, 'utf8');
  if (tenant.length > 0xffff || type.length > 0xffff) throw new RangeError('tenant id or log type too long for a segment');
  const out = Buffer.allocUnsafe(4 + tenant.length + type.length);
  out.writeUInt16BE(tenant.length, 0);
  tenant.copy(out, 2);
  out.writeUInt16BE(type.length, 2 + tenant.length);
  type.copy(out, 4 + tenant.length);
  return out;
}

/**
 * The segment holding `entries` (at least one, in strictly increasing page order) of `owner`.
 * Throws RangeError on entries out of order: a store bug, never written down.
 */
export function encodeSegment(owner: SegmentOwner, entries: readonly SegmentEntry[]): Buffer {
  if (entries.length === 0) throw new RangeError('a segment holds at least one entry');
  const index = new Writer();
  let time = 0;
  let seq = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    if (i > 0 && !follows(e.timeMs, e.seq, time, seq)) throw new RangeError('segment entries must be in strictly increasing page order');
    index.signed(e.timeMs - time);
    index.signed(e.seq - seq);
    time = e.timeMs;
    seq = e.seq;
  }
  for (const e of entries) index.varint(e.body.length);
  const parts: Buffer[] = [index.done()];
  entries.forEach((e, i) => {
    if (i > 0) parts.push(COMMA_BUF);
    parts.push(e.body);
  });
  const plain = Buffer.concat(parts);
  const body = brotliCompressSync(plain, {
    params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: plain.length },
  });
  const head = Buffer.allocUnsafe(6);
  MAGIC.copy(head, 0);
  head[4] = VERSION;
  head[5] = CODEC_BROTLI;
  const counts = Buffer.allocUnsafe(8);
  counts.writeUInt32BE(entries.length, 0);
  counts.writeUInt32BE(plain.length, 4);
  const unsealed = Buffer.concat([head, ownerBytes(owner), counts, body]);
  return Buffer.concat([unsealed, createHash('sha256').update(unsealed).digest()]);
}

/** A segment's entries, decoded once and then read in place. */
export class DecodedSegment {
  /** Where each entry's text ends (exclusive) in `text`. */
  private readonly ends: Uint32Array;

  constructor(
    private readonly times: Float64Array,
    private readonly seqs: Float64Array,
    ends: Uint32Array,
    /** Every entry's text, in order, joined by commas. */
    readonly text: Buffer,
  ) {
    this.ends = ends;
  }

  get count(): number {
    return this.times.length;
  }

  /**
   * Memory this decoded segment holds, for a cache's budget: its text, 20 bytes an entry in
   * the typed arrays, and about 1 KiB of objects around them (which a segment of a few entries
   * holds more of than text).
   */
  get bytes(): number {
    return this.text.length + this.times.length * 20 + 1024;
  }

  timeMs(i: number): number {
    return this.times[i]!;
  }

  seq(i: number): number {
    return this.seqs[i]!;
  }

  private start(i: number): number {
    return i === 0 ? 0 : this.ends[i - 1]! + 1;
  }

  /** The wire text of entry `i`. */
  body(i: number): Buffer {
    return this.text.subarray(this.start(i), this.ends[i]);
  }

  /** The texts of entries `from` to `to - 1`, comma-joined, without copying. */
  span(from: number, to: number): Buffer {
    return this.text.subarray(this.start(from), this.ends[to - 1]);
  }

  /** The first entry strictly after (timeMs, seq) in page order; `count` when none is. */
  after(timeMs: number, seq: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (follows(this.times[mid]!, this.seqs[mid]!, timeMs, seq)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** The first entry at or after `timeMs`; `count` when none is. */
  atOrAfter(timeMs: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! >= timeMs) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/**
 * `part` of `whole` in a buffer it keeps alive alone. zlib hands back an output smaller than its
 * chunk (16 KiB) as a slice of that chunk, and caches of decoded segments count what a segment
 * holds by its text (`DecodedSegment.bytes`): a segment of a few entries would keep 16 KiB alive
 * for the few hundred bytes counted, so a cache of them held many times its budget.
 */
function ownBuffer(part: Buffer, whole: Buffer): Buffer {
  if (whole.buffer.byteLength === whole.length) return part;
  const own = Buffer.allocUnsafeSlow(part.length);
  part.copy(own);
  return own;
}

/**
 * Checks and decodes a segment that should belong to `owner`. Throws CorruptSegmentError when
 * any byte differs from what was written (the checksum), when it belongs to another tenant or
 * log type, or when its contents do not add up; nothing of it is returned then.
 */
export function decodeSegment(data: Buffer, owner: SegmentOwner, segmentId?: number): DecodedSegment {
  const fail = (problem: string): never => {
    throw new CorruptSegmentError(problem, segmentId);
  };
  if (data.length < 6 + 4 + 8 + CHECKSUM_BYTES) fail('too short');
  const sealed = data.length - CHECKSUM_BYTES;
  const sum = createHash('sha256').update(data.subarray(0, sealed)).digest();
  if (!sum.equals(data.subarray(sealed))) fail('checksum mismatch');
  if (!data.subarray(0, 4).equals(MAGIC)) fail('not a segment');
  if (data[4] !== VERSION) fail(`unknown version ${data[4]}`);
  if (data[5] !== CODEC_BROTLI) fail(`unknown codec ${data[5]}`);
  const expected = ownerBytes(owner);
  if (6 + expected.length + 8 > sealed || !data.subarray(6, 6 + expected.length).equals(expected)) {
    fail('it belongs to another tenant or log type');
  }
  let at = 6 + expected.length;
  const count = data.readUInt32BE(at);
  const plainLength = data.readUInt32BE(at + 4);
  at += 8;
  if (count === 0 || plainLength > MAX_PLAIN_BYTES) fail('bad counts');
  let plain: Buffer;
  try {
    plain = brotliDecompressSync(data.subarray(at, sealed), { maxOutputLength: plainLength + 1 });
  } catch {
    return fail('body does not decompress');
  }
  if (plain.length !== plainLength) fail('body has the wrong length');
  const r = new Reader(plain);
  const times = new Float64Array(count);
  const seqs = new Float64Array(count);
  let time = 0;
  let seq = 0;
  for (let i = 0; i < count; i++) {
    time += r.signed();
    seq += r.signed();
    if (i > 0 && !follows(time, seq, times[i - 1]!, seqs[i - 1]!)) fail('entries out of order');
    times[i] = time;
    seqs[i] = seq;
  }
  const ends = new Uint32Array(count);
  let end = 0;
  for (let i = 0; i < count; i++) {
    end += (i > 0 ? 1 : 0) + r.varint();
    ends[i] = end;
  }
  const text = ownBuffer(plain.subarray(r.at), plain);
  if (end !== text.length) fail('texts do not add up');
  for (let i = 0; i + 1 < count; i++) if (text[ends[i]!] !== COMMA) fail('texts not separated');
  return new DecodedSegment(times, seqs, ends, text);
}
