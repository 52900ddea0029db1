#!/usr/bin/env node
// Empties dist/ before `npm run build` compiles into it, so that what npm pack ships (files:
// dist) is only what the current sources compile to: tsc never removes the output of a source
// file that was deleted or renamed since the last build. `node scripts/clean-dist.js [ROOT]`
// (default: the repository this script is in).
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url));
rmSync(resolve(root, 'dist'), { recursive: true, force: true });
