import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LogwardenError } from '../../src/errors.ts';
import { LogTypes } from '../../src/logs/log-types.ts';
import { LineTooLongError } from '../../src/logs/ndjson-lines.ts';
import { createTenant } from '../../src/service/access-keys.ts';
import { ingestJsonBatch, ingestNdjson, NoEntriesError } from '../../src/service/ingest-logs.ts';
import type { Store } from '../../src/store/store.ts';
import { sqliteFactory } from '../support/app.ts';

const types = new LogTypes();
const options = { types, memoryBytes: 1 << 20, maxLineBytes: 4096 };
const line = (i: number) => `{"logType":"AccessLog","userId":"${1000 + i}","eventTime":"2026-03-04T09:15:0${i}.117Z","logRecord":{"n":${i}}}`;

async function* chunks(...parts: string[]): AsyncGenerator<Buffer> {
  for (const p of parts) yield Buffer.from(p);
}

async function stored(store: Store, tenantId: string): Promise<number> {
  const page = await store.firstPage({ tenantId, logType: 'AccessLog', fromMs: 0, toMs: null }, 100);
  return page.count;
}

describe('the ingest service', () => {
  let store: Store;
  let dispose: () => Promise<void>;
  let tenantId: string;
  before(async () => {
    ({ store, dispose } = await sqliteFactory.create());
    tenantId = (await createTenant(store, 'Ingest')).id;
  });
  after(() => dispose());

  it('appends NDJSON entries, counting lines (blank ones too), accepted entries and duplicates', async () => {
    const counts: number[] = [];
    const r = await ingestNdjson(store, tenantId, chunks(`${line(1)}\n\n${line(2)}\n`, `${line(1)}\n`), {
      ...options,
      beforeAppend: (n) => counts.push(n),
    });
    assert.deepEqual(r, { accepted: 2, duplicates: 1, lines: 4 });
    assert.deepEqual(counts, [3]);
    assert.equal(await stored(store, tenantId), 2);
  });

  it('refuses an input without entries, and stores nothing from an input with a bad line', async () => {
    await assert.rejects(
      ingestNdjson(store, tenantId, chunks('\n  \n'), options),
      (err: unknown) => err instanceof NoEntriesError && err.lines === 2,
    );
    await assert.rejects(ingestNdjson(store, tenantId, chunks(`${line(3)}\n{"logType":"AccessLog"}\n`), options), LogwardenError);
    await assert.rejects(ingestNdjson(store, tenantId, chunks(`${line(4)}\n${'x'.repeat(5000)}\n`), options), LineTooLongError);
    assert.equal(await stored(store, tenantId), 2);
  });

  it('takes lines of exactly the limit whether they end in LF or CRLF, and refuses one byte more, however the input is cut', async () => {
    const ofBytes = (n: number, i: number) => {
      const head = `{"logType":"UserCallPlay","eventTime":"2026-03-04T09:15:0${i}.000Z","logRecord":{"s":"`;
      return `${head}${'y'.repeat(n - head.length - 3)}"}}`;
    };
    const limit = options.maxLineBytes;
    for (const ending of ['\n', '\r\n']) {
      const text = `${ofBytes(limit, 1)}${ending}${ofBytes(limit, 2)}${ending}${ofBytes(limit, 3)}`;
      // Whole, and in chunks that end between the \r and the \n and just after a line's last byte.
      for (const cuts of [[text], [text.slice(0, limit + 1), text.slice(limit + 1)], [text.slice(0, limit), text.slice(limit)]]) {
        const r = await ingestNdjson(store, tenantId, chunks(...cuts), options);
        assert.equal(r.accepted + r.duplicates, 3, JSON.stringify(ending));
      }
      const over = `${ofBytes(limit, 4)}${ending}${ofBytes(limit + 1, 5)}${ending}`;
      await assert.rejects(
        ingestNdjson(store, tenantId, chunks(over), options),
        (err: unknown) => err instanceof LineTooLongError && err.lineNo === 2,
      );
      await assert.rejects(ingestNdjson(store, tenantId, chunks(`${ofBytes(limit + 1, 6)}\r`), options), LineTooLongError);
    }
  });

  it('appends a JSON batch', async () => {
    const body = JSON.stringify({ logType: 'AccessLog', logEntries: [{ userId: '7', eventTime: '2026-03-04T09:16:00Z', logRecord: {} }] });
    assert.deepEqual(await ingestJsonBatch(store, tenantId, body, types), { accepted: 1, duplicates: 0 });
    assert.equal(await stored(store, tenantId), 3);
  });
});
