import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { FileLeafCache, type LeafCache, MemoryLeafCache } from '../../src/client/leaf-cache.ts';
import { encodeEntryBundle } from '../../src/tlog/entry-bundle.ts';

const dir = mkdtempSync(join(tmpdir(), 'logwarden-leaf-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

async function readAll(cache: LeafCache, count: number): Promise<{ ok: boolean; leaves: string[] }> {
  const leaves: Uint8Array[] = [];
  const ok = await cache.read(count, (index, leaf) => {
    assert.equal(index, leaves.length, 'leaves come in order');
    leaves.push(leaf);
  });
  // Decoded after the walk: a leaf handed over must stay valid once the next chunk is read.
  return { ok, leaves: leaves.map((l) => Buffer.from(l).toString('latin1')) };
}

const leaf = fc.oneof(
  { weight: 20, arbitrary: fc.uint8Array({ minLength: 0, maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 60_000, maxLength: 65_535 }) },
);
const op = fc.oneof(
  fc.record({ append: fc.array(leaf, { minLength: 1, maxLength: 6 }) }),
  fc.record({ truncate: fc.nat() }),
  fc.record({ check: fc.nat() }),
  fc.record({ read: fc.nat() }),
);

describe('the file leaf cache', () => {
  it('holds what the memory cache holds, read in chunks of any size (leaves cut across chunks)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 700 }), fc.array(op, { maxLength: 25 }), async (chunkBytes, ops) => {
        const file = new FileLeafCache(join(dir, `c${files++}`, 'leaves'), { chunkBytes });
        const memory = new MemoryLeafCache();
        let held = 0;
        let checked = 0;
        for (const o of ops) {
          if ('append' in o) {
            const bundle = encodeEntryBundle(o.append);
            await file.append(bundle);
            await memory.append(bundle);
            held += o.append.length;
          } else if ('truncate' in o) {
            const keep = held === 0 ? 0 : o.truncate % (held + 1);
            await file.truncate(keep);
            await memory.truncate(keep);
            held = keep;
            checked = Math.min(checked, keep);
          } else if ('check' in o) {
            checked = held === 0 ? 0 : o.check % (held + 1);
            await file.checked(checked);
            await memory.checked(checked);
          } else {
            const count = o.read % (held + 3);
            const got = await readAll(file, count);
            assert.deepEqual(got, await readAll(memory, count));
            assert.equal(got.ok, count <= checked, 'only checked leaves are read');
            if (!got.ok) assert.equal(got.leaves.length, 0, 'a short cache hands over nothing');
          }
        }
        await file.checked(held);
        await memory.checked(held);
        assert.deepEqual(await readAll(file, held), await readAll(memory, held));
      }),
      { numRuns: 150 },
    );
  });

  it('appends many pieces at once (more than one system call takes), in order, empty ones included', async () => {
    const pieces = Array.from({ length: 1300 }, (_, i) => (i % 7 === 3 ? new Uint8Array(0) : encodeEntryBundle([Buffer.from(`leaf ${i}`)])));
    const want = pieces.flatMap((p, i) => (p.length === 0 ? [] : [`leaf ${i}`]));
    for (const cache of [new FileLeafCache(join(dir, 'many', 'leaves')), new MemoryLeafCache()]) {
      await cache.truncate(0);
      await cache.append(...pieces);
      await cache.checked(want.length);
      assert.deepEqual(await readAll(cache, want.length), { ok: true, leaves: want });
      assert.equal((await readAll(cache, want.length + 1)).ok, false);
    }
  });

  it('treats a missing file as empty and a torn last leaf as absent', async () => {
    const path = join(dir, 'torn', 'leaves');
    const cache = new FileLeafCache(path, { chunkBytes: 16 });
    assert.deepEqual(await readAll(cache, 0), { ok: true, leaves: [] });
    assert.deepEqual(await readAll(cache, 1), { ok: false, leaves: [] });
    await cache.append(encodeEntryBundle([Buffer.from('first'), Buffer.from('second')]));
    appendFileSync(path, Buffer.from([0, 9, 0x61, 0x62])); // a leaf of 9 bytes, 2 written
    await cache.checked(3);
    assert.deepEqual(await readAll(cache, 2), { ok: true, leaves: ['first', 'second'] });
    assert.deepEqual(await readAll(cache, 3), { ok: false, leaves: [] });
    await cache.truncate(2);
    await cache.append(encodeEntryBundle([Buffer.from('third')]));
    await cache.checked(3);
    assert.deepEqual(await readAll(cache, 3), { ok: true, leaves: ['first', 'second', 'third'] });
    await assert.rejects(cache.truncate(4), /holds fewer than 4 leaves/);
  });

  it('hands out no leaf not marked checked: appended after the last mark, cut and appended again, or in a cache kept before marks', async () => {
    const path = join(dir, 'checked', 'leaves');
    const cache = new FileLeafCache(path);
    await cache.truncate(0);
    await cache.append(encodeEntryBundle([Buffer.from('a'), Buffer.from('b')]));
    assert.deepEqual(await readAll(cache, 1), { ok: false, leaves: [] }, 'appended, not yet checked');
    await cache.checked(2);
    assert.deepEqual(await readAll(cache, 2), { ok: true, leaves: ['a', 'b'] });
    await cache.append(encodeEntryBundle([Buffer.from('c')]));
    assert.deepEqual(await readAll(cache, 3), { ok: false, leaves: [] }, 'c is not checked');
    // Cut back and filled again by a run that fails: the leaves in the old places are not the checked ones.
    await cache.truncate(1);
    await cache.append(encodeEntryBundle([Buffer.from('x'), Buffer.from('y')]));
    assert.deepEqual(await readAll(cache, 2), { ok: false, leaves: [] });
    assert.deepEqual(await readAll(cache, 1), { ok: true, leaves: ['a'] });
    // Another process (the same cache opened again) sees the same.
    assert.deepEqual(await readAll(new FileLeafCache(path), 1), { ok: true, leaves: ['a'] });
    // Leaves with no count of checked ones beside them (a cache kept before it was) are not read.
    const old = join(dir, 'unmarked-leaves');
    writeFileSync(old, encodeEntryBundle([Buffer.from('d')]));
    assert.deepEqual(await readAll(new FileLeafCache(old), 1), { ok: false, leaves: [] });
    const memory = new MemoryLeafCache();
    await memory.append(encodeEntryBundle([Buffer.from('e')]));
    assert.deepEqual(await readAll(memory, 1), { ok: false, leaves: [] });
  });

  it("is readable by its owner only (it holds the tenant's leaves), one made before included", async () => {
    const mode = (p: string) => statSync(p).mode & 0o777;
    const fresh = join(dir, 'private', 'deeper', 'leaves');
    await new FileLeafCache(fresh).append(encodeEntryBundle([Buffer.from('a')]));
    assert.equal(mode(fresh), 0o600);
    assert.equal(mode(join(dir, 'private', 'deeper')), 0o700);
    assert.equal(mode(join(dir, 'private')), 0o700);
    const old = join(dir, 'old-leaves');
    writeFileSync(old, encodeEntryBundle([Buffer.from('b')]));
    chmodSync(old, 0o644);
    await new FileLeafCache(old).append(encodeEntryBundle([Buffer.from('c')]));
    assert.equal(mode(old), 0o600);
    const emptied = join(dir, 'emptied-leaves');
    await new FileLeafCache(emptied).truncate(0);
    assert.equal(mode(emptied), 0o600);
  });
});
