/**
 * Pages asked for ahead of the caller (client/readahead.ts, used by `pages` and `textPages`):
 * the next page is requested while the caller holds this one, never more than two ahead, a
 * guess from the body that the page's own cursor contradicts is cancelled, and stopping early
 * cancels what was asked for ahead. Then the same against a real server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LogsClient } from '../../src/client/index.ts';
import { peekCursor } from '../../src/client/page-bytes.ts';
import { Readahead } from '../../src/client/readahead.ts';
import { entryTexts } from '../support/entries.ts';
import { type FaultServer, startFaultServer } from '../support/fault-server.ts';

interface Page {
  readonly cursor: string | undefined;
  readonly next: string | undefined;
}

/** A page source the test drives: each request waits until the test answers it. */
function source() {
  const asked: { cursor: string | undefined; signal: AbortSignal; onCursor: (c: string) => void; answer: (next: string | undefined) => void }[] = [];
  const get = (cursor: string | undefined, signal: AbortSignal, onCursor: (c: string) => void) =>
    new Promise<Page>((resolve, reject) => {
      signal.addEventListener('abort', () => reject(new Error('cancelled')), { once: true });
      asked.push({ cursor, signal, onCursor, answer: (next) => resolve({ cursor, next }) });
    });
  return { asked, get };
}

const turn = () => new Promise((r) => setImmediate(r));

describe('Readahead', () => {
  it('asks for the page a body names at once, and at most two pages beyond the caller', async () => {
    const { asked, get } = source();
    const r = new Readahead<Page>(get, undefined);
    const first = r.start(undefined, 0);
    assert.equal(asked.length, 1);
    asked[0]!.onCursor('c1'); // page 0's body has arrived
    assert.deepEqual(
      asked.map((a) => a.cursor),
      [undefined, 'c1'],
    );
    asked[0]!.onCursor('c1'); // the same body again (a retried attempt): nothing new
    assert.equal(asked.length, 2);
    asked[1]!.onCursor('c2'); // page 1 has arrived while the caller still waits for page 0
    assert.equal(asked.length, 2, 'page 2 waits until the caller moves on');
    asked[0]!.answer('c1');
    await first.page;
    const second = r.after(first, 'c1');
    assert.equal(second, first.next, 'the page asked for ahead is the one used');
    asked[1]!.onCursor('c2');
    assert.deepEqual(
      asked.map((a) => a.cursor),
      [undefined, 'c1', 'c2'],
    );
    asked[2]!.onCursor('c3');
    assert.equal(asked.length, 3, 'two beyond the caller at most');
  });

  it('cancels a guess the page contradicts and asks for the page its cursor names', async () => {
    const { asked, get } = source();
    const r = new Readahead<Page>(get, undefined);
    const first = r.start(undefined, 0);
    asked[0]!.onCursor('guess');
    asked[0]!.answer('real');
    await first.page;
    const second = r.after(first, 'real');
    assert.equal(asked[1]!.cursor, 'guess');
    assert.equal(asked[1]!.signal.aborted, true);
    assert.equal(second.cursor, 'real');
    assert.equal(asked[2]!.cursor, 'real');
    assert.equal(asked[2]!.signal.aborted, false);
  });

  it('cancels everything asked for ahead when the caller stops, and follows the caller’s signal', async () => {
    const caller = new AbortController();
    const { asked, get } = source();
    const r = new Readahead<Page>(get, caller.signal);
    const first = r.start(undefined, 0);
    asked[0]!.onCursor('c1');
    asked[0]!.answer('c1');
    await first.page;
    const second = r.after(first, 'c1');
    asked[1]!.onCursor('c2');
    r.stop(first);
    assert.deepEqual(
      asked.map((a) => a.signal.aborted),
      [false, true, true],
    );
    const third = r.start('c9', 5);
    caller.abort();
    await assert.rejects(third.page, /cancelled/);
    await assert.rejects(second.page, /cancelled/);
    await turn();
  });
});

describe('peekCursor', () => {
  const bytes = (s: string) => [new TextEncoder().encode(s)];
  it('reads the cursor from records when they come before the entries', () => {
    assert.equal(peekCursor(bytes('{"requestId":"r","records":{"totalRecords":3,"cursor":"abc"},"logEntries":[{}]}')), 'abc');
    assert.equal(peekCursor(bytes(' { "records" : { "cursor" : "a\\"b" } , "logEntries" : [ ] } ')), 'a"b');
  });
  it('says nothing when it cannot tell cheaply or there is no next page', () => {
    for (const body of [
      '{"logEntries":[],"records":{"cursor":"abc"}}',
      '{"records":{"totalRecords":3}}',
      '{"records":{"cursor":""}}',
      '{"records":{"cursor":7}}',
      '{"records":null}',
      '{"records":{"cursor":"ab',
      '[]',
      '',
    ]) {
      assert.equal(peekCursor(bytes(body)), undefined, body);
    }
    assert.equal(peekCursor([]), undefined);
  });
});

describe('paging ahead against a server', () => {
  let server: FaultServer;
  before(async () => {
    server = await startFaultServer({ pageSize: 10 });
    server.setEntries('AccessLog', entryTexts('AccessLog', 95, Date.parse('2026-01-01T00:00:00Z')));
  });
  after(() => server.close());

  it('asks for the next page while the caller holds this one, and every page comes once, in order', async () => {
    const client = new LogsClient({ baseUrl: server.url, accessKey: 'k', secret: 's', requestsPerSecond: 0 });
    server.requests.length = 0;
    const texts: string[] = [];
    let sawAhead = false;
    for await (const page of client.textPages({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' })) {
      const held = texts.length / 10;
      // The caller holds page `held`; the request for the next one is already out.
      for (let i = 0; i < 2500 && server.requests.length <= held + 1 && page.records.cursor; i++) await new Promise((r) => setTimeout(r, 2));
      if (page.records.cursor) {
        assert.ok(server.requests.length >= held + 2, `page ${held + 1} asked for while page ${held} is held`);
        sawAhead = true;
      }
      texts.push(...page.texts);
    }
    assert.ok(sawAhead);
    assert.deepEqual(texts, entryTexts('AccessLog', 95, Date.parse('2026-01-01T00:00:00Z')));
    const cursors = server.requests.map((r) => r.url.searchParams.get('cursor'));
    assert.equal(cursors.length, 10, 'ten pages, each asked for once');
    assert.equal(new Set(cursors).size, 10);
  });
});
