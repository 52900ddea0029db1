/**
 * What `npm pack` puts in the tarball: what an installed package reads or links to (README's
 * links and images, LICENSE, the CLI, dist/), and nothing of the repository's own (tests,
 * benchmarks, sources, data files, secrets).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

function packedFiles(): string[] {
  // --ignore-scripts: lists what is there without running prepare's build.
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return (JSON.parse(out) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
}

describe('the packed tarball', () => {
  const files = packedFiles();

  it("holds every file README.md links to or shows, so the installed package's README has no dead link", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const targets = [...readme.matchAll(/\]\(([^)\s#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/i.test(t));
    assert.ok(targets.length > 0);
    const missing = [...new Set(targets)].filter((t) => !files.includes(t));
    assert.deepEqual(missing, []);
  });

  it('ships source maps that carry their sources: every source a packed map names is packed, or inlined in the map', () => {
    const maps = files.filter((f) => f.endsWith('.map'));
    assert.ok(maps.length > 0);
    const pointless = maps.flatMap((m) => {
      const map = JSON.parse(readFileSync(join(root, m), 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      return map.sources.flatMap((source, i) =>
        typeof map.sourcesContent?.[i] === 'string' || files.includes(normalize(join(dirname(m), source))) ? [] : [`${m} names ${source}`],
      );
    });
    assert.deepEqual(pointless.slice(0, 5), []);
  });

  it('holds the CLI, LICENSE and README, and nothing of tests, benchmarks, sources, data or secrets', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'bin/logwarden.js']) assert.ok(files.includes(f), f);
    const unwanted = files.filter(
      (f) =>
        /^(test|bench|src|scripts|node_modules|\.ci)\//.test(f) ||
        /(^|\/)\.env|\.(db|db-wal|db-shm|sqlite|tgz|ndjson|bundle|proof)$|first-access-key/.test(f),
    );
    assert.deepEqual(unwanted, []);
  });
});
