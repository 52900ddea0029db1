import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deletedLeavesDigest, formatDeletionReceipt } from '../../src/tlog/deletion-receipt.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { leafHash } from '../../src/tlog/hash.ts';
import { type AuditWindow, auditWindow, checkDeletionReceipts, type ServedEntry } from '../../src/tlog/window-audit.ts';

const TYPES = ['AccessLog', 'UserActivityLog', 'UserCallPlay'] as const;
const BASE = Date.UTC(2026, 0, 1);

interface Entry {
  logType: string;
  eventTime: string;
  wireText: string;
}

const entryArb = fc
  .record({ type: fc.constantFrom(...TYPES), minute: fc.nat({ max: 59 }), n: fc.nat({ max: 5 }) })
  .map(({ type, minute, n }): Entry => {
    const eventTime = new Date(BASE + minute * 60_000).toISOString();
    return { logType: type, eventTime, wireText: `{"eventTime":"${eventTime}","logRecord":{"n":${n}}}` };
  });

const windowArb = fc.record({ type: fc.constantFrom(...TYPES), a: fc.nat({ max: 60 }), b: fc.nat({ max: 60 }), open: fc.boolean() }).map(
  ({ type, a, b, open }): AuditWindow => ({
    logType: type,
    from: new Date(BASE + Math.min(a, b) * 60_000).toISOString(),
    to: open ? null : new Date(BASE + Math.max(a, b) * 60_000).toISOString(),
  }),
);

function inWindow(e: Entry, w: AuditWindow): boolean {
  const t = Date.parse(e.eventTime);
  return e.logType === w.logType && t >= Date.parse(w.from) && (w.to === null || t < Date.parse(w.to));
}

const leavesOf = (entries: readonly Entry[]) => entries.map((e, index) => ({ index, leaf: buildEntryLeaf(e) }));
const served = (entries: readonly Entry[]): ServedEntry[] => entries.map((e) => ({ wireText: e.wireText, eventTime: e.eventTime }));

describe('window completeness', () => {
  it('a window served exactly (in any order, duplicates included) has nothing missing or unexpected', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 80 }), windowArb, fc.nat(), (entries, w, seed) => {
        const expected = entries.filter((e) => inWindow(e, w));
        const shuffled = [...expected].sort((a, b) => ((a.wireText.length * 31 + seed) % 7) - ((b.wireText.length * 31 + seed) % 7));
        const r = auditWindow(w, leavesOf(entries), served(shuffled));
        assert.deepEqual(r.missing, []);
        assert.deepEqual(r.unexpected, []);
        assert.equal(r.inWindow, expected.length);
        assert.equal(r.matched.length, expected.length);
      }),
      { numRuns: 200 },
    );
  });

  it('a hidden entry is missing, a foreign or edited one is unexpected', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { minLength: 1, maxLength: 80 }), windowArb, fc.nat(), (entries, w, seed) => {
        const expectedIdx = entries.map((e, i) => (inWindow(e, w) ? i : -1)).filter((i) => i >= 0);
        fc.pre(expectedIdx.length > 0);
        const hidden = expectedIdx[seed % expectedIdx.length]!;
        const rest = expectedIdx.filter((i) => i !== hidden).map((i) => entries[i]!);
        const r = auditWindow(w, leavesOf(entries), served(rest));
        // When an identical entry is also a leaf, either copy may be reported; the count is exact.
        assert.equal(r.missing.length, 1);
        assert.ok(entries[r.missing[0]!]!.wireText === entries[hidden]!.wireText);
        assert.deepEqual(r.unexpected, []);

        const edited = { ...entries[hidden]!, wireText: entries[hidden]!.wireText.replace('"n":', '"n": ') };
        const r2 = auditWindow(w, leavesOf(entries), served([...rest, edited]));
        assert.equal(r2.missing.length, 1);
        assert.deepEqual(r2.unexpected, [rest.length]);

        const outside: Entry = { logType: w.logType, eventTime: '2025-06-01T00:00:00.000Z', wireText: '{"x":1}' };
        const r3 = auditWindow(w, leavesOf(entries), served([...expectedIdx.map((i) => entries[i]!), outside]));
        assert.deepEqual(r3.missing, []);
        assert.deepEqual(r3.unexpected, [expectedIdx.length]);
      }),
      { numRuns: 200 },
    );
  });

  it('serving an entry twice when it was logged once is unexpected; other leaf kinds are counted apart', () => {
    const e: Entry = { logType: 'AccessLog', eventTime: '2026-01-01T00:00:00.000Z', wireText: '{"a":1}' };
    const w: AuditWindow = { logType: 'AccessLog', from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' };
    const leaves = [...leavesOf([e]), { index: 1, leaf: 'logwarden/receipt/v1\nsomething\n' }];
    const r = auditWindow(w, leaves, served([e, e, { ...e, wireText: '{"a":2}' }]));
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.unexpected, [1, 2]);
    assert.deepEqual(r.servedTwice, [1]);
    assert.equal(r.otherKinds, 1);
    // Leaves given as bytes are read the same way; a malformed entry leaf is an error, not a skip.
    const asBytes = leaves.map((l) => ({ index: l.index, leaf: new TextEncoder().encode(l.leaf) }));
    assert.deepEqual(auditWindow(w, asBytes, served([e])).matched, [{ served: 0, leaf: 0 }]);
    assert.throws(() => auditWindow(w, [{ index: 0, leaf: 'logwarden/entry/v1\nAccessLog\n' }], []), /four lines/);
    // Window bounds: from inclusive, to exclusive, compared as instants.
    const atTo: Entry = { ...e, eventTime: '2026-01-02T00:00:00.000Z', wireText: '{"a":2}' };
    const r2 = auditWindow({ ...w, from: '2025-12-31T19:00:00-05:00' }, leavesOf([e, atTo]), served([e]));
    assert.equal(r2.inWindow, 1);
    assert.deepEqual(r2.missing, []);
  });
});

describe('deletion receipts', () => {
  const leaves = new Map(
    [0, 1, 2, 3].map((i) => [
      i,
      buildEntryLeaf({ logType: 'AccessLog', eventTime: new Date(BASE + i * 60_000).toISOString(), wireText: `{"i":${i}}` }),
    ]),
  );
  const receipt = (named: number[], digestOf: number[] = named, count = named.length) =>
    formatDeletionReceipt({
      logType: 'AccessLog',
      firstEventTime: new Date(BASE).toISOString(),
      lastEventTime: new Date(BASE).toISOString(),
      count,
      deletedAt: '2026-02-01T00:00:00.000Z',
      leaves: named,
      digest: deletedLeavesDigest(digestOf.map((i) => leafHash(leaves.get(i) ?? 'x'))),
    });

  const hashOf = (i: number) => {
    const leaf = leaves.get(i);
    return leaf === undefined ? undefined : leafHash(leaf);
  };

  it('proves the leaves a matching receipt names deleted', () => {
    const r = checkDeletionReceipts(new Map([[5, receipt([0, 2])]]), hashOf);
    assert.deepEqual([...r.deleted.keys()], [0, 2]);
    assert.deepEqual(r.deleted.get(2), { leafIndex: 2, receiptLeaf: 5, deletedAt: '2026-02-01T00:00:00.000Z' });
    assert.deepEqual(r.bad, []);
  });

  it('refuses a wrong digest, a leaf named twice, a later or foreign leaf, and a malformed text', () => {
    const cases: [Map<number, string>, RegExp][] = [
      [new Map([[5, receipt([0, 2], [0, 1])]]), /digest/],
      [
        new Map([
          [5, receipt([0])],
          [6, receipt([0, 1])],
        ]),
        /already names/,
      ],
      [new Map([[2, receipt([3])]]), /not an earlier AccessLog entry leaf/],
      [new Map([[9, receipt([7])]]), /not an earlier AccessLog entry leaf/],
      [new Map([[9, 'logwarden/deletion/v1\nAccessLog\n']]), /malformed/],
    ];
    for (const [receipts, reason] of cases) {
      const r = checkDeletionReceipts(receipts, hashOf);
      assert.equal(r.bad.length, 1);
      assert.match(r.bad[0]!.reason, reason);
    }
  });
});
