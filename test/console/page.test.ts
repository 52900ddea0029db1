/**
 * The console's reading of a page: each entry's exact text and that of its logRecord, and the
 * indentation of the panel, which must leave every token as stored (numbers above all).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePage, prettyJson } from '../../src/console/page.ts';
import { summarize } from '../../src/console/summary.ts';
import { minify } from '../../src/logs/json-text.ts';

describe('console page reading', () => {
  it('keeps the exact text of entries and records; reads ids given as numbers with every digit', () => {
    const text =
      '{"requestId":"r","records":{"totalRecords":3,"currentPageSize":2,"currentPageNumber":0,"cursor":"abc"},"logEntries":[' +
      '{"userId":"1","userEmailAddress":"a@x.example","eventTime":"2026-03-01T10:00:00.000Z","logRecord":{"speed":1.0,"big":12345678901234567890123,"s":"}{,\\"]"}},\n' +
      ' { "userId" : 1234567890123456789 , "eventTime":"2026-03-01T10:00:00.001Z","logRecord":{ "e" : 1.5e-300 , "x":[] } } ]}';
    const page = parsePage(text);
    assert.equal(page.total, 3);
    assert.equal(page.cursor, 'abc');
    assert.equal(page.rows.length, 2);
    assert.equal(page.rows[0]!.logRecordText, '{"speed":1.0,"big":12345678901234567890123,"s":"}{,\\"]"}');
    assert.equal(page.rows[0]!.userEmailAddress, 'a@x.example');
    assert.equal(page.rows[0]!.ms, Date.UTC(2026, 2, 1, 10));
    assert.equal(page.rows[1]!.userId, '1234567890123456789');
    assert.equal(page.rows[1]!.raw, '{"userId":1234567890123456789,"eventTime":"2026-03-01T10:00:00.001Z","logRecord":{"e":1.5e-300,"x":[]}}');
    assert.equal(parsePage('{"requestId":"r","records":{"totalRecords":0}}').rows.length, 0);
  });

  it('indents without changing a token, strings with brackets and escapes included', () => {
    const record = '{"speed":1.0,"big":12345678901234567890123,"s":"}{,\\"] :","empty":{},"none":[],"list":[1,{"a":null}],"t":true}';
    const pretty = prettyJson(record);
    assert.equal(
      pretty,
      [
        '{',
        '  "speed": 1.0,',
        '  "big": 12345678901234567890123,',
        '  "s": "}{,\\"] :",',
        '  "empty": {},',
        '  "none": [],',
        '  "list": [',
        '    1,',
        '    {',
        '      "a": null',
        '    }',
        '  ],',
        '  "t": true',
        '}',
      ].join('\n'),
    );
    assert.equal(minify(pretty), record);
  });

  it('summarises each Gong log type on one line, numbers as stored', () => {
    const row = (record: string, user = '"userEmailAddress":"v@x.example",') =>
      parsePage(`{"records":{},"logEntries":[{${user}"eventTime":"2026-03-01T10:00:00.000Z","logRecord":${record}}]}`).rows[0]!;
    assert.equal(summarize('AccessLog', row('{"method":"GET","requested_uri":"/calls","status":200}')), 'GET /calls 200');
    assert.equal(summarize('UserActivityLog', row('{"action":"USER_DELETED","tableChanges":[]}')), 'USER_DELETED');
    assert.equal(
      summarize('UserActivityLog', row('{"action":null,"tableChanges":[{"tableName":"settings.a"},{"tableName":"settings.b"}]}')),
      'changed settings.a, settings.b',
    );
    assert.equal(summarize('UserCallPlay', row('{"call_id":"77","start_time":0.0,"end_time":31.2,"play_speed":1.0}')), 'call 77 · 0.0–31.2 s · ×1.0');
    assert.equal(summarize('ExternallySharedCallAccess', row('{"call_id":"77","page_viewer_ip":"10.0.0.1"}')), 'v@x.example from 10.0.0.1 · call 77');
    assert.equal(summarize('BadgeSwipe', row('{"door":"B2","ok":true,"nested":{"x":1}}')), 'door=B2 ok=true');
  });
});
