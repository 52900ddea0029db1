/**
 * RFC 6962 leaf and node hashes for the audit's hot loop, with Node's one-shot `crypto.hash`
 * (Node ≥ 20.12) on a reused buffer: same bytes as tlog/hash.ts, without a Hash object per
 * call, which is most of the cost for inputs this small.
 */
import * as crypto from 'node:crypto';
import { type Hash, leafHash, nodeHash } from '../tlog/index.ts';

type OneShot = (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer;
const oneShot = (crypto as unknown as { hash?: OneShot }).hash;

let scratch = Buffer.alloc(1024);
const pair = Buffer.alloc(65);
pair[0] = 0x01;

export const fastLeafHash: (leaf: Uint8Array) => Hash = oneShot
  ? (leaf) => {
      if (leaf.length + 1 > scratch.length) scratch = Buffer.alloc(leaf.length * 2 + 1);
      scratch[0] = 0x00;
      scratch.set(leaf, 1);
      return oneShot('sha256', scratch.subarray(0, leaf.length + 1), 'buffer');
    }
  : leafHash;

export const fastNodeHash: (left: Hash, right: Hash) => Hash = oneShot
  ? (left, right) => {
      pair.set(left, 1);
      pair.set(right, 33);
      return oneShot('sha256', pair, 'buffer');
    }
  : nodeHash;
