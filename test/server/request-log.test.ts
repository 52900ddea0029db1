/**
 * The server's own log, captured: one line per request (never an "incoming" line and a
 * "completed" one), saying why a request was rejected (error code and message, and for a 401
 * the access key when it is a known one), never a secret, a token or audit payload. The
 * readable format a terminal gets (log-pretty.ts) is checked line by line.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { prettyLine } from '../../src/server/log-pretty.ts';
import { BatchedLines, createLogger, LINE_WAIT_MS } from '../../src/server/logger.ts';
import { loggableMessage, loggableUrl, writeInfoLine } from '../../src/server/request-log.ts';
import { RequestLogger } from '../../src/server/request-logger.ts';
import { basic, startTestApp, type TestApp, TestClock } from '../support/app.ts';
import { LOADER_ARGS, runnable } from '../support/children.ts';
import { request, sendRaw } from '../support/raw-http.ts';

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Line {
  level: number;
  msg: string;
  requestId?: string;
  method?: string;
  url?: string;
  status?: number;
  ms?: number;
  code?: string;
  reason?: string;
  accessKey?: string;
  tenant?: string;
  detail?: string;
  err?: { message: string };
}

describe('request log lines', () => {
  let t: TestApp;
  let raw: string[];
  const lines = (): Line[] =>
    raw
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Line);
  const linesOf = (requestId: string): Line[] => lines().filter((l) => l.requestId === requestId);

  before(async () => {
    raw = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        raw.push(String(chunk));
        cb();
      },
    });
    t = await startTestApp({ logger: createLogger('trace', sink) });
  });
  after(() => t.close());
  let port: number | undefined;
  /** The app on a socket, for what `inject()` cannot send. */
  const listening = async (): Promise<number> => {
    if (port === undefined) {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as AddressInfo).port;
    }
    return port;
  };

  it('writes exactly one line per request, answered or rejected, with method, URL, status and time', async () => {
    const answers = [
      await t.ingest('AccessLog', [{ userId: '1', eventTime: '2026-02-01T00:00:00Z', logRecord: { a: 1 } }]),
      await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' }),
      await t.list({ logType: 'AccessLog', fromDateTime: '2027-01-01T00:00:00Z' }),
      await t.list({ logType: 'NoSuchType', fromDateTime: '2026-01-01T00:00:00Z' }),
      await t.inject({ method: 'GET', url: '/v3/nothing' }),
    ];
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [201, 200, 404, 400, 404],
    );
    for (const a of answers) {
      const id = a.headers['x-traceid'] as string;
      const mine = linesOf(id);
      assert.equal(mine.length, 1, `one line for ${id}: ${JSON.stringify(mine)}`);
      const line = mine[0]!;
      assert.equal(line.status, a.statusCode);
      assert.ok(typeof line.method === 'string' && typeof line.url === 'string' && typeof line.ms === 'number', JSON.stringify(line));
    }
    const [ingested, listed, empty, badType] = answers.map((a) => linesOf(a.headers['x-traceid'] as string)[0]!);
    assert.equal(ingested!.msg, 'request completed');
    assert.deepEqual([ingested!.method, ingested!.url, ingested!.tenant, ingested!.accessKey], ['POST', '/v2/logs', t.tenantId, t.key.accessKey]);
    assert.equal(decodeURIComponent(listed!.url!), '/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z');
    assert.equal(listed!.code, undefined);
    assert.deepEqual(
      [empty!.msg, empty!.code, empty!.reason],
      ['request rejected', 'no_records', 'No log records found corresponding to the provided log type and time range'],
    );
    assert.equal(badType!.code, 'invalid_request');
    assert.match(badType!.reason!, /^logType: unknown log type "…" \(expected one of AccessLog/);
  });

  it('says why a 401 was refused, naming a known access key, never the secret or an unknown key', async () => {
    const wrongSecret = 'wrong-secret-value-0123456789';
    const r1 = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' }, { ...t.key, secret: wrongSecret });
    assert.equal(r1.statusCode, 401);
    const l1 = linesOf(r1.json().requestId);
    assert.equal(l1.length, 1);
    assert.equal(l1[0]!.code, 'unauthorized');
    assert.equal(l1[0]!.reason, 'Access denied: invalid access key or secret');
    assert.equal(l1[0]!.accessKey, t.key.accessKey);
    assert.equal(l1[0]!.tenant, t.tenantId);
    assert.equal(l1[0]!.detail, 'wrong secret');

    // A secret pasted where the key goes is not an access key: it is not logged.
    const r2 = await t.inject({
      method: 'GET',
      url: '/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z',
      headers: { authorization: basic({ accessKey: t.key.secret, secret: t.key.accessKey }) },
    });
    assert.equal(r2.statusCode, 401);
    const l2 = linesOf(r2.json().requestId)[0]!;
    assert.equal(l2.accessKey, undefined);
    assert.equal(l2.detail, 'unknown access key');

    const r3 = await t.inject({ method: 'GET', url: '/v2/logs?logType=AccessLog', headers: { authorization: 'Bearer not.a.token' } });
    assert.equal(linesOf(r3.json().requestId)[0]!.reason, 'Access denied: invalid token');

    const r4 = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' }, t.writeKey);
    const l4 = linesOf(r4.json().requestId)[0]!;
    assert.deepEqual([l4.status, l4.reason, l4.accessKey], [401, 'Access denied: missing scope api:logs:read', t.writeKey.accessKey]);

    const tok = await t.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { authorization: basic({ ...t.key, secret: wrongSecret }), 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'grant_type=client_credentials',
    });
    assert.equal(tok.statusCode, 401);
    const l5 = linesOf(tok.json().requestId);
    assert.equal(l5.length, 1);
    assert.deepEqual([l5[0]!.code, l5[0]!.accessKey, l5[0]!.detail], ['invalid_client', t.key.accessKey, 'wrong secret']);

    const all = raw.join('');
    for (const forbidden of [wrongSecret, t.key.secret, Buffer.from(`${t.key.accessKey}:${wrongSecret}`).toString('base64')]) {
      assert.ok(!all.includes(forbidden), `log contains ${forbidden.slice(0, 8)}…`);
    }
  });

  it('names the tenant and access key of a token request that authenticated, granted or refused', async () => {
    const form = async (payload: string) =>
      t.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { authorization: basic(t.readKey), 'content-type': 'application/x-www-form-urlencoded' },
        payload,
      });
    const answers = [
      await form('grant_type=client_credentials'),
      await form('grant_type=client_credentials&scope=api:logs:write'),
      await form('grant_type=password'),
    ];
    assert.deepEqual(
      answers.map((a) => a.statusCode),
      [200, 400, 400],
    );
    for (const a of answers) {
      const mine = linesOf(a.json().requestId);
      assert.equal(mine.length, 1);
      assert.deepEqual([mine[0]!.tenant, mine[0]!.accessKey], [t.tenantId, t.readKey.accessKey], JSON.stringify(mine[0]));
    }
    assert.deepEqual(
      answers.slice(1).map((a) => linesOf(a.json().requestId)[0]!.code),
      ['invalid_scope', 'unsupported_grant_type'],
    );
    assert.ok(!raw.join('').includes((answers[0]!.json() as { access_token: string }).access_token), 'the token is not logged');
  });

  it('names the access key of an expired token (the server signed it), never the token', async () => {
    const clock = new TestClock();
    const captured: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        captured.push(String(chunk));
        cb();
      },
    });
    const app = await startTestApp({ logger: createLogger('info', sink), now: clock.now });
    try {
      const tok = await app.inject({
        method: 'POST',
        url: '/oauth2/token',
        headers: { authorization: basic(app.key), 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'grant_type=client_credentials',
      });
      const token = (tok.json() as { access_token: string; expires_in: number }).access_token;
      clock.advance((tok.json() as { expires_in: number }).expires_in * 1000 + 2000);
      const r = await app.inject({
        method: 'GET',
        url: '/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z',
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(r.statusCode, 401);
      assert.deepEqual(r.json().errors, ['Access denied: token expired']);
      const line = captured
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Line)
        .find((l) => l.requestId === r.json().requestId);
      assert.deepEqual(
        [line?.code, line?.reason, line?.accessKey, line?.tenant],
        ['unauthorized', 'Access denied: token expired', app.key.accessKey, app.tenantId],
      );
      assert.ok(!captured.join('').includes(token), 'the token is not logged');
    } finally {
      await app.close();
    }
  });

  it('keeps audit payload of a rejected ingest out of the log', async () => {
    const marker = 'PAYLOAD-MARKER-91c2';
    const bad = await t.inject({
      method: 'POST',
      url: '/v2/logs',
      headers: { authorization: basic(t.key), 'content-type': 'application/json' },
      payload: `${marker} is not JSON`,
    });
    assert.equal(bad.statusCode, 400);
    assert.ok(bad.body.length > 0);
    const nd = await t.inject({
      method: 'POST',
      url: '/v2/logs',
      headers: { authorization: basic(t.key), 'content-type': 'application/x-ndjson' },
      payload: `{"logType":"${marker}","eventTime":"2026-01-01T00:00:00Z","logRecord":{}}\n`,
    });
    assert.equal(nd.statusCode, 400);
    assert.match(nd.body, new RegExp(marker), 'the client is told what it sent');
    assert.equal(linesOf(nd.json().requestId).length, 1);
    assert.ok(!raw.join('').includes(marker), 'the log is not');
  });

  it('keeps payload quoted by JSON.parse, and field names the client chose, out of the log', async () => {
    const marker = 'PAYLOADMARK';
    const E = '"eventTime":"2026-12-01T00:00:00Z"';
    const bodies: [string, string][] = [
      ['application/json', `{"logType":"AccessLog","logEntries":[{${E},"logRecord":{"a":${marker}1}}]}`],
      ['application/json', `{"logType":"AccessLog","logEntries":[{${E},"logRecord":{},"${marker}2":1}]}`],
      ['application/json', `{"logType":"AccessLog","logEntries":[],"${marker}3 \\" x":1}`],
      ['application/json', `{"logType":"AccessLog","logEntries":[{${E},"logRecord":{},"${marker}4":1,"${marker}4":2}]}`],
      ['application/json', `{"logType":"AccessLog","logEntries":[{${E},"logRecord":{}, "${marker}5":${'['.repeat(70)}${']'.repeat(70)}}]}`],
      ['application/x-ndjson', `{"logType":"AccessLog",${E},"logRecord":{},"${marker}6":1}\n`],
      ['application/x-ndjson', `{"logType":"AccessLog",${E},"logRecord":{"x":${marker}7}}\n`],
    ];
    for (const [type, payload] of bodies) {
      const res = await t.inject({ method: 'POST', url: '/v2/logs', headers: { authorization: basic(t.key), 'content-type': type }, payload });
      assert.equal(res.statusCode, 400, payload);
      const [line] = linesOf(res.json().requestId);
      assert.ok(line?.reason, payload);
      assert.ok(!line.reason.includes(marker), `logged: ${line.reason}`);
    }
    // A known field is still named, so the log says what was wrong.
    const typo = await t.ingest('AccessLog', [{ eventTime: '2026-12-01T00:00:00Z', logRecord: {}, userId: 7 } as never]);
    assert.equal(typo.statusCode, 400);
    assert.match(linesOf(typo.json().requestId)[0]!.reason!, /^logEntries\[0\]\.userId: must be a string/);
    assert.ok(!raw.join('').includes(marker), 'the log holds no marker');
  });

  it('logs a 500 once, at error level, with its cause and requestId', async () => {
    const original = t.store.firstPage;
    t.store.firstPage = async () => {
      throw new Error('disk on fire');
    };
    try {
      const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
      assert.equal(r.statusCode, 500);
      const mine = linesOf(r.json().requestId);
      assert.equal(mine.length, 1);
      assert.deepEqual([mine[0]!.level, mine[0]!.msg, mine[0]!.code], [50, 'request failed', 'internal']);
      assert.match(mine[0]!.err!.message, /disk on fire/);
    } finally {
      t.store.firstPage = original;
    }
  });

  it("keeps a database error's row data out of the log: its message, code and names stay", async () => {
    const marker = 'ROW-DATA-MARKER-5e1d';
    // The shape of pg's DatabaseError: the failing row in `detail`, more context in other fields.
    class DatabaseError extends Error {}
    const pgError = Object.assign(new DatabaseError('new row for relation "entries" violates check constraint "entries_time_check"'), {
      code: '23514',
      severity: 'ERROR',
      detail: `Failing row contains (7, AccessLog, {"userId":"${marker}"}).`,
      where: `SQL function "f" statement 1 (${marker})`,
      hint: marker,
      internalQuery: `SELECT '${marker}'`,
      parameters: [marker],
      table: 'entries',
      constraint: 'entries_time_check',
      cause: Object.assign(new Error('underneath'), { detail: marker }),
    });
    const original = t.store.firstPage;
    t.store.firstPage = async () => {
      throw pgError;
    };
    try {
      const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
      assert.equal(r.statusCode, 500);
      const mine = linesOf(r.json().requestId);
      assert.equal(mine.length, 1);
      const err = mine[0]!.err as Record<string, unknown>;
      assert.deepEqual(
        [err.type, err.message, err.code, err.table, err.constraint],
        ['DatabaseError', pgError.message, '23514', 'entries', 'entries_time_check'],
      );
      assert.match(String(err.stack), /violates check constraint/);
      assert.deepEqual((err.cause as Record<string, unknown>).message, 'underneath');
      assert.ok(!raw.join('').includes(marker), 'no row data in the log');
    } finally {
      t.store.firstPage = original;
    }
  });

  it('answers a store it cannot reach (a refused connection, a PostgreSQL shutting down) with 503 and Retry-After, logged with its cause', async () => {
    const original = t.store.firstPage;
    for (const [message, code] of [
      ['connect ECONNREFUSED 127.0.0.1:5432', 'ECONNREFUSED'],
      ['terminating connection due to administrator command', '57P01'],
      ['Connection terminated unexpectedly', undefined],
    ] as const) {
      t.store.firstPage = async () => {
        throw Object.assign(new Error(message), code === undefined ? {} : { code });
      };
      try {
        const r = await t.list({ logType: 'AccessLog', fromDateTime: '2026-01-01T00:00:00Z' });
        assert.equal(r.statusCode, 503, message);
        assert.equal(r.headers['retry-after'], '1');
        assert.deepEqual(r.json().errors, ['store unreachable; retry later']);
        const mine = linesOf(r.json().requestId);
        assert.deepEqual([mine[0]!.level, mine[0]!.code], [50, 'unavailable']);
        assert.equal(mine[0]!.err!.message, message);
      } finally {
        t.store.firstPage = original;
      }
    }
  });

  it('logs and counts what is answered before routing, each with the requestId it was given', async () => {
    const port = await listening();
    const answers = [
      await request(port, { method: 'GET', path: '/v2/%E0%A4%A' }),
      await request(port, { method: 'GET', path: '/healthz', headers: { 'x-pad': 'a'.repeat(20_000) } }),
      await sendRaw(port, Buffer.from('GARBAGE\r\n\r\n')),
    ];
    assert.deepEqual(
      answers.map((a) => a.status),
      [400, 431, 400],
    );
    await waitFor(() => answers.every((a) => linesOf(a.headers['x-traceid']!).length > 0));
    for (const a of answers) {
      const requestId = (JSON.parse(a.body.toString()) as { requestId: string }).requestId;
      const mine = linesOf(requestId);
      assert.equal(mine.length, 1, `one line for ${requestId}`);
      assert.deepEqual([mine[0]!.status, mine[0]!.msg], [a.status, 'request rejected']);
    }
    assert.deepEqual(
      answers.map((a) => linesOf(a.headers['x-traceid']!)[0]!.code),
      ['invalid_request', 'headers_too_large', 'invalid_request'],
    );
    const metrics = (await t.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (labels: string) => Number(new RegExp(`^logwarden_http_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
    assert.equal(count('route="unmatched",method="GET",status="400"'), 1);
    assert.equal(count('route="unmatched",method="unknown",status="400"'), 1);
    assert.equal(count('route="unmatched",method="unknown",status="431"'), 1);
  });

  it('logs an ingest whose client left in the middle of its body once, as 499 (aborted)', async () => {
    const port = await listening();
    const aborted = () => lines().filter((l) => l.status === 499);
    const malformed = () => lines().filter((l) => l.reason === 'malformed HTTP request').length;
    const before = aborted().length;
    const malformedBefore = malformed();
    for (const type of ['application/json', 'application/x-ndjson']) {
      const socket = connect(port, '127.0.0.1');
      await once(socket, 'connect');
      const received = once(t.app.server, 'request');
      socket.write(
        `POST /v2/logs HTTP/1.1\r\nhost: x\r\nauthorization: ${basic(t.key)}\r\ncontent-type: ${type}\r\ncontent-length: 100000\r\n\r\n{"logType":"AccessLog"`,
      );
      // The server has the request (its body is being read) before the client leaves.
      await received;
      socket.destroy();
    }
    await waitFor(() => aborted().length >= before + 2);
    await new Promise((r) => setTimeout(r, 100));
    const mine = aborted().slice(before);
    assert.equal(mine.length, 2);
    for (const line of mine) {
      assert.deepEqual([line.method, line.url, line.tenant, line.accessKey], ['POST', '/v2/logs', t.tenantId, t.key.accessKey]);
      assert.match(line.msg, /^request aborted/);
      assert.equal(linesOf(line.requestId!).length, 1, 'one line for the request');
    }
    // The cut request is not answered (and logged) a second time as a malformed one.
    assert.equal(malformed(), malformedBefore);
  });

  it("logs only the API's plain query values (no credential, no person) and bounds what it logs", () => {
    assert.equal(
      loggableUrl('/v2/logs?access_token=abc&logType=AccessLog&Token=x&auth=AU_1&limit=5'),
      '/v2/logs?access_token=[redacted]&logType=AccessLog&Token=[redacted]&auth=[redacted]&limit=5',
    );
    assert.equal(
      loggableUrl('/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z&userEmailAddress=ana%40example.com&userId=51209'),
      '/v2/logs?logType=AccessLog&fromDateTime=2026-01-01T00:00:00Z&userEmailAddress=[redacted]&userId=[redacted]',
    );
    assert.equal(loggableUrl('/v2/logs?pastedsecret'), '/v2/logs?[redacted]');
    // Names are read percent-decoded; one that does not decode is masked as sent.
    assert.equal(loggableUrl('/v2/logs?%6CogType=AccessLog&%E0%A4%A=x&li%6Dit=5'), '/v2/logs?%6CogType=AccessLog&%E0%A4%A=[redacted]&li%6Dit=5');
    assert.equal(loggableUrl('/v2/logs?cursor=abc&limit=5&'), '/v2/logs?cursor=abc&limit=5&[redacted]');
    assert.equal(loggableUrl('/v2/logs'), '/v2/logs');
    assert.ok(loggableUrl('/x?' + 'a'.repeat(2000)).length < 500);
    assert.equal(
      loggableMessage(['logType: unknown log type "Secret \\"quoted\\" name" (expected one of A)']),
      'logType: unknown log type "…" (expected one of A)',
    );
  });

  it("writes a request's info line exactly as pino would, at the logger's level, and leaves other loggers to themselves", () => {
    type Root = ReturnType<typeof createLogger>;
    const written = (level: string, log: (root: Root) => void): string[] => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk));
          done();
        },
      });
      log(createLogger(level, sink));
      return lines;
    };
    const child = (root: Root) => root.child({ requestId: 'r1' });
    /** The request's logger Fastify makes (app.ts): pino's child only once something logs through it. */
    const requestLog = (root: Root) => new RequestLogger(root, { requestId: 'r1' }, {});
    const cases: Array<Record<string, string | number>> = [
      { method: 'GET', url: '/v2/logs?logType=AccessLog&limit=5', route: '/v2/logs', status: 200, ms: 1.2, tenant: '42', accessKey: 'LWKEY' },
      {
        method: 'GET',
        url: '/v2/logs?cursor=[redacted]',
        route: '/v2/logs',
        status: 400,
        ms: 0,
        code: 'invalid_request',
        reason: 'cursor: is "…" \\ é 中 \u0001',
      },
      { method: 'POST', url: '/x', route: 'unmatched', status: 404, ms: 12345.5, detail: 'line\nbreak\ttab' },
      { method: 'GET', url: '/', route: 'unmatched', status: 404, ms: Number.NaN },
    ];
    const time = /"time":\d+/;
    for (const fields of cases) {
      for (const message of ['request completed', 'request rejected']) {
        const viaPino = written('info', (r) => child(r).info(fields, message));
        const direct = written('info', (r) => assert.equal(writeInfoLine(child(r), fields, message), true));
        // A request's logger writes it from its parent's bindings and its own, and from pino's child once made.
        const unmade = written('info', (r) => assert.equal(writeInfoLine(requestLog(r), fields, message), true));
        const made = written('info', (r) => {
          const log = requestLog(r);
          log.child({});
          assert.equal(writeInfoLine(log, fields, message), true);
        });
        assert.equal(viaPino.length, 1);
        for (const lines of [direct, unmade, made])
          assert.deepEqual(
            lines.map((l) => l.replace(time, '"time":0')),
            [viaPino[0]!.replace(time, '"time":0')],
          );
      }
    }
    // Below the logger's level nothing is written; a logger that is not pino's is left to log itself.
    for (const log of [child, requestLog]) {
      assert.deepEqual(
        written('warn', (r) => assert.equal(writeInfoLine(log(r), cases[0]!, 'request completed'), true)),
        [],
      );
    }
    const plain = { info() {}, error() {}, warn() {}, debug() {}, fatal() {}, trace() {}, child: () => plain, level: 'info', silent() {} };
    assert.equal(writeInfoLine(plain as never, cases[0]!, 'request completed'), false);
    assert.equal(writeInfoLine(new RequestLogger(plain as never, { requestId: 'r1' }, {}), cases[0]!, 'request completed'), false);
  });

  it("logs through a request's logger as through pino's child, made only when first used", () => {
    const lines: string[] = [];
    const root = createLogger(
      'debug',
      new Writable({
        write(chunk, _enc, done) {
          lines.push(String(chunk).replace(/"time":\d+/, '"time":0'));
          done();
        },
      }),
    );
    const log = new RequestLogger(root, { requestId: 'r1' }, {});
    assert.equal(log.lineTarget().log, root);
    assert.equal(log.level, 'debug');
    const child = root.child({ requestId: 'r1' });
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug'] as const) {
      log[level]({ err: new Error('boom'), n: 1 }, 'with %s', 'format');
      child[level]({ err: new Error('boom'), n: 1 }, 'with %s', 'format');
      log[level]('message only');
      child[level]('message only');
    }
    log.trace('below the level');
    const stack = /"stack":"(?:[^"\\]|\\.)*"/;
    assert.equal(lines.length, 20);
    for (let i = 0; i < 20; i += 2) assert.equal(lines[i]!.replace(stack, ''), lines[i + 1]!.replace(stack, ''));
    assert.ok(lines.every((l) => l.includes('"requestId":"r1"')));
    assert.notEqual(log.lineTarget().log, root);
    // A child of the request's logger carries the request's bindings too; a level set sticks.
    log.child({ step: 2 }).info('child');
    assert.match(lines.at(-1)!, /"requestId":"r1","step":2/);
    log.level = 'error';
    assert.equal(log.level, 'error');
    assert.equal(root.level, 'debug');
    // Bindings pino would have to look at make the child at once.
    assert.notEqual(new RequestLogger(root, { requestId: 7 }, {}).lineTarget().log, root);
    assert.notEqual(new RequestLogger(root, { requestId: 'r2' }, { level: 'warn' }).lineTarget().log, root);
  });

  it('hands JSON lines to the log stream together, at most a few milliseconds after the first, in order, and those waiting on flush', (c) => {
    c.mock.timers.enable({ apis: ['setTimeout'] });
    const writes: string[] = [];
    let flushes = 0;
    const lines = new BatchedLines({
      write: (text: string) => writes.push(text) > 0,
      flush: (done?: (err?: Error) => void) => {
        flushes++;
        done?.();
      },
    });
    lines.write('a\n');
    c.mock.timers.tick(LINE_WAIT_MS - 1);
    for (const l of ['b\n', 'c\n']) lines.write(l);
    assert.deepEqual(writes, []);
    c.mock.timers.tick(1);
    assert.deepEqual(writes, ['a\nb\nc\n']);
    lines.write('d\n');
    c.mock.timers.tick(LINE_WAIT_MS);
    assert.deepEqual(writes, ['a\nb\nc\n', 'd\n']);
    lines.write('e\n');
    lines.write('f\n');
    lines.flush();
    assert.deepEqual(writes, ['a\nb\nc\n', 'd\n', 'e\nf\n']);
    assert.equal(flushes, 1);
    c.mock.timers.tick(LINE_WAIT_MS);
    assert.equal(writes.length, 3);
    // However many there are, they share one exit listener (a command that retries its start makes a logger each time).
    const listeners = process.listenerCount('exit');
    for (let i = 0; i < 20; i++) new BatchedLines({ write: () => true, flush: () => {} }).write('x\n');
    assert.ok(process.listenerCount('exit') <= listeners + 1, `${process.listenerCount('exit') - listeners} exit listeners added`);
    c.mock.timers.tick(LINE_WAIT_MS);
  });

  it('loses no JSON line waiting to be written when the process exits, at once or when it has nothing left to do', () => {
    const logger = pathToFileURL(runnable(new URL('../../src/server/logger.ts', import.meta.url))).href;
    for (const end of ['process.exit(3)', '']) {
      const script = `import { createLogger } from ${JSON.stringify(logger)};
        const log = createLogger('info');
        for (let i = 0; i < 3; i++) log.info({ i }, 'line');
        ${end}`;
      const child = spawnSync(process.execPath, [...LOADER_ARGS, '--input-type=module', '-e', script], { encoding: 'utf8' });
      assert.equal(child.status, end === '' ? 0 : 3, child.stderr);
      assert.deepEqual(
        child.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { i: number }).i),
        [0, 1, 2],
        `after ${end || 'the last task'}: ${child.stdout}`,
      );
    }
  });

  it('writes to process.stdout when a program running it in its own process replaced it, not to descriptor 1', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    });
    const own = Object.getOwnPropertyDescriptor(process, 'stdout')!;
    Object.defineProperty(process, 'stdout', { value: sink, configurable: true, writable: true });
    try {
      createLogger('info').info({ i: 1 }, 'json line');
      createLogger('info', undefined, 'pretty').info('pretty line');
    } finally {
      Object.defineProperty(process, 'stdout', own);
    }
    assert.equal(lines.length, 2, lines.join(''));
    assert.equal((JSON.parse(lines[0]!) as { msg: string }).msg, 'json line');
    assert.match(lines[1]!, /pretty line/);
  });

  it('formats a request line for a terminal on one line', () => {
    const time = new Date(2026, 10, 30, 9, 5, 7, 42).getTime();
    const line = prettyLine({
      level: 30,
      time,
      pid: 1,
      service: 'logwarden',
      requestId: 'abc',
      method: 'GET',
      url: '/v2/logs?logType=AccessLog',
      route: '/v2/logs',
      status: 401,
      ms: 2.5,
      accessKey: 'LWKEY',
      tenant: '42',
      code: 'unauthorized',
      reason: 'Access denied: invalid access key or secret',
      detail: 'wrong secret',
      msg: 'request rejected',
    });
    assert.equal(
      line,
      '09:05:07.042 INFO  GET /v2/logs?logType=AccessLog 401 2.5ms unauthorized: Access denied: invalid access key or secret accessKey=LWKEY tenant=42 detail="wrong secret" requestId=abc\n',
    );
    const failed = prettyLine({
      level: 50,
      time,
      msg: 'request failed',
      method: 'GET',
      url: '/',
      status: 500,
      ms: 1,
      err: { type: 'Error', message: 'x', stack: 'Error: x\n    at f (a.ts:1:1)' },
    });
    assert.equal(failed.split('\n').length, 4);
    assert.match(failed, /^09:05:07\.042 ERROR GET \/ 500 1ms\n {4}Error: x\n {4}at f \(a\.ts:1:1\)\n$/);
    assert.equal(prettyLine({ level: 30, time, msg: 'upkeep done', removed: 3 }), '09:05:07.042 INFO  upkeep done removed=3\n');
  });
});
