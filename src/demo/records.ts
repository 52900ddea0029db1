/**
 * Renders the wire text of synthetic entries, one function per log type, with the key names,
 * key style and key order of real Gong data (SPEC §9, the golden pages in fixtures/gong/).
 * Bodies are built by concatenation from pre-quoted parts: generating millions of entries
 * through JSON.stringify would be several times slower, and would print `1.0` as `1`.
 */
import { formatEventTime } from '../logs/time.ts';
import type { User, Viewer } from './population.ts';

const DAY_MS = 86_400_000;
const TWO_DIGITS = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0'));
const THREE_DIGITS = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let cachedDay = NaN;
let cachedDate = '';

/**
 * formatEventTime's output, several times faster: consecutive entries mostly fall on the
 * same day, so the date part is rendered once per day and the time of day by table lookup.
 */
export function isoTime(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDate = formatEventTime(day * DAY_MS).slice(0, 11);
    cachedDay = day;
  }
  let rest = ms - day * DAY_MS;
  const millis = rest % 1000;
  rest = (rest - millis) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  return `${cachedDate}${TWO_DIGITS[hour]}:${TWO_DIGITS[min]}:${TWO_DIGITS[sec]}.${THREE_DIGITS[millis]}Z`;
}

export interface HttpExchange {
  readonly protocol: string;
  readonly method: string;
  /** Origin plus path plus query. */
  readonly url: string;
  readonly path: string;
  readonly status: number;
  readonly elapsedMs: number;
  readonly contentLength: number;
  readonly referer: string;
  readonly forwardedFor: string;
  readonly userAgent: string;
  readonly traceId: string;
  readonly contentType: string;
  readonly instance: string;
}

const REASONS: Readonly<Record<number, string>> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function accessLogBody(user: User, ms: number, x: HttpExchange): string {
  return (
    `${user.head}"eventTime":"${isoTime(ms)}","logRecord":{"protocol":"${x.protocol}","method":"${x.method}",` +
    `"requested_url":"${x.url}","requested_uri":"${x.path}","status":${x.status},"elapsed_time":${x.elapsedMs},` +
    `"content_length":${x.contentLength},"message":"${REASONS[x.status] ?? ''}",` +
    `"request_headers":{"referer":"${x.referer}","x-forwarded-for":"${x.forwardedFor}","user-agent":"${x.userAgent}"},` +
    `"response_headers":{"x-traceid":"${x.traceId}","content-type":"${x.contentType}","x-iid":"${x.instance}"},` +
    `"mdc":{"xtid":"${x.traceId}"}}}`
  );
}

/** Media positions are kept in centiseconds and printed as Gong's float seconds (`0.0`, `95.2`, `31.48`). */
export function seconds(cs: number): string {
  const whole = Math.floor(cs / 100);
  const frac = cs % 100;
  if (frac === 0) return `${whole}.0`;
  if (frac % 10 === 0) return `${whole}.${frac / 10}`;
  return `${whole}.${frac < 10 ? '0' : ''}${frac}`;
}

export interface PlaySegment {
  readonly callId: string;
  readonly playerId: string;
  /** Already rendered: a number, or a quoted number where the source sends strings. */
  readonly sequence: string;
  /** Already rendered float text, e.g. `1.0`. */
  readonly speed: string;
  readonly device: string;
  readonly startCs: number;
  readonly endCs: number;
  readonly deviceMs: number;
  readonly offline: boolean;
  readonly live: boolean;
}

function playFields(p: PlaySegment): string {
  return (
    `"call_id":"${p.callId}","video_player_instance_id":"${p.playerId}","sequence_num":${p.sequence},` +
    `"play_speed":${p.speed},"device":"${p.device}","start_time":${seconds(p.startCs)},"end_time":${seconds(p.endCs)},` +
    `"event_time_on_device":"${isoTime(p.deviceMs)}","offline":${p.offline},"live":${p.live}}}`
  );
}

export function userCallPlayBody(user: User, ms: number, p: PlaySegment): string {
  return `${user.head}"eventTime":"${isoTime(ms)}","logRecord":{${playFields(p)}`;
}

/** `sharingId` is JSON-quoted. */
export function externalPlayBody(viewer: Viewer, ms: number, sharingId: string, p: PlaySegment): string {
  return `${viewer.head}"eventTime":"${isoTime(ms)}","logRecord":{"time_based_secure_sharing_id":${sharingId},${playFields(p)}`;
}

export function externalAccessBody(viewer: Viewer, ms: number, callId: string, sharingId: string): string {
  return (
    `${viewer.head}"eventTime":"${isoTime(ms)}","logRecord":{"call_id":"${callId}",` +
    `"time_based_secure_sharing_id":${sharingId},"page_viewer_ip":"${viewer.ip}"}}`
  );
}

/** A JSON value already rendered: a quoted string or `null`. */
export type Json = string;

export const str = (s: string): Json => JSON.stringify(s);

export function columnChange(newValue: Json, oldValue: Json, operation: string, columnName: string): string {
  return `{"newValue":${newValue},"oldValue":${oldValue},"operation":"${operation}","columnName":"${columnName}"}`;
}

export function rowChange(primaryKey: string, changes: readonly string[]): string {
  return `{"primaryKeyColumns":[{"columnValue":"${primaryKey}","columnName":"id"}],"columnChanges":[${changes.join(',')}]}`;
}

export function tableChange(preMs: number, postMs: number, rows: readonly string[], tableName: string): string {
  return (
    `{"preSnapshotTimestamp":"${isoTime(preMs)}","postSnapshotTimestamp":"${isoTime(postMs)}",` +
    `"rowChanges":[${rows.join(',')}],"tableName":"${tableName}"}`
  );
}

/** The `{"values": […], "key": …}` pairs of `customData` and `httpRequest.parameters`. */
export function keyValues(key: string, values: readonly string[]): string {
  return `{"values":[${values.map(str).join(',')}],"key":"${key}"}`;
}

export interface Activity {
  readonly auditId: string;
  readonly tableChanges: readonly string[];
  readonly customData: readonly string[];
  /** Rendered: `null` or a quoted action name. */
  readonly action: Json;
  readonly referrerUri: string;
  readonly clientIp: string;
  readonly verb: string;
  readonly endpointUri: string;
  readonly parameters: readonly string[];
  /** Rendered: `null` or a quoted id. */
  readonly workspaceId: Json;
}

/** `impersonation` holds the rendered impersonator fields (each followed by a comma), or ''. */
export function userActivityBody(user: User, impersonation: string, ms: number, a: Activity): string {
  return (
    `${user.head}${impersonation}"eventTime":"${isoTime(ms)}","logRecord":{"auditId":"${a.auditId}",` +
    `"tableChanges":[${a.tableChanges.join(',')}],"customData":[${a.customData.join(',')}],"remoteCallsAuditData":[],` +
    `"action":${a.action},"httpRequest":{"referrerUri":"${a.referrerUri}","clientIp":"${a.clientIp}","verb":"${a.verb}",` +
    `"endpointUri":"${a.endpointUri}","body":null,"parameters":[${a.parameters.join(',')}]},"workspaceId":${a.workspaceId}}}`
  );
}

/** The `+00:00` offset style Gong uses for timestamps stored inside column values. */
export function columnTimestamp(ms: number): Json {
  return `"${isoTime(ms).slice(0, 23)}+00:00"`;
}
