import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { CsvValueError, csvUserCell, formatter } from '../../src/cli/fetch-formats.ts';
import { progressText } from '../../src/cli/progress.ts';
import { GONG_LOG_TYPES } from '../../src/logs/log-types.ts';
import { generateNoteKey } from '../../src/tlog/index.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT, runCli, runCliInProcess } from '../support/cli.ts';
import { entryTexts } from '../support/entries.ts';
import { type FaultServer, fetchPlayArgs, startFaultServer } from '../support/fault-server.ts';
import { allBodies, type LiveSource, seed, startLiveSource, type TempDir, tempDir } from '../support/live-source.ts';

const START = Date.parse('2026-01-01T00:00:00Z');
const CREDS = { LOGWARDEN_ACCESS_KEY: 'KEY', LOGWARDEN_SECRET: 'SECRET' };

/** Splits CSV text (RFC 4180) into rows of cells. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(cell), (cell = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(cell), rows.push(row), (row = []), (cell = ''), i++;
    else cell += c;
  }
  return rows;
}

describe('CSV user cells (--csv-ids text)', () => {
  const read = (cell: string) => parseCsv(`${cell}\r\n`)[0]![0]!;
  it('puts one tab before ids, long numbers, formulas and tabs, and only those, so that stripping one tab gives back the value', () => {
    const tabbed = ['5120938476102938475', '-12345678901234567', '=HYPERLINK("http://evil.example","x")', '+1', '-1', '@SUM(A1)', '\t123', '\rx'];
    for (const v of tabbed) assert.equal(read(csvUserCell('userFullName', v, 'text')), `\t${v}`, JSON.stringify(v));
    assert.equal(read(csvUserCell('userId', '42', 'text')), '\t42');
    for (const v of ['Zoë "Z" Ng', 'a,b', 'line\nbreak', '123456789012345', 'x\t=1', '']) {
      assert.equal(read(csvUserCell('userFullName', v, 'text')), v, JSON.stringify(v));
    }
    // A missing value (null or absent) is an empty cell; an empty string, a quoted one.
    for (const style of ['text', 'plain'] as const) {
      assert.equal(csvUserCell('userId', null, style), '');
      assert.equal(csvUserCell('userId', undefined, style), '');
      assert.equal(csvUserCell('userEmailAddress', '', style), '""');
    }
    fc.assert(
      fc.property(fc.constantFrom('userId', 'userFullName', 'userEmailAddress'), fc.string({ unit: 'binary' }), (field, v) => {
        const cell = read(csvUserCell(field, v, 'text'));
        assert.equal(cell.startsWith('\t') ? cell.slice(1) : cell, v);
        assert.equal(read(csvUserCell(field, v, 'plain')), v);
      }),
    );
  });
});

describe('fetch --format csv: values a CSV cell cannot hold unchanged', () => {
  const entry = (fields: Record<string, string>) =>
    ({ eventTime: '2026-01-01T00:00:00.000Z', logRecordText: '{}', raw: '{}', ...fields }) as Record<string, string> & {
      eventTime: string;
      logRecordText: string;
      raw: string;
    };
  const csv = formatter('csv', 'AccessLog', false);

  it('refuses a NUL or a lone surrogate in any user field, and takes emoji, controls and line breaks', () => {
    for (const field of ['userId', 'userEmailAddress', 'userFullName', 'impersonatorFullName', 'impersonatorCompanyId']) {
      for (const [v, what] of [
        ['a\u0000b', /a NUL character \(U\+0000\)/],
        ['x\ud800', /a lone surrogate \(U\+D800\)/],
        ['\udc00x', /a lone surrogate \(U\+DC00\)/],
        ['\ude00\ud83d', /a lone surrogate \(U\+DE00\)/],
      ] as const) {
        assert.throws(
          () => csv.record(entry({ userId: '42', [field]: v }), 0),
          (err: unknown) => err instanceof CsvValueError && err.field === field && what.test(err.message),
          `${field} ${JSON.stringify(v)}`,
        );
      }
    }
    const fine = entry({ userFullName: 'Émoji 😀 \ud83d\ude00 \u001b[31m "q", \r\n \u2028' });
    assert.equal(parseCsv(csv.record(fine, 0))[0]![2], fine.userFullName);
  });
});

describe('fetch --format csv of entries CSV cannot hold, from a server', () => {
  let server: FaultServer;
  let dir: TempDir;
  const play = entryTexts('UserCallPlay', 6, START, 60_000);
  // JSON escapes both: what the source serves. Entry 3's name holds a NUL, entry 5's a lone surrogate.
  play[3] = play[3]!.replace('Ng 3', 'Ng\\u00003');
  play[5] = play[5]!.replace('Ng 5', 'Ng \\ud800');
  const time = (i: number) => (JSON.parse(play[i]!) as { eventTime: string }).eventTime;
  const userId = (i: number) => (JSON.parse(play[i]!) as { userId: string }).userId;

  before(async () => {
    server = await startFaultServer({ pageSize: 2 });
    server.setEntries('UserCallPlay', play);
    dir = tempDir('logwarden-fetch-csv-');
  });
  after(async () => {
    await server.close();
    dir.remove();
  });
  const fetchArgs = (...more: string[]) => [
    'fetch',
    '--url',
    server.url,
    '--type',
    'UserCallPlay',
    '--rate',
    '0',
    '--page-size',
    '2',
    '--format',
    'csv',
    ...more,
  ];

  it('stops at the entry, names it and its field, exits 1 and leaves no partial export in --out', async () => {
    const out = join(dir.path, 'play.csv');
    writeFileSync(out, 'an older export\n');
    const r = await runCli(fetchArgs('--from', '2026-01-01', '--out', out), { env: CREDS });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(
      r.stderr,
      `logwarden: cannot export as CSV: the entry of ${time(3)} (userId "${userId(3)}"): its userFullName holds a NUL character (U+0000), ` +
        `which CSV readers refuse or stop at; CSV cannot hold it unchanged. Export this range with --format ndjson or --format json, which keep it exactly; ${out} was removed\n`,
    );
    assert.equal(existsSync(out), false);

    const rest = await runCli(fetchArgs('--from', time(4), '--page-size', '1'), { env: CREDS });
    assert.equal(rest.code, 1);
    assert.match(
      rest.stderr,
      new RegExp(`the entry of ${time(5)} .*its userFullName holds a lone surrogate \\(U\\+D800\\), which UTF-8 cannot encode;`),
    );
    assert.match(rest.stderr, /; standard output got 1 entry of the range, not all of it\n$/);
  });

  it('leaves a file it was appending to as it was', async () => {
    const out = join(dir.path, 'earlier.csv');
    const first = await runCli(fetchArgs('--from', '2026-01-01', '--to', time(2), '--out', out), { env: CREDS });
    assert.equal(first.code, 0, first.stderr);
    const before = readFileSync(out);
    assert.equal(parseCsv(before.toString('utf8')).length, 3);
    const r = await runCli(fetchArgs('--from', time(2), '--out', out, '--append'), { env: CREDS });
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`; ${out.replaceAll('.', '\\.')} is as it was before this run\n$`));
    assert.deepEqual(readFileSync(out), before);
  });

  it('exports the same entries as NDJSON, byte for byte', async () => {
    const r = await runCli(['fetch', '--url', server.url, '--type', 'UserCallPlay', '--rate', '0', '--from', '2026-01-01'], { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      r.stdout.trimEnd().split('\n'),
      play.map((t) => `{"logType":"UserCallPlay",${t.slice(1)}`),
    );
  });
});

describe('logwarden fetch against a misbehaving Gong-compatible server', () => {
  let server: FaultServer;
  let dir: TempDir;
  const play = entryTexts('UserCallPlay', 23, START);

  before(async () => {
    server = await startFaultServer({ pageSize: 4 });
    server.setEntries('UserCallPlay', play);
    dir = tempDir('logwarden-fetch-');
  });
  after(async () => {
    await server.close();
    dir.remove();
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.faults.length = 0;
  });

  // Pages of four, as the source's own default: the cases below go page by page.
  const fetchArgs = (...more: string[]) => ['fetch', '--url', server.url, '--type', 'UserCallPlay', '--rate', '0', '--page-size', '4', ...more];

  it('writes NDJSON (one entry per line with its logType, texts exact) through 429s, 500s and cut-short bodies, quietly when piped', async () => {
    const pass = { kind: 'slow', ms: 0 } as const; // one fault per page keeps the backoff short
    server.faults.push({ kind: 'status', status: 429, retryAfter: '0' }, pass, { kind: 'status', status: 500 }, pass, { kind: 'truncate' });
    const r = await runCli(fetchArgs('--from', '2026-01-01'), { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines,
      play.map((t) => `{"logType":"UserCallPlay",${t.slice(1)}`),
    );
    assert.ok(lines[0]!.includes('"play_speed":1.0'));
    assert.equal(server.requests[0]!.url.searchParams.get('fromDateTime'), '2026-01-01T00:00:00Z');
    assert.equal(server.requests[0]!.headers.authorization, `Basic ${Buffer.from('KEY:SECRET').toString('base64')}`);
  });

  it('asks a source that is not Gong for pages of 1000 unless --page-size says otherwise', async () => {
    const limits = async (...more: string[]) => {
      const asked = server.requests.length;
      const r = await runCli(fetchPlayArgs(server.url, '--out', join(dir.path, 'limit.ndjson'), ...more), { env: CREDS });
      assert.equal(r.code, 0, r.stderr);
      return [...new Set(server.requests.slice(asked).map((q) => q.url.searchParams.get('limit')))];
    };
    assert.deepEqual(await limits(), ['1000']);
    assert.deepEqual(await limits('--page-size', '3'), ['3']);
  });

  it('writes CSV with flat entry columns and logRecord as an exact JSON cell', async () => {
    const out = join(dir.path, 'play.csv');
    const r = await runCli(fetchArgs('--from', '2026-01-01T00:00:00Z', '--format', 'csv', '--out', out), { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    const rows = parseCsv(readFileSync(out, 'utf8'));
    assert.deepEqual(rows[0], [
      'userId',
      'userEmailAddress',
      'userFullName',
      'impersonatorUserId',
      'impersonatorEmailAddress',
      'impersonatorFullName',
      'impersonatorCompanyId',
      'eventTime',
      'logRecord',
    ]);
    assert.equal(rows.length, 24);
    const first = JSON.parse(play[0]!) as Record<string, string>;
    // Ids as a tab then the digits, quoted: text to a spreadsheet, every digit kept.
    assert.deepEqual(rows[1]!.slice(0, 3), [`\t${first.userId}`, first.userEmailAddress, first.userFullName]);
    assert.ok(readFileSync(out, 'utf8').includes(`\r\n"\t${first.userId}",`));
    assert.match(first.userId!, /^\d{19}$/);
    assert.equal(rows[1]![2], 'Zoë "Z" Ng 0');
    assert.equal(rows[1]![7], first.eventTime);
    assert.equal(rows[1]![8], play[0]!.slice(play[0]!.indexOf('"logRecord":') + 12, -1));

    const plain = await runCli(fetchArgs('--from', '2026-01-01T00:00:00Z', '--format', 'csv', '--csv-ids', 'plain'), { env: CREDS });
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(parseCsv(plain.stdout)[1]![0], first.userId);
  });

  it('says that a 404 with nothing of Gong in it is not an answer of the API (a base URL that leads elsewhere)', async () => {
    const other = createServer((_req, res) => res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const r = await runCli(['fetch', '--url', url, '--type', 'AccessLog', '--from', '2026-01-01', '--rate', '0'], { env: CREDS });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /HTTP 404, not an answer of Gong's API \(no requestId, no errors\): is the base URL that of Gong's API or of a logwarden\?/,
      );
      // https:// to a port that speaks plain HTTP: said at once, not retried.
      const tls = await runCli(['fetch', '--url', url.replace('http:', 'https:'), '--type', 'AccessLog', '--from', '2026-01-01', '--rate', '0'], {
        env: CREDS,
      });
      assert.equal(tls.code, 1);
      assert.equal(tls.stderr, 'logwarden: TLS handshake failed: the server does not speak HTTPS on this port (is the URL http://?)\n');
    } finally {
      other.close();
    }
  });

  it('says on stderr that nothing matched, whatever the format, and still exits 0', async () => {
    const out = join(dir.path, 'none.ndjson');
    const r = await runCli(fetchArgs('--from', '2030-01-01', '--out', out), { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(out, 'utf8'), '');
    assert.equal(statSync(out).mode & 0o777, 0o600, "an export is its owner's only");
    assert.match(
      r.stderr,
      /^logwarden: no entries matched: UserCallPlay from 2030-01-01T00:00:00Z at http:\/\/127\.0\.0\.1:\d+\/; .*none\.ndjson holds nothing\n$/,
    );
    const csv = await runCli(fetchArgs('--from', '2030-01-01', '--to', '2030-02-01', '--format', 'csv'), { env: CREDS });
    assert.equal(csv.code, 0);
    assert.match(csv.stderr, /no entries matched: UserCallPlay from 2030-01-01T00:00:00Z to 2030-02-01T00:00:00Z/);
    // Appending nothing to an export that holds rows: it says nothing was added, not that the file is empty.
    const kept = join(dir.path, 'kept.ndjson');
    writeFileSync(kept, '{"eventTime":"2026-01-01T00:00:00.000Z","logRecord":{}}\n');
    const appended = await runCli(fetchArgs('--from', '2030-01-01', '--out', kept, '--append'), { env: CREDS });
    assert.equal(appended.code, 0, appended.stderr);
    assert.match(appended.stderr, /no entries matched: .*; nothing was added to .*kept\.ndjson\n$/);
    assert.equal(readFileSync(kept, 'utf8').split('\n').length, 2);
  });

  it('draws progress without 0/0 while the total is unknown, and an ETA only once there is a rate', () => {
    assert.equal(progressText('entries', { done: 0, total: 0, elapsedMs: 0 }), '0 entries | 0 entries/s');
    assert.equal(progressText('entries', { done: 1200, total: 0, elapsedMs: 2000 }), '1,200 entries | 600 entries/s');
    assert.equal(progressText('entries', { done: 0, total: 500, elapsedMs: 100 }), '0% | 0/500 entries | 0 entries/s');
    assert.equal(progressText('entries', { done: 100, total: 7300, elapsedMs: 1000 }), '1% | 100/7300 entries | 100 entries/s | ETA 1m 12s');
    assert.equal(
      progressText('entries', { done: 7300, total: 7300, elapsedMs: 73_000 }, 'BAR'),
      'BAR 100% | 7300/7300 entries | 100 entries/s | done in 1m 13s',
    );
    for (const done of [0, 1, 10]) {
      for (const total of [0, 10]) {
        const text = progressText('entries', { done, total, elapsedMs: done * 10 });
        assert.doesNotMatch(text, /\b0\/0\b|ETA (?!\d)|NaN|Infinity|LL/, text);
      }
    }
  });

  it('writes JSON as one {logType, logEntries} document, and an empty result (the 404) as one with no entries', async () => {
    const r = await runCli(fetchArgs('--from', '2026-01-01', '--format', 'json'), { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout) as { logType: string; logEntries: unknown[] };
    assert.equal(doc.logType, 'UserCallPlay');
    assert.deepEqual(
      doc.logEntries,
      play.map((t) => JSON.parse(t)),
    );
    const empty = await runCli(fetchArgs('--from', '2030-01-01', '--format', 'json'), { env: CREDS });
    assert.equal(empty.code, 0, empty.stderr);
    assert.deepEqual(JSON.parse(empty.stdout), { logType: 'UserCallPlay', logEntries: [] });
  });

  it('fails (exit 1, said) when the closing ]} of a JSON export cannot be written, every page written before it', async () => {
    const whole = await runCli(fetchArgs('--from', '2026-01-01', '--format', 'json'), { env: CREDS });
    assert.equal(whole.code, 0, whole.stderr);
    // The last write (the closing ]}) is the one that fails.
    const r = await runCli(fetchArgs('--from', '2026-01-01', '--format', 'json'), {
      env: CREDS,
      stdoutFails: 'ENOSPC',
      stdoutFailsAfter: Buffer.byteLength(whole.stdout) - 1,
    });
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, whole.stdout.slice(0, whole.stdout.lastIndexOf(']}') - 1), 'every page, not the end of the document');
    assert.match(r.stderr, new RegExp(`Stopped after ${play.length} entries; writing to standard output failed`));
  });

  it('resolves relative dates once, against the start of the run', async () => {
    // In process, on a clock that stands still, so a slow start cannot move the answer.
    const before = Date.parse('2026-05-05T10:00:00.000Z');
    const r = await runCliInProcess(
      fetchArgs('--from', '7d', '--to', '30m', '--access-key', CREDS.LOGWARDEN_ACCESS_KEY, '--secret', CREDS.LOGWARDEN_SECRET),
      {
        now: () => before,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const q = server.requests[0]!.url.searchParams;
    const from = Date.parse(q.get('fromDateTime')!);
    const to = Date.parse(q.get('toDateTime')!);
    assert.ok(Math.abs(from - (before - 7 * 86_400_000)) < 10_000, q.get('fromDateTime')!);
    assert.equal(to - from, 7 * 86_400_000 - 30 * 60_000);
  });

  it('takes a window narrower than a millisecond as the server does: compared at the precision given, sent as given', async () => {
    const from = '2026-01-01T00:00:00.0001Z';
    const to = '2026-01-01T00:00:00.0005Z';
    const r = await runCliInProcess(
      fetchArgs('--from', from, '--to', to, '--access-key', CREDS.LOGWARDEN_ACCESS_KEY, '--secret', CREDS.LOGWARDEN_SECRET),
      {
        now: () => START,
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const q = server.requests[0]!.url.searchParams;
    assert.deepEqual([q.get('fromDateTime'), q.get('toDateTime')], [from, to]);
    const reversed = await runCliInProcess(fetchArgs('--from', to, '--to', from, '--access-key', 'KEY', '--secret', 'SECRET'), { now: () => START });
    assert.equal(reversed.code, 2, reversed.stderr);
    assert.match(reversed.stderr, /--to must be later than --from/);
  });

  it('sends an offset typed as hours only (+05) or without its colon (+0530) as ±hh:mm', async () => {
    const r = await runCliInProcess(
      fetchArgs('--from', '2026-01-01T05:00:00+05', '--to', '2026-01-01T06:30:00+0530', '--access-key', 'KEY', '--secret', 'SECRET'),
      { now: () => START },
    );
    assert.equal(r.code, 0, r.stderr);
    const q = server.requests[0]!.url.searchParams;
    assert.deepEqual([q.get('fromDateTime'), q.get('toDateTime')], ['2026-01-01T05:00:00+05:00', '2026-01-01T06:30:00+05:30']);
  });

  it('stops a bundle on Ctrl-C with exit 130, saying that nothing was written', async () => {
    const out = join(dir.path, 'interrupted.bundle');
    server.faults.push({ kind: 'slow', ms: 20_000 });
    // With a pinned key, the first request is the window's first page, which hangs.
    const logKey = generateNoteKey('example.com/log').verifierKey;
    const args = fetchArgs('--from', '2026-01-01', '--format', 'bundle', '--tenant', '1', '--log-key', logKey, '--out', out);
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], {
      cwd: ROOT,
      env: cleanEnv(CREDS),
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    while (server.requests.length < 1) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /^logwarden: interrupted: no bundle written \(.* is as it was\); run the command again to fetch the window\n$/);
    assert.equal(existsSync(out), false);
  });

  it('stops on Ctrl-C with whole records only, and the printed command finishes the export exactly', async () => {
    const out = join(dir.path, 'interrupted.ndjson');
    // Pages 1-2 come at once; page 3 hangs long enough for the interrupt.
    server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'slow', ms: 0 }, { kind: 'slow', ms: 20_000 });
    const child = spawn(process.execPath, [...CLI_ARGS, ...fetchArgs('--from', '2026-01-01', '--out', out)], {
      cwd: ROOT,
      env: cleanEnv(CREDS),
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Page 3 asked for (it hangs) and pages 1-2 written: the pages are read ahead of the writes.
    const written = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
    while (server.requests.length < 3 || written() < 8) await new Promise((r) => setTimeout(r, 20));
    child.kill('SIGINT');
    assert.equal(await exited, 130, 'the exit status of a Ctrl-C');
    const partial = readFileSync(out, 'utf8');
    assert.ok(partial.endsWith('\n'));
    const lines = partial.trimEnd().split('\n');
    assert.equal(lines.length, 8, 'two whole pages of four');
    for (const l of lines) JSON.parse(l);
    assert.match(stderr, /Stopped after 8 entries/);
    const resume = /^ {2}(logwarden fetch .* --cursor .*)$/m.exec(stderr)?.[1];
    assert.ok(resume, stderr);
    assert.ok(!resume.includes('SECRET'), 'the hint never repeats credentials');
    const args = resume
      .split(' ')
      .slice(1)
      .map((a) => a.replace(/^'(.*)'$/, '$1'));
    assert.deepEqual(args.slice(-3), ['--out', out, '--append']);
    assert.equal(args[args.indexOf('--rate') + 1], '0', 'the hint keeps the pace asked for');
    const fromLast = /^ {2}(logwarden fetch .* --from 2026-01-01T00:0[^ ]* .*)$/m.exec(stderr.split('Or start again')[1] ?? '')?.[1];
    assert.ok(fromLast?.endsWith(` --out ${out} --append`), `the other way to continue appends too: ${stderr}`);
    const r = await runCli(args, { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      readFileSync(out, 'utf8').trimEnd().split('\n'),
      play.map((t) => `{"logType":"UserCallPlay",${t.slice(1)}`),
    );
    assert.match(stderr, /--from 2026-01-01T00:00:00Z .*--cursor/, 'the resumed query repeats the bounds exactly');
  });

  it('warns when the page at --cursor holds no entries: the end, or a cursor the source no longer knows', async () => {
    const out = join(dir.path, 'cursor-empty.ndjson');
    server.faults.push({
      kind: 'status',
      status: 404,
      body: '{"requestId":"r3","errors":["No log records found corresponding to the provided log type and time range"]}',
    });
    const r = await runCli(fetchArgs('--from', '2026-01-01', '--cursor', 'some-cursor', '--out', out), { env: CREDS });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: the page at --cursor held no entries: .*start again from the last instant written, without --cursor\.\n$/);
  });

  it('does not offer again a cursor the source refused or cut short; an export stopped before its first page names no file', async () => {
    const out = join(dir.path, 'cursor-refused.ndjson');
    server.faults.push({ kind: 'slow', ms: 0 }, { kind: 'status', status: 400, body: '{"requestId":"r2","errors":["cursor has expired"]}' });
    const r = await runCli(fetchArgs('--from', '2026-01-01', '--out', out), { env: CREDS });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /Stopped after 4 entries; .* holds whole records only\.\nTo continue, start again from the last instant written/);
    assert.doesNotMatch(r.stderr, /--cursor/);

    const never = join(dir.path, 'never.ndjson');
    server.faults.push({ kind: 'slow', ms: 20_000 });
    const child = spawn(process.execPath, [...CLI_ARGS, ...fetchArgs('--from', '2026-01-01', '--out', never)], { cwd: ROOT, env: cleanEnv(CREDS) });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((res) => child.on('close', (code) => res(code)));
    const asked = server.requests.length;
    while (server.requests.length === asked) await new Promise((res) => setTimeout(res, 20));
    child.kill('SIGINT');
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /Stopped after 0 entries; nothing was written \(.*never\.ndjson was not made\)\./);
    assert.equal(existsSync(never), false);
  });

  it('draws its bar on a terminal without 0/0 or an ETA placeholder, ending with the whole count', {
    skip: existsSync('/usr/bin/script') ? undefined : '/usr/bin/script (util-linux) not found: no pseudo-terminal',
  }, async () => {
    const out = join(dir.path, 'tty.ndjson');
    // Slow pages, so the bar is drawn while the total is still unknown and between pages.
    for (let i = 0; i < 6; i++) server.faults.push({ kind: 'slow', ms: 250 });
    const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const command = [process.execPath, ...CLI_ARGS, ...fetchArgs('--from', '2026-01-01', '--out', out)].map(quote).join(' ');
    const { stdout } = await promisify(execFile)('/usr/bin/script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: cleanEnv({ ...CREDS, COLUMNS: '150' }),
    });
    assert.match(stdout, /UserCallPlay .*100% \| 23\/23 entries/, stdout);
    assert.match(stdout, /23 UserCallPlay entries written to /);
    assert.doesNotMatch(stdout, /\b0\/0\b|ETA (?!\d)|NaN|Infinity|LL/, stdout);
  });

  it('refuses bad usage with exit code 2 and no request', async () => {
    const cases = [
      fetchArgs('--from', 'yesterday'),
      fetchArgs('--from', '2026-01-01T00:00:00'),
      fetchArgs('--from', '2026-02-01', '--to', '2026-01-01'),
      fetchArgs('--from', '2026-01-01', '--format', 'xml'),
      fetchArgs('--from', '2026-01-01', '--format', 'json', '--out', join(dir.path, 'x.json'), '--append'),
    ];
    for (const args of cases) {
      const r = await runCli(args, { env: CREDS });
      assert.equal(r.code, 2, `${args.join(' ')}\n${r.stderr}`);
      assert.match(r.stderr, /\S/);
    }
    const noCreds = await runCli(fetchArgs('--from', '2026-01-01'));
    assert.equal(noCreds.code, 2);
    assert.match(noCreds.stderr, /credentials missing/);
    assert.equal(server.requests.length, 0);
  });

  it("fails with exit 1 and the server's message, requestId included, when the source refuses", async () => {
    server.faults.push({ kind: 'status', status: 401, body: '{"requestId":"abcdefghij0123456789","errors":["Access denied: invalid credentials"]}' });
    const r = await runCli(fetchArgs('--from', '2026-01-01'), { env: CREDS });
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /HTTP 401: Access denied: invalid credentials \(requestId abcdefghij0123456789\)/);
  });
});

describe('logwarden fetch: the --out file of an export that fails', () => {
  let server: FaultServer;
  let dir: TempDir;
  before(async () => {
    server = await startFaultServer({ pageSize: 4 });
    server.setEntries('UserCallPlay', entryTexts('UserCallPlay', 3, START));
    dir = tempDir('logwarden-fetch-out-');
  });
  after(async () => {
    await server.close();
    dir.remove();
  });
  const refused = () =>
    server.faults.push({ kind: 'status', status: 401, body: '{"requestId":"abcdefghij0123456789","errors":["Access denied: invalid credentials"]}' });
  const fetchArgs = (...more: string[]) => fetchPlayArgs(server.url, ...more);

  it('is left as it was, and none is made, when the first request is refused', async () => {
    const earlier = join(dir.path, 'earlier.csv');
    writeFileSync(earlier, 'an earlier export\n');
    refused();
    const r = await runCli(fetchArgs('--format', 'csv', '--out', earlier), { env: CREDS });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /HTTP 401/);
    assert.equal(readFileSync(earlier, 'utf8'), 'an earlier export\n', 'the earlier export is intact');

    const fresh = join(dir.path, 'fresh.json');
    refused();
    const r2 = await runCli(fetchArgs('--format', 'json', '--out', fresh), { env: CREDS });
    assert.equal(r2.code, 1, r2.stderr);
    assert.ok(!existsSync(fresh), 'no file is made');

    // Once the source answers, the file is made, even for an empty result.
    const empty = join(dir.path, 'empty.ndjson');
    const r3 = await runCli(['fetch', '--url', server.url, '--type', 'AccessLog', '--rate', '0', '--from', '2026-01-01', '--out', empty], {
      env: CREDS,
    });
    assert.equal(r3.code, 0, r3.stderr);
    assert.equal(readFileSync(empty, 'utf8'), '');
  });

  it('says before any request why --out cannot be written', async () => {
    const requests = server.requests.length;
    const missing = join(dir.path, 'no-such-folder', 'x.ndjson');
    const r = await runCli(fetchArgs('--out', missing), { env: CREDS });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `logwarden: cannot write to ${missing} (${join(dir.path, 'no-such-folder')}: no such folder)\n`);
    const folder = await runCli(fetchArgs('--out', dir.path), { env: CREDS });
    assert.equal(folder.stderr, `logwarden: --out ${dir.path} is a folder; give a file name\n`);
    assert.equal(server.requests.length, requests, 'no request was made');
    // A place no one may write (even root, who passes the check before the first request): said in words.
    const sys = await runCli(fetchArgs('--from', '2026-01-01', '--out', '/sys/logwarden-x'), { env: CREDS });
    assert.equal(sys.code, 1);
    assert.equal(sys.stderr, 'logwarden: cannot write to /sys/logwarden-x (permission denied)\n');
  });

  it('--append refuses, before any request and leaving the file as it was, a file of another format or CSV id style', async () => {
    const made: Record<string, string> = {};
    for (const [name, args] of [
      ['text.csv', ['--format', 'csv']],
      ['plain.csv', ['--format', 'csv', '--csv-ids', 'plain']],
      ['lines.ndjson', []],
      ['batch.json', ['--format', 'json']],
    ] as const) {
      const file = join(dir.path, name);
      const r = await runCli(fetchArgs(...args, '--out', file), { env: CREDS });
      assert.equal(r.code, 0, r.stderr);
      made[name] = readFileSync(file, 'utf8');
    }
    const bundle = join(dir.path, 'march.bundle');
    writeFileSync(bundle, `${JSON.stringify({ format: 'logwarden-evidence/v1', entries: [] }, null, 1)}\n`);
    made['march.bundle'] = readFileSync(bundle, 'utf8');
    const other = join(dir.path, 'other.csv');
    writeFileSync(other, 'a,b\r\n1,2\r\n');
    made['other.csv'] = 'a,b\r\n1,2\r\n';
    const cut = join(dir.path, 'cut.ndjson');
    writeFileSync(cut, made['lines.ndjson']!.slice(0, 50));
    made['cut.ndjson'] = made['lines.ndjson']!.slice(0, 50);

    const text = 'CSV with text ids (--format csv --csv-ids text)';
    const plain = 'CSV with plain ids (--format csv --csv-ids plain)';
    const ndjson = 'NDJSON (--format ndjson)';
    const advice = 'Append only to an export made with the same --format and --csv-ids, or give another --out';
    const cases: [file: string, args: string[], holds: string, writes: string][] = [
      ['text.csv', ['--format', 'ndjson'], text, ndjson],
      ['text.csv', ['--format', 'csv', '--csv-ids', 'plain'], text, plain],
      ['plain.csv', ['--format', 'csv'], plain, text],
      ['lines.ndjson', ['--format', 'csv'], ndjson, text],
      ['batch.json', ['--format', 'ndjson'], 'a JSON document (--format json), which cannot be added to', ndjson],
      ['march.bundle', [], 'an evidence bundle (--format bundle), which cannot be added to', ndjson],
      ['other.csv', ['--format', 'csv'], `neither NDJSON nor CSV with fetch's header (its first line: "a,b")`, text],
    ];
    const requests = server.requests.length;
    for (const [name, args, holds, writes] of cases) {
      const file = join(dir.path, name);
      const r = await runCli(fetchArgs(...args, '--out', file, '--append'), { env: CREDS });
      assert.equal(r.code, 2, `${name} ${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `logwarden: --append: ${file} holds ${holds}; this run would write ${writes}. ${advice}\n`);
    }
    const r = await runCli(fetchArgs('--out', cut, '--append'), { env: CREDS });
    assert.equal(r.code, 2, r.stderr);
    assert.equal(
      r.stderr,
      `logwarden: --append: ${cut} does not end with a line break (its last record is cut short?), so the first entry added would be joined to it. Remove the unfinished last line, or give another --out\n`,
    );
    assert.equal(server.requests.length, requests, 'no request was made');
    for (const [name, content] of Object.entries(made)) assert.equal(readFileSync(join(dir.path, name), 'utf8'), content, `${name} is as it was`);

    // The same format (and id style) is added to: the records follow, the header is not repeated.
    for (const [name, args] of [
      ['text.csv', ['--format', 'csv']],
      ['plain.csv', ['--format', 'csv', '--csv-ids', 'plain']],
      ['lines.ndjson', ['--format', 'ndjson']],
    ] as const) {
      const file = join(dir.path, name);
      const again = await runCli(fetchArgs(...args, '--out', file, '--append'), { env: CREDS });
      assert.equal(again.code, 0, again.stderr);
      const before = made[name]!;
      const head = name.endsWith('.csv') ? before.slice(0, before.indexOf('\r\n') + 2) : '';
      assert.equal(readFileSync(file, 'utf8'), before + before.slice(head.length), name);
    }
    // A CSV holding only its header (an empty result) takes either id style.
    const header = join(dir.path, 'header.csv');
    const empty = await runCli(
      ['fetch', '--url', server.url, '--type', 'AccessLog', '--rate', '0', '--from', '2026-01-01', '--format', 'csv', '--out', header],
      { env: CREDS },
    );
    assert.equal(empty.code, 0, empty.stderr);
    const plainOnto = await runCli(fetchArgs('--format', 'csv', '--csv-ids', 'plain', '--out', header, '--append'), { env: CREDS });
    assert.equal(plainOnto.code, 0, plainOnto.stderr);
    assert.equal(parseCsv(readFileSync(header, 'utf8')).length, 4);
  });
});

describe('logwarden fetch against a real logwarden server', () => {
  let source: LiveSource;
  before(async () => {
    source = await startLiveSource();
    for (const [i, t] of GONG_LOG_TYPES.entries()) await seed(source.store, source.tenantId, t, entryTexts(t, 40 + i * 7, START));
  });
  after(() => source.close());

  it('exports every entry of every type, byte for byte', async () => {
    for (const t of GONG_LOG_TYPES) {
      const r = await runCli(
        ['fetch', '--url', source.url, '--type', t, '--from', '2026-01-01', '--page-size', '9', '--rate', '0', '--format', 'json'],
        {
          env: { LOGWARDEN_ACCESS_KEY: source.key.accessKey, LOGWARDEN_SECRET: source.key.secret },
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const expected = await allBodies(source.store, source.tenantId, t);
      assert.equal(r.stdout, `{"logType":"${t}","logEntries":[\n${expected.join(',\n')}\n]}\n`);
    }
  });

  it("says how to resume with fetch when the server finds --cursor is another query's", async () => {
    const env = { LOGWARDEN_ACCESS_KEY: source.key.accessKey, LOGWARDEN_SECRET: source.key.secret };
    const auth = `Basic ${Buffer.from(`${source.key.accessKey}:${source.key.secret}`).toString('base64')}`;
    const first = await fetch(`${source.url}/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z&limit=10`, {
      headers: { authorization: auth },
    });
    assert.equal(first.status, 200);
    const cursor = ((await first.json()) as { records: { cursor?: string } }).records.cursor;
    assert.ok(cursor);
    const base = ['fetch', '--url', source.url, '--type', 'AccessLog', '--rate', '0', '--cursor', cursor];

    for (const other of [
      ['--from', '2026-01-02'],
      ['--from', '2026-01-01', '--to', '2026-02-01'],
      ['--from', '2026-01-01', '--page-size', '9'],
    ]) {
      const r = await runCli([...base, ...other], { env });
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0]!, /^logwarden: HTTP 400: cursor: does not match the request .*\(requestId \w+\)$/);
      assert.equal(
        lines[1],
        'This --cursor belongs to another query. fetch sends the query (--type, --from, --to) with a cursor: give them, and --page-size if any, ' +
          'exactly as in the command printed with the cursor (copy it whole), or start again without --cursor.',
      );
    }
    // Another refused cursor gets no such line: it is not a question of the query.
    const bad = await runCli([...base.slice(0, -1), 'not-a-cursor', '--from', '2026-01-01'], { env });
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.trimEnd().split('\n').length, 1, bad.stderr);

    // With the query unchanged the cursor resumes: the rest of the entries, after the first ten.
    const ok = await runCli([...base, '--from', '2026-01-01', '--page-size', '10'], { env });
    assert.equal(ok.code, 0, ok.stderr);
    const expected = await allBodies(source.store, source.tenantId, 'AccessLog');
    assert.deepEqual(
      ok.stdout.trimEnd().split('\n'),
      expected.slice(10).map((t) => `{"logType":"AccessLog",${t.slice(1)}`),
    );
  });
});
