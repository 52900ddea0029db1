/**
 * The console's script and stylesheet. An installed package serves the bundle that
 * `npm run build` wrote to dist/console/. Run from source (tsx, as the tests do), the server
 * bundles src/console/ in memory with esbuild on first request instead, so what it serves is
 * never older than the code beside it. Either way the files are gzipped once, kept in memory.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** The package root: this file is src/server/ or dist/server/. */
const ROOT = new URL('../../', import.meta.url);
const ENTRY = new URL('src/console/main.tsx', ROOT);
export const BUNDLE_DIR = new URL('dist/console/', ROOT);
const FROM_SOURCE = import.meta.url.endsWith('.ts');

export interface Asset {
  readonly body: Buffer;
  readonly gzip: Buffer;
  readonly type: string;
  readonly etag: string;
}

export interface ConsoleAssets {
  readonly js: Asset;
  readonly css: Asset;
}

/** Builds the bundle from src/console/ (esbuild is a development dependency: only there with the sources). */
export async function bundleConsole(): Promise<{ js: Uint8Array; css: Uint8Array }> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { console: fileURLToPath(ENTRY) },
    tsconfig: fileURLToPath(new URL('src/console/tsconfig.json', ROOT)),
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    outdir: 'console',
    write: false,
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error('the console bundle lacks its script or stylesheet');
  return { js: js.contents, css: css.contents };
}

function asset(body: Uint8Array, type: string): Asset {
  const buf = Buffer.from(body);
  return { body: buf, gzip: gzipSync(buf, { level: 9 }), type, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"` };
}

export async function loadConsoleAssets(): Promise<ConsoleAssets> {
  let files: { js: Uint8Array; css: Uint8Array };
  const built = new URL('console.js', BUNDLE_DIR);
  if (!FROM_SOURCE && existsSync(built)) {
    files = { js: await readFile(built), css: await readFile(new URL('console.css', BUNDLE_DIR)) };
  } else if (existsSync(ENTRY)) {
    files = await bundleConsole();
  } else {
    throw new Error('the console is not built: run npm run build');
  }
  return { js: asset(files.js, 'text/javascript; charset=utf-8'), css: asset(files.css, 'text/css; charset=utf-8') };
}
