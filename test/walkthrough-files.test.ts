/**
 * The README's walkthrough leaves the checkout clean: every file and folder its commands write
 * (`--out FILE`, `> FILE`, `--data-dir DIR`) is ignored by git, so that `git status` after
 * following it shows nothing to commit, and starting again means deleting what it names.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() === 'true';

/** The shell blocks of the README's sections Walkthrough and Prove it (which goes on from its shell). */
function walkthroughBlocks(): string[] {
  const readme = readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');
  return ['Walkthrough', 'Prove it'].flatMap((title) => {
    const start = readme.indexOf(`\n## ${title}\n`);
    const end = readme.indexOf('\n## ', start + 1);
    assert.ok(start >= 0 && end > start, `README has a ${title} section`);
    return [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  });
}

describe('the README walkthrough', () => {
  it('writes only files and folders that git ignores', { skip: inGit ? undefined : 'not a git checkout' }, () => {
    const written = new Set<string>();
    for (const block of walkthroughBlocks()) {
      // A folder is named with a trailing slash: git matches a pattern like `/mirror-data/` only to folders.
      for (const m of block.matchAll(/(--out|--proof-out|--data-dir|>)\s+"?(\.?\/?[\w.$-][\w./$-]*)/g))
        written.add(m[1] === '--data-dir' ? `${m[2]!.replace(/\/$/, '')}/` : m[2]!);
    }
    // The walkthrough's own outputs, found in its text (so that the check cannot pass empty).
    for (const expected of ['events.ndjson', 'plays.csv', 'access.ndjson', './mirror-data/', 'week.bundle', 'entry-$LEAF.proof'])
      assert.ok(written.has(expected), `${expected} in ${[...written].join(', ')}`);
    const notIgnored = [...written, 'logwarden-data/'].filter(
      (path) => spawnSync('git', ['check-ignore', '-q', '--no-index', path], { cwd: ROOT }).status !== 0,
    );
    assert.deepEqual(notIgnored, [], 'written by the walkthrough but not in .gitignore');
  });
});
