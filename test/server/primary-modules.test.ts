/**
 * The primary of `serve --workers` prepares the store and forks the workers only after: what it
 * loads to do so delays every worker's start. It never serves, so it loads no HTTP framework.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { LOADER_ARGS, runnable } from '../support/children.ts';

/** Fails any import of Fastify in the process that registers it. */
const NO_FASTIFY = `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (r.url.includes('/node_modules/fastify/')) throw new Error('fastify imported by ' + context.parentURL);
  return r;
}`;

describe("serve --workers: the primary's modules", () => {
  it('the module the primary runs imports no HTTP framework', () => {
    const workers = pathToFileURL(runnable(new URL('../../src/server/workers.ts', import.meta.url))).href;
    const hook = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(NO_FASTIFY)}`)});`;
    const r = spawnSync(
      process.execPath,
      [
        ...LOADER_ARGS,
        '--import',
        `data:text/javascript,${encodeURIComponent(hook)}`,
        '--input-type=module',
        '-e',
        `await import(${JSON.stringify(workers)});`,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
  });
});
