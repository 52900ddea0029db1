/**
 * A catalogue of malformed requests — reads, ingests, token requests and plain HTTP abuse —
 * sent over a real socket to a real app. Each case names the status the contract gives it;
 * none may be a 5xx, every answer carries a requestId (in the body and in `x-traceid`) in the
 * error envelope (the OAuth error shape on /oauth2/token), and after the whole catalogue the
 * server still answers valid requests and holds nothing that a rejected request carried.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NO_RECORDS_MESSAGE } from '../../src/errors.ts';
import { CursorCodec } from '../../src/logs/cursor.ts';
import { arrayElements, objectMembers, skipWs } from '../../src/logs/json-text.ts';
import { GONG_LOG_TYPES } from '../../src/logs/log-types.ts';
import { REQUEST_ID_PATTERN } from '../../src/logs/request-id.ts';
import { signingSecret } from '../../src/server/app.ts';
import { TokenService } from '../../src/server/tokens.ts';
import { createTenant, type IssuedKey, issueAccessKey } from '../../src/service/access-keys.ts';
import { basic, startTestApp, type TestApp } from '../support/app.ts';
import { formatRequest, type RawRequest, type RawResponse, request, sendRaw } from '../support/raw-http.ts';
import { cursorFields, sealRetiredCursor } from '../support/retired-cursor.ts';
import { storeKinds } from '../support/stores.ts';

const FROM = '2024-03-01T00:00:00Z';
const SEEDED = 5;
const MAX_JSON_BODY = 1024 * 1024;
const MAX_NDJSON_LINE = 16 * 1024;

/** What the cases are built from, known once the server is up and seeded. */
interface Ctx {
  readonly auth: string;
  readonly readOnly: string;
  readonly writeOnly: string;
  readonly revoked: string;
  /** A valid cursor of this tenant (page 1 of `AccessLog` from FROM, limit 2). */
  readonly cursor: string;
  readonly foreignCursor: string;
  readonly expiredCursor: string;
  readonly retiredCursor: string;
  readonly readToken: string;
  readonly writeOnlyToken: string;
  readonly forgedToken: string;
}

interface Case {
  readonly name: string;
  readonly status: number;
  readonly send: (c: Ctx) => RawRequest | Buffer;
  /** The first error message (or the OAuth error_description) must match. */
  readonly message?: RegExp;
  /** The OAuth `error` code, for /oauth2/token cases. */
  readonly oauth?: string;
}

const qs = (params: Record<string, string> | string): string =>
  '/v2/logs?' + (typeof params === 'string' ? params : new URLSearchParams(params).toString());
const valid = (extra: Record<string, string> = {}) => ({ logType: 'AccessLog', fromDateTime: FROM, ...extra });

function read(
  name: string,
  status: number,
  query: Record<string, string> | string | ((c: Ctx) => Record<string, string> | string),
  message?: RegExp,
): Case {
  return {
    name,
    status,
    message,
    send: (c) => ({ method: 'GET', path: qs(typeof query === 'function' ? query(c) : query), headers: { authorization: c.auth } }),
  };
}

const badFrom = (name: string, value: string, message = /^fromDateTime: /) =>
  read(`fromDateTime ${name}`, 400, valid({ fromDateTime: value }), message);

function readAs(name: string, status: number, authorization: string | ((c: Ctx) => string) | undefined, message?: RegExp): Case {
  return {
    name: `read with ${name}`,
    status,
    message,
    send: (c) => {
      const value = typeof authorization === 'function' ? authorization(c) : authorization;
      const headers: Record<string, string> = value === undefined ? {} : { authorization: value };
      return { method: 'GET', path: qs(valid()), headers };
    },
  };
}

function ingest(
  name: string,
  status: number,
  body: string | Buffer | undefined,
  message?: RegExp,
  contentType: string | null = 'application/json',
): Case {
  return {
    name,
    status,
    message,
    send: (c) => ({
      method: 'POST',
      path: '/v2/logs',
      headers: { authorization: c.auth, ...(contentType !== null && { 'content-type': contentType }) },
      ...(body !== undefined && { body }),
    }),
  };
}

const E = (fields: string) => `{${fields}}`;
const ET = `"eventTime":"${FROM}"`;
const batch = (...entries: string[]) => `{"logType":"AccessLog","logEntries":[${entries.join(',')}]}`;
const badEntry = (name: string, entry: string, message: RegExp) => ingest(`ingest entry ${name}`, 400, batch(entry), message);
const ndjson = (name: string, status: number, body: string | Buffer, message?: RegExp) =>
  ingest(`ndjson ${name}`, status, body, message, 'application/x-ndjson');
const LINE = `{"logType":"AccessLog",${ET},"logRecord":{"ok":true}}`;

function token(
  name: string,
  status: number,
  oauth: string,
  body: string | undefined,
  authorization?: (c: Ctx) => string | undefined,
  contentType = 'application/x-www-form-urlencoded',
): Case {
  return {
    name: `token ${name}`,
    status,
    oauth,
    send: (c) => {
      const value = authorization ? authorization(c) : c.auth;
      return {
        method: 'POST',
        path: '/oauth2/token',
        headers: { ...(value !== undefined && { authorization: value }), ...(body !== undefined && { 'content-type': contentType }) },
        ...(body !== undefined && { body }),
      };
    },
  };
}

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

function flipBit(cursor: string, at: number): string {
  const raw = Buffer.from(cursor, 'base64url');
  raw[at % raw.length]! ^= 0x10;
  return raw.toString('base64url');
}

const CASES: Case[] = [
  // --- GET /v2/logs: required parameters
  read('no parameters', 400, {}, /^logType: is required/),
  read('no logType', 400, { fromDateTime: FROM }, /^logType: is required/),
  read('empty logType', 400, valid({ logType: '' }), /^logType: /),
  read('no fromDateTime', 400, { logType: 'AccessLog' }, /^fromDateTime: is required/),
  badFrom('empty', '', /^fromDateTime: is required/),

  // --- dates
  badFrom('without offset', '2024-03-01T00:00:00', /offset/),
  badFrom('date only', '2024-03-01', /^fromDateTime: /),
  badFrom('impossible Feb 30', '2021-02-30T00:00:00Z', /impossible date/),
  badFrom('Feb 29 of a common year', '2023-02-29T00:00:00Z', /impossible date/),
  badFrom('April 31', '2024-04-31T00:00:00Z', /impossible date/),
  badFrom('hour 24:00', '2024-03-01T24:00:00Z', /impossible hour/),
  badFrom('minute 60', '2024-03-01T10:60:00Z', /impossible minute/),
  badFrom('leap second :60', '2016-12-31T23:59:60Z', /impossible second/),
  badFrom('month 13', '2024-13-01T00:00:00Z', /impossible month/),
  badFrom('month 00', '2024-00-10T00:00:00Z', /impossible month/),
  badFrom('day 00', '2024-03-00T00:00:00Z', /impossible date/),
  badFrom('offset +25:00', '2024-03-01T00:00:00+25:00', /offset/),
  badFrom('offset +05:60', '2024-03-01T00:00:00+05:60', /offset/),
  badFrom('offset with one-digit hour', '2024-03-01T00:00:00+5:00'),
  badFrom('offset spelled UTC', '2024-03-01T00:00:00 UTC'),
  badFrom('lowercase utc suffix', '2024-03-01t00:00:00utc'),
  badFrom('lowercase month name', '2024-mar-01T00:00:00Z'),
  badFrom('Z followed by an offset', '2024-03-01T00:00:00Z+01:00'),
  badFrom('five-digit year 99999', '99999-03-01T00:00:00Z'),
  badFrom('signed expanded year', '+002024-03-01T00:00:00Z'),
  badFrom('negative year', '-0001-03-01T00:00:00Z'),
  badFrom('space instead of T', '2024-03-01 00:00:00Z'),
  badFrom('dangling fraction dot', '2024-03-01T00:00:00.Z'),
  badFrom('over 64 characters (a 45-digit fraction)', `2024-03-01T00:00:00.${'1'.repeat(45)}Z`),
  badFrom('a fraction without seconds', '2024-03-01T00:00.5Z'),
  badFrom('epoch seconds', '1709251200'),
  badFrom('Arabic-Indic digits', '٢٠٢٤-03-01T00:00:00Z'),
  badFrom('fullwidth digits', '２０２４-03-01T00:00:00Z'),
  badFrom('trailing NUL', `${FROM}\u0000`),
  badFrom('SQL tail', `${FROM}' OR '1'='1`),
  badFrom('10 KB long', '2'.repeat(10_000)),
  read('toDateTime without offset', 400, valid({ toDateTime: '2024-03-02T00:00:00' }), /^toDateTime: /),
  read('toDateTime Feb 30', 400, valid({ toDateTime: '2024-02-30T00:00:00Z' }), /^toDateTime: .*impossible date/),
  read('empty toDateTime', 400, valid({ toDateTime: '' }), /^toDateTime: /),
  read('from equal to to', 400, valid({ toDateTime: FROM }), /^toDateTime: must be later/),
  read('from after to', 400, valid({ toDateTime: '2024-02-01T00:00:00Z' }), /^toDateTime: must be later/),
  read('from equal to to at another offset', 400, valid({ toDateTime: '2024-02-29T19:00:00-05:00' }), /^toDateTime: must be later/),
  read('from after to by a microsecond', 400, valid({ fromDateTime: '2024-03-01T00:00:00.000001Z', toDateTime: FROM }), /^toDateTime: must be later/),
  read(
    'year 0000 range (valid, matches nothing)',
    404,
    valid({ fromDateTime: '0000-01-01T00:00:00Z', toDateTime: '0000-01-02T00:00:00+01:00' }),
    new RegExp(`^${NO_RECORDS_MESSAGE}$`),
  ),

  // --- log types, injection and odd characters
  read('lowercase logType', 400, valid({ logType: 'accesslog' }), /^logType: unknown log type/),
  read('logType with trailing space', 400, valid({ logType: 'AccessLog ' }), /^logType: unknown log type/),
  read('logType SQL injection', 400, valid({ logType: "' OR 1=1 --" }), /^logType: unknown log type/),
  read('logType DROP TABLE', 400, valid({ logType: "AccessLog'; DROP TABLE entries;--" }), /^logType: unknown log type/),
  read('logType __proto__', 400, valid({ logType: '__proto__' }), /^logType: unknown log type/),
  read('logType constructor', 400, valid({ logType: 'constructor' }), /^logType: unknown log type/),
  read('logType toString', 400, valid({ logType: 'toString' }), /^logType: unknown log type/),
  read('logType path traversal', 400, valid({ logType: '../../../etc/passwd' }), /^logType: unknown log type/),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal text ${…} is the attack being tried.
  read('logType template string', 400, valid({ logType: '${process.exit(1)}' }), /^logType: unknown log type/),
  read('logType template braces', 400, valid({ logType: '{{7*7}}' }), /^logType: unknown log type/),
  read('logType format string', 400, valid({ logType: '%s%s%s%n' }), /^logType: unknown log type/),
  read('logType with NUL', 400, valid({ logType: 'AccessLog\u0000' }), /^logType: unknown log type/),
  read('logType with CRLF header injection', 400, valid({ logType: 'AccessLog\r\nx-injected: 1' }), /^logType: unknown log type/),
  read('logType with ANSI escapes', 400, valid({ logType: '\u001b[31mAccessLog' }), /^logType: unknown log type/),
  read('logType with zero-width space', 400, valid({ logType: 'Access\u200bLog' }), /^logType: unknown log type/),
  read('logType with Cyrillic homoglyph', 400, valid({ logType: 'Acc\u0435ssLog' }), /^logType: unknown log type/),
  read('logType fullwidth', 400, valid({ logType: 'ＡｃｃｅｓｓＬｏｇ' }), /^logType: unknown log type/),
  read('logType emoji', 400, valid({ logType: '🪵📜' }), /^logType: unknown log type/),
  read('logType right-to-left override', 400, valid({ logType: '\u202egoLsseccA' }), /^logType: unknown log type/),
  read('logType lone surrogate (percent-encoded CESU-8)', 400, `logType=%ED%A0%80&fromDateTime=${FROM}`, /^logType: unknown log type/),
  read('logType invalid percent-encoding', 400, `logType=%E0%A4%A&fromDateTime=${FROM}`, /^logType: unknown log type/),
  read('logType 12 KB long', 400, valid({ logType: 'A'.repeat(12_000) }), /^logType: unknown log type/),
  read('logType as a bracket array', 400, `logType[]=AccessLog&fromDateTime=${FROM}`, /^logType: is required/),

  // --- repeated parameters
  read('logType twice', 400, `logType=AccessLog&logType=AccessLog&fromDateTime=${FROM}`, /^logType: must be given once/),
  read('fromDateTime twice', 400, `logType=AccessLog&fromDateTime=${FROM}&fromDateTime=${FROM}`, /^fromDateTime: must be given once/),
  read(
    'toDateTime twice',
    400,
    `logType=AccessLog&fromDateTime=${FROM}&toDateTime=2024-04-01T00:00:00Z&toDateTime=2024-05-01T00:00:00Z`,
    /^toDateTime: /,
  ),
  read('limit twice', 400, `logType=AccessLog&fromDateTime=${FROM}&limit=1&limit=2`, /^limit: /),
  read('cursor twice', 400, (c) => `cursor=${c.cursor}&cursor=${c.cursor}`, /^cursor: /),

  // --- limit
  read('limit 0', 400, valid({ limit: '0' }), /^limit: /),
  read('limit 1001', 400, valid({ limit: '1001' }), /^limit: /),
  read('limit -1', 400, valid({ limit: '-1' }), /^limit: /),
  read('limit 1.5', 400, valid({ limit: '1.5' }), /^limit: /),
  read('limit 1e2', 400, valid({ limit: '1e2' }), /^limit: /),
  read('limit empty', 400, valid({ limit: '' }), /^limit: /),
  read('limit 30 digits', 400, valid({ limit: '9'.repeat(30) }), /^limit: /),
  read('limit with SQL', 400, valid({ limit: '1; DROP TABLE entries' }), /^limit: /),
  read('limit fullwidth digits', 400, valid({ limit: '１０' }), /^limit: /),

  // --- cursors
  read('cursor of random base64url', 400, { cursor: randomBytes(60).toString('base64url') }, /^cursor: is not a valid cursor/),
  read('cursor truncated', 400, (c) => ({ cursor: c.cursor.slice(0, Math.floor(c.cursor.length / 2)) }), /^cursor: is not a valid cursor/),
  read('cursor missing its last character', 400, (c) => ({ cursor: c.cursor.slice(0, -1) }), /^cursor: is not a valid cursor/),
  read('cursor with a flipped bit in the IV', 400, (c) => ({ cursor: flipBit(c.cursor, 3) }), /^cursor: is not a valid cursor/),
  read('cursor with a flipped bit in the payload', 400, (c) => ({ cursor: flipBit(c.cursor, 40) }), /^cursor: is not a valid cursor/),
  read('cursor in standard base64 alphabet', 400, { cursor: randomBytes(60).toString('base64') + '+/=' }, /^cursor: is not a valid cursor/),
  read('cursor empty', 400, { cursor: '' }, /^cursor: /),
  read('cursor 3 KB long', 400, { cursor: 'A'.repeat(3000) }, /^cursor: is not a valid cursor/),
  read('cursor SQL injection', 400, { cursor: "' OR 1=1 --" }, /^cursor: is not a valid cursor/),
  read('cursor of another tenant', 400, (c) => ({ cursor: c.foreignCursor }), /^cursor: is not a valid cursor/),
  read('cursor expired', 400, (c) => ({ cursor: c.expiredCursor }), /^cursor: has expired/),
  read(
    'cursor sealed as earlier versions sealed them',
    400,
    (c) => ({ cursor: c.retiredCursor }),
    /^cursor: was issued by an earlier version of this server/,
  ),
  read(
    'cursor with another logType',
    400,
    (c) => ({ ...valid({ logType: 'UserCallPlay', limit: '2' }), cursor: c.cursor }),
    /^cursor: does not match/,
  ),
  read(
    'cursor with another fromDateTime',
    400,
    (c) => ({ ...valid({ fromDateTime: '2024-02-01T00:00:00Z', limit: '2' }), cursor: c.cursor }),
    /^cursor: does not match/,
  ),
  read(
    'cursor with an added toDateTime',
    400,
    (c) => ({ ...valid({ toDateTime: '2025-01-01T00:00:00Z', limit: '2' }), cursor: c.cursor }),
    /^cursor: does not match/,
  ),
  read('cursor with another limit', 400, (c) => ({ cursor: c.cursor, limit: '3' }), /^cursor: does not match/),
  read('cursor with a bad fromDateTime', 400, (c) => ({ ...valid({ fromDateTime: '2024-02-30T00:00:00Z' }), cursor: c.cursor }), /^fromDateTime: /),

  // --- credentials (on an otherwise valid read)
  readAs('no Authorization', 401, undefined, /^Access denied: missing credentials/),
  readAs('empty Authorization', 401, '', /^Access denied: /),
  readAs('garbage Authorization', 401, 'garbage', /^Access denied: unsupported authorization scheme/),
  readAs('unknown scheme', 401, 'Digest username="x", realm="y"', /^Access denied: unsupported authorization scheme/),
  readAs('Basic without a value', 401, 'Basic', /^Access denied: malformed Basic credentials/),
  readAs('Basic that is not base64', 401, 'Basic !!!not-base64!!!', /^Access denied: malformed Basic credentials/),
  readAs('Basic with no colon', 401, `Basic ${b64('LWAAAAAAAAAAAAAAAAAAAA')}`, /^Access denied: malformed Basic credentials/),
  readAs('Basic with an empty access key', 401, (c) => `Basic ${b64(':' + c.auth)}`, /^Access denied: malformed Basic credentials/),
  readAs('Basic with an unknown key', 401, `Basic ${b64('LWNOSUCHKEY234567ABCDEF:secret')}`, /^Access denied: invalid access key or secret$/),
  readAs('Basic with a wrong secret', 401, (c) => basicWithSecret(c.auth, 'wrong'), /^Access denied: invalid access key or secret$/),
  readAs('Basic of a revoked key', 401, (c) => c.revoked, /^Access denied: invalid access key or secret$/),
  readAs('Basic with SQL in the key', 401, `Basic ${b64("' OR 1=1 --:x")}`, /^Access denied: invalid access key or secret$/),
  readAs('Basic with NUL and invalid UTF-8', 401, `Basic ${b64(Buffer.from([0x4c, 0x57, 0x00, 0xff, 0x3a, 0xfe]))}`, /^Access denied: /),
  readAs('Basic 12 KB long', 401, `Basic ${b64('A'.repeat(9000) + ':x')}`, /^Access denied: /),
  readAs('a write-only key', 401, (c) => c.writeOnly, /^Access denied: missing scope api:logs:read$/),
  readAs('Bearer without a token', 401, 'Bearer', /^Access denied: invalid token$/),
  readAs('Bearer garbage', 401, 'Bearer not.a.jwt', /^Access denied: invalid token$/),
  readAs('Bearer alg=none', 401, (c) => `Bearer ${unsigned(c.readToken)}`, /^Access denied: invalid token$/),
  readAs('Bearer signed by another server', 401, (c) => `Bearer ${c.forgedToken}`, /^Access denied: invalid token$/),
  readAs('Bearer of a write-only token', 401, (c) => `Bearer ${c.writeOnlyToken}`, /^Access denied: missing scope api:logs:read$/),
  readAs('Bearer 5 KB long', 401, `Bearer ${'a'.repeat(5000)}`, /^Access denied: invalid token$/),

  // --- POST /v2/logs (JSON): broken bodies
  ingest('empty JSON body', 400, '', /^body is empty/),
  ingest('blank JSON body', 400, ' \n', /^body is empty/),
  ingest('truncated JSON', 400, batch(E(`${ET},"logRecord":{}`)).slice(0, 40), /^body is not valid JSON/),
  ingest('trailing garbage', 400, batch(E(`${ET},"logRecord":{}`)) + 'xyz', /^body is not valid JSON/),
  ingest('two JSON documents', 400, batch(E(`${ET},"logRecord":{}`)).repeat(2), /^body is not valid JSON/),
  ingest('100k unclosed [', 400, '['.repeat(100_000), /^body: nests objects and arrays more than 64 levels deep/),
  ingest('100k nested [ ] as the body', 400, '['.repeat(100_000) + ']'.repeat(100_000), /^body: nests objects and arrays more than 64 levels deep/),
  ingest(
    '100k nested [ ] as an entry',
    400,
    `{"logType":"AccessLog","logEntries":[${'['.repeat(100_000)}${']'.repeat(100_000)}]}`,
    /^logEntries\[0\]: nests objects and arrays/,
  ),
  ingest('UTF-8 BOM', 400, '\ufeff' + batch(E(`${ET},"logRecord":{}`)), /^body starts with a UTF-8 byte-order mark/),
  ingest(
    'invalid UTF-8 bytes',
    400,
    Buffer.concat([
      Buffer.from(`{"logType":"AccessLog","logEntries":[{${ET},"userId":"`),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from('","logRecord":{}}]}'),
    ]),
    /UTF-8/,
  ),
  ingest(
    'raw lone surrogate (CESU-8 bytes)',
    400,
    Buffer.concat([
      Buffer.from(`{"logType":"AccessLog","logEntries":[{${ET},"logRecord":{"s":"`),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}}]}'),
    ]),
    /UTF-8/,
  ),
  ingest(
    'overlong UTF-8 encoding of "/"',
    400,
    Buffer.concat([Buffer.from(`{"logType":"AccessLog","logEntries":[{${ET},"logRecord":{"p":"..`), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}]}')]),
    /UTF-8/,
  ),
  ingest('NaN literal', 400, batch(E(`${ET},"logRecord":{"n":NaN}`)), /^body is not valid JSON/),
  ingest('single-quoted JSON', 400, `{'logType':'AccessLog','logEntries':[]}`, /^body is not valid JSON/),
  ingest('trailing comma', 400, batch(E(`${ET},"logRecord":{},`)), /^body is not valid JSON/),
  ingest('comment in JSON', 400, `{"logType":"AccessLog", /* c */ "logEntries":[]}`, /^body is not valid JSON/),
  ingest('raw control character in a string', 400, batch(E(`${ET},"logRecord":{"s":"a\u0001b"}`)), /^body is not valid JSON/),

  // --- JSON: wrong shapes and types
  ingest('body null', 400, 'null', /^body must be a JSON object/),
  ingest('body an array', 400, '[]', /^body must be a JSON object/),
  ingest('body a string', 400, '"AccessLog"', /^body must be a JSON object/),
  ingest('body a number', 400, '42', /^body must be a JSON object/),
  ingest('body {}', 400, '{}', /^logType: is required/),
  ingest('ingest logType null', 400, '{"logType":null,"logEntries":[]}', /^logType: is required/),
  ingest('ingest logType a number', 400, '{"logType":1,"logEntries":[]}', /^logType: must be a string/),
  ingest('ingest logType unknown', 400, '{"logType":"AuditLog","logEntries":[]}', /^logType: unknown log type/),
  ingest('ingest logType DROP TABLE', 400, `{"logType":"AccessLog'; DROP TABLE entries;--","logEntries":[]}`, /^logType: unknown log type/),
  ingest('ingest logType __proto__', 400, '{"logType":"__proto__","logEntries":[]}', /^logType: unknown log type/),
  ingest('logEntries missing', 400, '{"logType":"AccessLog"}', /^logEntries: must be an array/),
  ingest('logEntries an object', 400, `{"logType":"AccessLog","logEntries":{"0":{${ET},"logRecord":{}}}}`, /^logEntries: must be an array/),
  ingest('logEntries a string', 400, '{"logType":"AccessLog","logEntries":"[]"}', /^logEntries: must be an array/),
  ingest('logEntries null', 400, '{"logType":"AccessLog","logEntries":null}', /^logEntries: must be an array/),
  ingest('10,001 entries', 400, batch(...Array.from({ length: 10_001 }, () => E(`${ET},"logRecord":{}`))), /^logEntries: at most 10000 entries/),
  ingest('unknown top-level field', 400, `{"logType":"AccessLog","logEntries":[],"tenantId":"1"}`, /^tenantId: unknown field/),
  ingest('top-level __proto__', 400, `{"logType":"AccessLog","logEntries":[],"__proto__":{"admin":true}}`, /^__proto__: unknown field/),
  ingest(
    'top-level field twice',
    400,
    `{"logType":"AccessLog","logEntries":[],"logEntries":[{${ET},"logRecord":{}}]}`,
    /^logEntries: appears more than once/,
  ),
  badEntry('null', 'null', /^logEntries\[0\]: must be an object/),
  badEntry('a number', '7', /^logEntries\[0\]: must be an object/),
  badEntry('a string', '"entry"', /^logEntries\[0\]: must be an object/),
  badEntry('userId a number', E(`"userId":234599484848423,${ET},"logRecord":{}`), /^logEntries\[0\]\.userId: must be a string/),
  badEntry(
    'userId beyond 2^53 as a number',
    E(`"userId":12345678901234567890123,${ET},"logRecord":{}`),
    /^logEntries\[0\]\.userId: must be a string/,
  ),
  badEntry('userId true', E(`"userId":true,${ET},"logRecord":{}`), /^logEntries\[0\]\.userId: must be a string/),
  badEntry(
    'impersonatorCompanyId an object',
    E(`"impersonatorCompanyId":{"id":"1"},${ET},"logRecord":{}`),
    /^logEntries\[0\]\.impersonatorCompanyId: must be a string/,
  ),
  badEntry('userFullName over 1024 characters', E(`"userFullName":"${'x'.repeat(1025)}",${ET},"logRecord":{}`), /^logEntries\[0\]\.userFullName: /),
  badEntry('eventTime a number', E(`"eventTime":1709251200000,"logRecord":{}`), /^logEntries\[0\]\.eventTime: must be an ISO-8601/),
  badEntry('eventTime an array', E(`"eventTime":["${FROM}"],"logRecord":{}`), /^logEntries\[0\]\.eventTime: must be an ISO-8601/),
  badEntry('eventTime missing', E(`"logRecord":{}`), /^logEntries\[0\]\.eventTime: is required/),
  badEntry('eventTime null', E(`"eventTime":null,"logRecord":{}`), /^logEntries\[0\]\.eventTime: is required/),
  badEntry('eventTime empty', E(`"eventTime":"","logRecord":{}`), /^logEntries\[0\]\.eventTime: /),
  badEntry(
    'eventTime without offset',
    E(`"eventTime":"2024-03-01T00:00:00","logRecord":{}`),
    /^logEntries\[0\]\.eventTime: must include a UTC offset/,
  ),
  badEntry('eventTime Feb 30', E(`"eventTime":"2021-02-30T00:00:00Z","logRecord":{}`), /^logEntries\[0\]\.eventTime: is an impossible date/),
  badEntry('eventTime leap second', E(`"eventTime":"2016-12-31T23:59:60Z","logRecord":{}`), /^logEntries\[0\]\.eventTime: has an impossible second/),
  badEntry(
    'eventTime past year 9999 in UTC',
    E(`"eventTime":"9999-12-31T23:30:00-01:00","logRecord":{}`),
    /^logEntries\[0\]\.eventTime: must lie between years/,
  ),
  badEntry('eventTime with NUL', E(`"eventTime":"${FROM}\\u0000","logRecord":{}`), /^logEntries\[0\]\.eventTime: /),
  badEntry('logRecord an array', E(`${ET},"logRecord":[1,2]`), /^logEntries\[0\]\.logRecord: must be a JSON object/),
  badEntry('logRecord a string', E(`${ET},"logRecord":"{}"`), /^logEntries\[0\]\.logRecord: must be a JSON object/),
  badEntry('logRecord null', E(`${ET},"logRecord":null`), /^logEntries\[0\]\.logRecord: must be a JSON object/),
  badEntry('logRecord missing', E(ET), /^logEntries\[0\]\.logRecord: is required/),
  badEntry('unknown field (typo userID)', E(`"userID":"1",${ET},"logRecord":{}`), /^logEntries\[0\]\.userID: unknown field/),
  badEntry('field __proto__', E(`"__proto__":{"isAdmin":true},${ET},"logRecord":{}`), /^logEntries\[0\]\.__proto__: unknown field/),
  badEntry('field constructor', E(`"constructor":{},${ET},"logRecord":{}`), /^logEntries\[0\]\.constructor: unknown field/),
  badEntry('logType inside an entry', E(`"logType":"AccessLog",${ET},"logRecord":{}`), /^logEntries\[0\]\.logType: unknown field/),
  badEntry('eventTime twice', E(`${ET},${ET},"logRecord":{}`), /^logEntries\[0\]\.eventTime: appears more than once/),
  ingest(
    'bad second entry (all or nothing)',
    400,
    batch(E(`${ET},"logRecord":{"first":1}`), E(`"eventTime":"2024-03-01","logRecord":{}`)),
    /^logEntries\[1\]\.eventTime: /,
  ),
  ingest(
    `JSON body over ${MAX_JSON_BODY} bytes`,
    413,
    batch(E(`${ET},"logRecord":{"pad":"${'x'.repeat(MAX_JSON_BODY)}"}`)),
    new RegExp(
      `^request body is larger than this server accepts: a JSON batch is at most ${MAX_JSON_BODY} bytes \\(LOGWARDEN_MAX_JSON_BODY_BYTES\\); send fewer`,
    ),
  ),

  // --- content types and empty bodies
  ingest('text/plain', 415, batch(E(`${ET},"logRecord":{}`)), /Content-Type/, 'text/plain'),
  ingest('application/xml', 415, '<logs/>', /Content-Type/, 'application/xml'),
  ingest('multipart/form-data', 415, '--x\r\n\r\n--x--', /Content-Type/, 'multipart/form-data; boundary=x'),
  ingest('form-encoded', 415, 'logType=AccessLog', /Content-Type/, 'application/x-www-form-urlencoded'),
  ingest('application/jsonx', 415, '{}', /Content-Type/, 'application/jsonx'),
  ingest('a malformed Content-Type', 415, '{}', /Content-Type/, ';;;/'),
  ingest('a body without Content-Type', 415, batch(E(`${ET},"logRecord":{}`)), /Content-Type/, null),
  ingest('no body and no Content-Type', 400, undefined, /^body is empty: send entries as application\/json/, null),

  // --- NDJSON
  ndjson('bad JSON on line 2', 400, `${LINE}\n{"logType":"AccessLog",\n`, /^line 2: is not valid JSON/),
  ndjson('line without logType', 400, `${LINE}\n{${ET},"logRecord":{}}\n`, /^line 2: logType: is required/),
  ndjson('line with an unknown logType', 400, `{"logType":"Nope",${ET},"logRecord":{}}`, /^line 1: logType: unknown log type/),
  ndjson('line that is an array', 400, `${LINE}\n\n[1,2,3]\n`, /^line 3: must be a JSON object/),
  ndjson('line with a bad eventTime', 400, `{"logType":"AccessLog","eventTime":"2024-02-30T00:00:00Z","logRecord":{}}`, /^line 1: eventTime: /),
  ndjson('line with logRecord a string', 400, `${LINE}\r\n{"logType":"AccessLog",${ET},"logRecord":"x"}\r\n`, /^line 2: logRecord: /),
  ndjson('BOM on line 1', 400, `\ufeff${LINE}\n`, /^line 1: starts with a UTF-8 byte-order mark/),
  ndjson(
    'invalid UTF-8 on line 2',
    400,
    Buffer.concat([Buffer.from(`${LINE}\n{"logType":"AccessLog",${ET},"logRecord":{"s":"`), Buffer.from([0xff]), Buffer.from('"}}\n')]),
    /^line 2: is not valid UTF-8/,
  ),
  ndjson('two entries on one line', 400, `${LINE}${LINE}\n`, /^line 1: is not valid JSON/),
  ndjson('empty NDJSON body', 400, '', /^body has no entries/),
  ndjson('blank NDJSON body', 400, '\n \r\n\t\n', /^body has no entries/),
  ndjson(
    'logRecord 65 levels deep',
    400,
    `{"logType":"AccessLog",${ET},"logRecord":{"a":${'['.repeat(64)}${']'.repeat(64)}}}`,
    /^line 1: logRecord: nests objects and arrays more than 64 levels/,
  ),
  badEntry(
    'logRecord 65 levels deep',
    E(`${ET},"logRecord":{"a":${'['.repeat(64)}${']'.repeat(64)}}`),
    /^logEntries\[0\]\.logRecord: nests objects and arrays more than 64 levels/,
  ),
  ndjson(
    `line over ${MAX_NDJSON_LINE} bytes`,
    413,
    `${LINE}\n{"logType":"AccessLog",${ET},"logRecord":{"pad":"${'x'.repeat(MAX_NDJSON_LINE)}"}}\n`,
    /^line 2: longer than the limit/,
  ),

  // --- routes, methods, paths
  {
    name: 'unknown route',
    status: 404,
    send: (c) => ({ method: 'GET', path: '/v3/logs', headers: { authorization: c.auth } }),
    message: /^no route GET \/v3\/logs/,
  },
  {
    name: 'PUT /v2/logs',
    status: 405,
    send: (c) => ({ method: 'PUT', path: '/v2/logs', headers: { authorization: c.auth } }),
    message: /^PUT is not a method of \/v2\/logs; it answers GET, HEAD, POST$/,
  },
  {
    name: 'DELETE /v2/logs',
    status: 405,
    send: (c) => ({ method: 'DELETE', path: qs(valid()), headers: { authorization: c.auth } }),
    message: /^DELETE is not a method of \/v2\/logs; it answers GET, HEAD, POST$/,
  },
  {
    name: 'OPTIONS /v2/logs',
    status: 405,
    send: (c) => ({ method: 'OPTIONS', path: '/v2/logs', headers: { authorization: c.auth } }),
    message: /^OPTIONS is not a method of \/v2\/logs/,
  },
  {
    name: 'GET /oauth2/token',
    status: 405,
    send: () => ({ method: 'GET', path: '/oauth2/token' }),
    message: /^GET is not a method of \/oauth2\/token; it answers POST$/,
  },
  {
    name: 'a docs asset that does not exist',
    status: 404,
    send: () => ({ method: 'GET', path: '/docs/static/no-such-file.js' }),
    message: /^no route GET \/docs\/static\/no-such-file\.js$/,
  },
  // An unknown path, or a method a path does not answer, is told so whatever the body holds.
  {
    name: 'a body over the limit to an unknown path',
    status: 404,
    send: (c) => ({
      method: 'POST',
      path: '/v2/nothing',
      headers: { authorization: c.auth, 'content-type': 'application/json' },
      body: `{"pad":"${'x'.repeat(MAX_JSON_BODY + 1024)}"}`,
    }),
    message: /^no route POST \/v2\/nothing$/,
  },
  {
    name: 'bad JSON to an unknown path',
    status: 404,
    send: () => ({ method: 'POST', path: '/v2/nothing', headers: { 'content-type': 'application/json' }, body: '{bad' }),
    message: /^no route POST \/v2\/nothing$/,
  },
  {
    name: 'bad JSON to a GET-only path',
    status: 405,
    send: () => ({ method: 'POST', path: '/healthz', headers: { 'content-type': 'application/json' }, body: '{bad' }),
    message: /^POST is not a method of \/healthz; it answers GET, HEAD$/,
  },
  { name: 'path traversal', status: 404, send: (c) => ({ method: 'GET', path: '/v2/logs/../../../etc/passwd', headers: { authorization: c.auth } }) },
  {
    name: 'encoded path traversal',
    status: 404,
    send: (c) => ({ method: 'GET', path: '/v2/logs/%2e%2e/%2e%2e/etc/passwd', headers: { authorization: c.auth } }),
  },
  { name: 'NUL in the path', status: 404, send: (c) => ({ method: 'GET', path: '/v2/logs%00', headers: { authorization: c.auth } }) },
  {
    name: 'undecodable path',
    status: 400,
    send: (c) => ({ method: 'GET', path: '/v2/%', headers: { authorization: c.auth } }),
    message: /not a valid url/,
  },
  {
    name: 'invalid UTF-8 in the path',
    status: 400,
    send: (c) => ({ method: 'GET', path: '/v2/logs%ff', headers: { authorization: c.auth } }),
    message: /not a valid url/,
  },

  // --- HTTP-level abuse (answered before any route runs)
  {
    name: '100 KB query string',
    status: 431,
    send: (c) => ({ method: 'GET', path: qs(valid({ pad: 'x'.repeat(100 * 1024) })), headers: { authorization: c.auth } }),
    message: /larger than this server accepts/,
  },
  {
    name: '20 KB Authorization header',
    status: 431,
    send: () => ({ method: 'GET', path: qs(valid()), headers: { authorization: `Basic ${'A'.repeat(20 * 1024)}` } }),
    message: /larger than this server accepts/,
  },
  {
    name: 'space in a header name',
    status: 400,
    send: (c) => ({ method: 'GET', path: qs(valid()), headers: { authorization: c.auth, 'bad header': 'x' } }),
    message: /malformed HTTP request/,
  },
  {
    name: 'NUL in a header value',
    status: 400,
    send: (c) => ({ method: 'GET', path: qs(valid()), headers: { authorization: c.auth, 'x-note': 'a\u0000b' } }),
    message: /malformed HTTP request/,
  },
  {
    name: 'non-numeric Content-Length',
    status: 400,
    send: (c) => ({
      method: 'POST',
      path: '/v2/logs',
      headers: { authorization: c.auth, 'content-type': 'application/json', 'content-length': 'abc' },
    }),
    message: /malformed HTTP request/,
  },
  {
    name: 'bad chunk size',
    status: 400,
    send: (c) =>
      formatRequest({
        method: 'POST',
        path: '/v2/logs',
        headers: { authorization: c.auth, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        body: 'zz\r\n{}\r\n0\r\n\r\n',
      }),
    message: /malformed HTTP request/,
  },
  { name: 'garbage request line', status: 400, send: () => Buffer.from('HELLO WORLD\r\n\r\n'), message: /malformed HTTP request/ },
  // Node's HTTP server answers these itself (a bare 400, a bare 417) unless the app takes them.
  {
    name: 'HTTP/1.1 without Host',
    status: 400,
    send: (c) => Buffer.from(`GET ${qs(valid())} HTTP/1.1\r\nAuthorization: ${c.auth}\r\nConnection: close\r\n\r\n`, 'latin1'),
    message: /^Host: /,
  },
  {
    name: 'HTTP/1.1 without Host, to a path no route has',
    status: 400,
    send: () => Buffer.from('GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n', 'latin1'),
    message: /^Host: /,
  },
  {
    name: 'Expect other than 100-continue on a read',
    status: 400,
    send: (c) => ({ method: 'GET', path: qs(valid()), headers: { authorization: c.auth, expect: '200-ok' } }),
    message: /^Expect: .*100-continue/,
  },
  {
    name: 'Expect other than 100-continue on an ingest',
    status: 400,
    send: (c) => ({
      method: 'POST',
      path: '/v2/logs',
      headers: { authorization: c.auth, 'content-type': 'application/json', expect: 'x-unheard-of' },
      body: batch(E(`"eventTime":"2024-03-02T00:00:00Z","logRecord":{"expect":"refused"}`)),
    }),
    message: /^Expect: /,
  },

  // --- POST /oauth2/token
  token('without credentials', 401, 'invalid_client', 'grant_type=client_credentials', () => undefined),
  token('with a Bearer header', 401, 'invalid_client', 'grant_type=client_credentials', (c) => `Bearer ${c.readToken}`),
  token('with a wrong secret', 401, 'invalid_client', 'grant_type=client_credentials', (c) => basicWithSecret(c.auth, 'nope')),
  token('with a revoked key', 401, 'invalid_client', 'grant_type=client_credentials', (c) => c.revoked),
  token('with Basic garbage', 401, 'invalid_client', 'grant_type=client_credentials', () => 'Basic ###'),
  token('without grant_type', 400, 'invalid_request', 'scope=api:logs:read'),
  token('with an empty body', 400, 'invalid_request', ''),
  token('with grant_type=password', 400, 'unsupported_grant_type', 'grant_type=password&username=a&password=b'),
  token('with grant_type twice', 400, 'invalid_request', 'grant_type=client_credentials&grant_type=client_credentials'),
  token('with NUL in grant_type', 400, 'unsupported_grant_type', 'grant_type=client_credentials%00'),
  token('with an unknown scope', 400, 'invalid_scope', 'grant_type=client_credentials&scope=admin'),
  token('with SQL in scope', 400, 'invalid_scope', `grant_type=client_credentials&scope=${encodeURIComponent("api:logs:read' OR '1'='1")}`),
  token('with a scope the key lacks', 400, 'invalid_scope', 'grant_type=client_credentials&scope=api:logs:write', (c) => c.readOnly),
  token('with scope twice', 400, 'invalid_request', 'grant_type=client_credentials&scope=api:logs:read&scope=api:logs:write'),
  token('as JSON', 400, 'invalid_request', '{"grant_type":"client_credentials"}', undefined, 'application/json'),
  token('with a body over 16 KB', 400, 'invalid_request', `grant_type=client_credentials&pad=${'x'.repeat(20_000)}`),
  {
    name: 'token request with an Expect other than 100-continue',
    status: 400,
    oauth: 'invalid_request',
    send: (c) => ({
      method: 'POST',
      path: '/oauth2/token',
      headers: { authorization: c.auth, 'content-type': 'application/x-www-form-urlencoded', expect: '200-ok' },
      body: 'grant_type=client_credentials',
    }),
    message: /^Expect: /,
  },
];

function basicWithSecret(auth: string, secret: string): string {
  const accessKey = Buffer.from(auth.slice('Basic '.length), 'base64').toString('utf8').split(':')[0]!;
  return basic({ accessKey, secret });
}

/** The token's claims with `alg: none` and no signature. */
function unsigned(jwt: string): string {
  const [, payload] = jwt.split('.');
  return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
}

function checkAnswer(c: Case, res: RawResponse): void {
  const text = res.body.toString('utf8');
  assert.ok(res.status < 500, `${c.name}: ${res.status} ${text}`);
  assert.equal(res.status, c.status, `${c.name}: ${text}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, c.name);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.match(String(body.requestId), REQUEST_ID_PATTERN, c.name);
  assert.equal(res.headers['x-traceid'], body.requestId, c.name);
  let message: string;
  if (c.oauth !== undefined) {
    assert.deepEqual(Object.keys(body).sort(), ['error', 'error_description', 'requestId'], c.name);
    assert.equal(body.error, c.oauth, `${c.name}: ${text}`);
    assert.equal(typeof body.error_description, 'string', c.name);
    message = body.error_description as string;
  } else {
    assert.deepEqual(Object.keys(body), ['requestId', 'errors'], c.name);
    const errors = body.errors as unknown[];
    assert.ok(Array.isArray(errors) && errors.length > 0 && errors.every((e) => typeof e === 'string' && e.length > 0), c.name);
    message = errors[0] as string;
  }
  if (c.message) assert.match(message, c.message, c.name);
  // Nothing a client sent may come back as a header.
  assert.equal(res.headers['x-injected'], undefined, c.name);
}

for (const kind of await storeKinds()) {
  describe(`malformed requests (${kind.name})`, { skip: kind.skip }, () => {
    let t: TestApp;
    let port: number;
    let ctx: Ctx;
    const seen = new Map<number, number>();

    before(async () => {
      t = await startTestApp({ factory: kind.factory, config: { maxJsonBodyBytes: MAX_JSON_BODY, maxNdjsonLineBytes: MAX_NDJSON_LINE } });
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      port = (t.app.server.address() as AddressInfo).port;

      const seeded = Array.from({ length: SEEDED }, (_, i) => ({ userId: String(i), eventTime: `2024-03-01T00:00:0${i}Z`, logRecord: { i } }));
      assert.equal((await t.ingest('AccessLog', seeded)).statusCode, 201);
      const page0 = (await t.list(valid({ limit: '2' }))).json();
      const cursor: string = page0.records.cursor;

      const other = await createTenant(t.store, 'other tenant');
      const otherKey = await issueAccessKey(t.store, other.id, ['api:logs:read', 'api:logs:write']);
      assert.equal((await t.ingest('AccessLog', seeded, otherKey)).statusCode, 201);
      const foreignCursor: string = (await t.list(valid({ limit: '2' }), otherKey)).json().records.cursor;

      const codec = new CursorCodec(await signingSecret(t.config, t.store));
      const expiredCursor = codec.encode({ ...codec.decode(cursor), expiresMs: Date.now() - 1000 });
      const retiredCursor = sealRetiredCursor(await signingSecret(t.config, t.store), cursorFields(codec.decode(cursor)));

      const revoked = await issueAccessKey(t.store, t.tenantId, ['api:logs:read', 'api:logs:write']);
      await t.store.revokeAccessKey(revoked.accessKey);

      const tokenOf = async (key: IssuedKey) => {
        const res = await t.inject({
          method: 'POST',
          url: '/oauth2/token',
          headers: { authorization: basic(key), 'content-type': 'application/x-www-form-urlencoded' },
          payload: 'grant_type=client_credentials',
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json().access_token as string;
      };
      const forger = new TokenService(randomBytes(32).toString('base64url'), 3600);
      ctx = {
        auth: basic(t.key),
        readOnly: basic(t.readKey),
        writeOnly: basic(t.writeKey),
        revoked: basic(revoked),
        cursor,
        foreignCursor,
        expiredCursor,
        retiredCursor,
        readToken: await tokenOf(t.readKey),
        writeOnlyToken: await tokenOf(t.writeKey),
        forgedToken: forger.issue({ accessKey: t.key.accessKey, tenantId: t.tenantId, scopes: ['api:logs:read'] }),
      };
    });

    after(async () => {
      await t.close();
    });

    it(`has a catalogue of at least 80 distinct cases (${CASES.length})`, () => {
      assert.ok(CASES.length >= 80);
      assert.equal(new Set(CASES.map((c) => c.name)).size, CASES.length, 'case names are unique');
    });

    for (const c of CASES) {
      it(`${c.status} for ${c.name}`, async () => {
        const built = c.send(ctx);
        const res = Buffer.isBuffer(built) ? await sendRaw(port, built) : await request(port, built);
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        checkAnswer(c, res);
      });
    }

    it('still answers valid requests afterwards, and stored nothing from a rejected request', async () => {
      const page = await request(port, { method: 'GET', path: qs(valid()), headers: { authorization: ctx.auth } });
      assert.equal(page.status, 200, page.body.toString());
      const body = JSON.parse(page.body.toString('utf8'));
      assert.equal(body.records.totalRecords, SEEDED);
      for (const logType of GONG_LOG_TYPES.filter((x) => x !== 'AccessLog')) {
        const r = await request(port, {
          method: 'GET',
          path: qs({ logType, fromDateTime: '0000-01-01T00:00:00Z' }),
          headers: { authorization: ctx.auth },
        });
        assert.equal(r.status, 404, `${logType}: ${r.body.toString()}`);
      }
      const ok = await request(port, {
        method: 'POST',
        path: '/v2/logs',
        headers: { authorization: ctx.auth, 'content-type': 'application/json' },
        body: batch(E(`"eventTime":"2024-03-02T00:00:00Z","logRecord":{"after":"catalogue"}`)),
      });
      assert.equal(ok.status, 201, ok.body.toString());
      assert.equal(JSON.parse(ok.body.toString()).accepted, 1);

      const metrics = (await request(port, { method: 'GET', path: '/metrics' })).body.toString();
      assert.doesNotMatch(metrics, /status="5\d\d"/, 'no request was answered with a 5xx');
      assert.ok(!seen.has(500) && [...seen.keys()].every((s) => s < 500));
    });
  });

  describe(`odd but valid input (${kind.name})`, { skip: kind.skip }, () => {
    // Strings and keys that look like attacks, or that JavaScript treats specially, are data: they
    // are stored and returned exactly as sent.
    const records = [
      `{"q":"' OR 1=1 --","d":"AccessLog'; DROP TABLE entries;--"}`,
      `{"__proto__":{"isAdmin":true},"constructor":{"prototype":null},"toString":"x","hasOwnProperty":1}`,
      `{"lone":"\\ud800","reversed":"\\udfff\\ud83d"}`,
      `{"nul":"a\\u0000b","ansi":"\\u001b[31mred","crlf":"a\\r\\nx-injected: 1"}`,
      `{"tpl":"\${process.exit(1)}","mustache":"{{7*7}}","path":"../../../etc/passwd","fmt":"%s%n"}`,
      `{"huge":1e999999,"negZero":-0,"exp":1E+2,"digits":12345678901234567890123}`,
      `{"emoji":"🪵📜","rtl":"\u202eabc","zeroWidth":"a\u200bb","cjk":"監査"}`,
      // As deep as a logRecord may nest: 64 levels, the record itself included.
      `{"deep":${'['.repeat(63)}${']'.repeat(63)}}`,
    ];
    const users = [
      `"userId":"' OR 1=1 --","userFullName":"Robert'); DROP TABLE entries;--"`,
      `"userId":"__proto__","userEmailAddress":"constructor@example.com"`,
      `"userId":"1","impersonatorFullName":"\\ud800"`,
      `"userId":"2","userFullName":"a\\u0000b"`,
      `"userId":"\${7*7}"`,
      `"userId":"3"`,
      `"userId":"4","userFullName":"🪵 監査"`,
      `"userId":"5"`,
    ];
    let t: TestApp;
    before(async () => {
      t = await startTestApp({ factory: kind.factory });
    });
    after(async () => t.close());

    it('stores them and returns every logRecord byte for byte', async () => {
      const entries = records.map((r, i) => `{${users[i]},"eventTime":"2024-05-01T00:00:0${i}Z","logRecord":${r}}`);
      const res = await t.ingest('UserActivityLog', `{"logType":"UserActivityLog","logEntries":[${entries.join(',')}]}`);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().accepted, records.length);

      const page = await t.list({ logType: 'UserActivityLog', fromDateTime: '2024-05-01T00:00:00Z' });
      assert.equal(page.statusCode, 200, page.body);
      const text = page.body;
      const list = objectMembers(text, skipWs(text, 0)).find((m) => m.key === 'logEntries')!;
      const got = arrayElements(text, list.start).map(([start]) => objectMembers(text, start).find((m) => m.key === 'logRecord')!);
      assert.deepEqual(
        got.map((m) => text.slice(m.start, m.end)),
        records,
      );
      const parsed = page.json().logEntries as Array<Record<string, unknown>>;
      users.forEach((u, i) => {
        const expected = JSON.parse(`{${u}}`) as Record<string, unknown>;
        for (const [k, v] of Object.entries(expected)) assert.equal(parsed[i]![k], v, `${i}.${k}`);
      });
      assert.equal(page.headers['x-injected'], undefined);

      // The tables are still there.
      assert.equal((await t.ingest('AccessLog', [{ eventTime: '2024-05-01T00:00:00Z', logRecord: {} }])).statusCode, 201);
      assert.equal((await t.list({ logType: 'AccessLog', fromDateTime: '2024-05-01T00:00:00Z' })).json().records.totalRecords, 1);
    });
  });
}
