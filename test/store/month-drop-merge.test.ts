import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mergeInPageOrder } from '../../src/store/postgres/month-drop.ts';

const candidate = fc.record({ timeMs: fc.integer({ min: 0, max: 50 }), seq: fc.integer({ min: 1, max: 1_000_000 }) });
const byPage = (a: { timeMs: number; seq: number }, b: { timeMs: number; seq: number }) => a.timeMs - b.timeMs || a.seq - b.seq;

describe('a dropped month’s entries in page order', () => {
  it('merges the hot rows and the segments’ entries into the one order a sort gives, sorted or not', () => {
    fc.assert(
      fc.property(fc.array(candidate), fc.array(candidate), fc.boolean(), (a, b, sortFirst) => {
        if (sortFirst) {
          a.sort(byPage);
          b.sort(byPage);
        }
        const expected = [...a, ...b].sort(byPage);
        const columns = (list: { timeMs: number; seq: number }[]) => ({ times: list.map((e) => e.timeMs), seqs: list.map((e) => e.seq) });
        assert.deepEqual(mergeInPageOrder(columns(a), columns(b)), columns(expected));
      }),
    );
  });
});
