import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let offset = 0;

/**
 * A request id in Gong's shape: 19 lowercase base-36 characters. Bytes of 252 or more are
 * skipped so that every character is equally likely (252 = 7 × 36).
 */
export function newRequestId(): string {
  let id = '';
  while (id.length < 19) {
    if (offset === POOL_SIZE) {
      pool = randomBytes(POOL_SIZE);
      offset = 0;
    }
    const b = pool[offset++]!;
    if (b < 252) id += ALPHABET[b % 36];
  }
  return id;
}

export const REQUEST_ID_PATTERN = /^[0-9a-z]{19}$/;
