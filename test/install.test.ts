/**
 * Installing logwarden raises no alarms: every package the lock file resolves accepts the Node
 * version we run on (npm prints EBADENGINE otherwise; cookie@2 and content-disposition@3 want
 * Node 22), the licence file matches package.json, and packed tarballs are not committed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, root), 'utf8');

type Version = readonly [number, number, number];

function parts(v: string): Array<number | undefined> {
  return v
    .replace(/^[=v]+/, '')
    .split('.')
    .slice(0, 3)
    .map((p) => (/^\d+$/.test(p) ? Number(p) : undefined));
}

function compare(a: Version, b: Array<number | undefined>): number {
  for (let i = 0; i < 3; i++) {
    const d = a[i]! - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `v` satisfies one comparator of an npm range (`>=20`, `^18.17.0`, `20.x`, `*`). */
function satisfiesComparator(v: Version, c: string): boolean {
  if (c === '' || c === '*' || c === 'x') return true;
  const m = /^(>=|<=|>|<|\^|~|=)?(.*)$/.exec(c)!;
  const op = m[1] ?? '';
  const want = parts(m[2]!);
  switch (op) {
    case '>=':
      return compare(v, want) >= 0;
    case '>':
      return compare(v, want) > 0;
    case '<=':
      return compare(v, want) <= 0;
    case '<':
      return compare(v, want) < 0;
    case '^':
      return compare(v, want) >= 0 && v[0] === want[0];
    case '~':
      return compare(v, want) >= 0 && v[0] === want[0] && (want[1] === undefined || v[1] === want[1]);
    default:
      // `20`, `20.x`, `20.19`, `=20.19.0`: every part given must match.
      return want.every((p, i) => p === undefined || p === v[i]);
  }
}

/** npm's `engines.node` range: alternatives joined by `||`, each a list of comparators. */
export function satisfiesRange(v: Version, range: string): boolean {
  return range.split('||').some((alt) =>
    alt
      .trim()
      .replace(/([<>]=?|\^|~|=)\s+/g, '$1')
      .split(/\s+/)
      .every((c) => satisfiesComparator(v, c)),
  );
}

const node = process.versions.node.split('.').map(Number) as unknown as Version;

describe('installing logwarden', () => {
  it('reads npm ranges as npm does', () => {
    const v: Version = [20, 20, 2];
    for (const r of ['>=20', '>= 16.0.0', '20 || >=22', '^20.1.0', '>=16 || 14 >=14.17', '10.* || >= 12.*', '*', '20.x'])
      assert.ok(satisfiesRange(v, r), r);
    for (const r of ['>=22', '^18.17.0', '22.x', '>=20.21', '<20']) assert.ok(!satisfiesRange(v, r), r);
  });

  it('resolves only packages whose engines accept this Node version (no EBADENGINE warning)', {
    skip: node[0] !== 20 ? 'checked on Node 20, the oldest supported' : undefined,
  }, () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => p.engines && !Array.isArray(p.engines) && typeof p.engines.node === 'string')
      .filter(([, p]) => !satisfiesRange(node, (p.engines as { node: string }).node))
      .map(([name, p]) => `${name.replace(/^.*node_modules\//, '')}@${p.version} wants node ${(p.engines as { node: string }).node}`);
    assert.deepEqual(refused, []);
  });

  it('engines.node admits no Node 20 release the SDK breaks on (AbortSignal.any is 20.3)', () => {
    // The client combines the caller's signal with its own (transport, readahead) through
    // AbortSignal.any: on 20.0-20.2 every read that follows cursors threw a TypeError.
    const range = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    for (const v of [
      [20, 0, 0],
      [20, 2, 0],
      [18, 20, 0],
    ] as const)
      assert.ok(!satisfiesRange(v, range), `${v.join('.')} in ${range}`);
    for (const v of [
      [20, 3, 0],
      [20, 20, 2],
      [22, 0, 0],
    ] as const)
      assert.ok(satisfiesRange(v, range), `${v.join('.')} not in ${range}`);
  });

  it('ships a licence file matching package.json, and ignores packed tarballs', () => {
    const pkg = JSON.parse(read('package.json')) as { license: string };
    assert.equal(pkg.license, 'MIT');
    const licence = read('LICENSE');
    assert.match(licence, /^MIT License\n\nCopyright \(c\) \d{4} logwarden contributors\n/);
    assert.match(licence, /THE SOFTWARE IS PROVIDED "AS IS"/);
    assert.ok(read('.gitignore').split('\n').includes('*.tgz'), '*.tgz in .gitignore');
  });
});
