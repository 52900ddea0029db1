/**
 * TokenService and a clock step back seen by more than one process (each judges by the steps
 * back it saw itself).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenService } from '../../src/server/tokens.ts';
import { TestClock } from '../support/app.ts';

const CLAIMS = { accessKey: 'LWKEY', tenantId: '1', scopes: ['api:logs:read' as const] };

describe('TokenService', () => {
  it('takes a token for no longer than the lifetime in force: one issued under a longer one, since lowered, is expired', () => {
    const clock = new TestClock();
    const longer = new TokenService('secret', 86_400, clock.now);
    const token = longer.issue(CLAIMS);
    assert.equal(new TokenService('secret', 86_400, clock.now).check(token).ok, true);
    const lowered = new TokenService('secret', 60, clock.now);
    assert.deepEqual(lowered.check(token), { ok: false, reason: 'expired', accessKey: 'LWKEY', tenantId: '1' });
    assert.equal(lowered.check(lowered.issue(CLAIMS)).ok, true, 'its own tokens');
    clock.advance(59_000);
    assert.equal(lowered.check(lowered.issue(CLAIMS)).ok, true);
  });
});

describe('TokenService after a step back', () => {
  it("takes another process's token issued after the step, though this one saw the step only later", async () => {
    const clock = new TestClock();
    const a = new TokenService('secret', 600, clock.now);
    const b = new TokenService('secret', 600, clock.now);
    const old = a.issue(CLAIMS);
    clock.advance(20 * 60_000);
    assert.equal(a.check(old).ok, false);
    clock.advance(-15 * 60_000); // put back, before the old token's expiry; `a` hears nothing for a while
    const issuedByB = b.issue(CLAIMS);
    clock.advance(50_000);
    assert.deepEqual(a.check(old), { ok: false, reason: 'expired', accessKey: 'LWKEY', tenantId: '1' });
    assert.equal(a.check(issuedByB).ok, true, 'issued within the tolerance before the step was seen');
  });
});
