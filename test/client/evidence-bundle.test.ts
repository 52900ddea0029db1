/**
 * Offline evidence bundles: fetched from a real HTTP server serving a tree per the agreed wire
 * surface, checked with no network against the pinned key; every kind of edit to the file is
 * caught; one entry's proof exports as a tlog-proof@v1 that the library verifies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  checkEvidenceBundle,
  type EvidenceBundle,
  EvidenceError,
  fetchEvidenceBundle,
  outsideRanges,
  parseEvidenceBundle,
  TlogClient,
  tlogProofFromBundle,
} from '../../src/client/index.ts';
import { entryLeafHash, generateNoteKey, parseVerifierKey, verifyTlogProof } from '../../src/tlog/index.ts';
import { circlingFetch, startTlogServer, type TlogTestServer } from '../support/tlog-server.ts';

const T0 = Date.parse('2026-03-04T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const WINDOW = { logType: 'AccessLog', from: at(100), to: at(200) };

describe('evidence bundles', () => {
  let s: TlogTestServer;
  let bundle: EvidenceBundle;
  before(async () => {
    s = await startTlogServer();
    const types = ['AccessLog', 'UserActivityLog', 'UserCallPlay'];
    await s.append(Array.from({ length: 1300 }, (_, i) => ({ logType: types[i % 3]!, eventTime: at((i * 53) % 700) })));
    const client = new TlogClient({ baseUrl: s.url, accessKey: s.accessKey, secret: s.secret, tenantId: s.tenantId, requestsPerSecond: 0 });
    const got = await fetchEvidenceBundle(client, WINDOW, { logKey: s.verifierKey });
    bundle = got.bundle;
    assert.equal(got.check.complete, true);
  });
  after(() => s.close());
  const tampered = (edit: (b: EvidenceBundle) => void) => {
    const b = structuredClone(bundle);
    edit(b);
    return b;
  };

  it('holds the window as served, the leaves it spans and only the subtree hashes outside them', () => {
    const expected = s.entries.filter((e) => e.logType === 'AccessLog' && e.eventTime >= WINDOW.from && e.eventTime < WINDOW.to);
    assert.equal(bundle.entries.length, expected.length);
    assert.deepEqual(new Set(bundle.entries.map((e) => e.wireText)), new Set(expected.map((e) => e.wireText)));
    const { from, to } = bundle.leafRange;
    assert.equal(bundle.leaves.length, to - from);
    assert.equal(bundle.subtreeHashes.length, outsideRanges(from, to, s.tree.size).length);
    assert.ok(bundle.subtreeHashes.length <= 2 * Math.ceil(Math.log2(s.tree.size)));
    const check = checkEvidenceBundle(bundle, s.verifierKey);
    assert.equal(check.complete, true);
    assert.equal(check.entries, expected.length);
    assert.equal(check.inWindow, expected.length);
    assert.equal(check.bundleKeyMatches, true);
  });

  it('an entry edited, an entry dropped, an entry added: listed', () => {
    const edited = checkEvidenceBundle(
      tampered((b) => (b.entries[1]!.wireText = b.entries[1]!.wireText.replace('"n":', '"n":7'))),
      s.verifierKey,
    );
    assert.equal(edited.complete, false);
    assert.match(edited.mismatched[0]!.reason, /not what leaf \d+ logged/);
    // The edited entry's leaf was in the bundle, altered, not hidden: reported once.
    assert.deepEqual(edited.missing, []);
    const twice = checkEvidenceBundle(
      tampered((b) => b.entries.splice(2, 0, structuredClone(b.entries[1]!))),
      s.verifierKey,
    );
    assert.equal(twice.complete, false);
    assert.deepEqual(twice.missing, []);
    assert.deepEqual(
      twice.mismatched.map((m) => m.position),
      [2],
    );
    assert.match(twice.mismatched[0]!.reason, /in the bundle more often than it was logged: a duplicate/);
    const dropped = tampered((b) => b.entries.splice(2, 1));
    assert.deepEqual(checkEvidenceBundle(dropped, s.verifierKey).missing, [bundle.entries[2]!.leafIndex]);
    const added = checkEvidenceBundle(
      tampered((b) => b.entries.push({ ...b.entries[0]!, leafIndex: b.leafRange.from + 1 })),
      s.verifierKey,
    );
    assert.equal(added.complete, false);
  });

  it('entries reordered after the fetch (each still its leaf): listed as out of the served eventTime order', () => {
    const time = (i: number) => (JSON.parse(bundle.entries[i]!.wireText) as { eventTime: string }).eventTime;
    const k = bundle.entries.findIndex((_, i) => i > 0 && time(i) > time(i - 1));
    assert.ok(k > 0, 'two entries of different eventTimes follow each other');
    assert.deepEqual(checkEvidenceBundle(bundle, s.verifierKey).misordered, []);
    const swapped = checkEvidenceBundle(
      tampered((b) => ([b.entries[k - 1], b.entries[k]] = [b.entries[k]!, b.entries[k - 1]!])),
      s.verifierKey,
    );
    assert.equal(swapped.complete, false);
    assert.deepEqual(swapped.mismatched, []);
    assert.deepEqual(swapped.missing, []);
    assert.deepEqual(swapped.misordered, [{ position: k, leafIndex: bundle.entries[k - 1]!.leafIndex, eventTime: time(k - 1), after: time(k) }]);
    // The whole list backwards: every entry after the first is out of order.
    const reversed = checkEvidenceBundle(
      tampered((b) => b.entries.reverse()),
      s.verifierKey,
    );
    assert.equal(reversed.complete, false);
    assert.ok(reversed.misordered.length > 0);
  });

  it('entries of one instant reordered after the fetch: listed too, since they are served in the order they were stored (their leaves)', async () => {
    const same = await startTlogServer();
    try {
      // Three entries of one millisecond (a login, a grant, a logout), between entries of other times.
      await same.append([101, 102, 102, 102, 103].map((minute) => ({ logType: 'AccessLog', eventTime: at(minute) })));
      const client = new TlogClient({
        baseUrl: same.url,
        accessKey: same.accessKey,
        secret: same.secret,
        tenantId: same.tenantId,
        requestsPerSecond: 0,
      });
      const { bundle: ties, check } = await fetchEvidenceBundle(client, WINDOW, { logKey: same.verifierKey });
      assert.equal(check.complete, true, 'served in their leaves’ order');
      assert.deepEqual(
        ties.entries.map((e) => e.leafIndex),
        [0, 1, 2, 3, 4],
      );
      const swapped = structuredClone(ties);
      [swapped.entries[1], swapped.entries[3]] = [swapped.entries[3]!, swapped.entries[1]!];
      const result = checkEvidenceBundle(swapped, same.verifierKey);
      assert.equal(result.complete, false);
      assert.deepEqual(
        result.misordered.map((m) => m.position),
        [2, 3],
      );
    } finally {
      await same.close();
    }
  });

  it('refuses an entry text holding a lone surrogate, which would hash as U+FFFD', () => {
    const text = bundle.entries[0]!.wireText;
    assert.throws(
      () => parseEvidenceBundle(JSON.stringify(tampered((b) => (b.entries[0]!.wireText = `${text.slice(0, -2)}\ud83d${text.slice(-2)}`)))),
      /entries\[0\]\.wireText holds a lone surrogate/,
    );
  });

  it('an entry whose text is no JSON object is listed as such, not with a TypeError of its own', () => {
    for (const text of ['null', '[1]', '7']) {
      const odd = checkEvidenceBundle(
        tampered((b) => (b.entries[0]!.wireText = text)),
        s.verifierKey,
      );
      assert.equal(odd.complete, false);
      assert.equal(odd.mismatched[0]!.reason, 'not a valid entry: its text is not a JSON object', text);
    }
  });

  it('a window edited after the fetch: entries outside it, or of another type than it names, are listed', () => {
    const later = checkEvidenceBundle(
      tampered((b) => (b.window.from = at(150))),
      s.verifierKey,
    );
    assert.equal(later.complete, false);
    assert.ok(later.mismatched.length > 0);
    for (const m of later.mismatched) assert.match(m.reason, /its eventTime lies outside the bundle's window \(the window was altered\)/);
    const retyped = checkEvidenceBundle(
      tampered((b) => (b.window.logType = 'UserCallPlay')),
      s.verifierKey,
    );
    assert.equal(retyped.complete, false);
    assert.match(retyped.mismatched[0]!.reason, /is an entry of type AccessLog, but the bundle's window names UserCallPlay/);
  });

  it('a server whose entry bundles disagree with its signed checkpoint: the fetch blames the server, not a bundle', async () => {
    const client = new TlogClient({ baseUrl: s.url, accessKey: s.accessKey, secret: s.secret, tenantId: s.tenantId, requestsPerSecond: 0 });
    s.mutate = (path, body) => {
      if (!path.startsWith('tile/entries/')) return body;
      const copy = Uint8Array.from(body);
      copy[22] = copy[22]! ^ 1;
      return copy;
    };
    try {
      await assert.rejects(fetchEvidenceBundle(client, WINDOW, { logKey: s.verifierKey }), (err: Error) => {
        assert.match(err.message, /not the signed root .*: the server's entry bundles and tiles do not match its signed checkpoint$/);
        return true;
      });
    } finally {
      s.mutate = null;
    }
  });

  it('a leaf, a subtree hash or the checkpoint edited, or another key: refused', () => {
    const flip = (text: string, at: number) => {
      const raw = Buffer.from(text, 'base64');
      raw[at] = raw[at]! ^ 1;
      return raw.toString('base64');
    };
    assert.throws(
      () =>
        checkEvidenceBundle(
          tampered((b) => (b.leaves[5] = flip(b.leaves[5]!, 30))),
          s.verifierKey,
        ),
      /not the signed root .*the bundle was altered/,
    );
    assert.throws(
      () =>
        checkEvidenceBundle(
          tampered((b) => (b.subtreeHashes[0] = flip(b.subtreeHashes[0]!, 3))),
          s.verifierKey,
        ),
      /not the signed root/,
    );
    assert.throws(
      () =>
        checkEvidenceBundle(
          tampered((b) => b.leaves.pop()),
          s.verifierKey,
        ),
      EvidenceError,
    );
    assert.throws(
      () =>
        checkEvidenceBundle(
          tampered((b) => (b.checkpoint = b.checkpoint.replace(/\n(\d+)\n/, (_, n: string) => `\n${Number(n) + 1}\n`))),
          s.verifierKey,
        ),
      /not validly signed by the pinned key/,
    );
    assert.throws(() => checkEvidenceBundle(bundle, generateNoteKey(s.origin).verifierKey), /not validly signed by the pinned key/);
  });

  it('a field edited out of its kind is refused naming the field', () => {
    const text = (edit: (b: Record<string, unknown>) => void) => {
      const b = structuredClone(bundle) as unknown as Record<string, unknown>;
      edit(b);
      return JSON.stringify(b);
    };
    const window = (b: Record<string, unknown>) => b.window as Record<string, unknown>;
    const range = (b: Record<string, unknown>) => b.leafRange as Record<string, unknown>;
    const cases: Array<[(b: Record<string, unknown>) => void, string]> = [
      [(b) => (window(b).from = 'yesterday'), 'window.from is not an ISO-8601 date-time with an offset: "yesterday"'],
      [(b) => (window(b).from = '2026-03-04T00:00:00'), 'window.from is not an ISO-8601 date-time with an offset: "2026-03-04T00:00:00"'],
      [(b) => (window(b).to = 'tomorrow'), 'window.to is not an ISO-8601 date-time with an offset (or null): "tomorrow"'],
      [(b) => delete window(b).from, 'window.from is not an ISO-8601 date-time with an offset: missing'],
      [(b) => (window(b).logType = 5), 'window.logType is not the name of a log type'],
      [(b) => (b.window = 'AccessLog'), 'window is not an object {"logType": …, "from": …, "to": …}'],
      [(b) => (range(b).from = -1), 'leafRange.from is not a leaf index (a whole number from 0)'],
      [(b) => (range(b).to = '9'), 'leafRange.to is not a leaf index (a whole number from 0)'],
      [(b) => (range(b).to = 0), `leafRange.to (0) is before leafRange.from (${bundle.leafRange.from})`],
      [(b) => delete b.verifierKey, 'verifierKey is not a string'],
      [(b) => (b.subtreeHashes = {}), 'subtreeHashes is not a list'],
    ];
    for (const [edit, message] of cases) assert.throws(() => parseEvidenceBundle(text(edit)), new EvidenceError(message), message);
  });

  it('an empty window takes one checkpoint, the one the bundle holds', async () => {
    const client = new TlogClient({ baseUrl: s.url, accessKey: s.accessKey, secret: s.secret, tenantId: s.tenantId, requestsPerSecond: 0 });
    const before = s.requests.checkpoint ?? 0;
    const got = await fetchEvidenceBundle(client, { logType: 'AccessLog', from: at(5000), to: at(6000) }, { logKey: s.verifierKey });
    assert.equal((s.requests.checkpoint ?? 0) - before, 1);
    assert.deepEqual([got.bundle.entries.length, got.bundle.leaves.length, got.check.complete], [0, 0, true]);
    assert.equal(got.bundle.checkpoint, s.checkpoint);
  });

  it("fetching with another log's key pinned says whose key it is", async () => {
    const client = new TlogClient({ baseUrl: s.url, accessKey: s.accessKey, secret: s.secret, tenantId: s.tenantId, requestsPerSecond: 0 });
    await assert.rejects(
      fetchEvidenceBundle(client, WINDOW, { logKey: generateNoteKey('example.com/other-log').verifierKey }),
      /^EvidenceError: the server's checkpoint is not signed by the pinned key example\.com\/other-log\+.*: that key is the key of the log "example\.com\/other-log"/,
    );
  });

  it('fetching from pages whose cursors lead in a circle fails instead of reading forever', { timeout: 30_000 }, async () => {
    // Pages of 10: the cursor after the second page leads back to the first.
    const circle = circlingFetch(20);
    const client = new TlogClient({
      baseUrl: s.url,
      accessKey: s.accessKey,
      secret: s.secret,
      tenantId: s.tenantId,
      requestsPerSecond: 0,
      fetch: circle,
    });
    await assert.rejects(
      fetchEvidenceBundle(client, WINDOW, { logKey: s.verifierKey, pageSize: 10, waitMs: 0 }),
      new RegExp(`^EvidenceError: the server served \\d+ entries for the window, more than the ${s.tree.size} leaves its log holds`),
    );
  });

  it('exports any bundled entry as a tlog-proof@v1 the library verifies', () => {
    for (const e of [bundle.entries[0]!, bundle.entries.at(-1)!]) {
      const text = tlogProofFromBundle(bundle, e.leafIndex, s.verifierKey);
      const eventTime = (JSON.parse(e.wireText) as { eventTime: string }).eventTime;
      const leaf = entryLeafHash({ logType: 'AccessLog', eventTime, wireText: e.wireText });
      assert.equal(verifyTlogProof(text, leaf, parseVerifierKey(s.verifierKey)).index, e.leafIndex);
    }
    assert.throws(() => tlogProofFromBundle(bundle, s.tree.size - 1 + 10, s.verifierKey), /not in the bundle/);
  });
});
