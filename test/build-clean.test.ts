/**
 * `npm run build` starts from an empty dist/: tsc leaves the output of a deleted or renamed
 * source file in place, and npm pack (files: dist) would ship it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

describe('npm run build', () => {
  it('empties dist/ before compiling into it', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    const steps = pkg.scripts.build!.split('&&').map((s) => s.trim());
    assert.equal(steps[0], 'node scripts/clean-dist.js', pkg.scripts.build);
    assert.ok(steps.indexOf('tsc -p tsconfig.build.json') > 0, pkg.scripts.build);

    const dir = mkdtempSync(join(tmpdir(), 'lw-clean-dist-'));
    try {
      mkdirSync(join(dir, 'dist', 'server'), { recursive: true });
      writeFileSync(join(dir, 'dist', 'server', 'try-listen.js'), 'export {};\n');
      writeFileSync(join(dir, 'keep.txt'), 'not dist');
      const run = spawnSync(process.execPath, [join(root, 'scripts', 'clean-dist.js'), dir], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.ok(!existsSync(join(dir, 'dist')), 'dist/ removed');
      assert.ok(existsSync(join(dir, 'keep.txt')), 'nothing else removed');
      // A second run (no dist/ at all) succeeds too.
      assert.equal(spawnSync(process.execPath, [join(root, 'scripts', 'clean-dist.js'), dir]).status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
