import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { FullTileCache } from '../../src/server/tile-cache.ts';

describe('FullTileCache', () => {
  it('builds once, then serves from memory', async () => {
    const lookups: boolean[] = [];
    const cache = new FullTileCache(1024 * 1024, (hit) => lookups.push(hit));
    let builds = 0;
    const build = async () => {
      builds++;
      return Buffer.from('tile bytes');
    };
    const [a, b] = await Promise.all([cache.get('t1', 'entries/0', build), cache.get('t1', 'entries/0', build)]);
    assert.equal(builds, 1);
    assert.deepEqual(a, b);
    assert.equal((await cache.get('t1', 'entries/0', build)).toString(), 'tile bytes');
    assert.equal(builds, 1);
    assert.deepEqual(lookups, [false, false, true]);
    await cache.get('t2', 'entries/0', build); // another tenant's log: its own entry
    assert.equal(builds, 2);
  });

  it('holds no more memory than it counts for a small gzipped bundle', async () => {
    // zlib hands back a small output as a slice of its 16 KiB chunk: kept as it is, each such
    // bundle would hold the whole chunk while counted at its own length.
    const cache = new FullTileCache(1024 * 1024);
    const gzipped = gzipSync(Buffer.from('leaf '.repeat(200)));
    await cache.get('t1', 'entries/0.gz', async () => gzipped);
    const kept = await cache.get('t1', 'entries/0.gz', async () => assert.fail('built twice'));
    assert.deepEqual(kept, gzipped);
    assert.equal(kept.buffer.byteLength, kept.length);
  });
});
