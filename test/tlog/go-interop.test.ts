/**
 * Interoperability: an independent implementation of the same standards, Go's
 * golang.org/x/mod/sumdb/{note,tlog}, verifies what this library writes — the signed
 * checkpoints, the tiles (at Go's paths), inclusion of sampled leaves and consistency
 * between two checkpoints — both for a log written to a directory and for a running server's
 * log read over HTTP — and keys and notes made by Go work here.
 *
 * Needs the Debian packages golang-go and golang-golang-x-mod-dev (.ci/run installs them);
 * without them the suite is skipped with the reason, or fails under
 * LOGWARDEN_REQUIRE_SERVICES=1.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { arrayElements } from '../../src/logs/json-text.ts';
import { signCheckpoint } from '../../src/tlog/checkpoint.ts';
import { encodeEntryBundle } from '../../src/tlog/entry-bundle.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { MemoryTree } from '../../src/tlog/memory-tree.ts';
import { generateNoteKey, parseSignerKey, parseVerifierKey } from '../../src/tlog/note-key.ts';
import { openNote, signNote } from '../../src/tlog/signed-note.ts';
import { deriveTenantSigner } from '../../src/tlog/tenant-key.ts';
import { entryBundlePath, readTile, tilePath, tilesForTree } from '../../src/tlog/tile.ts';
import { basic, sqliteSealingFactory, startTestApp } from '../support/app.ts';
import { unavailable } from '../support/services.ts';

const X_MOD = '/usr/share/gocode/src/golang.org/x/mod';
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'interop', 'tlog-verify');

function whyUnavailable(): string | undefined {
  if (spawnSync('go', ['version']).error) return unavailable('go is not installed (apt-get install golang-go)');
  if (!existsSync(join(X_MOD, 'sumdb', 'tlog', 'tlog.go')) || !existsSync(join(X_MOD, 'sumdb', 'note', 'note.go'))) {
    return unavailable(`golang.org/x/mod sources not found at ${X_MOD} (apt-get install golang-golang-x-mod-dev)`);
  }
  return undefined;
}

const skip = whyUnavailable();

const SIZE = 65_800; // reaches a level 2 tile (65536 leaves complete tile 1/000)
const OLD_SIZE = 40_123;
const TYPES = ['AccessLog', 'UserActivityLog', 'UserCallPlay', 'ExternallySharedCallAccess', 'ExternallySharedCallPlay'];

function leafAt(i: number): string {
  const eventTime = new Date(Date.UTC(2026, 0, 1) + i * 1013).toISOString();
  return buildEntryLeaf({ logType: TYPES[i % TYPES.length]!, eventTime, wireText: `{"eventTime":"${eventTime}","logRecord":{"n":${i}}}` });
}

describe('interoperability with Go sumdb/note and sumdb/tlog', { skip }, () => {
  let work: string;
  let bin: string;
  let logDir: string;

  function run(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(bin, args, { input, encoding: 'utf8', timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'logwarden-go-interop-'));
    // Build from a copy so the build never writes into the repository.
    const src = join(work, 'src');
    mkdirSync(src);
    for (const f of ['go.mod', 'main.go']) copyFileSync(join(SOURCE, f), join(src, f));
    bin = join(work, 'tlog-verify');
    const build = spawnSync('go', ['build', '-o', bin, '.'], {
      cwd: src,
      encoding: 'utf8',
      timeout: 180_000,
      env: {
        ...process.env,
        GOFLAGS: '-mod=mod',
        GOPROXY: 'off',
        GOWORK: 'off',
        GO111MODULE: 'on',
        GOCACHE: process.env.GOCACHE ?? join(tmpdir(), 'logwarden-go-build-cache'),
      },
    });
    assert.equal(build.status, 0, `go build failed: ${build.stderr}`);

    // A tenant's log as the server will publish it: leaves, tiles, two signed checkpoints.
    const origin = 'logwarden/interop-store/1234567890123';
    const signer = deriveTenantSigner('interop test secret, thirty-two bytes or more', origin);
    const tree = new MemoryTree();
    for (let i = 0; i < SIZE; i++) await tree.append(leafAt(i));
    logDir = join(work, 'log');
    mkdirSync(logDir);
    writeFileSync(join(logDir, 'vkey'), `${signer.verifier.text}\n`);
    const checkpoint = async (size: number): Promise<string> =>
      signCheckpoint({ origin, size, rootHash: await tree.root(size), extensions: [] }, signer);
    writeFileSync(join(logDir, 'checkpoint'), await checkpoint(SIZE));
    writeFileSync(join(logDir, 'checkpoint.old'), await checkpoint(OLD_SIZE));
    for (const t of tilesForTree(SIZE)) {
      // C2SP tile/<L>/<N> is Go's tile/<height>/<L>/<N>.
      const goPath = join(logDir, tilePath(t).replace(/^tile\//, 'tile/8/'));
      mkdirSync(dirname(goPath), { recursive: true });
      writeFileSync(goPath, await readTile(t, tree.reader));
    }
    for (let n = 0; n * 256 < SIZE; n++) {
      const width = Math.min(256, SIZE - n * 256);
      const entries = Array.from({ length: width }, (_, i) => Buffer.from(leafAt(n * 256 + i)));
      const path = join(logDir, entryBundlePath(n, width));
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, encodeEntryBundle(entries));
    }
    const samples = [0, 1, 255, 256, 257, 12_345, OLD_SIZE - 1, OLD_SIZE, 65_535, 65_536, SIZE - 1];
    for (let k = 0; k < 40; k++) samples.push((k * 7919 + 13) % SIZE);
    writeFileSync(join(logDir, 'leaves'), samples.map((i) => `${i} ${Buffer.from(leafAt(i)).toString('base64')}\n`).join(''));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('Go verifies the checkpoints, the tree hash from tiles, every entry bundle, inclusion and consistency', () => {
    const r = run(['log', logDir]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as {
      size: number;
      oldSize: number;
      included: number;
      audited: number;
      consistent: boolean;
      tilesRead: number;
    };
    assert.equal(out.size, SIZE);
    assert.equal(out.oldSize, OLD_SIZE);
    assert.equal(out.included, 51);
    assert.equal(out.audited, SIZE);
    assert.equal(out.consistent, true);
    assert.ok(out.tilesRead > 0);
  });

  it('Go rejects a tile with one flipped bit', () => {
    const file = join(logDir, 'tile', '8', '0', '000');
    const original = readFileSync(file);
    const bad = Buffer.from(original);
    bad[100]! ^= 0x04;
    writeFileSync(file, bad);
    try {
      const r = run(['log', logDir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /tile/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('Go rejects an entry bundle whose entry was edited', () => {
    const file = join(logDir, entryBundlePath(100, 256));
    const original = readFileSync(file);
    const bad = Buffer.from(original);
    bad[bad.length - 3]! ^= 0x01;
    writeFileSync(file, bad);
    try {
      const r = run(['log', logDir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /tile\/entries\/100: entry 255 does not match its leaf hash/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('Go rejects a checkpoint signed by another key', () => {
    const file = join(logDir, 'checkpoint');
    const original = readFileSync(file, 'utf8');
    const other = parseSignerKey(generateNoteKey('logwarden/interop-store/1234567890123').signerKey);
    writeFileSync(file, signNote(original.slice(0, original.indexOf('\n\n') + 1), [other]));
    try {
      const r = run(['log', logDir]);
      assert.equal(r.status, 1);
      assert.match(r.stderr, /no verifiable signatures/);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('Go verifies a running server’s log: signature, tree hash from its tiles, entry bundles, inclusion of served entries, consistency', async () => {
    const t = await startTestApp({ factory: sqliteSealingFactory });
    const dir = mkdtempSync(join(work, 'server-'));
    try {
      const base = await t.app.listen({ host: '127.0.0.1', port: 0 });
      const auth = basic(t.readKey);
      const prefix = `${base}/v2/tlog/${t.tenantId}/`;
      const ingest = async (logType: string, n: number, from: number) => {
        const logEntries = Array.from({ length: n }, (_, i) => ({
          userId: String(from + i),
          eventTime: new Date(Date.UTC(2026, 1, 1) + (((from + i) * 7919) % 20_000) * 1000).toISOString(),
          logRecord: { n: from + i, note: 'ünïcode ✓' },
        }));
        const res = await t.ingest(logType, logEntries);
        assert.equal(res.statusCode, 201, res.body);
      };
      await ingest('AccessLog', 300, 0);
      await ingest('UserActivityLog', 250, 0);
      await ingest('AccessLog', 40, 280); // 20 duplicates
      const old = await (await fetch(`${prefix}checkpoint`, { headers: { authorization: auth } })).text();
      writeFileSync(join(dir, 'checkpoint.old'), old);
      await ingest('UserCallPlay', 333, 0);
      await ingest('AccessLog', 5, 1000);
      // Leaves of entries as /v2/logs serves them, with the leaf indexes it reports.
      const lines: string[] = [];
      for (const logType of ['AccessLog', 'UserCallPlay']) {
        const query = new URLSearchParams({ logType, fromDateTime: '2026-01-01T00:00:00Z', limit: '40' });
        const res = await fetch(`${base}/v2/logs?${query}`, { headers: { authorization: auth, 'x-logwarden-leaf-index': '1' } });
        const indexes = res.headers.get('x-logwarden-leaf-index')!.split(',').map(Number);
        const text = await res.text();
        // Each entry's wire text exactly as served: the bytes its leaf binds.
        const inner = text.slice(text.indexOf('"logEntries":[') + 14, -2);
        const spans = arrayElements(`[${inner}]`, 0);
        assert.equal(spans.length, indexes.length);
        spans.forEach(([a, b], i) => {
          const wire = `[${inner}]`.slice(a, b);
          const leaf = buildEntryLeaf({ logType, eventTime: (JSON.parse(wire) as { eventTime: string }).eventTime, wireText: wire });
          lines.push(`${indexes[i]} ${Buffer.from(leaf).toString('base64')}\n`);
        });
      }
      writeFileSync(join(dir, 'leaves'), lines.join(''));
      const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(bin, ['server', prefix, dir], { env: { ...process.env, TLOG_AUTHORIZATION: auth }, timeout: 120_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      assert.equal(out.code, 0, out.stderr);
      const result = JSON.parse(out.stdout) as {
        size: number;
        oldSize: number;
        included: number;
        audited: number;
        consistent: boolean;
        origin: string;
      };
      assert.equal(result.size, 300 + 250 + 20 + 333 + 5);
      assert.equal(result.oldSize, 570);
      assert.equal(result.included, 80);
      assert.equal(result.audited, result.size);
      assert.equal(result.consistent, true);
      assert.ok(result.origin.endsWith(`/${t.tenantId}`));
    } finally {
      await t.close();
    }
  });

  it('a key Go generated parses here, verifies Go’s note, and signs it byte for byte as Go did', () => {
    const text = 'logwarden/interop\n7\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';
    const r = run(['genkey', 'logwarden/interop'], text);
    assert.equal(r.status, 0, r.stderr);
    const go = JSON.parse(r.stdout) as { skey: string; vkey: string; note: string };
    const signer = parseSignerKey(go.skey);
    assert.equal(signer.verifier.text, go.vkey);
    assert.equal(openNote(go.note, [parseVerifierKey(go.vkey)]).text, text);
    assert.equal(signNote(text, [signer]), go.note);
  });
});
