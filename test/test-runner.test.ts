/**
 * How scripts/run-tests.js runs a test process.
 *
 * It runs no test of a process before all its files are imported. Without that, node:test of
 * Node 20 runs the tests declared before a top-level await, then the top-level `after` hooks,
 * and ends the process (forceExit) before the tests declared after the await ever run, saying
 * nothing of them: the hook below then fails the run instead.
 *
 * And the process writes its reports with blocking writes. Node 20 writes to a pipe
 * asynchronously, keeping in memory what the runner has not read yet, and forceExit's
 * process.exit() drops that: under load the last tests of a process went missing from the run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, it } from 'node:test';
import { RUN_BY_RUNNER } from './support/children.ts';

/** O_NONBLOCK among a descriptor's file status flags (Linux, octal as /proc shows them). */
const O_NONBLOCK = 0o4000;

let ranAfterAwait = false;

after(() => assert.ok(ranAfterAwait, 'the test declared after a top-level await ran'));

it('runs a test declared before a top-level await', () => {});

it('writes its reports (stdout) and diagnostics (stderr) with blocking writes, which an exit cannot cut short', (t) => {
  if (!RUN_BY_RUNNER) return t.skip('about the processes of scripts/run-tests.js (npm test); this one was started otherwise');
  if (!existsSync('/proc/self/fdinfo')) return t.skip('no /proc/self/fdinfo here to read descriptor flags from');
  for (const fd of [1, 2]) {
    const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    assert.ok(flags !== undefined, `descriptor ${fd} has its flags in /proc`);
    assert.equal(Number.parseInt(flags, 8) & O_NONBLOCK, 0, `descriptor ${fd} blocks on write`);
  }
});

await new Promise((resolve) => setTimeout(resolve, 300));

it('runs a test declared after a top-level await', () => {
  ranAfterAwait = true;
});
