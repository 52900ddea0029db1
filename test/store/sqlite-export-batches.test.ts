/**
 * A whole SQLite store read out (exportAll, what `logwarden copy` reads) gives its hot entries in
 * batches of bounded text: entries of a megabyte each (an NDJSON line may be 1 MiB) are not read
 * a thousand at a time, which made one batch of gigabytes that a PostgreSQL import could not send
 * ("Invalid string length").
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { BATCH_BYTES } from '../../src/store/store-transfer.ts';
import { readBatches } from '../support/export-batches.ts';
import { makeEntry } from './contract/store.contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'logwarden-export-batches-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('reads large hot entries in batches of at most BATCH_BYTES of text (one entry at least), every entry once', async () => {
  const store = openSqliteStore({ dataDir: dir, sealAgeMs: 3_600_000 });
  try {
    await store.createTenant({ id: '7', name: 'Big entries' });
    const entryBytes = Math.ceil(BATCH_BYTES / 5);
    const t0 = Date.UTC(2026, 0, 1);
    const n = 12;
    const entries = Array.from({ length: n }, (_, i) => makeEntry('AccessLog', t0 + i * 1000, JSON.stringify({ i, pad: 'x'.repeat(entryBytes) })));
    await store.append('7', entries);
    await store.append('7', [makeEntry('UserCallPlay', t0, '{"small":true}')]);

    const { seen, sizes } = await readBatches(await store.exportAll(), '7', BATCH_BYTES);
    assert.ok(sizes.length >= 3, `batches of ${sizes.join(', ')} bytes`);
    assert.equal(seen.length, n + 1);
    assert.equal(new Set(seen).size, n + 1, 'no entry twice');
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => a - b),
      'in sequence order',
    );
  } finally {
    await store.close();
  }
});
