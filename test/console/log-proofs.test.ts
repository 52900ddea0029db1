/**
 * The console's WebCrypto checks agree with the Node library (src/tlog/) they stand in for:
 * verifier keys, signed checkpoints, entry leaves and inclusion proofs; and refuse what that
 * library refuses (a changed byte, another key, a wrong leaf, index or size).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { entryLeafHash, IntegrityError, parseLogKey, rootFromInclusion, tokenTenant, verifyCheckpoint } from '../../src/console/log-proofs.ts';
import { signCheckpoint } from '../../src/tlog/checkpoint.ts';
import { entryLeafHash as nodeEntryLeafHash } from '../../src/tlog/entry-leaf.ts';
import { proveInclusion } from '../../src/tlog/inclusion-proof.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { generateNoteKey, parseSignerKey } from '../../src/tlog/note-key.ts';

const ORIGIN = 'logwarden/test-store/tenant-1';

describe('console log proofs (WebCrypto)', () => {
  const keys = generateNoteKey(ORIGIN);
  const signer = parseSignerKey(keys.signerKey);

  it('reads a verifier key and opens a checkpoint signed with it; a changed byte, another key or another origin fail', async () => {
    const tree = new MemoryTree();
    for (let i = 0; i < 7; i++) await tree.append(`leaf ${i}`);
    const rootHash = await tree.root();
    const note = signCheckpoint({ origin: ORIGIN, size: 7, rootHash, extensions: [] }, signer);
    const key = await parseLogKey(`${keys.verifierKey}\n`);
    assert.equal(key.name, ORIGIN);
    assert.equal(key.keyId, signer.keyId);
    const c = await verifyCheckpoint(note, key);
    assert.equal(c.size, 7);
    assert.deepEqual(c.rootHash, new Uint8Array(rootHash));
    const tampered = note.replace(`\n7\n`, `\n8\n`);
    await assert.rejects(verifyCheckpoint(tampered, key), /signature does not verify/);
    const other = await parseLogKey(generateNoteKey(ORIGIN).verifierKey);
    await assert.rejects(verifyCheckpoint(note, other), /not signed by the log’s key/);
    const elsewhere = parseSignerKey(generateNoteKey('logwarden/other/1').signerKey);
    const foreign = signCheckpoint({ origin: 'logwarden/other/1', size: 7, rootHash, extensions: [] }, elsewhere);
    await assert.rejects(
      verifyCheckpoint(foreign, await parseLogKey(elsewhere.verifier.text)).then(() => verifyCheckpoint(foreign, key)),
      IntegrityError,
    );
    for (const bad of ['', 'name', `${ORIGIN}+0000000+AQ==`, keys.verifierKey.replace(/\+[0-9a-f]{8}\+/, '+00000000+')]) {
      await assert.rejects(parseLogKey(bad), IntegrityError, bad);
    }
  });

  it('computes the entry leaf as the library does, and checks inclusion proofs of every leaf of trees of many sizes', async () => {
    const wire = '{"userId":"1","eventTime":"2026-03-01T10:00:00.000Z","logRecord":{"speed":1.0, "ü":"é"}}';
    const entry = { logType: 'UserCallPlay', eventTime: '2026-03-01T10:00:00.000Z', wireText: wire };
    assert.deepEqual(await entryLeafHash(entry.logType, entry.eventTime, wire), new Uint8Array(nodeEntryLeafHash(entry)));
    for (const size of [1, 2, 3, 5, 8, 13, 33]) {
      const tree = new MemoryTree();
      const leaves = [];
      for (let i = 0; i < size; i++) {
        const e = { ...entry, wireText: wire.replace('"1"', `"${i}"`) };
        leaves.push(e);
        await tree.appendHash(nodeEntryLeafHash(e));
      }
      const root = new Uint8Array(await tree.root());
      for (let i = 0; i < size; i++) {
        const proof = (await proveInclusion(i, size, tree.reader)).map((h) => new Uint8Array(h));
        const leaf = await entryLeafHash(entry.logType, entry.eventTime, leaves[i]!.wireText);
        assert.deepEqual(await rootFromInclusion(leaf, i, size, proof), root, `leaf ${i} of ${size}`);
        const other = await entryLeafHash(entry.logType, entry.eventTime, `${leaves[i]!.wireText} `);
        assert.notDeepEqual(await rootFromInclusion(other, i, size, proof), root);
        if (size > 1) assert.notDeepEqual(await rootFromInclusion(leaf, (i + 1) % size, size, proof), root);
        assert.equal(await rootFromInclusion(leaf, i, size, [...proof, root]), null, 'a proof too long');
      }
      assert.equal(await rootFromInclusion(root, size, size, []), null, 'an index past the tree');
    }
  });

  it('names the tenant of a token from its tid claim, and nothing for a token without one', () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    assert.equal(tokenTenant(`${part({ alg: 'HS256' })}.${part({ sub: 'k', tid: 'tenant-ü/1' })}.sig`), 'tenant-ü/1');
    assert.equal(tokenTenant(`${part({})}.${part({ sub: 'k' })}.sig`), undefined);
    assert.equal(tokenTenant('not a token'), undefined);
  });
});
