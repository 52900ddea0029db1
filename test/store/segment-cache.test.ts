import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CachedSegment, SegmentCache } from '../../src/store/postgres/segment-cache.ts';
import { ByteBudgetLru } from '../../src/store/segment-cache.ts';
import type { DecodedSegment } from '../../src/store/segment-codec.ts';

describe('ByteBudgetLru', () => {
  it('drops the least recently used values once over its budget', () => {
    const lru = new ByteBudgetLru<number, string>(10);
    lru.set(1, 'a', 4);
    lru.set(2, 'b', 4);
    assert.equal(lru.get(1), 'a'); // 1 is now the most recently used
    lru.set(3, 'c', 4); // 12 bytes: 2 goes
    assert.deepEqual([...lru.values()], ['a', 'c']);
    assert.equal(lru.get(2), undefined);
  });

  it('keeps no value larger than the whole budget, and replaces a value set again', () => {
    const lru = new ByteBudgetLru<string, string>(10);
    lru.set('x', 'small', 3);
    lru.set('y', 'huge', 11);
    assert.equal(lru.get('y'), undefined);
    lru.set('x', 'bigger', 9); // the old 3 bytes are released, not counted twice
    lru.set('z', 'one', 1);
    assert.deepEqual([...lru.values()], ['bigger', 'one']);
    assert.equal(lru.size, 2);
  });
});

describe('ByteBudgetLru onDrop', () => {
  it('hears of every value dropped for space or replaced', () => {
    const dropped: string[] = [];
    const lru = new ByteBudgetLru<string, string>(10, (k, v) => dropped.push(`${k}=${v}`));
    lru.set('a', '1', 4);
    lru.set('b', '2', 4);
    lru.set('a', '3', 4); // replaced
    lru.set('c', '4', 4); // b goes for space
    assert.deepEqual(dropped, ['a=1', 'b=2']);
  });
});

describe('PostgreSQL SegmentCache.after', () => {
  const seg = (id: string, tid: number, typeId: number, timeMs: number, seq: number, bytes = 1): CachedSegment => ({
    id,
    tid,
    typeId,
    last: { timeMs, seq },
    decoded: {} as DecodedSegment,
    bytes,
  });

  it('finds the nearest cached segments of the owner ending after a position, and forgets dropped ones', () => {
    const cache = new SegmentCache(6);
    cache.put(seg('3', 1, 1, 300, 3));
    cache.put(seg('1', 1, 1, 100, 1));
    cache.put(seg('x', 2, 1, 150, 9)); // another tenant
    cache.put(seg('2', 1, 1, 200, 2));
    cache.put(seg('y', 1, 2, 150, 8)); // another type
    const ids = (after: { timeMs: number; seq: number }, max = 5) => cache.after(1, 1, after, max).map((s) => s.id);
    assert.deepEqual(ids({ timeMs: 0, seq: 0 }), ['1', '2', '3']);
    assert.deepEqual(ids({ timeMs: 100, seq: 1 }), ['2', '3']); // ending at the position: not after it
    assert.deepEqual(ids({ timeMs: 100, seq: 0 }, 1), ['1']);
    assert.deepEqual(ids({ timeMs: 300, seq: 3 }), []);
    assert.deepEqual(
      cache.after(2, 1, { timeMs: 0, seq: 0 }, 5).map((s) => s.id),
      ['x'],
    );
    cache.put(seg('4', 1, 1, 400, 4, 2)); // 7 bytes, over the budget of 6: '3', the least recently used, goes
    assert.deepEqual(ids({ timeMs: 0, seq: 0 }), ['1', '2', '4']);
    assert.equal(cache.get('3', 1, 1), undefined);
    assert.equal(cache.get('x', 1, 1), undefined); // another owner's id
  });

  it("finds a rewritten range's newest segment first when two end at the same position", () => {
    const cache = new SegmentCache(100);
    cache.put(seg('old', 1, 1, 100, 1));
    cache.put(seg('new', 1, 1, 100, 1));
    assert.deepEqual(
      cache.after(1, 1, { timeMs: 0, seq: 0 }, 1).map((s) => s.id),
      ['new'],
    );
    cache.put(seg('new', 1, 1, 100, 1)); // put again: indexed once
    assert.deepEqual(
      cache.after(1, 1, { timeMs: 0, seq: 0 }, 5).map((s) => s.id),
      ['new', 'old'],
    );
  });
});
