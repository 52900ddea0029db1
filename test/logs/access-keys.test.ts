import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { loadConfig } from '../../src/config.ts';
import { ACCESS_KEY_PATTERN, hashSecret, newAccessKeyId, newSecret, secretMatches } from '../../src/logs/access-keys.ts';

describe('secret digests', () => {
  it("are node:crypto's SHA-256 of the label and the secret's UTF-8, as stored by every earlier version", () => {
    const earlier = (secret: string) => createHash('sha256').update('logwarden secret v1\0').update(secret).digest();
    // A digest stored by an earlier version, written out.
    assert.equal(hashSecret('a secret').toString('hex'), 'a8da6043aa51a398219ebbe565aa0993ee07f1504c87ac84c9dec593e7e73033');
    for (const secret of ['', newSecret(), 'é中😀\u0000', 'x'.repeat(5000)]) assert.deepEqual(hashSecret(secret), earlier(secret));
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (secret) => assert.deepEqual(hashSecret(secret), earlier(secret))),
      { numRuns: 500 },
    );
  });

  it('match their secret only', () => {
    const secret = newSecret();
    const stored = hashSecret(secret);
    assert.equal(secretMatches(secret, stored), true);
    assert.equal(secretMatches(`${secret} `, stored), false);
    assert.equal(secretMatches(newSecret(), stored), false);
    assert.equal(secretMatches(secret, stored.subarray(0, 16)), false);
  });
});

describe('the access key pattern', () => {
  it('fits every generated access key id', () => {
    for (let i = 0; i < 200; i++) {
      const id = newAccessKeyId();
      assert.match(id, /^LW[A-Z2-7]{20}$/);
      assert.match(id, ACCESS_KEY_PATTERN);
    }
  });

  it('is what the configuration accepts as a preset bootstrap key', () => {
    const secret = 's'.repeat(32);
    for (const key of ['ci_key-1', 'k'.repeat(64), newAccessKeyId()]) {
      assert.match(key, ACCESS_KEY_PATTERN);
      assert.equal(loadConfig({}, { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: key, LOGWARDEN_BOOTSTRAP_SECRET: secret }).bootstrapAccessKey, key);
    }
    for (const key of ['short', 'k'.repeat(65), 'has space', 'ключ-ключ']) {
      assert.doesNotMatch(key, ACCESS_KEY_PATTERN);
      assert.throws(() => loadConfig({}, { LOGWARDEN_BOOTSTRAP_ACCESS_KEY: key, LOGWARDEN_BOOTSTRAP_SECRET: secret }), /8-64 letters/);
    }
  });
});
