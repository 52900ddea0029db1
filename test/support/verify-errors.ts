/** The verifier tests' one check of a failure: a VerifyError with this code and message. */
import assert from 'node:assert/strict';
import { VerifyError } from '../../src/client/index.ts';

export async function rejectsWithVerifyError(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof VerifyError, `expected a VerifyError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}
