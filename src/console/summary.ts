/** The one-line summary of an entry's logRecord that the table shows, per log type. */
import { objectMembers } from '../logs/json-text.ts';
import { memberText, type Row } from './page.ts';

/** A member shown as text: strings unquoted, other scalars as written; undefined when absent or null. */
function field(objectText: string | undefined, key: string): string | undefined {
  if (objectText === undefined || !objectText.startsWith('{')) return undefined;
  const t = memberText(objectText, key);
  if (t === undefined || t === 'null') return undefined;
  return t.startsWith('"') ? (JSON.parse(t) as string) : t;
}

function tablesChanged(record: string): string | undefined {
  const changes = memberText(record, 'tableChanges');
  if (!changes?.startsWith('[')) return undefined;
  const names = new Set<string>();
  for (const m of changes.matchAll(/"tableName":("(?:[^"\\]|\\.)*")/g)) names.add(JSON.parse(m[1]!) as string);
  return names.size > 0 ? `changed ${[...names].join(', ')}` : undefined;
}

function play(record: string): string {
  const parts = [`call ${field(record, 'call_id') ?? '?'}`];
  const start = field(record, 'start_time');
  const end = field(record, 'end_time');
  if (start !== undefined) parts.push(end !== undefined ? `${start}–${end} s` : `at ${start} s`);
  const speed = field(record, 'play_speed');
  if (speed !== undefined) parts.push(`×${speed}`);
  return parts.join(' · ');
}

function viewer(row: Row): string {
  return row.userEmailAddress ?? row.userFullName ?? row.userId ?? 'unknown viewer';
}

/** The first few scalar members, `key=value`: for log types the console does not know. */
function generic(record: string): string {
  const out: string[] = [];
  for (const m of objectMembers(record, 0)) {
    const t = record.slice(m.start, m.end);
    if (t.startsWith('{') || t.startsWith('[')) continue;
    out.push(`${m.key}=${t.startsWith('"') ? (JSON.parse(t) as string) : t}`);
    if (out.length === 4) break;
  }
  return out.join(' ');
}

export function summarize(logType: string, row: Row): string {
  const r = row.logRecordText;
  if (!r.startsWith('{')) return r;
  switch (logType) {
    case 'AccessLog': {
      const path = field(r, 'requested_uri') ?? field(r, 'path') ?? field(r, 'requested_url') ?? '';
      return [field(r, 'method'), path, field(r, 'status')].filter((x) => x !== undefined && x !== '').join(' ');
    }
    case 'UserActivityLog': {
      const action = field(r, 'action');
      const tables = tablesChanged(r);
      if (action !== undefined) return tables ? `${action} (${tables})` : action;
      if (tables) return tables;
      const req = memberText(r, 'httpRequest');
      const verb = field(req, 'verb');
      const uri = field(req, 'endpointUri');
      return verb || uri ? [verb, uri].filter(Boolean).join(' ') : generic(r);
    }
    case 'UserCallPlay':
      return play(r);
    case 'ExternallySharedCallAccess': {
      const ip = field(r, 'page_viewer_ip');
      return `${viewer(row)}${ip ? ` from ${ip}` : ''} · call ${field(r, 'call_id') ?? '?'}`;
    }
    case 'ExternallySharedCallPlay':
      return `${viewer(row)} · ${play(r)}`;
    default:
      return generic(r);
  }
}
