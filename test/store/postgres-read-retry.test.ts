/**
 * A read that PostgreSQL failed to break a deadlock (SQLSTATE 40P01) runs again, a few times
 * at most; any other failure, and the last deadlock, reach the caller at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { READ_ATTEMPTS, retryingDeadlocks } from '../../src/store/postgres/read-retry.ts';

const failure = (code: string) => Object.assign(new Error(code === '40P01' ? 'deadlock detected' : 'other'), { code });

/** A read that always fails with `code`, counting its runs. */
function alwaysFailing(code: string): { read: () => Promise<never>; calls: number } {
  const r = {
    calls: 0,
    read: async (): Promise<never> => {
      r.calls++;
      throw failure(code);
    },
  };
  return r;
}

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
    const deadlocked = alwaysFailing('40P01');
    await assert.rejects(retryingDeadlocks(deadlocked.read), { code: '40P01' });
    assert.equal(deadlocked.calls, READ_ATTEMPTS);
  });

  it('does not run a read again for any other failure', async () => {
    const cancelled = alwaysFailing('57014');
    await assert.rejects(retryingDeadlocks(cancelled.read), { code: '57014' });
    assert.equal(cancelled.calls, 1);
  });
});
