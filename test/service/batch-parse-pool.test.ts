/**
 * JSON batches parsed on a worker thread (service/batch-parse-pool.ts) give exactly the entries
 * the calling thread's parser gives — texts, times, keys — with each entry's wire-text digest,
 * also when the stored texts are longer than the body;
 * a body the worker does not take (small or faulty) is left to the caller, so the errors
 * are the same; and the same batch ingested either way makes the same signed tree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateDemoEntries } from '../../src/demo/demo-data.ts';
import type { NewEntry } from '../../src/logs/entry.ts';
import { parseJsonBatch, parseJsonBatchBytes } from '../../src/logs/ingest-parse.ts';
import { minifiedElements } from '../../src/logs/json-text.ts';
import { LogTypes } from '../../src/logs/log-types.ts';
import { createTenant } from '../../src/service/access-keys.ts';
import { OFF_THREAD_MIN_BYTES, parseBatchOffThread } from '../../src/service/batch-parse-pool.ts';
import { ingestJsonBatch } from '../../src/service/ingest-logs.ts';
import type { Store } from '../../src/store/store.ts';
import { wireTextDigest } from '../../src/tlog/entry-leaf.ts';
import { storeKinds } from '../support/stores.ts';

const types = new LogTypes(['BadgeSwipe']);
const DAY = Date.UTC(2026, 2, 4);

/**
 * A JSON batch of demo AccessLog entries: minified, spaced like a hand-written file, or with
 * event times to the second, which the stored texts write out to the millisecond (longer).
 */
function batch(count: number, seed: number, style: 'minified' | 'spaced' | 'seconds' = 'minified'): Buffer {
  const texts: string[] = [];
  for (const e of generateDemoEntries({ seed, count: count * 2, fromMs: DAY, toMs: DAY + 86_400_000, types: ['AccessLog'] })) {
    if (style === 'spaced') texts.push(JSON.stringify(JSON.parse(e.body), null, 2));
    else texts.push(style === 'seconds' ? e.body.replace(/("eventTime":"[^"]*?)\.\d{3}Z"/, '$1Z"') : e.body);
    if (texts.length === count) break;
  }
  return Buffer.from(`{"logType":"AccessLog","logEntries":[${texts.join(',')}]}`);
}

function plain(entries: Iterable<NewEntry>) {
  return [...entries].map((e) => ({ logType: e.logType, eventTimeMs: e.eventTimeMs, body: e.body, key: Buffer.from(e.key).toString('hex') }));
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return 'no error';
}

describe('batches parsed on a worker thread', () => {
  it('gives the entries the calling thread gives, each with the digest of its wire text', async () => {
    for (const [body, what] of [
      [batch(1500, 1), 'minified'],
      [batch(700, 2, 'spaced'), 'spaced'],
      [batch(3000, 9, 'seconds'), 'seconds'],
    ] as const) {
      assert.ok(body.length >= OFF_THREAD_MIN_BYTES, `the ${what} batch is large enough to go to a worker`);
      const off = await parseBatchOffThread(body, types);
      assert.ok(off, `the ${what} batch was parsed on a worker`);
      const entries = [...off];
      assert.deepEqual(plain(entries), plain(parseJsonBatchBytes(body, types)), what);
      for (const e of entries) assert.deepEqual(e.digest, wireTextDigest(e.body));
    }
  });

  it('leaves small and faulty bodies to the caller, whose parse words the error', async () => {
    assert.equal(await parseBatchOffThread(batch(10, 3), types), undefined, 'small: parsed where it is');
    const good = batch(1500, 4).toString('utf8');
    const faults = [
      good.replace('"eventTime":"2026-03-04T', '"eventTime":"2026-13-04T'),
      good.replace('{"logType":"AccessLog",', '{"logType":"NoSuchType",'),
      good.slice(0, -10),
      `${good.slice(0, -2)},{"userId":"1"}]}`,
      good.replace('{"logType":"AccessLog","logEntries":[', '{"logEntries":[').replace(/\]}$/, '],"logType":"AccessLog","logType":"AccessLog"}'),
    ];
    for (const text of faults) {
      const body = Buffer.from(text);
      assert.equal(await parseBatchOffThread(body, types), undefined);
      const expected = errorOf(() => parseJsonBatch(text, types));
      assert.notEqual(expected, 'no error');
      assert.equal(
        errorOf(() => [...parseJsonBatchBytes(body, types)]),
        expected,
      );
    }
  });

  it('serves several batches at once, each its own entries', async () => {
    const bodies = [batch(900, 5), batch(900, 6), batch(900, 7)];
    const got = await Promise.all(bodies.map((b) => parseBatchOffThread(b, types)));
    for (let i = 0; i < bodies.length; i++) assert.deepEqual(plain(got[i]!), plain(parseJsonBatchBytes(bodies[i]!, types)));
  });
});

for (const kind of await storeKinds()) {
  describe(`ingesting a large batch, parsed on a worker or not (${kind.name})`, { skip: kind.skip }, () => {
    const stores: { store: Store; dispose: () => Promise<void>; tenantId: string }[] = [];
    before(async () => {
      for (let i = 0; i < 2; i++) {
        const { store, dispose } = await kind.factory.create();
        stores.push({ store, dispose, tenantId: (await createTenant(store, 'Ingest')).id });
      }
    });
    after(async () => {
      for (const s of stores) await s.dispose();
    });

    it('stores the same entries, counts the same duplicates and signs the same tree', async () => {
      const body = batch(1500, 8);
      const [viaWorker, here] = stores as [(typeof stores)[0], (typeof stores)[0]];
      assert.deepEqual(await ingestJsonBatch(viaWorker.store, viaWorker.tenantId, body, types), { accepted: 1500, duplicates: 0 });
      assert.deepEqual(await here.store.append(here.tenantId, parseJsonBatchBytes(body, types)), { accepted: 1500, duplicates: 0 });
      assert.deepEqual(await ingestJsonBatch(viaWorker.store, viaWorker.tenantId, body, types), { accepted: 0, duplicates: 1500 });
      const [a, b] = [await viaWorker.store.log!(viaWorker.tenantId), await here.store.log!(here.tenantId)];
      assert.equal(a!.checkpoint.size, 1500);
      assert.deepEqual(a!.checkpoint.rootHash, b!.checkpoint.rootHash);
      const query = { tenantId: viaWorker.tenantId, logType: 'AccessLog', fromMs: 0, toMs: null };
      const page = await viaWorker.store.firstPage(query, 1500);
      const texts = [...parseJsonBatchBytes(body, types)].map((e) => e.body);
      const served: string[] = [];
      minifiedElements(`[${page.text.toString('utf8')}]`, 0, served);
      assert.equal(page.count, 1500);
      assert.deepEqual(served.sort(), texts.sort());
    });
  });
}
