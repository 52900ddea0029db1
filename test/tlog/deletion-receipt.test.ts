import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DeletionReceiptError,
  deletedLeavesDigest,
  formatDeletionReceipt,
  formatLeafRuns,
  parseDeletionReceipt,
} from '../../src/tlog/deletion-receipt.ts';
import { leafHash } from '../../src/tlog/hash.ts';

const base = {
  logType: 'AccessLog',
  firstEventTime: '2025-03-01T09:00:00.000Z',
  lastEventTime: '2025-03-01T09:11:00.000Z',
  deletedAt: '2026-03-02T03:00:07.412Z',
  digest: deletedLeavesDigest([leafHash('a'), leafHash('b')]),
};

describe('deletion receipt v1', () => {
  it('property: formats and parses back any ascending set of leaves', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 60 }), (set) => {
        const leaves = [...set].sort((a, b) => a - b);
        const text = formatDeletionReceipt({ ...base, count: leaves.length, leaves });
        const back = parseDeletionReceipt(text);
        assert.deepEqual(back.leaves, leaves);
        assert.equal(back.count, leaves.length);
        assert.deepEqual([...back.digest], [...base.digest]);
        assert.equal(formatDeletionReceipt(back), text);
      }),
    );
  });

  it('writes runs compactly', () => {
    assert.equal(formatLeafRuns([0, 1, 2, 5, 9, 10, 11]), '0-2,5,9-11');
    assert.equal(formatLeafRuns([7]), '7');
  });

  it('refuses anything but the one form', () => {
    const good = formatDeletionReceipt({ ...base, count: 3, leaves: [1, 2, 4] });
    assert.equal(parseDeletionReceipt(good).count, 3);
    const lines = good.split('\n');
    const edit = (i: number, v: string) => lines.map((l, j) => (j === i ? v : l)).join('\n');
    for (const bad of [
      good.slice(0, -1),
      edit(0, 'logwarden/deletion/v2'),
      edit(1, 'Access Log'),
      edit(2, 'yesterday'),
      edit(4, '4'),
      edit(4, '03'),
      edit(6, '1,2,4'),
      edit(6, '1-2,3'),
      edit(6, '2-1,4'),
      edit(6, '4,1-2'),
      edit(6, '1-1,2,4'),
      edit(7, 'AAAA'),
      `${good}extra\n`,
    ]) {
      assert.throws(() => parseDeletionReceipt(bad), DeletionReceiptError, JSON.stringify(bad));
    }
  });
});
