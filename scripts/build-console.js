#!/usr/bin/env node
// Bundles the web console (src/console/) into dist/console/, after `tsc` has built dist/.
// Part of `npm run build`, so `npm install` from a clean clone (prepare) leaves it in place.
import { mkdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { BUNDLE_DIR, bundleConsole } from '../dist/server/console-assets.js';

const { js, css } = await bundleConsole();
mkdirSync(BUNDLE_DIR, { recursive: true });
writeFileSync(new URL('console.js', BUNDLE_DIR), js);
writeFileSync(new URL('console.css', BUNDLE_DIR), css);
const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const gz = gzipSync(Buffer.concat([js, css]), { level: 9 }).length;
console.log(`console bundle: ${kb(js.length + css.length)}, ${kb(gz)} gzipped`);
