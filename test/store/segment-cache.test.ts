import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ByteBudgetLru } from '../../src/store/segment-cache.ts';

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
