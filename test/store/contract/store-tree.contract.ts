/**
 * The store conformance suite's cases for the verifiable log (SPEC §11), run by
 * store.contract.ts for every store whose suite sets `verifiableLog`. Everything is checked
 * through the Store interface and the tlog library alone: leaves, checkpoints, proofs, the
 * map from served entries to leaves.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import type { NewEntry } from '../../../src/logs/entry.ts';
import { formatEventTime } from '../../../src/logs/time.ts';
import type { Store, TenantLog } from '../../../src/store/store.ts';
import { type Checkpoint, openCheckpoint } from '../../../src/tlog/checkpoint.ts';
import { proveConsistency, verifyConsistency } from '../../../src/tlog/consistency-proof.ts';
import { buildEntryLeaf } from '../../../src/tlog/entry-leaf.ts';
import { hashesEqual, leafHash } from '../../../src/tlog/hash.ts';
import { proveInclusion, verifyInclusion } from '../../../src/tlog/inclusion-proof.ts';
import { MemoryTree } from '../../../src/tlog/memory-tree.ts';
import { parseVerifierKey } from '../../../src/tlog/note-key.ts';
import { entriesOf } from '../../support/page-entries.ts';
import type { StoreFixture } from './store.contract.ts';

export interface TreeCaseContext {
  store: Store;
  fixture: StoreFixture;
  open(f?: StoreFixture): Promise<Store>;
  tenant: string;
  other: string;
  t0: number;
  makeEntry(logType: string, timeMs: number, logRecordText?: string): NewEntry;
}

async function logOf(store: Store, tenantId: string): Promise<TenantLog> {
  assert.ok(store.log, 'the store has a verifiable log');
  const log = await store.log(tenantId);
  assert.ok(log, `tenant ${tenantId} has a log`);
  return log;
}

/** The checkpoint, its signature checked with the served verifier key. */
function opened(log: TenantLog): Checkpoint {
  const key = parseVerifierKey(log.verifierKey);
  assert.equal(key.name, log.origin);
  const { checkpoint } = openCheckpoint(log.checkpoint.note, key);
  assert.equal(checkpoint.size, log.checkpoint.size);
  assert.ok(hashesEqual(checkpoint.rootHash, log.checkpoint.rootHash));
  return checkpoint;
}

function leafOf(e: NewEntry): string {
  return buildEntryLeaf({ logType: e.logType, eventTime: formatEventTime(e.eventTimeMs), wireText: e.body });
}

/** Appends and tracks, in a reference tree, the leaves the store should have made. */
class Expected {
  readonly tree = new MemoryTree();
  readonly leaves: string[] = [];
  private readonly seen = new Set<string>();
  async add(entries: readonly NewEntry[]): Promise<void> {
    for (const e of entries) {
      const k = `${e.logType}\0${e.body}`;
      if (this.seen.has(k)) continue;
      this.seen.add(k);
      this.leaves.push(leafOf(e));
      await this.tree.append(leafOf(e));
    }
  }
}

/** Every inclusion proof of the log's checkpoint, and consistency with each earlier checkpoint, verify. */
async function checkProofs(log: TenantLog, earlier: readonly Checkpoint[], sample = Number.POSITIVE_INFINITY): Promise<void> {
  const cp = opened(log);
  const leaves = cp.size === 0 ? [] : await log.leaves(0, cp.size);
  const step = Math.max(1, Math.floor(cp.size / Math.min(cp.size, sample)));
  for (let i = 0; i < cp.size; i += step) {
    const proof = await proveInclusion(i, cp.size, log.reader);
    assert.ok(verifyInclusion(leafHash(leaves[i]!), i, cp.size, proof, cp.rootHash), `inclusion of leaf ${i} in ${cp.size}`);
  }
  for (const old of earlier) {
    const proof = await proveConsistency(old.size, cp.size, log.reader);
    assert.ok(verifyConsistency(old.size, cp.size, proof, old.rootHash, cp.rootHash), `consistency ${old.size} → ${cp.size}`);
  }
}

export function treeContractCases(ctx: () => TreeCaseContext): void {
  it('makes one leaf per stored entry, in append order across log types; duplicates add none', async () => {
    const { store, tenant, t0, makeEntry } = ctx();
    const expected = new Expected();
    const first = [makeEntry('AccessLog', t0 + 5, '{"a":1}'), makeEntry('UserActivityLog', t0, '{"b":1}'), makeEntry('AccessLog', t0 + 1)];
    const second = [first[1]!, makeEntry('CallAccessLog', t0 - 3_600_000, '{"late":true}'), first[0]!, makeEntry('AccessLog', t0 + 2)];
    for (const batch of [first, second]) {
      await store.append(tenant, batch);
      await expected.add(batch);
    }
    const log = await logOf(store, tenant);
    const cp = opened(log);
    assert.equal(cp.size, 5);
    assert.deepEqual(await log.leaves(0, 5), expected.leaves);
    assert.ok(hashesEqual(cp.rootHash, await expected.tree.root()));
    assert.ok(log.origin.endsWith(`/${tenant}`));
    await checkProofs(log, []);
  });

  it('signs the empty tree for a tenant without entries; unknown tenants have no log', async () => {
    const { store, tenant, other } = ctx();
    await store.createTenant({ id: other, name: 'Other' });
    const log = await logOf(store, other);
    assert.equal(opened(log).size, 0);
    assert.notEqual(log.verifierKey, (await logOf(store, tenant)).verifierKey);
    assert.equal(await store.log!('555'), undefined);
  });

  it('keeps each tenant to its own tree and key', async () => {
    const { store, tenant, other, t0, makeEntry } = ctx();
    await store.createTenant({ id: other, name: 'Other' });
    await store.append(tenant, [makeEntry('AccessLog', t0), makeEntry('AccessLog', t0 + 1)]);
    await store.append(other, [makeEntry('AccessLog', t0)]);
    await store.append(tenant, [makeEntry('AccessLog', t0 + 2)]);
    const a = await logOf(store, tenant);
    const b = await logOf(store, other);
    assert.equal(opened(a).size, 3);
    assert.equal(opened(b).size, 1);
    assert.notEqual(a.origin, b.origin);
    assert.throws(() => openCheckpoint(a.checkpoint.note, parseVerifierKey(b.verifierKey)));
  });

  it('a batch that fails midway adds no leaf, and the next checkpoint extends the last', async () => {
    const { store, tenant, t0, makeEntry } = ctx();
    await store.append(tenant, [makeEntry('AccessLog', t0)]);
    const before = opened(await logOf(store, tenant));
    function* failing(): Generator<NewEntry> {
      yield makeEntry('AccessLog', t0 + 1);
      throw new Error('source failed');
    }
    await assert.rejects(store.append(tenant, failing()), /source failed/);
    assert.equal(opened(await logOf(store, tenant)).size, 1);
    await store.append(tenant, [makeEntry('AccessLog', t0 + 1), makeEntry('AccessLog', t0 + 2)]);
    const log = await logOf(store, tenant);
    assert.equal(opened(log).size, 3);
    await checkProofs(log, [before]);
  });

  it('maps every served entry to its leaf, hot or sealed', async () => {
    const { store, fixture, tenant, t0, makeEntry } = ctx();
    assert.ok(store.leafIndexes, 'the store maps entries to leaves');
    const entries = Array.from({ length: 40 }, (_, i) =>
      makeEntry(i % 3 === 0 ? 'UserActivityLog' : 'AccessLog', t0 + ((i * 7919) % 40) * 1000, `{"i":${i}}`),
    );
    for (let at = 0; at < entries.length; at += 7) await store.append(tenant, entries.slice(at, at + 7));
    const check = async () => {
      const log = await logOf(store, tenant);
      for (const logType of ['AccessLog', 'UserActivityLog']) {
        const page = await store.firstPage({ tenantId: tenant, logType, fromMs: 0, toMs: null }, 100);
        assert.ok(page.seqs, 'the page reports its entries sequences');
        const indexes = await store.leafIndexes!(tenant, page.seqs);
        const served = entriesOf(page);
        assert.equal(indexes.length, served.length);
        for (let i = 0; i < served.length; i++) {
          const want = buildEntryLeaf({ logType, eventTime: formatEventTime(served[i]!.timeMs), wireText: served[i]!.body });
          assert.deepEqual(await log.leaves(indexes[i]!, 1), [want], `entry ${i} of ${logType}`);
        }
      }
    };
    await check();
    if (fixture.segments) {
      await fixture.segments.settle(store);
      await check();
    }
  });

  it('several stores on one database append to one consistent tree, and it survives reopening', async () => {
    const { store, fixture, open, tenant, t0, makeEntry } = ctx();
    const second = await open();
    const expected = new Expected();
    const seen: Checkpoint[] = [];
    for (let i = 0; i < 12; i++) {
      const batch = [makeEntry(i % 2 ? 'AccessLog' : 'UserActivityLog', t0 + i, `{"i":${i}}`), makeEntry('AccessLog', t0 - i * 60_000, `{"j":${i}}`)];
      await Promise.all([(i % 2 ? store : second).append(tenant, batch)]);
      await expected.add(batch);
      seen.push(opened(await logOf(i % 3 ? store : second, tenant)));
    }
    await second.close();
    const again = await open(fixture);
    const log = await logOf(again, tenant);
    assert.equal(opened(log).size, 24);
    assert.deepEqual(await log.leaves(0, 24), expected.leaves);
    await checkProofs(log, seen);
  });

  it('property: random batches (duplicates, late entries, several types) keep every proof valid', async () => {
    const { store, t0, makeEntry } = ctx();
    let run = 0;
    const entry = fc.record({
      type: fc.constantFrom('AccessLog', 'UserActivityLog', 'CallAccessLog'),
      minute: fc.integer({ min: -600, max: 600 }),
      v: fc.integer({ min: 0, max: 30 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(entry, { minLength: 0, maxLength: 40 }), { minLength: 1, maxLength: 8 }), async (batches) => {
        const tenantId = `prop${run++}`;
        await store.createTenant({ id: tenantId, name: tenantId });
        const expected = new Expected();
        const seen: Checkpoint[] = [];
        for (const b of batches) {
          const entries = b.map((e) => makeEntry(e.type, t0 + e.minute * 60_000, `{"v":${e.v}}`));
          await store.append(tenantId, entries);
          await expected.add(entries);
          seen.push(opened(await logOf(store, tenantId)));
        }
        const log = await logOf(store, tenantId);
        assert.equal(log.checkpoint.size, expected.leaves.length);
        assert.ok(hashesEqual(log.checkpoint.rootHash, await expected.tree.root()));
        await checkProofs(log, seen, 40);
      }),
      { numRuns: 15 },
    );
  });

  it('trees across several level 0 tiles match the reference tree', async () => {
    const { store, tenant, t0, makeEntry } = ctx();
    const expected = new Expected();
    const seen: Checkpoint[] = [];
    for (const n of [100, 300, 1, 255, 600]) {
      const batch = Array.from({ length: n }, (_, i) =>
        makeEntry('AccessLog', t0 + expected.leaves.length + i, `{"n":${expected.leaves.length + i}}`),
      );
      await store.append(tenant, batch);
      await expected.add(batch);
      seen.push(opened(await logOf(store, tenant)));
    }
    const log = await logOf(store, tenant);
    assert.equal(log.checkpoint.size, 1256);
    assert.ok(hashesEqual(log.checkpoint.rootHash, await expected.tree.root()));
    assert.deepEqual(await log.leaves(250, 20), expected.leaves.slice(250, 270));
    await checkProofs(log, seen, 60);
  });
}
