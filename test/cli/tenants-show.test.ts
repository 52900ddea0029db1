import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite/index.ts';
import { openCheckpoint } from '../../src/tlog/checkpoint.ts';
import { parseVerifierKey } from '../../src/tlog/note-key.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { runCli } from '../support/cli.ts';

describe('logwarden tenants show', () => {
  let dir: string;
  const flags = () => ['--data-dir', dir];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'logwarden-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("prints the tenant, its limits and its log's verifier key, which checks the store's checkpoints", async () => {
    const tenant = JSON.parse((await runCli(['tenants', 'create', '--name', 'Acme Corp', '--json', ...flags()])).stdout) as { id: string };
    const store = openSqliteStore({ dataDir: dir });
    await store.append(tenant.id, [makeEntry('AccessLog', Date.UTC(2026, 0, 1)), makeEntry('AccessLog', Date.UTC(2026, 0, 2))]);
    const note = (await store.log(tenant.id))!.checkpoint.note;
    await store.close();

    const shown = await runCli(['tenants', 'show', tenant.id, '--json', ...flags()]);
    assert.equal(shown.code, 0, shown.stderr);
    const out = JSON.parse(shown.stdout) as {
      id: string;
      name: string;
      limits: unknown;
      log: { origin: string; verifierKey: string; treeSize: number };
    };
    assert.equal(out.name, 'Acme Corp');
    assert.deepEqual(out.limits, { readPerSecond: 3, readPerDay: 10000, ingestPerSecond: 100 });
    // The admin trail's "tenant created" entry and the two entries.
    assert.equal(out.log.treeSize, 3);
    assert.match(out.log.origin, new RegExp(`^logwarden/[0-9a-f]{32}/${tenant.id}$`));
    const key = parseVerifierKey(out.log.verifierKey);
    assert.equal(openCheckpoint(note, key).checkpoint.size, 3);

    const table = await runCli(['tenants', 'show', tenant.id, ...flags()]);
    assert.match(table.stdout, new RegExp(`verifier key\\s+${out.log.verifierKey.replace(/[+/]/g, '\\$&')}\\n`));
    assert.match(table.stdout, /\nServer defaults are this command's LOGWARDEN_\* settings: a server started with other values applies its own\.\n$/);

    // A configured secret and prefix give another key and origin.
    const configured = await runCli(['tenants', 'show', tenant.id, '--json', ...flags()], {
      env: { LOGWARDEN_LOG_SIGNING_SECRET: 'x'.repeat(40), LOGWARDEN_LOG_ORIGIN_PREFIX: 'audit.example.com/log' },
    });
    assert.equal(configured.code, 0, configured.stderr);
    assert.equal(JSON.parse(configured.stdout).log.origin, `audit.example.com/log/${tenant.id}`);
  });

  it('fails with exit code 1 for an unknown tenant', async () => {
    const r = await runCli(['tenants', 'show', '42', ...flags()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no tenant 42/);
  });
});
