/**
 * The SDK's verifier against a real HTTP server serving a tree per the agreed wire surface:
 * checkpoints (pinned key, trust on first use, rollback, fork), the resumable audit, window
 * completeness, light-client inclusion proofs, and each tampering case with its message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type LogState, LogVerifier, MemoryLeafCache, TlogClient } from '../../src/client/index.ts';
import { buildEntryLeaf, decodeEntryBundle, encodeEntryBundle, generateNoteKey } from '../../src/tlog/index.ts';
import { circlingFetch, startTlogServer, type TlogTestServer, wireText } from '../support/tlog-server.ts';
import { rejectsWithVerifyError as rejects } from '../support/verify-errors.ts';

const T0 = Date.parse('2026-03-04T00:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const WINDOW = { logType: 'AccessLog', from: at(0), to: at(600) };

function clientOptions(s: TlogTestServer) {
  return {
    baseUrl: s.url,
    accessKey: s.accessKey,
    secret: s.secret,
    tenantId: s.tenantId,
    requestsPerSecond: 0,
    retry: { retries: 0 },
  };
}

function clientFor(s: TlogTestServer): TlogClient {
  return new TlogClient(clientOptions(s));
}

/** 700 entries of three types, eventTimes out of append order (late entries), one identical pair. */
async function fill(s: TlogTestServer, count = 700): Promise<void> {
  const types = ['AccessLog', 'UserActivityLog', 'UserCallPlay'];
  const batch = [];
  for (let i = 0; i < count; i++) batch.push({ logType: types[i % 3]!, eventTime: at((i * 7919) % 1000) });
  await s.append(batch);
  const same = wireText(at(5), 999_999);
  await s.append([
    { logType: 'AccessLog', eventTime: at(5), wireText: same },
    { logType: 'AccessLog', eventTime: at(5), wireText: same },
  ]);
}

describe('LogVerifier', () => {
  let s: TlogTestServer;
  before(async () => {
    s = await startTlogServer();
    await fill(s);
  });
  after(() => s.close());

  it('trusts the key on first use, proves a window complete, and resumes the audit from its state', async () => {
    const cache = new MemoryLeafCache();
    const v = new LogVerifier({ client: clientFor(s), cache });
    const proof = await v.proveWindow(WINDOW);
    assert.equal(v.trustedOnFirstUse, true);
    assert.equal(proof.complete, true, JSON.stringify(proof.unexpected));
    const expected = s.entries.filter((e) => e.logType === 'AccessLog' && e.eventTime < WINDOW.to).length;
    assert.equal(proof.served, expected);
    assert.equal(proof.inWindow, expected);
    assert.equal(proof.proven.length, expected);
    assert.equal(proof.checkpoint.size, s.tree.size);
    assert.equal(proof.audit.fetched, s.tree.size);
    const state = v.state!;
    assert.equal(state.keySource, 'first-use');
    assert.equal(state.verifierKey, s.verifierKey);
    assert.equal(state.audit!.size, 512);

    await s.append([{ logType: 'AccessLog', eventTime: at(1) }]);
    const again = new LogVerifier({ client: clientFor(s), cache, state: JSON.parse(JSON.stringify(state)) as LogState });
    const second = await again.proveWindow(WINDOW);
    assert.equal(second.complete, true);
    assert.equal(second.audit.fromCache, 512);
    assert.equal(second.audit.fetched, s.tree.size - 512);
    assert.equal(second.served, expected + 1);
    const third = await new LogVerifier({ client: clientFor(s), cache, state: again.state }).proveWindow(WINDOW);
    assert.equal(third.complete, true);
    assert.equal(third.audit.fromCache, 512, 'a resumed audit saves a state the next run resumes from');
  });

  it('reads as audited only leaves a signed root covered: a run a server made fail after forged bundles leaves none to trust', async () => {
    const first = new LogVerifier({ client: clientFor(s), cache: new MemoryLeafCache() });
    await first.proveWindow(WINDOW);
    const state = first.state!;
    assert.equal(state.audit!.size, 512);
    // The cache is lost (cleared, another --cache-dir), the state kept: the next run audits from leaf 0.
    const cache = new MemoryLeafCache();
    const victim = s.entries.find((e) => e.logType === 'AccessLog' && e.leafIndex < 512)!;
    const junk = new Uint8Array(60_000).fill(0x78);
    // The server forges the full bundles, the victim's leaf and every other type's made junk (big
    // enough that the verifier keeps them as it goes), then serves the last bundle malformed.
    s.mutate = (path, body) => {
      if (path.includes('.p/')) return new Uint8Array([0, 5, 1]);
      if (!path.startsWith('tile/entries/')) return body;
      const n = Number(path.slice('tile/entries/'.length));
      return encodeEntryBundle(
        decodeEntryBundle(body).map((leaf, i) => {
          const index = n * 256 + i;
          return index === victim.leafIndex || s.entries.find((e) => e.leafIndex === index)?.logType !== 'AccessLog' ? junk : leaf;
        }),
      );
    };
    try {
      await rejects(new LogVerifier({ client: clientFor(s), cache, state: structuredClone(state) }).proveWindow(WINDOW), 'bad-leaf', /malformed/);
    } finally {
      s.mutate = null;
    }
    // Then it hides the victim from the window: the leaves it forged are not taken for audited ones.
    const saved = s.entries;
    s.entries = saved.filter((e) => e !== victim);
    try {
      const proof = await new LogVerifier({ client: clientFor(s), cache, state: structuredClone(state) }).proveWindow(WINDOW);
      assert.equal(proof.audit.fromCache, 0);
      assert.equal(proof.complete, false);
      assert.deepEqual(proof.hidden, [{ leafIndex: victim.leafIndex, eventTime: victim.eventTime }]);
    } finally {
      s.entries = saved;
    }
  });

  it('checks every tile against the audited tree on request', async () => {
    const v = new LogVerifier({ client: clientFor(s), logKey: s.verifierKey });
    const cp = await v.checkpoint();
    const r = await v.audit(cp.checkpoint, undefined, { checkTiles: true });
    assert.equal(r.tilesChecked, true);
  });

  it('proves served entries included with the server inclusion proofs', async () => {
    const client = clientFor(s);
    const v = new LogVerifier({ client, logKey: s.verifierKey });
    const cp = await v.checkpoint();
    const served = await client.servedWindow({ logType: 'UserCallPlay', fromDateTime: at(0), limit: 50 });
    const r = await v.proveIncluded(
      cp.checkpoint,
      served.map((x) => ({ logType: 'UserCallPlay', entry: x.entry, leafIndex: x.leafIndex! })),
    );
    assert.equal(r.failed.length, 0);
    assert.equal(r.proven.length, served.length);
    const wrong = await v.proveIncluded(cp.checkpoint, [{ logType: 'UserCallPlay', entry: served[0]!.entry, leafIndex: served[1]!.leafIndex! }]);
    assert.match(wrong.failed[0]!.reason, /not leaf \d+ of the signed tree/);
  });

  it('refuses a checkpoint not signed by the pinned key, and a pinned key other than the one trusted before', async () => {
    const other = generateNoteKey(s.origin).verifierKey;
    await rejects(
      new LogVerifier({ client: clientFor(s), logKey: other }).checkpoint(),
      'bad-checkpoint',
      /not validly signed by logwarden\/test-store/,
    );
    const v = new LogVerifier({ client: clientFor(s) });
    await v.checkpoint();
    await rejects(
      new LogVerifier({ client: clientFor(s), logKey: other, state: v.state }).checkpoint(),
      'key-mismatch',
      /is not the key this state trusted before/,
    );
  });
});

describe('LogVerifier against a tampering server', () => {
  let s: TlogTestServer;
  let state: LogState;
  before(async () => {
    s = await startTlogServer();
    await fill(s, 300);
    const v = new LogVerifier({ client: clientFor(s), logKey: s.verifierKey });
    await v.proveWindow(WINDOW);
    state = v.state!;
  });
  after(() => s.close());
  const fresh = () => new LogVerifier({ client: clientFor(s), logKey: s.verifierKey, state: structuredClone(state) });

  it('a window served with one entry hidden', async () => {
    const saved = s.entries;
    const victim = saved.find((e) => e.logType === 'AccessLog')!;
    s.entries = saved.filter((e) => e !== victim);
    try {
      const proof = await fresh().proveWindow(WINDOW);
      assert.equal(proof.complete, false);
      assert.deepEqual(proof.hidden, [{ leafIndex: victim.leafIndex, eventTime: victim.eventTime }]);
      assert.equal(proof.unexpected.length, 0);
    } finally {
      s.entries = saved;
    }
  });

  it("an entry's text edited after it was logged", async () => {
    const saved = s.entries;
    const victim = saved.find((e) => e.logType === 'AccessLog')!;
    s.entries = saved.map((e) => (e === victim ? { ...e, wireText: e.wireText.replace('"n":', '"n":1') } : e));
    try {
      const proof = await fresh().proveWindow(WINDOW);
      assert.equal(proof.complete, false);
      assert.equal(proof.unexpected.length, 1);
      assert.equal(proof.unexpected[0]!.claimedLeafIndex, victim.leafIndex);
      assert.match(proof.unexpected[0]!.reason, new RegExp(`differs from what leaf ${victim.leafIndex} logged.*altered after it was logged`));
      // Served altered, not hidden: reported once.
      assert.deepEqual(proof.hidden, []);
    } finally {
      s.entries = saved;
    }
  });

  it('an entry served twice though logged once', async () => {
    const saved = s.entries;
    const victim = saved.find((e) => e.logType === 'AccessLog')!;
    for (const copy of [victim, { ...victim, leafIndex: victim.leafIndex + 1 }]) {
      s.entries = [...saved, copy];
      try {
        const proof = await fresh().proveWindow(WINDOW);
        assert.equal(proof.complete, false);
        assert.equal(proof.unexpected.length, 1, JSON.stringify(proof.unexpected));
        assert.match(proof.unexpected[0]!.reason, /served more often than it was logged: a duplicate/);
        assert.deepEqual(proof.hidden, []);
        assert.equal(proof.proven.length, proof.served - 1);
      } finally {
        s.entries = saved;
      }
    }
  });

  it('an entry inserted that was never logged', async () => {
    const saved = s.entries;
    s.entries = [...saved, { logType: 'AccessLog', eventTime: at(3), wireText: wireText(at(3), 424242), leafIndex: 7 }];
    try {
      const proof = await fresh().proveWindow(WINDOW);
      assert.equal(proof.complete, false);
      assert.equal(proof.unexpected.length, 1);
      assert.match(proof.unexpected[0]!.reason, /leaf 7 /);
    } finally {
      s.entries = saved;
    }
  });

  it('an entry served with a leaf index beyond the tree, or of a leaf of another type', async () => {
    const saved = s.entries;
    const victim = saved.find((e) => e.logType === 'AccessLog')!;
    const other = saved.find((e) => e.logType === 'UserCallPlay')!;
    const size = s.tree.size;
    const cases: [number, RegExp][] = [
      [
        10 ** 9,
        new RegExp(`^the server says it is leaf 1000000000, beyond the signed tree of ${size} leaves \\(this entry is leaf ${victim.leafIndex}\\)$`),
      ],
      [
        other.leafIndex,
        new RegExp(
          `^the server says it is leaf ${other.leafIndex}, but leaf ${other.leafIndex} is not a AccessLog entry \\(this entry is leaf ${victim.leafIndex}\\)$`,
        ),
      ],
    ];
    for (const [claim, reason] of cases) {
      s.entries = saved.map((e) => (e === victim ? { ...e, leafIndex: claim } : e));
      try {
        const proof = await fresh().proveWindow(WINDOW, { waitMs: 0 });
        assert.equal(proof.complete, false);
        assert.equal(proof.unexpected.length, 1);
        assert.equal(proof.unexpected[0]!.claimedLeafIndex, claim);
        assert.match(proof.unexpected[0]!.reason, reason);
      } finally {
        s.entries = saved;
      }
    }
  });

  it('pages whose cursors lead in a circle: an error, not a read that never ends', { timeout: 30_000 }, async () => {
    // Pages of 10: the cursor after the second page leads back to the first.
    const circle = circlingFetch(20);
    const v = new LogVerifier({
      client: new TlogClient({ ...clientOptions(s), fetch: circle }),
      logKey: s.verifierKey,
      state: structuredClone(state),
    });
    await rejects(
      v.proveWindow(WINDOW, { pageSize: 10, waitMs: 0 }),
      'bad-window',
      new RegExp(
        `^the server served \\d+ entries for the window, more than the ${s.tree.size} leaves its log holds: it serves entries more than once`,
      ),
    );
  });

  it("a leaf's data altered in the entry bundles (its log type, or its eventTime made malformed)", async () => {
    // Byte 22: inside leaf 0's log type line; byte 35: the '-' after the year of its eventTime.
    for (const at of [22, 35]) {
      s.mutate = (path, body) => {
        if (!path.startsWith('tile/entries/000')) return body;
        const copy = Uint8Array.from(body);
        copy[at] = copy[at]! ^ 1;
        return copy;
      };
      try {
        await rejects(fresh().proveWindow(WINDOW), 'tree-mismatch', /leaf 0 as served in tile\/entries\/000 does not match its hash in tile\/0\/000/);
      } finally {
        s.mutate = null;
      }
    }
  });

  it('a stored hash altered (a tile), with tiles checked', async () => {
    s.mutate = (path, body) => {
      if (path !== 'tile/0/001.p/46') return body;
      const copy = Uint8Array.from(body);
      copy[40] = copy[40]! ^ 0x80;
      return copy;
    };
    try {
      const v = fresh();
      const cp = await v.checkpoint();
      await rejects(v.audit(cp.checkpoint, undefined, { checkTiles: true }), 'tree-mismatch', /tile\/0\/001\.p\/46 serves hash 1 \(leaf 257\)/);
    } finally {
      s.mutate = null;
    }
  });

  it('a rollback to an older tree', async () => {
    const old = s.checkpoint;
    const v = fresh();
    const oldState = structuredClone(state);
    await s.append([{ logType: 'AccessLog', eventTime: at(2) }]);
    const newer = new LogVerifier({ client: clientFor(s), logKey: s.verifierKey, state: oldState });
    await newer.checkpoint();
    const grown = newer.state!;
    s.checkpoint = old;
    try {
      await rejects(
        new LogVerifier({ client: clientFor(s), logKey: s.verifierKey, state: grown }).checkpoint(),
        'rollback',
        /^rollback: the log now shows a signed tree of size 302 .* smaller than the tree of size 303/,
      );
      assert.equal((await v.checkpoint()).relation, 'same');
    } finally {
      await s.sign();
    }
  });

  /** A verifier that has seen the log's checkpoint as it is now. */
  const seenVerifier = async () => {
    const seen = new LogVerifier({ client: clientFor(s), logKey: s.verifierKey, state: structuredClone(state) });
    await seen.checkpoint();
    return seen;
  };

  /**
   * Runs `check` while the log's history is rewritten, all signed with its key: leaf 3 replaced by
   * a forged entry and five leaves appended (larger, but not an extension). `real` is put back after.
   */
  const withRewrittenHistory = async (wireText: string, check: (real: Uint8Array[], forged: string) => Promise<void>) => {
    const real = [...s.leaves];
    const forged = buildEntryLeaf({ logType: 'AccessLog', eventTime: at(9), wireText });
    try {
      await s.rewrite([...real.slice(0, 3), forged, ...real.slice(4), ...real.slice(0, 5)]);
      await check(real, forged);
    } finally {
      await s.rewrite(real);
    }
  };

  it('a wrong consistency proof from the endpoint is not taken for a fork when the tiles prove the tree extends', async () => {
    const seen = await seenVerifier();
    await s.append([{ logType: 'AccessLog', eventTime: at(4) }]);
    // The endpoint's answer with its first hash dropped.
    const wrong = async (input: string, init: RequestInit): Promise<Response> => {
      const res = await fetch(input, init);
      if (!new URL(input).pathname.endsWith('/proof/consistency')) return res;
      const doc = (await res.json()) as { hashes: string[] };
      return new Response(JSON.stringify({ ...doc, hashes: doc.hashes.slice(1) }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const v = new LogVerifier({ client: new TlogClient({ ...clientOptions(s), fetch: wrong }), logKey: s.verifierKey, state: seen.state });
    assert.equal((await v.checkpoint()).relation, 'extends');
  });

  /** A fetch for this server whose consistency proof endpoint answers 404, as a server without one does. */
  const withoutProofs = async (input: string, init: RequestInit): Promise<Response> =>
    new URL(input).pathname.endsWith('/proof/consistency')
      ? new Response(JSON.stringify({ requestId: 'test', errors: ['Not Found'] }), { status: 404, headers: { 'content-type': 'application/json' } })
      : fetch(input, init);

  it('tiles that do not hash to the signed checkpoint, with no consistency proof endpoint: said as such, not a fork', async () => {
    const seen = await seenVerifier();
    await s.append([{ logType: 'AccessLog', eventTime: at(6) }]);
    // The newest leaf's hash altered in the partial level 0 tile that holds it.
    s.mutate = (path, body) => {
      if (!/^tile\/0\/\d+\.p\//.test(path)) return body;
      const copy = Uint8Array.from(body);
      copy[copy.length - 1] = copy[copy.length - 1]! ^ 1;
      return copy;
    };
    try {
      const v = new LogVerifier({ client: new TlogClient({ ...clientOptions(s), fetch: withoutProofs }), logKey: s.verifierKey, state: seen.state });
      await rejects(
        v.checkpoint(),
        'tree-mismatch',
        new RegExp(
          `^the server's tiles do not match its signed checkpoint of size ${s.tree.size} \\(root [^)]+\\): they give root [^;]+; ` +
            `so whether that tree extends the tree of size ${s.tree.size - 1} .* cannot be proven \\(the server has no consistency proof endpoint\\)$`,
        ),
      );
    } finally {
      s.mutate = null;
    }
  });

  it('a wrong consistency proof and tiles that cannot be read: not proven, not a fork', async () => {
    const seen = await seenVerifier();
    await s.append([{ logType: 'AccessLog', eventTime: at(7) }]);
    const broken = async (input: string, init: RequestInit): Promise<Response> => {
      const { pathname } = new URL(input);
      if (pathname.includes('/tile/') && !pathname.includes('/tile/entries/')) return new Response('gone', { status: 410 });
      if (!pathname.endsWith('/proof/consistency')) return fetch(input, init);
      const doc = (await (await fetch(input, init)).json()) as { hashes: string[] };
      return new Response(JSON.stringify({ ...doc, hashes: doc.hashes.slice(1) }), { status: 200, headers: { 'content-type': 'application/json' } });
    };
    const v = new LogVerifier({ client: new TlogClient({ ...clientOptions(s), fetch: broken }), logKey: s.verifierKey, state: seen.state });
    await rejects(
      v.checkpoint(),
      'unproven',
      /^whether the signed tree of size \d+ .* extends the tree of size \d+ .* cannot be proven: the server's consistency proof does not verify, and its tiles cannot be read \(.+\)$/,
    );
  });

  it('a log that grew from empty extends it, with no consistency proof endpoint', async () => {
    const empty = await startTlogServer();
    try {
      const client = () => new TlogClient({ ...clientOptions(empty), fetch: withoutProofs });
      const first = new LogVerifier({ client: client(), logKey: empty.verifierKey });
      assert.equal((await first.checkpoint()).checkpoint.size, 0);
      await empty.append([{ logType: 'AccessLog', eventTime: at(1) }]);
      assert.equal((await new LogVerifier({ client: client(), logKey: empty.verifierKey, state: first.state }).checkpoint()).relation, 'extends');
    } finally {
      await empty.close();
    }
  });

  it('a rewritten history proven from the tiles when the server has no consistency proof endpoint (fork)', async () => {
    const seen = await seenVerifier();
    await withRewrittenHistory('{"forged":2}', async () => {
      await rejects(
        new LogVerifier({
          client: new TlogClient({ ...clientOptions(s), fetch: withoutProofs }),
          logKey: s.verifierKey,
          state: seen.state,
        }).checkpoint(),
        'fork',
        /^fork: the signed tree of size \d+ .* does not extend the tree of size \d+ .*: its tiles, which hash to its signed root, give its first \d+ leaves the root [^ ]+ \(the server has no consistency proof endpoint\)/,
      );
    });
  });

  it('a checkpoint re-signed for a rewritten history (fork)', async () => {
    const seen = await seenVerifier();
    await withRewrittenHistory('{"forged":1}', async (real, forged) => {
      await rejects(
        new LogVerifier({ client: clientFor(s), logKey: s.verifierKey, state: seen.state }).checkpoint(),
        'fork',
        /^fork: the signed tree of size \d+ .* does not extend the tree of size \d+ .*: its tiles, which hash to its signed root, give its first \d+ leaves the root [^ ]+ \(the server's consistency proof does not verify\)/,
      );
      // The same size with another root.
      await s.rewrite([...real.slice(0, 3), forged, ...real.slice(4)]);
      await rejects(
        new LogVerifier({ client: clientFor(s), logKey: s.verifierKey, state: seen.state }).checkpoint(),
        'fork',
        /^fork: two different trees of size \d+ are signed/,
      );
    });
  });
});

describe('LogVerifier on a large window', () => {
  let s: TlogTestServer;
  before(async () => {
    s = await startTlogServer();
    // More entries than a spread of arguments (Math.max(...xs)) takes: about 125,000 overflow the stack.
    await s.append(Array.from({ length: 130_000 }, (_, i) => ({ logType: 'AccessLog', eventTime: at(i % 600) })));
  });
  after(() => s.close());

  it('proves a window of 130,000 entries complete', { timeout: 120_000 }, async () => {
    const proof = await new LogVerifier({ client: clientFor(s), cache: new MemoryLeafCache() }).proveWindow({ ...WINDOW, to: at(600) });
    assert.equal(proof.complete, true);
    assert.equal(proof.served, 130_000);
    assert.equal(proof.inWindow, 130_000);
  });
});

describe('LogVerifier and leaves that look appended during the read', () => {
  let s: TlogTestServer;
  let stale: string;
  let added: { leafIndex: number; eventTime: string }[];
  before(async () => {
    s = await startTlogServer();
    await fill(s, 300);
    stale = s.checkpoint;
    added = (await s.append([1, 2, 3].map((m) => ({ logType: 'AccessLog', eventTime: at(m) })))).map((e) => ({
      leafIndex: e.leafIndex,
      eventTime: e.eventTime,
    }));
  });
  after(() => s.close());

  /** A client whose first checkpoint is `stale` and whose `/v2/logs` reads leave out the added entries on the reads `hide` says. */
  function staleClient(hide: (read: number) => boolean): TlogClient {
    let checkpoints = 0;
    let reads = 0;
    const all = s.entries;
    const fetchFn = async (input: string, init: RequestInit): Promise<Response> => {
      if (input.endsWith('/checkpoint') && checkpoints++ === 0)
        return new Response(stale, { status: 200, headers: { 'content-type': 'text/plain' } });
      if (new URL(input).pathname === '/v2/logs' && hide(reads++)) {
        s.entries = all.filter((e) => !added.some((a) => a.leafIndex === e.leafIndex));
        try {
          return await fetch(input, init);
        } finally {
          s.entries = all;
        }
      }
      return fetch(input, init);
    };
    return new TlogClient({ ...clientOptions(s), fetch: fetchFn });
  }

  it('a server that shows an old checkpoint first cannot pass off the leaves it hides as appended during the read', async () => {
    const proof = await new LogVerifier({ client: staleClient(() => true), logKey: s.verifierKey }).proveWindow(WINDOW);
    assert.equal(proof.sizeAtStart, added[0]!.leafIndex);
    assert.deepEqual(proof.late, []);
    assert.deepEqual(
      proof.hidden,
      added.map((a) => ({ ...a, servedOnSecondRead: false })),
    );
    assert.equal(proof.complete, false);
  });

  it('leaves appended while the window was read are late, not hidden, once a second read serves them', async () => {
    // Only the first read (one page) leaves them out, as a log they reached after it would.
    const proof = await new LogVerifier({ client: staleClient((read) => read === 0), logKey: s.verifierKey }).proveWindow(WINDOW);
    assert.deepEqual(proof.late, added);
    assert.deepEqual(proof.hidden, []);
    assert.equal(proof.complete, true);
  });
});

describe('LogVerifier reading a window again for its late leaves', () => {
  let s: TlogTestServer;
  before(async () => {
    s = await startTlogServer();
    await fill(s, 900);
  });
  after(() => s.close());

  it('reads again only from the earliest late leaf on, not the whole window', async () => {
    let pages = 0;
    let late: { leafIndex: number; eventTime: string }[] = [];
    const fetchFn = async (input: string, init: RequestInit): Promise<Response> => {
      if (new URL(input).pathname !== '/v2/logs') return fetch(input, init);
      const res = await fetch(input, init);
      // After the first page (whose snapshot leaves it out), an entry of the window's last minutes is logged.
      if (pages++ === 0)
        late = (await s.append([{ logType: 'AccessLog', eventTime: at(590) }])).map(({ leafIndex, eventTime }) => ({ leafIndex, eventTime }));
      return res;
    };
    const client = new TlogClient({ ...clientOptions(s), fetch: fetchFn });
    const proof = await new LogVerifier({ client, logKey: s.verifierKey }).proveWindow(WINDOW, { pageSize: 10 });
    assert.deepEqual(proof.late, late);
    assert.equal(proof.complete, true);
    const firstRead = Math.ceil(proof.served / 10);
    const inTail = s.entries.filter((e) => e.logType === 'AccessLog' && e.eventTime >= at(590) && e.eventTime < WINDOW.to).length;
    assert.ok(inTail < 10);
    assert.equal(pages, firstRead + 1, `the second read is of the entries from ${at(590)} on (one page), not of all ${proof.served + 1}`);
  });
});
