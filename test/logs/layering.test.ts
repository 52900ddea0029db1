import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The domain (src/logs) is the bottom layer: the store, the services and the transports build
 * on it, never the other way round. This reads every import of every file under src/logs.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const DOMAIN = join(ROOT, 'src/logs');
const ABOVE = ['src/store', 'src/service', 'src/admin', 'src/server', 'src/cli', 'src/client', 'src/console', 'src/demo'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return sourceFiles(p);
    return /\.tsx?$/.test(d.name) ? [p] : [];
  });
}

/** The relative module specifiers of a source text: static imports and re-exports, and dynamic imports. */
function relativeImports(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*(['"])(\.{1,2}\/[^'"]+)\1/g)) found.push(m[2]!);
  return found;
}

/** The layers above the domain that `file` imports (as repo paths). */
function crossings(file: string, text: string): string[] {
  return relativeImports(text)
    .map((spec) =>
      relative(ROOT, resolve(dirname(file), spec))
        .split('\\')
        .join('/'),
    )
    .filter((target) => ABOVE.some((layer) => target === layer || target.startsWith(`${layer}/`)));
}

describe('the domain layer (src/logs)', () => {
  it('finds the imports it checks', () => {
    const text = "import type { Store } from '../store/store.ts';\nexport { x } from './entry.ts';\nconst m = await import('../server/app.ts');\n";
    assert.deepEqual(relativeImports(text), ['../store/store.ts', './entry.ts', '../server/app.ts']);
    assert.deepEqual(crossings(join(DOMAIN, 'cursor.ts'), text), ['src/store/store.ts', 'src/server/app.ts']);
  });

  it('imports nothing from the store, the services or the transports', () => {
    const files = sourceFiles(DOMAIN);
    assert.ok(files.length > 5, 'src/logs holds the domain files');
    const bad = files.flatMap((f) => crossings(f, readFileSync(f, 'utf8')).map((t) => `${relative(ROOT, f)} imports ${t}`));
    assert.deepEqual(bad, []);
  });
});
