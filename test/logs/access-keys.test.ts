import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.ts';
import { ACCESS_KEY_PATTERN, newAccessKeyId } from '../../src/logs/access-keys.ts';

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
