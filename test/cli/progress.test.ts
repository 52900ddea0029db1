/**
 * Progress on long work, as a user at a terminal sees it: `logwarden ingest` run under a
 * pseudo-terminal (util-linux `script`) draws a bar on stderr, and run into pipes draws none;
 * `logwarden tail` draws one only when its lines do not go to that terminal.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT, runCli } from '../support/cli.ts';

const SCRIPT = '/usr/bin/script';
const skip = existsSync(SCRIPT) ? undefined : `${SCRIPT} not found (util-linux): no pseudo-terminal to run the CLI in`;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe('progress on long work', { skip }, () => {
  let dir: string;
  let file: string;
  let tenant: string;
  const flags = () => ['--data-dir', join(dir, 'data')];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-progress-'));
    tenant = JSON.parse((await runCli(['tenants', 'create', '--name', 'Progress', '--json', ...flags()])).stdout).id;
    const lines = Array.from(
      { length: 3000 },
      (_, i) =>
        `{"logType":"AccessLog","userId":"${i}","eventTime":"2026-02-01T00:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')}Z","logRecord":{"i":${i}}}`,
    );
    file = join(dir, 'in.ndjson');
    writeFileSync(file, lines.join('\n') + '\n');
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('draws a bar of the bytes read on a terminal, ending at 100%', async () => {
    const command = [process.execPath, ...CLI_ARGS, 'ingest', file, '--tenant', tenant, ...flags()].map(shellQuote).join(' ');
    const { stdout } = await promisify(execFile)(SCRIPT, ['-qec', command, '/dev/null'], { cwd: ROOT, env: cleanEnv({ COLUMNS: '120' }) });
    const size = statSync(file).size;
    assert.match(stdout, new RegExp(`reading .* 100% \\| ${size}/${size} bytes`), stdout);
    assert.match(stdout, /stored 3,000 entries, 0 duplicates skipped \(3,000 lines\)/);
  });

  it('writes no bar and no control characters when stderr is not a terminal', async () => {
    const r = await runCli(['ingest', file, '--tenant', tenant, ...flags()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /stored 0 entries, 3,000 duplicates skipped/);
  });

  /** `logwarden tail … --from-start` run under a pseudo-terminal, through `sh -c` with `redirect` after it; what the terminal showed. */
  const tailOnTerminal = async (redirect = '') => {
    const command = [process.execPath, ...CLI_ARGS, 'tail', '--tenant', tenant, '--from-start', ...flags()].map(shellQuote).join(' ');
    const { stdout } = await promisify(execFile)(SCRIPT, ['-qec', `${command}${redirect}`, '/dev/null'], {
      cwd: ROOT,
      env: cleanEnv({ COLUMNS: '120' }),
    });
    return stdout;
  };

  it('tail draws its bar on a terminal while the lines go elsewhere, and never into the lines', async () => {
    const out = join(dir, 'tail.ndjson');
    const shown = await tailOnTerminal(` > ${shellQuote(out)}`);
    assert.match(shown, /tail .* 100% \| (\d+)\/\1 leaves/, shown);
    const lines = readFileSync(out, 'utf8');
    assert.ok(lines === (await runCli(['tail', '--tenant', tenant, '--from-start', ...flags()])).stdout, 'the lines tail prints into a pipe');
    assert.ok(lines.split('\n').length > 3000 && !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(lines), 'every line, no control character');
  });

  it('tail draws no bar when its lines go to the same terminal, nor any when stderr is not a terminal', async () => {
    const shown = await tailOnTerminal();
    // Short messages: the whole output in one would be long to print.
    assert.ok(shown.startsWith('{"leafIndex":0,'), `begins with a line, not: ${JSON.stringify(shown.slice(0, 80))}`);
    assert.ok(shown.length > 100_000 && !/\u001b|leaves\/s/.test(shown), 'the lines and no bar among them');
    const piped = await runCli(['tail', '--tenant', tenant, '--from-start', ...flags()]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stderr, '');
  });
});
