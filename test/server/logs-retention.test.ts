/**
 * `GET /v2/logs` after retention deleted entries (issue 12, point 4): reads behave as for
 * never-written data.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { startTestApp, type TestApp } from '../support/app.ts';
import { storeKinds } from '../support/stores.ts';

const T0 = Date.UTC(2025, 2, 1, 9);

for (const kind of await storeKinds()) {
  describe(`GET /v2/logs after a purge (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
      const entries = Array.from({ length: 10 }, (_, i) => ({
        userId: String(i),
        eventTime: new Date(T0 + i * 60_000).toISOString(),
        logRecord: { i },
      }));
      assert.equal((await t.ingest('AccessLog', entries)).statusCode, 201);
    });
    after(async () => t.close());

    const range = { logType: 'AccessLog', fromDateTime: new Date(T0).toISOString(), toDateTime: new Date(T0 + 3_600_000).toISOString() };

    it('counts exactly what is left, ends a cursor whose entries went cleanly, and answers 404 when nothing is left', async () => {
      assert.equal((await t.store.purge(t.tenantId, 'AccessLog', T0 + 3 * 60_000, 100)).count, 3);
      const first = await t.list({ ...range, limit: '4' });
      assert.equal(first.statusCode, 200, first.body);
      const body = first.json();
      assert.equal(body.records.totalRecords, 7);
      assert.deepEqual(
        body.logEntries.map((e: { logRecord: { i: number } }) => e.logRecord.i),
        [3, 4, 5, 6],
      );
      assert.ok(body.records.cursor);

      // Everything the cursor had left is deleted before it is followed.
      assert.equal((await t.store.purge(t.tenantId, 'AccessLog', T0 + 3_600_000, 100)).count, 7);
      const next = await t.list({ cursor: body.records.cursor });
      assert.equal(next.statusCode, 200, next.body);
      const end = next.json();
      assert.equal(end.records.currentPageSize, 0);
      assert.equal(end.records.cursor, undefined, 'the last page: no cursor');
      assert.deepEqual(end.logEntries, []);

      const none = await t.list(range);
      assert.equal(none.statusCode, 404);
      assert.deepEqual(none.json().errors, [NO_RECORDS_MESSAGE]);
    });
  });
}
