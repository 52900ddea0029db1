/**
 * `logwarden tail`: a tenant's entries in leaf order (the order they were stored), byte for byte
 * as GET /v2/logs serves them, hot and sealed; resumable from a state file that is refused for
 * another tenant or a store it does not match; `--follow` through a real server, ended by SIGTERM.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openPostgresStore } from '../../src/store/postgres/index.ts';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite/index.ts';
import { makeEntry } from '../store/contract/store.contract.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { CLI_ARGS } from '../support/children.ts';
import { cleanEnv, ROOT, runCli } from '../support/cli.ts';
import { tempDir as newTempDir, type TempDir } from '../support/live-source.ts';
import { startPostgres } from '../support/postgres.ts';

const T0 = Date.UTC(2026, 2, 1);
const OTHER = '900000000000000001';
const dirs: TempDir[] = [];
after(() => dirs.forEach((d) => d.remove()));
const tempDir = (): string => dirs[dirs.push(newTempDir('logwarden-tail-')) - 1]!.path;

interface Line {
  leafIndex: number;
  logType: string;
  /** The entry's text as the line holds it. */
  text: string;
}

/** The lines of tail's output, each checked to be `{"leafIndex":…,"logType":…,"entry":<text>}`. */
function linesOf(stdout: string): Line[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^\{"leafIndex":(\d+),"logType":"([A-Za-z0-9_]+)","entry":(.*)\}$/.exec(l);
      assert.ok(m, `not a tail line: ${l}`);
      JSON.parse(l);
      return { leafIndex: Number(m[1]), logType: m[2]!, text: m[3]! };
    });
}

/** An entry whose text names its tenant and a number. */
const entry = (tenant: string, type: string, ms: number, n: number) => makeEntry(type, ms, `{"tenant":"${tenant}","n":${n},"é":"ü"}`);

/** Every entry of `type` GET /v2/logs serves the app's tenant, as the raw text of the answer. */
async function served(t: TestApp, type: string): Promise<string> {
  const res = await t.list({ logType: type, fromDateTime: '2020-01-01T00:00:00Z', limit: '100' });
  assert.equal(res.statusCode, 200, res.body);
  return res.body;
}

describe('logwarden tail (SQLite)', () => {
  const dir = tempDir();
  let store: SqliteStore;
  let t: TestApp;
  const tail = (...args: string[]) => runCli(['tail', '--tenant', t.tenantId, '--data-dir', dir, ...args]);

  it('streams every entry in stored order across types, late ones where they were stored, sealed and hot byte for byte as served, no other tenant', async () => {
    store = openSqliteStore({ dataDir: dir });
    t = await startTestApp({ store });
    await store.createTenant({ id: OTHER, name: 'Other' });
    // Interleaved: this tenant's batches and the other's, types mixed, then a late entry (an old
    // eventTime stored after newer ones); sealed, then more stored hot.
    assert.equal((await t.ingest('AccessLog', [JSON.parse(entry('me', 'AccessLog', T0 + 5000, 1).body)])).statusCode, 201);
    await store.append(OTHER, [entry(OTHER, 'AccessLog', T0 + 5000, 2)]);
    await store.append(t.tenantId, [entry('me', 'UserCallPlay', T0 + 6000, 3), entry('me', 'AccessLog', T0 + 7000, 4)]);
    await store.append(OTHER, [entry(OTHER, 'UserCallPlay', T0 + 6000, 5)]);
    await store.append(t.tenantId, [entry('me', 'AccessLog', T0 - 86_400_000, 6)]);
    assert.ok(store.settle() > 0);
    await store.append(t.tenantId, [entry('me', 'UserCallPlay', T0 + 1000, 7), entry('me', 'AccessLog', T0 + 8000, 8)]);

    const r = await tail('--from-start');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = linesOf(r.stdout);
    const log = (await store.log!(t.tenantId))!;
    assert.deepEqual(
      lines.map((l) => l.leafIndex),
      Array.from({ length: log.checkpoint.size }, (_, i) => i),
      'every leaf, in order',
    );
    const mine = lines.filter((l) => l.logType !== 'LogwardenAdminLog');
    assert.deepEqual(
      mine.map((l) => [l.logType, (JSON.parse(l.text) as { logRecord: { n: number } }).logRecord.n]),
      [
        ['AccessLog', 1],
        ['UserCallPlay', 3],
        ['AccessLog', 4],
        ['AccessLog', 6],
        ['UserCallPlay', 7],
        ['AccessLog', 8],
      ],
    );
    assert.ok(!r.stdout.includes(OTHER), "no line of the other tenant's");
    for (const type of ['AccessLog', 'UserCallPlay']) {
      const body = await served(t, type);
      for (const l of mine.filter((m) => m.logType === type)) assert.ok(body.includes(l.text), `served as streamed: ${l.text}`);
    }

    const other = await runCli(['tail', '--tenant', OTHER, '--data-dir', dir, '--from-start']);
    assert.equal(other.code, 0, other.stderr);
    assert.deepEqual(
      linesOf(other.stdout)
        .filter((l) => l.logType !== 'LogwardenAdminLog')
        .map((l) => JSON.parse(l.text).logRecord.n),
      [2, 5],
    );
  });

  it('--type keeps the types given (repeated or comma-separated); a type that is not one is refused', async () => {
    const r = await tail('--from-start', '--type', 'UserCallPlay');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(
      linesOf(r.stdout).map((l) => JSON.parse(l.text).logRecord.n),
      [3, 7],
    );
    const both = await tail('--from-start', '--type', 'UserCallPlay,AccessLog');
    assert.equal(linesOf(both.stdout).length, 6);
    const bad = await tail('--from-start', '--type', 'Accesslog');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--type "Accesslog" is not a log type \(the log types: AccessLog, /);
    const two = await tail('--from-start', '--from-leaf', '1');
    assert.equal(two.code, 2);
    assert.match(two.stderr, /--from-start and --from-leaf name two places to begin: give one/);
    const poll = await tail('--follow', '--poll', '0s');
    assert.equal(poll.code, 2);
    assert.match(poll.stderr, /--poll must be from 1s to 1h/);
  });

  it('begins after the last entry by default, at --from-leaf N when given', async () => {
    const r = await tail();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    const size = (await store.log!(t.tenantId))!.checkpoint.size;
    const last = await tail('--from-leaf', String(size - 1));
    assert.deepEqual(
      linesOf(last.stdout).map((l) => l.leafIndex),
      [size - 1],
    );
    const beyond = await tail('--from-leaf', String(size + 1));
    assert.equal(beyond.code, 2);
    assert.match(beyond.stderr, new RegExp(`--from-leaf ${size + 1} is beyond tenant \\d+'s log, which holds ${size} leaves`));
  });

  it('resumes from --state, sending only what is new; refuses the state of another tenant or of a store it does not match', async () => {
    const state = join(dir, 'tail.state');
    const first = await tail('--state', state, '--from-start');
    assert.equal(first.code, 0, first.stderr);
    const sent = linesOf(first.stdout);
    const saved = JSON.parse(readFileSync(state, 'utf8'));
    assert.equal(saved.tenant, t.tenantId);
    assert.equal(saved.nextLeaf, sent[sent.length - 1]!.leafIndex + 1);

    assert.equal((await tail('--state', state, '--from-start')).stdout, '', 'the state file wins over --from-start');
    await store.append(t.tenantId, [entry('me', 'AccessLog', T0 + 9000, 9)]);
    const next = await tail('--state', state);
    assert.deepEqual(
      linesOf(next.stdout).map((l) => [l.leafIndex, JSON.parse(l.text).logRecord.n]),
      [[saved.nextLeaf, 9]],
    );

    const other = await runCli(['tail', '--tenant', OTHER, '--data-dir', dir, '--state', state]);
    assert.equal(other.code, 1);
    assert.match(other.stderr, new RegExp(`the state file .* is of tenant ${t.tenantId}, not ${OTHER}`));

    // The same tenant in another store: the first leaves are not those sent.
    const elsewhere = tempDir();
    const copy = openSqliteStore({ dataDir: elsewhere });
    await copy.createTenant({ id: t.tenantId, name: 'Same id' });
    for (let i = 0; i < 20; i++) await copy.append(t.tenantId, [entry('x', 'AccessLog', T0 + i, 100 + i)]);
    await copy.close();
    const foreign = await runCli(['tail', '--tenant', t.tenantId, '--data-dir', elsewhere, '--state', state]);
    assert.equal(foreign.code, 1);
    assert.match(foreign.stderr, /does not match tenant \d+'s log in this store/);
    assert.equal(foreign.stdout, '');

    // A store put back to before what was sent.
    const behind = join(dir, 'behind.state');
    writeFileSync(behind, JSON.stringify({ ...saved, nextLeaf: 1_000 }));
    const back = await tail('--state', behind);
    assert.equal(back.code, 1);
    assert.match(back.stderr, /fewer than the 1000 the state file .* says were sent: the store was put back to an earlier state/);

    writeFileSync(behind, 'garbage');
    const garbage = await tail('--state', behind);
    assert.equal(garbage.code, 1);
    assert.match(garbage.stderr, /is not a state file of logwarden tail: nothing is sent\. To go on, remove it and give --from-leaf N /);
    // Empty (cut short after a crash, or made by hand): refused, not taken for a new state that begins after the last entry.
    writeFileSync(behind, '');
    const empty = await tail('--state', behind);
    assert.equal(empty.code, 1);
    assert.equal(empty.stdout, '');
    assert.match(
      empty.stderr,
      /the state file .*behind\.state is empty \(cut short, or made by hand\): nothing is sent\. To go on, remove it and give --from-leaf N /,
    );
    assert.equal(readFileSync(behind, 'utf8'), '', 'left as it was');
  });

  it('--out FILE: appends the lines to the file, after removing a line cut short by a run that stopped while writing it', async () => {
    const out = join(dir, 'out.ndjson');
    const printed = (await tail('--from-start')).stdout;
    for (let i = 0; i < 2; i++) {
      const r = await tail('--from-start', '--out', out);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
    }
    assert.equal(readFileSync(out, 'utf8'), printed + printed);

    // A run stopped while writing its last line: the piece is removed, the line comes again whole.
    const cut = join(dir, 'cut.ndjson');
    writeFileSync(cut, printed + printed.slice(0, printed.indexOf('\n') - 7));
    const resent = await tail('--from-start', '--out', cut);
    assert.equal(resent.code, 0, resent.stderr);
    assert.match(resent.stderr, /removed an unfinished last line \(\d+ bytes\) from .*cut\.ndjson, left by a run that stopped while writing it/);
    assert.equal(readFileSync(cut, 'utf8'), printed + printed);
    writeFileSync(cut, printed + '{"leafIn');
    await tail('--from-start', '--out', cut);
    assert.equal(readFileSync(cut, 'utf8'), printed + printed);
    // Text of something else without a line break is ended with one, not removed.
    writeFileSync(cut, 'not a tail line');
    assert.equal((await tail('--from-start', '--out', cut)).stderr, '');
    assert.equal(readFileSync(cut, 'utf8'), `not a tail line\n${printed}`);
    const folder = await tail('--from-start', '--out', dir);
    assert.equal(folder.code, 1);
    assert.match(folder.stderr, /is a folder/);
  });

  it('skips the leaves of purged entries and deletion receipts, the others keeping their leaf indexes', async () => {
    const before = linesOf((await tail('--from-start')).stdout);
    const receipt = await store.purge(t.tenantId, 'AccessLog', T0, 100);
    assert.equal(receipt.count, 1, 'the late entry, of a day before');
    const purged = await tail('--from-start');
    assert.equal(purged.code, 0, purged.stderr);
    const after = linesOf(purged.stdout);
    const late = before.find((l) => l.text.includes('"n":6'))!;
    assert.deepEqual(after, before.filter((l) => l !== late).concat(after.filter((l) => l.leafIndex > before[before.length - 1]!.leafIndex)));
    assert.ok(after.every((l) => l.leafIndex !== receipt.leafIndex));
    await t.close();
  });
});

/** A new SQLite store's folder, holding tenant `id` filled by `fill` (the store closed after). */
async function storeOf(id: string, fill: (store: SqliteStore) => Promise<void>): Promise<string> {
  const dir = tempDir();
  const store = openSqliteStore({ dataDir: dir });
  await store.createTenant({ id, name: `Tenant ${id}` });
  await fill(store);
  await store.close();
  return dir;
}

describe('logwarden tail, killed and run again', () => {
  it('sends every leaf at least once across the two runs, in order, none missing', async () => {
    const tenant = '7000000000000000001';
    let size = 0;
    const dir = await storeOf(tenant, async (store) => {
      for (let b = 0; b < 8; b++) {
        await store.append(
          tenant,
          Array.from({ length: 1000 }, (_, i) => entry('k', b % 2 ? 'AccessLog' : 'UserCallPlay', T0 + ((b * 1000 + i) % 977) * 1000, b * 1000 + i)),
        );
      }
      store.settle();
      size = (await store.log!(tenant))!.checkpoint.size;
    });
    const state = join(dir, 'tail.state');
    const args = ['tail', '--tenant', tenant, '--data-dir', dir, '--state', state, '--from-start'];

    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let firstRun = '';
    const killed = new Promise<string | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    child.stdout.on('data', (d: Buffer) => {
      firstRun += d.toString();
      if (firstRun.length > 0) child.kill('SIGKILL');
    });
    assert.equal(await killed, 'SIGKILL');
    const whole = firstRun.slice(0, firstRun.lastIndexOf('\n') + 1);
    const resumed = await runCli(args);
    assert.equal(resumed.code, 0, resumed.stderr);
    const first = linesOf(whole).map((l) => l.leafIndex);
    const second = linesOf(resumed.stdout).map((l) => l.leafIndex);
    assert.ok(first.length < size, 'killed before the end');
    assert.deepEqual(
      first,
      Array.from({ length: first.length }, (_, i) => i),
      'the first run in order',
    );
    assert.ok(second.length > 0 && second[0]! <= first.length, 'the second run begins at or before the first line not received');
    assert.deepEqual(
      second,
      Array.from({ length: size - second[0]! }, (_, i) => second[0]! + i),
      'then in order to the end',
    );
  });
});

describe('logwarden tail --out under a file-size limit (ulimit -f)', () => {
  it('saves no state past a write cut short: the next run sends what did not reach the file, no leaf missing', async () => {
    const tenant = '7000000000000000002';
    let size = 0;
    const dir = await storeOf(tenant, async (store) => {
      await store.append(
        tenant,
        Array.from({ length: 3000 }, (_, i) => entry('k', 'AccessLog', T0 + i * 1000, i)),
      );
      size = (await store.log!(tenant))!.checkpoint.size;
    });
    const state = join(dir, 'tail.state');
    const out = join(dir, 'out.ndjson');
    const args = ['tail', '--tenant', tenant, '--data-dir', dir, '--state', state, '--from-start', '--out', out];
    // Writes past 200 KiB of the file are cut short, then refused (EFBIG; SIGXFSZ ignored).
    const capped = await new Promise<number | null>((resolve) => {
      const child = spawn('sh', ['-c', `trap '' XFSZ; ulimit -S -f 200 && exec "$@"`, 'sh', process.execPath, ...CLI_ARGS, ...args], {
        cwd: ROOT,
        env: cleanEnv(),
        stdio: 'ignore',
      });
      child.on('close', resolve);
    });
    assert.equal(capped, 1, 'the capped run fails');
    const again = await runCli(args);
    assert.equal(again.code, 0, again.stderr);
    const sent = new Set(linesOf(readFileSync(out, 'utf8')).map((l) => l.leafIndex));
    const missing = Array.from({ length: size }, (_, i) => i).filter((i) => !sent.has(i));
    assert.deepEqual(missing, [], `${missing.length} leaves never reached the file`);
  });
});

describe('logwarden tail into a reader that goes away (| head -1)', () => {
  it('ends quietly with exit 0, the state file not past what was written', async () => {
    const tenant = '7200000000000000001';
    // Far more than a pipe holds, so that writing goes on after the reader left.
    const dir = await storeOf(tenant, async (store) => {
      await store.append(
        tenant,
        Array.from({ length: 3000 }, (_, i) => entry('h'.repeat(200), 'AccessLog', T0 + i * 1000, i)),
      );
    });
    const state = join(dir, 'tail.state');
    const args = ['tail', '--tenant', tenant, '--data-dir', dir, '--state', state, '--from-start'];
    const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let first = '';
    child.stdout.on('data', (d: Buffer) => {
      first += d.toString();
      if (first.includes('\n')) child.stdout.destroy();
    });
    assert.equal(await exited, 0, stderr);
    assert.equal(stderr, '');
    assert.ok(JSON.parse(readFileSync(state, 'utf8')).nextLeaf < 3001, 'not every leaf taken for sent');
  });
});

/** tail --follow in a child process: its lines as they come, and its exit. */
function follow(args: string[]) {
  const child = spawn(process.execPath, [...CLI_ARGS, 'tail', ...args, '--follow', '--poll', '1s'], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    exited,
    stderr: () => err,
    /** Resolves once `n` lines were printed. */
    async lines(n: number): Promise<Line[]> {
      while (linesOf(out).length < n) {
        await Promise.race([new Promise<void>((r) => waiters.push(r)), exited.then(() => assert.fail(`tail ended: ${err}`))]);
      }
      return linesOf(out);
    },
  };
}

async function ingestOverHttp(url: string, t: TestApp, n: number): Promise<void> {
  // The second one late: an eventTime before every other.
  for (const e of [entry('me', 'AccessLog', T0 + n * 1000, n), entry('me', 'UserCallPlay', T0 - n * 1000, n + 1)]) {
    const res = await fetch(`${url}/v2/logs`, {
      method: 'POST',
      headers: { authorization: basic(t.key), 'content-type': 'application/json' },
      body: JSON.stringify({ logType: e.logType, logEntries: [JSON.parse(e.body)] }),
    });
    assert.equal(res.status, 201, await res.text());
  }
}

async function followCase(t: TestApp, storeArgs: string[], stateDir: string): Promise<void> {
  const url = await t.app.listen({ port: 0, host: '127.0.0.1' });
  const state = join(stateDir, 'follow.state');
  const f = follow(['--tenant', t.tenantId, ...storeArgs, '--state', state]);
  // Only entries stored after it began: it wrote its state at the end of the log first.
  for (let i = 0; i < 50 && !existsSync(state); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(existsSync(state), f.stderr());
  const begin = JSON.parse(readFileSync(state, 'utf8')).nextLeaf as number;
  await ingestOverHttp(url, t, 1);
  const firstTwo = await f.lines(2);
  await ingestOverHttp(url, t, 2);
  const all = await f.lines(4);
  assert.equal(firstTwo.length, 2);
  assert.deepEqual(
    all.map((l) => l.leafIndex),
    [begin, begin + 1, begin + 2, begin + 3],
  );
  assert.deepEqual(
    all.map((l) => JSON.parse(l.text).logRecord.n),
    [1, 2, 2, 3],
  );
  f.child.kill('SIGTERM');
  assert.equal(await f.exited, 0, f.stderr());
  assert.equal(f.stderr(), '');
  assert.equal(JSON.parse(readFileSync(state, 'utf8')).nextLeaf, begin + 4);
}

describe('logwarden tail --follow through a running server', () => {
  it('SQLite: prints entries ingested over HTTP while it runs, and ends with exit 0 on SIGTERM, the state saved', async () => {
    const dir = tempDir();
    const t = await startTestApp({ store: openSqliteStore({ dataDir: dir }) });
    try {
      await followCase(t, ['--data-dir', dir], dir);
    } finally {
      await t.close();
    }
  });
});

describe('logwarden tail on PostgreSQL', async () => {
  const { cluster, skip } = await startPostgres();
  if (cluster) after(() => cluster.stop());

  it('--follow prints entries ingested over HTTP while it runs, and ends with exit 0 on SIGTERM, the state saved', { skip }, async () => {
    const url = await cluster!.createDatabase();
    const store = await openPostgresStore({ url, poolSize: 4 });
    try {
      const t = await startTestApp({ store });
      await followCase(t, ['--database-url', url], tempDir());
      await t.close();
    } finally {
      await store.close();
      await cluster!.dropDatabase(url);
    }
  });

  it('with two servers appending at once, every leaf below the checkpoint read has its entry: none is skipped', { skip }, async () => {
    const url = await cluster!.createDatabase();
    const stores = [await openPostgresStore({ url, poolSize: 4 }), await openPostgresStore({ url, poolSize: 4 })];
    const tenant = '7100000000000000001';
    try {
      await stores[0]!.createTenant({ id: tenant, name: 'Busy' });
      let appending = true;
      const appends = Promise.all(
        stores.map(async (s, k) => {
          for (let b = 0; b < 25; b++) {
            await s.append(
              tenant,
              Array.from({ length: 4 }, (_, i) =>
                entry('b', i % 2 ? 'AccessLog' : 'UserCallPlay', T0 + (k * 100 + b * 4 + i) * 1000, k * 100 + b * 4 + i),
              ),
            );
          }
        }),
      ).finally(() => (appending = false));
      let reads = 0;
      while (appending || reads === 0) {
        const r = await runCli(['tail', '--tenant', tenant, '--database-url', url, '--from-start']);
        assert.equal(r.code, 0, r.stderr);
        const leaves = linesOf(r.stdout).map((l) => l.leafIndex);
        assert.deepEqual(
          leaves,
          Array.from({ length: leaves.length }, (_, i) => i),
          'every leaf read, none skipped',
        );
        reads++;
      }
      await appends;
      const all = linesOf((await runCli(['tail', '--tenant', tenant, '--database-url', url, '--from-start'])).stdout);
      assert.equal(all.length, 200);
      assert.ok(reads > 1, 'read while the servers appended');
    } finally {
      for (const s of stores) await s.close();
      await cluster!.dropDatabase(url);
    }
  });
});
