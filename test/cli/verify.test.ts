/**
 * `logwarden verify` and `logwarden fetch --format bundle` as a user runs them, against a real
 * HTTP server serving a tenant's tree per the agreed wire surface: trust on first use and the
 * state file, window proofs, rollback and fork as exit 1 with their message, evidence bundles
 * checked offline, and a single entry's tlog-proof@v1.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildEntryLeaf, entryLeafHash, generateNoteKey, parseVerifierKey, verifyTlogProof } from '../../src/tlog/index.ts';
import { runCli, runCliProcess } from '../support/cli.ts';
import { startTlogServer, type TlogTestServer } from '../support/tlog-server.ts';

const T0 = Date.parse('2026-03-04T00:00:00Z');
const reEscape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

describe('logwarden verify', () => {
  let s: TlogTestServer;
  let dir: string;
  let env: Record<string, string>;
  const online = (...more: string[]) => [
    'verify',
    '--url',
    s.url,
    '--tenant',
    s.tenantId,
    '--state',
    join(dir, 'state.json'),
    '--cache-dir',
    join(dir, 'cache'),
    ...more,
  ];

  before(async () => {
    s = await startTlogServer();
    const types = ['AccessLog', 'UserActivityLog'];
    await s.append(Array.from({ length: 600 }, (_, i) => ({ logType: types[i % 2]!, eventTime: at((i * 37) % 500) })));
    dir = mkdtempSync(join(tmpdir(), 'logwarden-verify-'));
    env = {
      LOGWARDEN_ACCESS_KEY: s.accessKey,
      LOGWARDEN_SECRET: s.secret,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_CACHE_HOME: join(dir, 'xdg-cache'),
    };
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--help teaches what is and is not proven, with examples', async () => {
    const r = await runCli(['verify', '--help']);
    assert.equal(r.code, 0);
    for (const text of [
      'Examples:',
      'What is proven (online)',
      'What is not proven',
      'Offline (--bundle)',
      'rollback',
      'fork',
      '--log-key',
      'XDG_CONFIG_HOME',
    ]) {
      assert.ok(r.stdout.includes(text), `help lacks ${text}`);
    }
    // --entry says where a leaf index comes from.
    assert.match(
      r.stdout.replace(/\s+/g, ' '),
      /--entry <leafIndex> .*the bundle lists each entry's leaf index \("entries": \[\{"leafIndex": …\}\]\)/,
    );
  });

  it('--rate paces the pages of /v2/logs as fetch does: a number, 0 for unpaced', async () => {
    const bad = await runCli(online('--rate', 'fast'), { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^logwarden: --rate must be a number of requests per second \(got "fast"\)$/m);
    // A state file of its own: the tests below begin with none.
    const own = online('--rate', '0', '--type', 'AccessLog', '--from', at(0), '--json').map((a) =>
      a === join(dir, 'state.json') ? join(dir, 'rate.json') : a,
    );
    const unpaced = await runCli(own, { env });
    assert.equal(unpaced.code, 0, unpaced.stderr);
    assert.equal(JSON.parse(unpaced.stdout).ok, true);
  });

  it('a --log-key that is no verifier key is refused once, naming the form once', async () => {
    const r = await runCli(online('--log-key', 'garbage'), { env });
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'logwarden: --log-key is not a verifier key: a verifier key has the form <name>+<hex id>+<base64 key>\n');
  });

  it('trusts the key on first use, keeps it with the checkpoint, then proves a window complete', async () => {
    const first = await runCli(online(), { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`Checkpoint of ${s.origin}: 600 leaves, root hash `));
    assert.match(first.stdout, /trusted on first use, now kept in .*state\.json; pin it with --log-key/);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { logs: Record<string, { verifierKey: string }> };
    assert.equal(Object.values(state.logs)[0]!.verifierKey, s.verifierKey);

    await s.append([{ logType: 'AccessLog', eventTime: at(1) }]);
    const window = await runCli(online('--type', 'AccessLog', '--from', at(0), '--to', at(500)), { env });
    assert.equal(window.code, 0, window.stderr + window.stdout);
    assert.match(window.stdout, /601 leaves, root hash/);
    assert.match(window.stdout, /consistency: extends the tree of 600 leaves seen .* \(append-only, proven\)/);
    assert.match(window.stdout, /Audit: all 601 leaves hash to the signed root/);
    assert.match(window.stdout, /Window AccessLog from 2026-03-04T00:00:00.000Z to 2026-03-04T08:20:00.000Z: COMPLETE/);
    assert.match(window.stdout, /301 entries served; 301 proven to be leaves of the tree, unchanged/);
    assert.match(window.stdout, /What it does not prove/);

    const json = await runCli(online('--type', 'AccessLog', '--from', at(0), '--json'), { env });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; served: number; checkpoint: { size: number }; audit: { fromCache: number } };
    assert.equal(report.ok, true);
    assert.equal(report.served, 301);
    assert.equal(report.checkpoint.size, 601);
    assert.equal(report.audit.fromCache, 512, 'the second audit resumes from the cache');
  });

  it('a window with an entry hidden exits 1 naming the leaf', async () => {
    const saved = s.entries;
    const victim = saved.find((e) => e.logType === 'UserActivityLog')!;
    s.entries = saved.filter((e) => e !== victim);
    try {
      const r = await runCli(online('--type', 'UserActivityLog', '--from', at(0)), { env });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout.includes('HIDDEN'), true, r.stderr);
      assert.match(
        r.stdout,
        new RegExp(`HIDDEN: leaf ${victim.leafIndex} \\(eventTime ${victim.eventTime}\\) was logged before the read began but not served`),
      );
      assert.match(r.stderr, /the window is not proven complete: 1 hidden/);
    } finally {
      s.entries = saved;
    }
  });

  it('a rollback and a fork exit 1 with a precise message, and the state keeps the last good checkpoint', async () => {
    const old = s.checkpoint;
    await s.append([{ logType: 'AccessLog', eventTime: at(2) }]);
    assert.equal((await runCli(online(), { env })).code, 0);
    const stateBefore = readFileSync(join(dir, 'state.json'), 'utf8');
    s.checkpoint = old;
    const rollback = await runCli(online(), { env });
    assert.equal(rollback.code, 1);
    assert.match(rollback.stderr, /^logwarden: rollback: the log now shows a signed tree of size 601 .* smaller than the tree of size 602/);
    assert.equal(readFileSync(join(dir, 'state.json'), 'utf8'), stateBefore);
    // The same log by another name for its host: its state is found by the origin the checkpoint signs.
    const byName = online().map((a) => (a === s.url ? s.url.replace('127.0.0.1', 'localhost') : a));
    assert.notDeepEqual(byName, online());
    const renamed = await runCli(byName, { env });
    assert.equal(renamed.code, 1, renamed.stderr);
    assert.match(
      renamed.stderr,
      /^logwarden: this log was verified before at http:\/\/127\.0\.0\.1:\d+\/v2\/tlog\/\d+\/: its key and last checkpoint there are checked against$/m,
    );
    assert.match(renamed.stderr, /^logwarden: rollback: the log now shows a signed tree of size 601 /m);

    const real = [...s.leaves];
    try {
      await s.rewrite([
        buildEntryLeaf({ logType: 'AccessLog', eventTime: at(3), wireText: '{"forged":true}' }),
        ...real.slice(1),
        ...real.slice(0, 3),
      ]);
      const fork = await runCli(online('--json'), { env });
      assert.equal(fork.code, 1);
      assert.equal((JSON.parse(fork.stdout) as { failure: string }).failure, 'fork');
      assert.match(fork.stderr, /fork: the signed tree of size 605 .* does not extend the tree of size 602/);
    } finally {
      await s.rewrite(real);
    }
  });

  it('a pinned key that did not sign the checkpoint exits 1', async () => {
    const other = generateNoteKey(s.origin).verifierKey;
    const r = await runCli(['verify', '--url', s.url, '--tenant', s.tenantId, '--state', join(dir, 'other.json'), '--log-key', other], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the checkpoint is not validly signed by/);
  });

  it("another log's key, pinned on a first run: says so, and claims nothing of a state file that does not exist", async () => {
    const statePath = join(dir, 'first-run.json');
    const otherLog = generateNoteKey('logwarden/test-store/999999999999999999').verifierKey;
    const r = await runCli(['verify', '--url', s.url, '--tenant', s.tenantId, '--state', statePath, '--log-key', otherLog], { env });
    assert.equal(r.code, 1);
    const lines = r.stderr.split('\n');
    assert.equal(
      lines[0],
      `logwarden: the checkpoint is not validly signed by ${otherLog} (the pinned key): that key is the key of the log "logwarden/test-store/999999999999999999", and the checkpoint is of the log "${s.origin}"`,
    );
    assert.equal(lines[1], `(is --log-key the key of tenant ${s.tenantId}'s log? \`logwarden tenants show ${s.tenantId}\` on the server prints it)`);
    assert.equal(lines[2], `(nothing was saved: the state file ${statePath} holds no checkpoint of this log yet)`);
    assert.doesNotMatch(r.stderr, /still holds/);
    assert.equal(existsSync(statePath), false);
  });

  it('a pinned key other than the trusted one that does not sign the checkpoint: the signature is named first, then the mismatch', async () => {
    const statePath = join(dir, 'trusted.json');
    assert.equal((await runCli(['verify', '--url', s.url, '--tenant', s.tenantId, '--state', statePath], { env })).code, 0);
    const saved = readFileSync(statePath, 'utf8');
    const otherLog = generateNoteKey('logwarden/test-store/999999999999999999').verifierKey;
    const r = await runCli(['verify', '--url', s.url, '--tenant', s.tenantId, '--state', statePath, '--log-key', otherLog, '--json'], {
      env,
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^logwarden: the checkpoint is not validly signed by ${reEscape(otherLog)} \\(the pinned key\\): that key is the key of the log .*; and the pinned key is not the key this state trusted before \\(${reEscape(s.verifierKey)}\\), which does sign it; a log's key does not change: check where each came from, and use another state file only once you know which is right\n`,
      ),
    );
    assert.match(r.stderr, new RegExp(`\\(the state file ${reEscape(statePath)} still holds the last checkpoint that verified\\)\n$`));
    assert.equal((JSON.parse(r.stdout) as { failure: string }).failure, 'key-mismatch');
    assert.equal(readFileSync(statePath, 'utf8'), saved);
  });

  it('a tenant the credentials cannot read: the 404 says the key may belong to another tenant (verify and fetch --format bundle)', async () => {
    const other = '123456789012345678';
    const hint = `; the verifiable log endpoints answer 404 for any tenant but the credentials' own: the access key or token may belong to another tenant than ${other}, or the tenant id is mistyped`;
    const statePath = join(dir, 'other-tenant.json');
    const v = await runCli(['verify', '--url', s.url, '--tenant', other, '--state', statePath], { env });
    assert.equal(v.code, 1);
    assert.ok(v.stderr.startsWith('logwarden: HTTP 404: Not Found (requestId test)' + hint), v.stderr);
    assert.equal(existsSync(statePath), false);
    const pinned = await runCli(['verify', '--url', s.url, '--tenant', other, '--state', statePath, '--log-key', s.verifierKey], { env });
    assert.equal(pinned.code, 1);
    assert.ok(pinned.stderr.includes(hint), pinned.stderr);
    const f = await runCli(
      ['fetch', '--url', s.url, '--tenant', other, '--type', 'AccessLog', '--from', at(0), '--format', 'bundle', '--out', join(dir, 'x.bundle')],
      { env },
    );
    assert.equal(f.code, 1);
    assert.ok(f.stderr.includes(hint), f.stderr);
  });

  /** `fetch --format bundle` of AccessLog [from, to) into `file`, with the pinned key. */
  const fetchBundle = (file: string, from: string, to: string) =>
    runCli(
      [
        'fetch',
        '--url',
        s.url,
        '--tenant',
        s.tenantId,
        '--type',
        'AccessLog',
        '--from',
        from,
        '--to',
        to,
        '--format',
        'bundle',
        '--out',
        file,
        '--log-key',
        s.verifierKey,
      ],
      { env },
    );

  it('--check-tiles without a window says what it read: every leaf and tile', async () => {
    const r = await runCli(online('--log-key', s.verifierKey, '--check-tiles'), { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Audit: all \d[\d,]* leaves hash to the signed root \(.*; every tile checked\)$/m);
    assert.match(r.stdout, /every leaf and tile up to it was read and matches its root\./);
  });

  it('files it cannot read or write are named in words, not the system error', async () => {
    const missing = await runCli(['verify', '--bundle', join(dir, 'nosuch.bundle'), '--log-key', s.verifierKey]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, `logwarden: cannot read ${join(dir, 'nosuch.bundle')} (no such file)\n`);
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    const cache = await runCli(online('--cache-dir', file), { env });
    assert.equal(cache.code, 1);
    assert.equal(
      cache.stderr,
      `logwarden: cannot use ${file} as the cache folder (a file is in the way of a folder); give another with --cache-dir\n`,
    );
    const state = await runCli(online('--state', join(file, 'state.json')), { env });
    assert.equal(state.code, 1);
    assert.match(state.stderr, /^logwarden: cannot (read|write) the state file .*not-a-folder\/state\.json \(a part of the path is a file\)/m);
  });

  it('fetch --format bundle that cannot be written whole (a file-size limit) leaves --out as it was, and no part of a bundle', async () => {
    const file = join(dir, 'capped.bundle');
    writeFileSync(file, 'an earlier file');
    // A shell that ignores SIGXFSZ and caps files at 8 KiB: the write fails with EFBIG.
    const r = await runCliProcess(
      [
        'fetch',
        '--url',
        s.url,
        '--tenant',
        s.tenantId,
        '--type',
        'AccessLog',
        '--from',
        at(0),
        '--format',
        'bundle',
        '--out',
        file,
        '--log-key',
        s.verifierKey,
      ],
      { env, as: ['sh', '-c', `trap '' XFSZ; ulimit -f 8; exec "$@"`, 'sh'] },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stderr, `logwarden: cannot write to ${file} (file too large); no bundle written (${file} is as it was)\n`);
    assert.equal(readFileSync(file, 'utf8'), 'an earlier file');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('capped.bundle.')),
      [],
      'no partial bundle left beside it',
    );
  });

  it('fetch --format bundle into a symbolic link or a pipe writes through it, and leaves the link or the pipe in place', async () => {
    // A link: the file it leads to gets the bundle (made if missing), the link stays a link.
    const link = join(dir, 'link.bundle');
    const target = join(dir, 'linked-to.bundle');
    symlinkSync('linked-to.bundle', link);
    for (const round of [1, 2]) {
      const r = await fetchBundle(link, at(100), at(110));
      assert.equal(r.code, 0, `round ${round}: ${r.stderr}`);
      assert.ok(lstatSync(link).isSymbolicLink(), `round ${round}: the link is still a link`);
      assert.equal(JSON.parse(readFileSync(target, 'utf8')).format, 'logwarden-evidence/v1');
    }
    const ok = await runCli(['verify', '--bundle', link, '--log-key', s.verifierKey]);
    assert.equal(ok.code, 0, ok.stderr);

    // A named pipe (as /dev/stdout may be): the bundle goes down it, and it stays a pipe. Its
    // reading end is opened first, without waiting, and read while the command runs.
    const fifo = join(dir, 'bundle.fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      let ended = false;
      // In a process of its own: a write to the pipe waits for this one to read it.
      const run = runCliProcess(
        ['fetch', '--url', s.url, '--tenant', s.tenantId, '--type', 'AccessLog', '--from', at(100), '--to', at(110)].concat([
          '--format',
          'bundle',
          '--out',
          fifo,
          '--log-key',
          s.verifierKey,
        ]),
        { env },
      ).finally(() => (ended = true));
      const chunks: Buffer[] = [];
      for (;;) {
        const buf = Buffer.alloc(65_536);
        let n = -1;
        try {
          n = readSync(fd, buf, 0, buf.length, null);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        }
        if (n > 0) chunks.push(buf.subarray(0, n));
        else if (ended) break;
        else await new Promise((r) => setTimeout(r, 5));
      }
      const r = await run;
      assert.equal(r.code, 0, r.stderr);
      assert.ok(lstatSync(fifo).isFIFO(), 'the pipe is still a pipe');
      const piped = join(dir, 'from-pipe.bundle');
      writeFileSync(piped, Buffer.concat(chunks));
      const read = await runCli(['verify', '--bundle', piped, '--log-key', s.verifierKey]);
      assert.equal(read.code, 0, read.stderr);
      assert.deepEqual(JSON.parse(readFileSync(piped, 'utf8')).entries, JSON.parse(readFileSync(target, 'utf8')).entries);
    } finally {
      closeSync(fd);
    }
  });

  it('fetch --format bundle writes a bundle that verifies offline; one entry exports as tlog-proof@v1; tampering is caught', async () => {
    const file = join(dir, 'window.bundle');
    const fetched = await fetchBundle(file, at(100), at(200));
    assert.equal(fetched.code, 0, fetched.stderr);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as {
      entries: { leafIndex: number; wireText: string }[];
      leaves: string[];
      leafRange: { from: number; to: number };
    };
    assert.ok(bundle.entries.length > 10);

    const ok = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /COMPLETE within the bundled leaf range/);
    assert.match(ok.stdout, /What it does not prove: anything about leaves before or after that range/);

    const entry = bundle.entries[3]!;
    const proofFile = join(dir, 'entry.proof');
    const exported = await runCli([
      'verify',
      '--bundle',
      file,
      '--log-key',
      s.verifierKey,
      '--entry',
      String(entry.leafIndex),
      '--proof-out',
      proofFile,
    ]);
    assert.equal(exported.code, 0, exported.stderr);
    const proofText = readFileSync(proofFile, 'utf8');
    assert.match(proofText, /^c2sp\.org\/tlog-proof@v1\nindex \d+\n/);
    const eventTime = (JSON.parse(entry.wireText) as { eventTime: string }).eventTime;
    const leaf = entryLeafHash({ logType: 'AccessLog', eventTime, wireText: entry.wireText });
    assert.equal(verifyTlogProof(proofText, leaf, parseVerifierKey(s.verifierKey)).index, entry.leafIndex);
    // With --json and no file, the proof is inside the one JSON report.
    const asJson = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey, '--entry', String(entry.leafIndex), '--json']);
    assert.equal(asJson.code, 0, asJson.stderr);
    assert.equal((JSON.parse(asJson.stdout) as { proof: string }).proof, proofText);
    // A leaf of the range that is none of the bundle's entries has no entry to prove.
    const notEntry = bundle.leaves.findIndex((_, i) => !bundle.entries.some((e) => e.leafIndex === bundle.leafRange.from + i));
    assert.ok(notEntry >= 0);
    const foreign = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey, '--entry', String(bundle.leafRange.from + notEntry)]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /is none of its entries/);

    const edited = structuredClone(bundle);
    edited.entries[2]!.wireText = edited.entries[2]!.wireText.replace('"n":', '"n":9');
    writeFileSync(join(dir, 'edited.bundle'), JSON.stringify(edited));
    const bad = await runCli(['verify', '--bundle', join(dir, 'edited.bundle'), '--log-key', s.verifierKey]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      new RegExp(`NOT IN THE LOG: the entry at position 2 \\(leaf ${edited.entries[2]!.leafIndex}\\): the entry is not what leaf \\d+ logged`),
    );

    // Entries reordered, each still its leaf: caught by the served order (ascending eventTime).
    const time = (e: { wireText: string }) => (JSON.parse(e.wireText) as { eventTime: string }).eventTime;
    const k = bundle.entries.findIndex((e, i) => i > 0 && time(e) > time(bundle.entries[i - 1]!));
    assert.ok(k > 0);
    const reordered = structuredClone(bundle);
    [reordered.entries[k - 1], reordered.entries[k]] = [reordered.entries[k]!, reordered.entries[k - 1]!];
    writeFileSync(join(dir, 'reordered.bundle'), JSON.stringify(reordered));
    const moved = await runCli(['verify', '--bundle', join(dir, 'reordered.bundle'), '--log-key', s.verifierKey]);
    assert.equal(moved.code, 1);
    assert.match(
      moved.stdout,
      new RegExp(
        `OUT OF ORDER: the entry at position ${k} \\(leaf ${reordered.entries[k]!.leafIndex}, eventTime ${time(reordered.entries[k]!)}\\) ` +
          `comes after one of ${time(reordered.entries[k - 1]!)}: a window is served in ascending eventTime, so the entries were reordered`,
      ),
    );
    assert.doesNotMatch(moved.stdout, /NOT IN THE LOG|HIDDEN/);
    assert.match(
      moved.stderr,
      /the bundle does not prove its window: 0 hidden, 0 entries not in the log, 0 bad deletion receipts, 1 entries out of the served order\n$/,
    );

    // A hand-edited field that is no longer of its kind: the file and the field are named.
    const yesterday = structuredClone(bundle) as typeof bundle & { window: { from: unknown } };
    yesterday.window.from = 'yesterday';
    writeFileSync(join(dir, 'yesterday.bundle'), JSON.stringify(yesterday));
    const badWindow = await runCli(['verify', '--bundle', join(dir, 'yesterday.bundle'), '--log-key', s.verifierKey]);
    assert.equal(badWindow.code, 1);
    assert.equal(
      badWindow.stderr,
      `logwarden: ${join(dir, 'yesterday.bundle')}: window.from is not an ISO-8601 date-time with an offset: "yesterday"\n`,
    );

    // A bundle that fails exports no proof, even of an entry that is its leaf.
    const noProof = join(dir, 'never.proof');
    const failing = await runCli([
      'verify',
      '--bundle',
      join(dir, 'edited.bundle'),
      '--log-key',
      s.verifierKey,
      '--entry',
      String(entry.leafIndex),
      '--proof-out',
      noProof,
    ]);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /; no proof written\n$/);
    assert.equal(existsSync(noProof), false);

    assert.equal((await runCli(['verify', '--bundle', file])).code, 2);
    // Flags a bundle cannot honour are refused, not ignored.
    const windowFlags = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey, '--type', 'UserCallPlay', '--from', '1d']);
    assert.equal(windowFlags.code, 2);
    assert.match(windowFlags.stderr, /--type, --from go with --url: a bundle checks the window it was fetched for/);
    const proofOutAlone = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey, '--proof-out', noProof]);
    assert.equal(proofOutAlone.code, 2);
    assert.match(proofOutAlone.stderr, /--proof-out needs --entry/);

    const outside = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey, '--entry', '0']);
    assert.equal(outside.code, 1);
    assert.equal(
      outside.stderr,
      `logwarden: ${file}: leaf 0 is not in the bundle: it holds leaves ${bundle.leafRange.from} to ${bundle.leafRange.to - 1} (each entry's leaf index is its "leafIndex" in the bundle's "entries")\n`,
    );
  });

  it('an empty bundle says it holds no leaves', async () => {
    const file = join(dir, 'empty.bundle');
    const fetched = await fetchBundle(file, '2020-01-01', '2020-01-02');
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.match(fetched.stderr, /; no leaves: the server served no entries for the window\)\n/);
    const ok = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /\nThe bundle holds no leaves: the server served no entries for its window\n/);
    assert.match(ok.stdout, /: no entries, so nothing to prove beyond the signed checkpoint\n/);
    assert.doesNotMatch(ok.stdout, /Leaves 0 to 0|COMPLETE/);
    const entry = await runCli(['verify', '--bundle', file, '--log-key', s.verifierKey, '--entry', '0']);
    assert.equal(entry.code, 1);
    assert.match(entry.stderr, /leaf 0 is not in the bundle: it holds no leaves \(the server served no entries for its window\)\n$/);
  });
});
