/**
 * `logwarden serve` as a person at a terminal sees it: run under a pseudo-terminal (util-linux
 * `script`), the log is readable lines, not JSON; the first-run banner comes out whole before
 * the first log line; each request is one line that says why it was rejected; Ctrl-C stops it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT } from '../support/cli.ts';

const SCRIPT = '/usr/bin/script';
const skip = existsSync(SCRIPT) ? undefined : `${SCRIPT} not found (util-linux): no pseudo-terminal to run the server in`;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
/** `exec` so that Ctrl-C reaches the server alone: a shell (dash) left waiting would die of it and exit 130. */
const asTerminalCommand = (argv: string[]): string => 'exec ' + argv.map(shellQuote).join(' ');
const basic = (user: string, pass: string): string => 'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

/** Resolves once `test` matches what the terminal showed so far; rejects after `ms`. */
function waitFor(output: () => string, test: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const tick = () => {
      const m = test.exec(output());
      if (m) return resolve(m);
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${test}:\n${output()}`));
      setTimeout(tick, 50);
    };
    tick();
  });
}

describe('serve at a terminal', { skip }, () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-tty-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the banner, then one readable line per request saying why a request was rejected', async () => {
    const command = asTerminalCommand([process.execPath, ...CLI_ARGS, 'serve', '--data-dir', join(dir, 'data'), '--port', '0']);
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { cwd: ROOT, env: cleanEnv({ COLUMNS: '200', LOGWARDEN_LOG_LEVEL: 'info' }) });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      const url = (await waitFor(() => out, /listening on (http:\/\/[\d.:]+) \(docs/))[1]!;
      const key = /access key: (\S+)/.exec(out)![1]!;
      const secret = /secret:\s+(\S+)/.exec(out)![1]!;
      const ok = await fetch(`${url}/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z`, {
        headers: { authorization: basic(key, secret) },
      });
      assert.equal(ok.status, 404);
      const wrong = await fetch(`${url}/v2/logs?logType=AccessLog`, { headers: { authorization: basic(key, 'not-the-secret') } });
      assert.equal(wrong.status, 401);
      const wrongId = ((await wrong.json()) as { requestId: string }).requestId;
      await waitFor(() => out, new RegExp(`requestId=${wrongId}`));

      const text = out.replace(/\r/g, '');
      const lines = text.split('\n');
      const logLine = /^\d\d:\d\d:\d\d\.\d{3} (INFO|WARN|ERROR) /;
      // The banner is whole and comes before the first log line.
      const firstLog = lines.findIndex((l) => logLine.test(l));
      const bannerEnd = lines.findIndex((l) => l.startsWith('logwarden: listening on'));
      assert.ok(firstLog > bannerEnd && bannerEnd > 0, text);
      assert.ok(lines.findIndex((l) => l.includes('created tenant')) < bannerEnd, text);
      assert.ok(!text.includes('{"level"'), 'no JSON at a terminal');
      assert.match(text, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}listening on http:\/\/127\.0\.0\.1:\d+ \(sqlite store/m);
      // One line per request: method, URL, status, time, why, which key, requestId.
      const requestLines = lines.filter((l) => / (GET|POST) \//.test(l) && logLine.test(l));
      assert.equal(requestLines.length, 2, requestLines.join('\n'));
      assert.match(
        requestLines[0]!,
        /INFO {2}GET \/v2\/logs\?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z 404 [\d.]+ms no_records: No log records found/,
      );
      assert.match(
        requestLines[1]!,
        new RegExp(
          `INFO {2}GET /v2/logs\\?logType=AccessLog 401 [\\d.]+ms unauthorized: Access denied: invalid access key or secret .*accessKey=${key} detail="wrong secret" requestId=${wrongId}$`,
        ),
      );
      assert.ok(!text.includes('not-the-secret'));

      child.stdin.write('\x03'); // Ctrl-C at the terminal
      await waitFor(() => out, /SIGINT received/);
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('prints JSON lines with --log-format json, even at a terminal', async () => {
    const command = asTerminalCommand([
      process.execPath,
      ...CLI_ARGS,
      'serve',
      '--data-dir',
      join(dir, 'data'),
      '--port',
      '0',
      '--log-format',
      'json',
    ]);
    const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], { cwd: ROOT, env: cleanEnv({ LOGWARDEN_LOG_LEVEL: 'info' }) });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      await waitFor(() => out, /\{"level":30,.*"msg":"listening on http/);
      assert.ok(!out.includes('access key:'), 'a restart prints no credentials');
      // Not "its keys were printed": a first start stopped before it listened never showed its key.
      assert.match(out, /logwarden: serving the store in .*; a secret is shown only once, when its key is created\./);
      assert.match(out, /Lost a secret\? Make a new key: logwarden keys create --tenant \d+ --scope read --scope write --data-dir /);
      child.stdin.write('\x03');
      assert.equal(await exited, 0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
