/** The examples in docs/verifiable-log.md are real: they parse and verify with this library. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { parseDeletionReceipt } from '../../src/tlog/deletion-receipt.ts';
import { parseEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { leafHash } from '../../src/tlog/hash.ts';
import { parseVerifierKey } from '../../src/tlog/note-key.ts';
import { verifyTlogProof } from '../../src/tlog/tlog-proof.ts';

const doc = readFileSync(new URL('../../docs/verifiable-log.md', import.meta.url), 'utf8');

/** The fenced blocks of the page, with their indentation removed. */
function blocks(): string[] {
  const out: string[] = [];
  const re = /^( *)```\n([\s\S]*?)^\1```$/gm;
  for (let m = re.exec(doc); m; m = re.exec(doc)) {
    const indent = m[1]!.length;
    out.push(
      m[2]!
        .split('\n')
        .map((l) => l.slice(indent))
        .join('\n'),
    );
  }
  return out;
}

describe('docs/verifiable-log.md examples', () => {
  const all = blocks();
  const leaf = all.find((b) => b.startsWith('logwarden/entry/v1\n'))!;
  const checkpoint = all.find((b) => b.startsWith('logwarden/example/') && b.includes('\u2014'))!;
  const proof = all.find((b) => b.startsWith('c2sp.org/tlog-proof@v1'))!;
  const vkey = /`(logwarden\/example\/1234567890\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+)`/.exec(doc)![1]!;

  it('the leaf parses, the checkpoint verifies, and the proof proves the leaf', () => {
    assert.equal(parseEntryLeaf(leaf).logType, 'AccessLog');
    const key = parseVerifierKey(vkey);
    assert.equal(openCheckpoint(checkpoint, key).checkpoint.size, 5);
    assert.equal(verifyTlogProof(proof, leafHash(leaf), key).index, 2);
  });

  it('the deletion receipt parses', () => {
    const receipt = parseDeletionReceipt(all.find((b) => b.startsWith('logwarden/deletion/v1\n'))!);
    assert.equal(receipt.count, 7);
    assert.deepEqual(receipt.leaves, [0, 1, 2, 5, 9, 10, 11]);
  });
});
