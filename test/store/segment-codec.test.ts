import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeSegment, encodeSegment, type SegmentEntry } from '../../src/store/segment-codec.ts';
import { CorruptSegmentError } from '../../src/store/store.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'gong');
const OWNER = { tenantId: 'tenant-a', logType: 'AccessLog' };

/** Real entries from the golden pages, at made-up positions (some sharing a time, seqs not consecutive). */
function sampleEntries(n: number): SegmentEntry[] {
  const texts = ['AccessLog', 'UserActivityLog', 'UserCallPlay'].flatMap((f) =>
    (JSON.parse(readFileSync(join(FIXTURES, `${f}.json`), 'utf8')) as { logEntries: unknown[] }).logEntries.map((e) => JSON.stringify(e)),
  );
  return Array.from({ length: n }, (_, i) => ({
    timeMs: 1_767_225_600_000 + Math.floor(i / 3) * 1234 - 10_000_000_000_000 * (i === 0 ? 1 : 0),
    seq: (i % 3) * 1_000_000 + i,
    body: Buffer.from(texts[i % texts.length]!.replace('"eventTime"', `"n":${i},"eventTime"`)),
  }));
}

describe('segment codec', () => {
  it('gives back every entry, its position and text, and any run of texts as one stretch', () => {
    for (const n of [1, 2, 7, 256]) {
      const entries = sampleEntries(n);
      const seg = decodeSegment(encodeSegment(OWNER, entries), OWNER);
      assert.equal(seg.count, n);
      entries.forEach((e, i) => {
        assert.equal(seg.timeMs(i), e.timeMs);
        assert.equal(seg.seq(i), e.seq);
        assert.deepEqual(seg.body(i), e.body);
      });
      assert.equal(seg.span(0, n).toString(), entries.map((e) => e.body.toString()).join(','));
      if (n > 2)
        assert.equal(
          seg.span(1, n - 1).toString(),
          entries
            .slice(1, n - 1)
            .map((e) => e.body.toString())
            .join(','),
        );
      // Positions are searched in page order.
      const mid = Math.floor(n / 2);
      assert.equal(seg.after(entries[mid]!.timeMs, entries[mid]!.seq), mid + 1);
      assert.equal(seg.atOrAfter(entries[mid]!.timeMs) <= mid, true);
      assert.equal(seg.after(Number.MAX_SAFE_INTEGER, 0), n);
    }
  });

  it('holds no more memory than the bytes it tells a cache it holds, small segments too', () => {
    // Caches of decoded segments keep up to a budget of `bytes`: a small segment whose text
    // kept a far larger buffer alive (zlib's output chunk) would let them hold many times it.
    for (const n of [1, 3, 20, 256]) {
      const seg = decodeSegment(encodeSegment(OWNER, sampleEntries(n)), OWNER);
      assert.ok(seg.text.buffer.byteLength <= seg.bytes, `${n} entries: ${seg.text.buffer.byteLength} bytes held, ${seg.bytes} counted`);
    }
  });

  it('compresses realistic texts several times', () => {
    const entries = sampleEntries(256);
    const json = entries.reduce((s, e) => s + e.body.length, 0);
    assert.ok(encodeSegment(OWNER, entries).length * 4 < json);
  });

  it('refuses entries out of page order and empty segments', () => {
    const [a, b] = sampleEntries(2);
    assert.throws(() => encodeSegment(OWNER, [b!, a!]), RangeError);
    assert.throws(() => encodeSegment(OWNER, [a!, a!]), RangeError);
    assert.throws(() => encodeSegment(OWNER, []), RangeError);
  });

  it('detects every flipped byte, and returns nothing of the segment', () => {
    const data = encodeSegment(OWNER, sampleEntries(20));
    for (let i = 0; i < data.length; i++) {
      const bad = Buffer.from(data);
      bad[i] = bad[i]! ^ (1 << (i % 8));
      assert.throws(
        () => decodeSegment(bad, OWNER, 7),
        (err: unknown) => err instanceof CorruptSegmentError && /segment 7/.test(err.message),
        `byte ${i}`,
      );
    }
    // Truncated or extended too.
    assert.throws(() => decodeSegment(data.subarray(0, data.length - 1), OWNER), CorruptSegmentError);
    assert.throws(() => decodeSegment(Buffer.concat([data, Buffer.from([0])]), OWNER), CorruptSegmentError);
    assert.throws(() => decodeSegment(Buffer.alloc(0), OWNER), CorruptSegmentError);
  });

  it("refuses another tenant's or another log type's segment", () => {
    const data = encodeSegment(OWNER, sampleEntries(5));
    for (const other of [
      { tenantId: 'tenant-b', logType: 'AccessLog' },
      { tenantId: 'tenant-a', logType: 'UserActivityLog' },
      { tenantId: 'tenant-', logType: 'aAccessLog' },
    ]) {
      assert.throws(
        () => decodeSegment(data, other),
        (err: unknown) => err instanceof CorruptSegmentError && /another tenant/.test(err.message),
      );
    }
  });
});
