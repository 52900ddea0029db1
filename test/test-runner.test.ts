/**
 * scripts/run-tests.js runs no test of a process before all its files are imported. Without
 * that, node:test of Node 20 runs the tests declared before a top-level await, then the
 * top-level `after` hooks, and ends the process (forceExit) before the tests declared after the
 * await ever run, saying nothing of them: the hook below then fails the run instead.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';

let ranAfterAwait = false;

after(() => assert.ok(ranAfterAwait, 'the test declared after a top-level await ran'));

it('runs a test declared before a top-level await', () => {});

await new Promise((resolve) => setTimeout(resolve, 300));

it('runs a test declared after a top-level await', () => {
  ranAfterAwait = true;
});
