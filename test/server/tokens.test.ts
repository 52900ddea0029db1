/**
 * TokenService and a clock step back seen by more than one process (each judges by the steps
 * back it saw itself).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenService } from '../../src/server/tokens.ts';
import { TestClock } from '../support/app.ts';

const CLAIMS = { accessKey: 'LWKEY', tenantId: '1', scopes: ['api:logs:read' as const] };

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
