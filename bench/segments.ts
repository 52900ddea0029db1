/**
 * How the segment codec and size were chosen: the benchmark's AccessLog entries (the demo
 * generator, seed 1, at the data set's density) joined in runs of N consecutive entries and
 * compressed with each candidate codec of Node's zlib. Prints, per codec and size, the
 * compressed size ÷ the JSON, the encode cost per entry and the decode cost per segment (each
 * the fastest of seven passes, so a busy machine shows less). docs/benchmarks.md quotes it.
 *
 *   node --import tsx bench/segments.ts [-- --entries 20000]
 */
import { parseArgs } from 'node:util';
import { brotliCompressSync, brotliDecompressSync, constants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { generateDemoEntries } from '../src/demo/demo-data.ts';
import { encodeSegment, SEGMENT_ENTRIES } from '../src/store/segment-codec.ts';
import { DAY_MS, DEFAULT_SPEC } from './lib/dataset.ts';

const { values: flags } = parseArgs({ options: { entries: { type: 'string', default: '20000' } } });
const count = Number(flags.entries);
const toMs = Date.parse(DEFAULT_SPEC.until);
// The data set's density: ten million entries over thirty days.
const fromMs = toMs - Math.round((DEFAULT_SPEC.days * DAY_MS * count) / DEFAULT_SPEC.entries);
const entries = [...generateDemoEntries({ seed: DEFAULT_SPEC.seed, fromMs, toMs, count, types: [DEFAULT_SPEC.logType] })];
const bodies = entries.map((e) => Buffer.from(e.body));

interface Codec {
  readonly name: string;
  encode(b: Buffer): Buffer;
  decode(b: Buffer): Buffer;
}
const brotli = (quality: number): Codec => ({
  name: `brotli q${quality}`,
  encode: (b) => brotliCompressSync(b, { params: { [constants.BROTLI_PARAM_QUALITY]: quality, [constants.BROTLI_PARAM_SIZE_HINT]: b.length } }),
  decode: (b) => brotliDecompressSync(b),
});
const deflate = (level: number): Codec => ({
  name: `deflate ${level}`,
  encode: (b) => deflateRawSync(b, { level }),
  decode: (b) => inflateRawSync(b),
});
const codecs = [deflate(1), deflate(6), deflate(9), brotli(4), brotli(5), brotli(6), brotli(9)];

function fastest(pass: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 7; i++) {
    const t0 = performance.now();
    pass();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

const lines = [
  `${count} ${DEFAULT_SPEC.logType} entries, ${Math.round(bodies.reduce((n, b) => n + b.length, 0) / count)} bytes of JSON each on average`,
];
lines.push('codec        entries/segment  size÷JSON  encode µs/entry  decode µs/segment');
for (const codec of codecs) {
  for (const size of [128, 256, 512]) {
    const segments: Buffer[] = [];
    for (let i = 0; i + size <= bodies.length; i += size) segments.push(Buffer.from(bodies.slice(i, i + size).join(',')));
    const raw = segments.reduce((n, s) => n + s.length, 0);
    let packed: Buffer[] = [];
    const encodeMs = fastest(() => void (packed = segments.map((s) => codec.encode(s))));
    const decodeMs = fastest(() => packed.forEach((p) => codec.decode(p)));
    const ratio = packed.reduce((n, p) => n + p.length, 0) / raw;
    lines.push(
      `${codec.name.padEnd(12)} ${String(size).padStart(15)}  ${ratio.toFixed(4).padStart(9)}  ${((encodeMs * 1000) / (segments.length * size)).toFixed(1).padStart(15)}  ${((decodeMs * 1000) / segments.length).toFixed(0).padStart(17)}`,
    );
  }
}
// The segment format as stored (owner, positions, lengths, checksum included), at the chosen size.
const owner = { tenantId: '1234567890123456789', logType: DEFAULT_SPEC.logType };
let stored = 0;
let json = 0;
for (let i = 0; i + SEGMENT_ENTRIES <= entries.length; i += SEGMENT_ENTRIES) {
  const part = entries.slice(i, i + SEGMENT_ENTRIES).map((e, k) => ({ timeMs: e.eventTimeMs, seq: i + k + 1, body: bodies[i + k]! }));
  stored += encodeSegment(owner, part).length;
  json += part.reduce((n, e) => n + e.body.length, 0);
}
lines.push(`stored segments of ${SEGMENT_ENTRIES} (format of segment-codec.ts): ${(stored / json).toFixed(4)} of the JSON`);
process.stdout.write(`${lines.join('\n')}\n`);
