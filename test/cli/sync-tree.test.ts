import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LogsClient } from '../../src/client/index.ts';
import { mirrorType } from '../../src/service/mirror-logs.ts';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { buildEntryLeaf } from '../../src/tlog/entry-leaf.ts';
import { entryTexts } from '../support/entries.ts';
import { type FaultServer, startFaultServer } from '../support/fault-server.ts';
import { tempDir } from '../support/live-source.ts';
import { entriesOf } from '../support/page-entries.ts';

const MINUTE = 60_000;

describe('mirrored entries (sync) are logged like ingested ones', () => {
  let server: FaultServer;
  let client: LogsClient;
  before(async () => {
    server = await startFaultServer({ pageSize: 6 });
    client = new LogsClient({ baseUrl: server.url, requestsPerSecond: 0, retry: { retries: 0 } });
  });
  after(() => server.close());

  it('each mirrored entry gets one leaf binding its wire text; re-reading the overlap adds none', async () => {
    const dir = tempDir('logwarden-mirror-tree-');
    const store = openSqliteStore({ dataDir: dir.path });
    try {
      const tenantId = '900000000000000002';
      await store.createTenant({ id: tenantId, name: 'mirror' });
      const now = Date.now();
      const access = entryTexts('AccessLog', 30, now - 60 * MINUTE, 30_000);
      const activity = entryTexts('UserActivityLog', 14, now - 50 * MINUTE, 60_000);
      server.setEntries('AccessLog', access);
      server.setEntries('UserActivityLog', activity);
      const target = { store, tenantId, source: server.url };
      for (const logType of ['AccessLog', 'UserActivityLog']) {
        await mirrorType(target, client, { logType, sinceMs: now - 2 * 60 * MINUTE, overlapMs: 5 * MINUTE, untilMs: now });
      }
      const log = (await store.log(tenantId))!;
      assert.equal(log.checkpoint.size, 44);
      for (const [logType, texts] of [
        ['AccessLog', access],
        ['UserActivityLog', activity],
      ] as const) {
        const page = await store.firstPage({ tenantId, logType, fromMs: 0, toMs: null }, 100);
        const leaves = await store.leafIndexes(tenantId, page.seqs!);
        const served = entriesOf(page);
        assert.deepEqual(
          served.map((e) => e.body),
          texts,
          'the source’s wire texts, unchanged',
        );
        for (let i = 0; i < served.length; i++) {
          const want = buildEntryLeaf({ logType, eventTime: new Date(served[i]!.timeMs).toISOString(), wireText: texts[i]! });
          assert.deepEqual(await log.leaves(leaves[i]!, 1), [want]);
        }
      }
      // Everything read again (as a mirror without its checkpoint would): all duplicates, no new leaf.
      const again = await mirrorType({ ...target, source: `${server.url}#again` }, client, {
        logType: 'AccessLog',
        sinceMs: now - 2 * 60 * MINUTE,
        overlapMs: 5 * MINUTE,
        untilMs: now,
      });
      assert.equal(again.duplicates, 30);
      assert.equal((await store.log(tenantId))!.checkpoint.size, 44);
    } finally {
      await store.close();
      dir.remove();
    }
  });
});
