import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CheckpointError, formatCheckpoint, openCheckpoint, parseCheckpoint, signCheckpoint } from '../../src/tlog/checkpoint.ts';
import { buildEntryLeaf, EntryLeafError, entryLeafHash, parseEntryLeaf, wireTextDigest } from '../../src/tlog/entry-leaf.ts';
import { leafHash } from '../../src/tlog/hash.ts';
import { proveInclusion } from '../../src/tlog/inclusion-proof.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from '../../src/tlog/note-key.ts';
import { NoteError } from '../../src/tlog/signed-note.ts';
import { formatTlogProof, parseTlogProof, TlogProofError, verifyTlogProof } from '../../src/tlog/tlog-proof.ts';

const ORIGIN = 'logwarden/test-store/1234567890';
const signer = parseSignerKey(generateNoteKey(ORIGIN).signerKey);
const verifier = parseVerifierKey(signer.verifier.text);

function rejected(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    if (e instanceof NoteError || e instanceof CheckpointError || e instanceof TlogProofError) return true;
    throw e;
  }
}

/** The text's UTF-8 bytes with one bit flipped (possibly no longer valid UTF-8). */
function flip(text: string, seed: number): Uint8Array {
  const bytes = new Uint8Array(Buffer.from(text, 'utf8'));
  const bit = seed % (bytes.length * 8);
  bytes[Math.floor(bit / 8)]! ^= 1 << (bit % 8);
  return bytes;
}

describe('checkpoints', () => {
  it('format and parse the C2SP body', () => {
    const root = leafHash('r');
    const body = formatCheckpoint({ origin: ORIGIN, size: 20852163, rootHash: root, extensions: [] });
    assert.equal(body, `${ORIGIN}\n20852163\n${Buffer.from(root).toString('base64')}\n`);
    assert.deepEqual(parseCheckpoint(body), { origin: ORIGIN, size: 20852163, rootHash: root, extensions: [] });
    const ext = formatCheckpoint({ origin: ORIGIN, size: 0, rootHash: root, extensions: ['a b', 'c'] });
    assert.deepEqual(parseCheckpoint(ext).extensions, ['a b', 'c']);
  });

  it('refuse anything but the exact format', () => {
    const r = Buffer.from(leafHash('r')).toString('base64');
    for (const bad of [
      `${ORIGIN}\n1\n${r}`,
      `${ORIGIN}\n1\n`,
      `\n1\n${r}\n`,
      `${ORIGIN}\n01\n${r}\n`,
      `${ORIGIN}\n+1\n${r}\n`,
      `${ORIGIN}\n1.0\n${r}\n`,
      `${ORIGIN}\n-1\n${r}\n`,
      `${ORIGIN}\n99999999999999999999\n${r}\n`,
      `${ORIGIN}\n1\n${r.slice(0, -1)}\n`,
      `${ORIGIN}\n1\n${r.slice(0, -2)}AA=\n`,
      `${ORIGIN}\n1\nAAAA\n`,
      `${ORIGIN}\n1\n${r}\n\nextension\n`,
      `${ORIGIN}\n1\n${r}\n\n`,
    ]) {
      assert.throws(() => parseCheckpoint(bad), CheckpointError, JSON.stringify(bad));
    }
  });

  it('are signed with the origin as key name, and opened only with that key', async () => {
    const tree = new MemoryTree();
    for (let i = 0; i < 10; i++) await tree.append(`e${i}`);
    const c = { origin: ORIGIN, size: 10, rootHash: await tree.root(), extensions: [] };
    const note = signCheckpoint(c, signer);
    assert.deepEqual(openCheckpoint(note, verifier).checkpoint, c);
    const other = parseSignerKey(generateNoteKey('logwarden/other/1').signerKey);
    assert.throws(() => signCheckpoint(c, other), CheckpointError);
    assert.throws(
      () => openCheckpoint(note, other.verifier),
      (e: unknown) => e instanceof NoteError && e.code === 'unverified',
    );
    // Signed by a key whose name is not the origin: refused even though the signature is good.
    const mislabeled = parseSignerKey(generateNoteKey('logwarden/x/1').signerKey);
    const { signNote } = await import('../../src/tlog/signed-note.ts');
    assert.throws(() => openCheckpoint(signNote(formatCheckpoint(c), [mislabeled]), mislabeled.verifier), CheckpointError);
  });

  it('any flipped bit in a signed checkpoint is rejected', async () => {
    const c = { origin: ORIGIN, size: 123456, rootHash: leafHash('x'), extensions: [] };
    const note = signCheckpoint(c, signer);
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        assert.ok(rejected(() => openCheckpoint(flip(note, seed), verifier)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('entry leaves (SPEC §11, v1)', () => {
  const wireText = '{"userId":"1","eventTime":"2026-03-04T09:15:02.117Z","logRecord":{"a":"é"}}';
  it('are four lines: kind, log type, event time, base64 SHA-256 of the wire text', () => {
    const leaf = buildEntryLeaf({ logType: 'AccessLog', eventTime: '2026-03-04T09:15:02.117Z', wireText });
    const digest = Buffer.from(wireTextDigest(Buffer.from(wireText, 'utf8'))).toString('base64');
    assert.equal(leaf, `logwarden/entry/v1\nAccessLog\n2026-03-04T09:15:02.117Z\n${digest}\n`);
    // Pinned (computed with openssl dgst -sha256 over the UTF-8 bytes of the wire text).
    assert.equal(digest, 'HTwdAJMFm1DwM6HEgorg452fZR6rjdHJAmErxf82jBw=');
    assert.deepEqual(parseEntryLeaf(leaf), { logType: 'AccessLog', eventTime: '2026-03-04T09:15:02.117Z', wireTextSha256: wireTextDigest(wireText) });
    assert.deepEqual(parseEntryLeaf(new TextEncoder().encode(leaf)).logType, 'AccessLog');
    assert.deepEqual(entryLeafHash({ logType: 'AccessLog', eventTime: '2026-03-04T09:15:02.117Z', wireText }), leafHash(leaf));
  });

  it('refuse malformed leaves and inputs', () => {
    const good = buildEntryLeaf({ logType: 'AccessLog', eventTime: '2026-03-04T09:15:02.117Z', wireText });
    for (const bad of [
      good.slice(0, -1),
      good.replace('logwarden/entry/v1', 'logwarden/entry/v2'),
      good.replace('AccessLog', 'Access Log'),
      good.replace('AccessLog', ''),
      good.replace('2026-03-04T09:15:02.117Z', '2026-02-30T09:15:02.117Z'),
      good.replace('2026-03-04T09:15:02.117Z', '2026-03-04T09:15:02.117'),
      good.replace(/=\n$/, '\n'),
      `${good}extra\n`,
    ]) {
      assert.throws(() => parseEntryLeaf(bad), EntryLeafError, JSON.stringify(bad));
    }
    assert.throws(() => buildEntryLeaf({ logType: 'Access\nLog', eventTime: '2026-03-04T09:15:02.117Z', wireText }), EntryLeafError);
    assert.throws(() => parseEntryLeaf(new Uint8Array([0xff])), EntryLeafError);
  });

  it('differ when the wire text changes by one byte', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.nat(), (text, seed) => {
        const i = seed % text.length;
        const changed = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
        const a = entryLeafHash({ logType: 'AccessLog', eventTime: '2026-01-01T00:00:00.000Z', wireText: text });
        const b = entryLeafHash({ logType: 'AccessLog', eventTime: '2026-01-01T00:00:00.000Z', wireText: changed });
        assert.notDeepEqual(a, b);
      }),
    );
  });
});

describe('tlog-proof@v1', () => {
  async function proofFor(index: number, size: number, extra?: Uint8Array): Promise<{ text: string; leaf: Uint8Array }> {
    const tree = new MemoryTree();
    const leaves: string[] = [];
    for (let i = 0; i < size; i++) {
      leaves.push(
        buildEntryLeaf({ logType: 'UserActivityLog', eventTime: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`, wireText: `{"n":${i}}` }),
      );
      await tree.append(leaves[i]!);
    }
    const checkpoint = signCheckpoint({ origin: ORIGIN, size, rootHash: await tree.root(), extensions: [] }, signer);
    const proof = await proveInclusion(index, size, tree.reader);
    const text = formatTlogProof(extra ? { index, proof, checkpoint, extra } : { index, proof, checkpoint });
    return { text, leaf: leafHash(leaves[index]!) };
  }

  it('formats, parses and verifies a proof for one entry', async () => {
    const { text, leaf } = await proofFor(5, 13);
    assert.ok(text.startsWith('c2sp.org/tlog-proof@v1\nindex 5\n'));
    const parsed = parseTlogProof(text);
    assert.equal(parsed.index, 5);
    assert.equal(parsed.proof.length, 4);
    assert.equal(formatTlogProof(parsed), text);
    assert.equal(verifyTlogProof(text, leaf, verifier).checkpoint.size, 13);
    const withExtra = await proofFor(0, 1, new Uint8Array([1, 2, 3]));
    assert.ok(withExtra.text.startsWith('c2sp.org/tlog-proof@v1\nextra AQID\nindex 0\n\n'));
    assert.deepEqual([...parseTlogProof(withExtra.text).extra!], [1, 2, 3]);
    assert.equal(verifyTlogProof(withExtra.text, withExtra.leaf, verifier).index, 0);
  });

  it('rejects a wrong leaf, a wrong key, and any flipped bit', async () => {
    const { text, leaf } = await proofFor(6, 21);
    assert.throws(() => verifyTlogProof(text, leafHash('other'), verifier), TlogProofError);
    assert.ok(rejected(() => verifyTlogProof(text, leaf, parseVerifierKey(generateNoteKey(ORIGIN).verifierKey))));
    assert.throws(() => parseTlogProof(text.replace('index 6', 'index 06')), TlogProofError);
    assert.throws(() => parseTlogProof(text.replace('c2sp.org/tlog-proof@v1', 'c2sp.org/tlog-proof@v2')), TlogProofError);
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        // A proof arrives as text: invalid UTF-8 decodes to U+FFFD, which changes it too.
        const bad = new TextDecoder().decode(flip(text, seed));
        assert.notEqual(bad, text);
        assert.ok(rejected(() => verifyTlogProof(bad, leaf, verifier)));
      }),
      { numRuns: 1500 },
    );
  });
});
