/**
 * Only the ingest measurement of `npm run bench` (SQLite): HTTP bulk ingest against the bare
 * better-sqlite3 insert loop, the ratio issue 11 bars at ≥ 0.4 with the tree maintained. For
 * checking a change to the append path without the whole suite.
 *
 *   node --import tsx bench/ingest-ratio.ts [--entries N] [--warmup N] [--runs N] [--profile DIR]
 *
 * --profile DIR the logwarden server runs under `node --cpu-prof`; its profile is written to DIR when it stops
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuProfileArgs } from './lib/processes.ts';
import { measureIngest } from './measure/ingest.ts';

const { values: flags } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    warmup: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '1' },
    profile: { type: 'string' },
  },
});
const workDir = mkdtempSync(join(tmpdir(), 'logwarden-ingest-ratio-'));
try {
  const figures = await measureIngest(
    {
      bare: true,
      async fresh(i) {
        const dataDir = join(workDir, `ingest-${i}`);
        rmSync(dataDir, { recursive: true, force: true });
        return { at: { dataDir }, dispose: async () => rmSync(dataDir, { recursive: true, force: true }) };
      },
    },
    {
      entries: Number(flags.entries),
      warmupEntries: Number(flags.warmup),
      runs: Number(flags.runs),
      workDir,
      nodeArgs: cpuProfileArgs(flags.profile),
    },
    randomBytes(32).toString('hex'),
  );
  process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
