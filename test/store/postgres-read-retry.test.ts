/**
 * A read that PostgreSQL failed to break a deadlock (SQLSTATE 40P01) runs again, a few times
 * at most; any other failure, and the last deadlock, reach the caller at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { READ_ATTEMPTS, retryingDeadlocks } from '../../src/store/postgres/read-retry.ts';

const failure = (code: string) => Object.assign(new Error(code === '40P01' ? 'deadlock detected' : 'other'), { code });

describe('reads retried after a deadlock', () => {
  it('runs a read again after a deadlock, and returns its answer', async () => {
    let calls = 0;
    const got = await retryingDeadlocks(async () => {
      calls++;
      if (calls < READ_ATTEMPTS) throw failure('40P01');
      return 'page';
    });
    assert.equal(got, 'page');
    assert.equal(calls, READ_ATTEMPTS);
  });

  it('gives up after the last attempt with the deadlock itself', async () => {
    let calls = 0;
    await assert.rejects(
      retryingDeadlocks(async () => {
        calls++;
        throw failure('40P01');
      }),
      { code: '40P01' },
    );
    assert.equal(calls, READ_ATTEMPTS);
  });

  it('does not run a read again for any other failure', async () => {
    let calls = 0;
    await assert.rejects(
      retryingDeadlocks(async () => {
        calls++;
        throw failure('57014');
      }),
      { code: '57014' },
    );
    assert.equal(calls, 1);
  });
});
