/**
 * The helpers that start and stop the tests' throwaway servers (test/support/services.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isAlive, processState, waitForExit } from './support/services.ts';

describe('isAlive', () => {
  it('says this process runs, and a child that exited and was reaped does not', async () => {
    assert.equal(isAlive(process.pid), true);
    const child = spawn(process.execPath, ['-e', '0']);
    await once(child, 'exit');
    assert.equal(isAlive(child.pid!), false);
  });

  it('counts a process that exited but is not reaped yet (a zombie) as stopped, as waitForExit does', async (t) => {
    if (!existsSync('/proc/self/stat')) return t.skip('no /proc here to tell a zombie by');
    // A subshell in the background of a shell that then becomes `sleep`, which never reaps it;
    // it ends when told to on stdin (fd 3: an asynchronous list's own stdin is /dev/null), once
    // the shell is `sleep`, so the shell cannot reap it first.
    const parent = spawn('sh', ['-c', 'exec 3<&0; (read line <&3) & echo $!; exec sleep 30'], { stdio: ['pipe', 'pipe', 'ignore'] });
    try {
      const [line] = (await once(parent.stdout, 'data')) as [Buffer];
      const pid = Number(line.toString().trim());
      while (readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim() !== 'sleep') await new Promise((r) => setTimeout(r, 5));
      parent.stdin.write('end\n');
      for (let s = processState(pid); s !== 'Z'; s = processState(pid)) {
        assert.ok(s !== undefined, 'the background process stays until something reaps it');
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.doesNotThrow(() => process.kill(pid, 0), 'signal 0 still reaches the zombie');
      assert.equal(isAlive(pid), false);
      assert.equal(await waitForExit(pid, 60_000), true);
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
