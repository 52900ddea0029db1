/**
 * A write that fails (a full disk, a file-size limit) is a failure the user is told of, in one
 * line naming where: never a stack trace, never exit 0 with the output lost, never a file that
 * ends in a cut-short record while the message says it holds whole ones.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, runCliProcess } from '../support/cli.ts';
import { entryTexts } from '../support/entries.ts';
import { type FaultServer, fetchPlayArgs, startFaultServer } from '../support/fault-server.ts';
import { type TempDir, tempDir } from '../support/live-source.ts';

const CREDS = { LOGWARDEN_ACCESS_KEY: 'KEY', LOGWARDEN_SECRET: 'SECRET' };
const hasDevFull = existsSync('/dev/full');
/** A shell that ignores SIGXFSZ and caps the size of files it writes (in KiB): a write past the cap fails with EFBIG. */
const capped = (kib: number) => ['sh', '-c', `trap '' XFSZ; ulimit -f ${kib}; exec "$@"`, 'sh'];
const canCap = spawnSync('sh', ['-c', `trap '' XFSZ; ulimit -f 1; exec true`]).status === 0;

describe('a failed write to standard output', () => {
  let dir: TempDir;
  let tenant: string;
  before(async () => {
    dir = tempDir('logwarden-output-');
    const r = await runCli(['tenants', 'create', '--name', 'acme', '--data-dir', dir.path, '--json']);
    assert.equal(r.code, 0, r.stderr);
    tenant = (JSON.parse(r.stdout) as { id: string }).id;
  });
  after(() => dir.remove());

  it('keys create: the key whose secret nobody received is revoked, and the user told so', async () => {
    const r = await runCli(['keys', 'create', '--tenant', tenant, '--scope', 'read', '--data-dir', dir.path], { stdoutFails: 'ENOSPC' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^logwarden: cannot write to standard output \(no space left on device\): the new key (LW\w+) was revoked/);
    const key = /the new key (LW\w+)/.exec(r.stderr)![1]!;
    assert.doesNotMatch(r.stderr, /Store the secret now/);
    const list = await runCli(['keys', 'list', '--tenant', tenant, '--data-dir', dir.path, '--json']);
    const keys = JSON.parse(list.stdout) as { accessKey: string; revokedAt: string | null }[];
    assert.notEqual(keys.find((k) => k.accessKey === key)?.revokedAt ?? null, null, 'the key is revoked');
  });

  it('tenants create: the id of the tenant made is said on stderr', async () => {
    const r = await runCli(['tenants', 'create', '--name', 'beta', '--data-dir', dir.path], { stdoutFails: 'ENOSPC' });
    assert.equal(r.code, 1);
    const id = /the tenant was created: its id is (\d+)/.exec(r.stderr)?.[1];
    assert.ok(id, r.stderr);
    const list = await runCli(['tenants', 'list', '--data-dir', dir.path, '--json']);
    assert.ok((JSON.parse(list.stdout) as { id: string }[]).some((t) => t.id === id));
  });

  it('any other command: one line and exit 1, not a stack trace (standard output is /dev/full)', {
    skip: hasDevFull ? undefined : 'no /dev/full',
  }, async () => {
    const r = await runCliProcess(['tenants', 'list', '--data-dir', dir.path], { stdoutTo: '/dev/full' });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, 'logwarden: cannot write to standard output (no space left on device); what the command printed there is lost\n');
  });
});

describe('fetch --out on a file that cannot grow', () => {
  let server: FaultServer;
  let dir: TempDir;
  before(async () => {
    server = await startFaultServer({ pageSize: 100 });
    server.setEntries('UserCallPlay', entryTexts('UserCallPlay', 2000, Date.parse('2026-01-01T00:00:00Z')));
    dir = tempDir('logwarden-output-');
  });
  after(async () => {
    await server.close();
    dir.remove();
  });
  const fetchArgs = (...more: string[]) => fetchPlayArgs(server.url, '--page-size', '100', ...more);

  it('is cut back to its whole records, and says how many and why', { skip: canCap ? undefined : 'the shell cannot cap file sizes' }, async () => {
    for (const format of ['ndjson', 'csv', 'json'] as const) {
      const out = join(dir.path, `capped.${format}`);
      const r = await runCliProcess(fetchArgs('--format', format, '--out', out), { env: CREDS, as: capped(100) });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`logwarden: cannot write to ${out.replaceAll('.', '\\.')} \\(file too large\\)\\n$`));
      const n = Number(/Stopped after (\d+) entries; /.exec(r.stderr)?.[1]);
      assert.ok(n > 0 && n < 2000, r.stderr);
      const text = readFileSync(out, 'utf8');
      assert.ok(Buffer.byteLength(text) <= 100 * 1024);
      if (format === 'json') {
        assert.match(r.stderr, /holds whole records only, without the closing \]\} \(its write failed\)/);
        assert.ok(JSON.parse(`${text}\n]}`).logEntries.length === n, 'whole records: closing the document makes it JSON');
      } else {
        assert.match(r.stderr, /holds whole records only\./);
        assert.ok(text.endsWith('\n'), 'ends on a record boundary');
        const lines = text.split(/\r?\n/).filter(Boolean);
        assert.equal(lines.length, format === 'csv' ? n + 1 : n);
        if (format === 'ndjson') for (const l of lines) JSON.parse(l);
      }
    }
  });
});
