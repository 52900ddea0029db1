/**
 * `logwarden/client` names every type its public API hands out or takes, so that a user can type
 * their own functions with them: the package's `exports` allow no deep import of dist/tlog/ or
 * of the client's other modules. This file does not compile when one of them is missing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type BadReceipt,
  type BundleCheck,
  type BundleDeletion,
  type CheckedCheckpoint,
  type Checkpoint,
  checkEvidenceBundle,
  type DeletedLeaf,
  type EvidenceBundle,
  type Hash,
  type IndexedTextPage,
  isLogsApiError,
  LogsApiError,
  type LogsApiErrorDetails,
  type NoteVerifier,
  type Tile,
  TlogClient,
} from '../../src/client/index.ts';

// What a user writes: functions over what LogVerifier, checkEvidenceBundle and TlogClient return.
const describeCheckpoint = (c: Checkpoint): string => `${c.origin} ${c.size}`;
const rootOf = (c: CheckedCheckpoint): Hash => c.checkpoint.rootHash;
const keyName = (k: NoteVerifier): string => k.name;
const tileOf = (level: number, n: number): Tile => ({ level, n, width: 256 });
const deletions = (b: EvidenceBundle): BundleDeletion[] => b.deletions ?? [];
const problems = (c: BundleCheck): Array<DeletedLeaf | BadReceipt> => [...c.deleted, ...c.badReceipts];
const leafIndexes = (p: IndexedTextPage): readonly number[] | null => p.leafIndexes;
const details: LogsApiErrorDetails = { status: 429, retryAfterMs: 1000, messages: ['slow down'] };

describe('logwarden/client exports', () => {
  it('names the types of the verifiable log, the evidence bundle and the error details', () => {
    const checkpoint: Checkpoint = { origin: 'example/log', size: 3, rootHash: new Uint8Array(32), extensions: [] };
    assert.equal(describeCheckpoint(checkpoint), 'example/log 3');
    assert.equal(rootOf({ checkpoint, note: '', previous: null, relation: 'first' }).length, 32);
    assert.equal(tileOf(0, 1).width, 256);
    assert.deepEqual(leafIndexes({ leafIndexes: [1, 2] } as unknown as IndexedTextPage), [1, 2]);
    for (const f of [keyName, deletions, problems, checkEvidenceBundle]) assert.equal(typeof f, 'function');
    assert.equal(typeof TlogClient, 'function');
  });

  it('builds an error from LogsApiErrorDetails that instanceof and isLogsApiError recognise', () => {
    const err = new LogsApiError('rate_limited', 'HTTP 429', details);
    assert.ok(err instanceof LogsApiError && err instanceof Error);
    assert.ok(isLogsApiError(err, 'rate_limited'));
    assert.equal(err.retryAfterMs, 1000);
    assert.deepEqual(err.messages, ['slow down']);
  });
});
