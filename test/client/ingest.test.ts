/**
 * The SDK writing to a real logwarden server: JSON batches split under the limits, NDJSON
 * from a file stream and from objects, retries after injected 429/503 and lost answers (safe
 * because ingest is idempotent), replays counted as duplicates, and typed errors.
 */
import assert from 'node:assert/strict';
import { createReadStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { type IngestEntry, type LogEntry, LogsApiError, LogsClient } from '../../src/client/index.ts';
import { issueAccessKey } from '../../src/service/access-keys.ts';
import { BIG_INTEGER } from '../support/entries.ts';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { type GateProxy, startGateProxy } from '../support/gate-proxy.ts';
import { allBodies, type LiveSource, startLiveSource, tempDir } from '../support/live-source.ts';

const START = Date.parse('2026-02-01T00:00:00Z');

function entries(n: number, offset = 0): IngestEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    userId: String(5120938476102938000n + BigInt(offset + i)),
    eventTime: new Date(START + (offset + i) * 1000),
    logRecord: { i: offset + i, path: '/calls' },
  }));
}

describe('the SDK writing to a real logwarden server', () => {
  let source: LiveSource;
  let proxy: FaultProxy;
  let client: LogsClient;
  let direct: LogsClient;
  let gate: GateProxy;
  let gated: LogsClient;

  before(async () => {
    source = await startLiveSource();
    const key = await issueAccessKey(source.store, source.tenantId, ['api:logs:read', 'api:logs:write']);
    proxy = await startFaultProxy(source.url);
    const creds = { accessKey: key.accessKey, secret: key.secret };
    client = new LogsClient({ baseUrl: proxy.url, ...creds, retry: { baseDelayMs: 10, maxDelayMs: 50 } });
    direct = new LogsClient({ baseUrl: source.url, ...creds, requestsPerSecond: 0 });
    gate = await startGateProxy(source.url);
    gated = new LogsClient({ baseUrl: gate.url, ...creds });
  });
  after(async () => {
    await gate.close();
    await proxy.close();
    await source.close();
  });

  it('splits a JSON ingest at maxEntries and maxBytes, sums the answers, and a replay is all duplicates', async () => {
    const list = entries(25);
    const first = await client.ingest('AccessLog', list, { maxEntries: 10 });
    assert.deepEqual(first, { accepted: 25, duplicates: 0, requests: 3 });
    const stored = await allBodies(source.store, source.tenantId, 'AccessLog');
    assert.equal(stored.length, 25);
    assert.match(stored[0]!, /^\{"userId":"5120938476102938000","eventTime":"2026-02-01T00:00:00.000Z","logRecord":\{"i":0,"path":"\/calls"\}\}$/);

    const seenBefore = proxy.seen.length;
    const sizes: number[] = [];
    const replay = await client.ingest('AccessLog', list, { maxBytes: 1024, onProgress: (t) => sizes.push(t.accepted + t.duplicates) });
    assert.equal(replay.accepted, 0);
    assert.equal(replay.duplicates, 25);
    assert.ok(replay.requests > 1, 'a 1 KiB limit needs several requests');
    assert.equal(sizes.at(-1), 25);
    for (const r of proxy.seen.slice(seenBefore)) assert.ok(r.bytes <= 1024, `request of ${r.bytes} bytes`);
  });

  it('retries a batch after a 429 (waiting out Retry-After), a 503, a reset and a lost answer; the stored one comes back as duplicates', async () => {
    const list = entries(6, 100);
    proxy.faults.push(
      { kind: 'status', status: 429, retryAfter: '1' },
      { kind: 'status', status: 503 },
      { kind: 'reset' },
      { kind: 'lose-answer', status: 503 },
    );
    const seenBefore = proxy.seen.length;
    const started = Date.now();
    const r = await client.ingest('UserCallPlay', list);
    assert.ok(Date.now() - started >= 1000, 'Retry-After: 1 was waited out');
    assert.deepEqual(
      proxy.seen.slice(seenBefore).map((s) => s.status),
      [429, 503, 'reset', 503, 201],
    );
    // The fourth attempt was stored but its answer lost: the fifth finds every entry there.
    assert.deepEqual(r, { accepted: 0, duplicates: 6, requests: 1 });
    assert.equal((await allBodies(source.store, source.tenantId, 'UserCallPlay')).length, 6);
  });

  it('streams an NDJSON file in requests of whole lines, sent exactly as written', async () => {
    const dir = tempDir('logwarden-sdk-ingest-');
    const file = join(dir.path, 'events.ndjson');
    const lines = Array.from(
      { length: 40 },
      (_, i) =>
        `{"logType":"UserActivityLog","userId":"7301845529017364${String(i).padStart(3, '0')}","eventTime":"2026-02-02T00:00:${String(i).padStart(2, '0')}Z","logRecord":{"n":1.0,"big":${BIG_INTEGER}}}`,
    );
    writeFileSync(file, lines.join('\r\n') + '\n\n');
    const r = await client.ingestNdjson(createReadStream(file, { highWaterMark: 64 }), { maxEntries: 15 });
    assert.deepEqual(r, { accepted: 40, duplicates: 0, requests: 3 });
    const stored = await allBodies(source.store, source.tenantId, 'UserActivityLog');
    assert.equal(stored.length, 40);
    assert.ok(stored[0]!.includes(`"logRecord":{"n":1.0,"big":${BIG_INTEGER}}`), stored[0]);
    dir.remove();
  });

  it('streams objects as NDJSON from an async iterable, and copies entries read with the SDK losslessly', async () => {
    async function* gen() {
      for (const e of entries(5, 200)) yield { ...e, logType: 'ExternallySharedCallPlay' };
    }
    assert.deepEqual(await client.ingestNdjson(gen()), { accepted: 5, duplicates: 0, requests: 1 });
    // Entries read back (with their exact text) stored under another type.
    const read = direct.entries({ logType: 'UserActivityLog', fromDateTime: '2026-02-02T00:00:00Z' });
    async function* relabel() {
      for await (const e of read) yield { ...e, logType: 'ExternallySharedCallAccess' };
    }
    assert.deepEqual(await client.ingestNdjson(relabel()), { accepted: 40, duplicates: 0, requests: 1 });
    assert.deepEqual(
      await allBodies(source.store, source.tenantId, 'ExternallySharedCallAccess'),
      await allBodies(source.store, source.tenantId, 'UserActivityLog'),
    );
  });

  it('sends a copy of an entry read as what the copy says (a redaction), and one that keeps the record as its exact text', async () => {
    const read: LogEntry[] = [];
    for await (const e of direct.entries({ logType: 'UserActivityLog', fromDateTime: '2026-02-02T00:00:00Z' })) if (read.length < 2) read.push(e);
    assert.match(read[0]!.logRecordText, /"n":1\.0/);
    const redacted = read.map((e) => ({ ...e, userId: 'redacted', logRecord: { ...e.logRecord, n: 0 } }));
    assert.deepEqual(await client.ingest('ExternallySharedCallPlay', redacted), { accepted: 2, duplicates: 0, requests: 1 });
    const stored = (await allBodies(source.store, source.tenantId, 'ExternallySharedCallPlay')).filter((b) => b.includes('"redacted"'));
    assert.equal(stored.length, 2);
    for (const body of stored) {
      assert.match(body, /"userId":"redacted"/);
      assert.match(body, new RegExp(`"logRecord":\\{"n":0,"big":${BIG_INTEGER}\\}`));
    }
    // A copy that keeps the record (a new user id only): the record's text as read, 1.0 and all.
    const renamed = read.map((e) => ({ ...e, userId: 'renamed' }));
    assert.equal((await client.ingest('AccessLog', renamed)).accepted, 2);
    const kept = (await allBodies(source.store, source.tenantId, 'AccessLog')).filter((b) => b.includes('"renamed"'));
    assert.equal(kept.length, 2);
    for (const body of kept) assert.match(body, new RegExp(`"logRecord":\\{"n":1\\.0,"big":${BIG_INTEGER}\\}`));
  });

  it('refuses NDJSON bytes that are not UTF-8, naming the line, and sends nothing of them', async () => {
    const good = '{"logType":"AccessLog","eventTime":"2026-02-03T00:00:00Z","logRecord":{"ok":1}}\n';
    const bad = Buffer.concat([
      Buffer.from('{"logType":"AccessLog","eventTime":"2026-02-03T00:00:01Z","logRecord":{"s":"a'),
      Buffer.from([0xff, 0xed, 0xa0, 0x80]),
      Buffer.from('b"}}\n'),
    ]);
    const before = (await allBodies(source.store, source.tenantId, 'AccessLog')).length;
    await assert.rejects(client.ingestNdjson(Readable.from([Buffer.from(good), bad])), { name: 'TypeError', message: 'line 2: is not valid UTF-8' });
    assert.equal((await allBodies(source.store, source.tenantId, 'AccessLog')).length, before);
  });

  it('fails a bad batch with bad_request, saying where it was and what earlier batches stored', async () => {
    const list: IngestEntry[] = [...entries(4, 300), { eventTime: 'yesterday', logRecord: {} }];
    const err = await client.ingest('AccessLog', list, { maxEntries: 2 }).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'bad_request');
    assert.equal(err.status, 400);
    assert.deepEqual(err.ingested, { accepted: 4, duplicates: 0, requests: 2, acknowledged: [{ first: 0, last: 3 }] });
    assert.match(err.message, /entries 4–4 failed/);
    assert.match(err.messages[0]!, /logEntries\[0\]\.eventTime/);
  });

  it('keeps two requests in flight by default, and no more than concurrency: the next batch goes while one is being stored', async () => {
    /** Lets every request the gate holds through until `count` have been. */
    const forwardEach = async (count: number) => {
      for (let n = 0; n < count; ) {
        for (const r of await gate.whenHeld(1)) {
          assert.equal(await r.forward(), 201);
          n++;
        }
      }
    };
    const before = gate.received.length;
    const two = gated.ingest('AccessLog', entries(6, 500), { maxEntries: 2 });
    // Both first batches reach the server's door before either is answered.
    const firstTwo = await gate.whenHeld(2);
    assert.deepEqual(firstTwo.map((r) => JSON.parse(r.body).logEntries.map((e: { logRecord: { i: number } }) => e.logRecord.i)).sort(), [
      [500, 501],
      [502, 503],
    ]);
    await forwardEach(3);
    assert.deepEqual(await two, { accepted: 6, duplicates: 0, requests: 3 });
    assert.equal(gate.maxHeld, 2);

    const three = gated.ingest('AccessLog', entries(10, 506), { maxEntries: 2, concurrency: 3 });
    await gate.whenHeld(3);
    await forwardEach(5);
    assert.deepEqual(await three, { accepted: 10, duplicates: 0, requests: 5 });
    assert.equal(gate.maxHeld, 3);
    assert.equal(gate.received.length - before, 8);
    const stored = await allBodies(source.store, source.tenantId, 'AccessLog');
    for (let i = 500; i < 516; i++)
      assert.ok(
        stored.some((b) => b.includes(`"logRecord":{"i":${i},`)),
        `entry ${i} stored`,
      );
    await assert.rejects(gated.ingest('AccessLog', entries(1), { concurrency: 0 }), /concurrency must be an integer from 1 to 8/);
  });

  it('stops at the first failed batch: nothing is sent after it, and the error says which entries were acknowledged', async () => {
    const before = gate.received.length;
    const storedBefore = (await allBodies(source.store, source.tenantId, 'UserCallPlay')).length;
    // Four batches of two; the first holds a bad entry.
    const list: IngestEntry[] = [{ eventTime: 'yesterday', logRecord: {} }, ...entries(7, 600)];
    const call = gated.ingest('UserCallPlay', list, { maxEntries: 2 }).catch((e: unknown) => e);
    const held = await gate.whenHeld(2);
    const bad = held.find((r) => r.body.includes('"yesterday"'))!;
    const good = held.find((r) => r !== bad)!;
    // The bad batch is answered first, while the second is still in flight, which then is stored.
    assert.equal(await bad.forward(), 400);
    assert.equal(await good.forward(), 201);
    const err = await call;
    assert.ok(err instanceof LogsApiError, String(err));
    assert.equal(err.code, 'bad_request');
    assert.deepEqual(err.ingested, { accepted: 2, duplicates: 0, requests: 1, acknowledged: [{ first: 2, last: 3 }] });
    assert.match(
      err.message,
      /^the batch of entries 0–1 failed \(2 entries in 1 requests were stored or already there: entries 2–3; no other was acknowledged\)/,
    );
    assert.equal(gate.received.length - before, 2, 'no batch is sent after the failure');
    const stored = await allBodies(source.store, source.tenantId, 'UserCallPlay');
    assert.equal(stored.length - storedBefore, 2);
    for (const i of [601, 602])
      assert.ok(
        stored.some((b) => b.includes(`"logRecord":{"i":${i},`)),
        `entry ${i} stored`,
      );
  });

  it('does not retry a refusal, and a read-only key is unauthorized', async () => {
    const readOnly = new LogsClient({ baseUrl: proxy.url, accessKey: source.key.accessKey, secret: source.key.secret });
    const seenBefore = proxy.seen.length;
    const err = await readOnly.ingest('AccessLog', entries(1, 400)).catch((e: unknown) => e);
    assert.ok(err instanceof LogsApiError);
    assert.equal(err.code, 'unauthorized');
    assert.equal(proxy.seen.length - seenBefore, 1, 'one attempt');
  });
});
