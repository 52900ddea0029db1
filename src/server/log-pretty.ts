/**
 * The log for a person at a terminal: each JSON line pino writes becomes one readable line,
 * local time first, the request's method, URL, status and time in the middle, why it was
 * rejected and who asked at the end. A failure's stack follows on indented lines.
 */

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** Fields shown in their own place, or not at all (the same on every line). */
const PLACED = new Set([
  'level',
  'time',
  'msg',
  'pid',
  'hostname',
  'service',
  'method',
  'url',
  'route',
  'status',
  'ms',
  'code',
  'reason',
  'err',
  'requestId',
]);

const two = (n: number): string => String(n).padStart(2, '0');

function clock(ms: unknown): string {
  const d = typeof ms === 'number' ? new Date(ms) : new Date();
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

function errorText(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return err === undefined ? undefined : String(err);
  const e = err as { stack?: unknown; message?: unknown; type?: unknown };
  if (typeof e.stack === 'string') return e.stack;
  return `${typeof e.type === 'string' ? e.type : 'Error'}: ${String(e.message)}`;
}

/** Formats one pino record (already parsed) as a line, with a trailing newline. */
export function prettyLine(record: Readonly<Record<string, unknown>>): string {
  const level = typeof record.level === 'number' ? (LEVELS[record.level] ?? String(record.level)) : 'INFO';
  const parts = [clock(record.time), level.padEnd(5)];
  if (typeof record.method === 'string' && typeof record.status === 'number') {
    parts.push(`${record.method} ${String(record.url ?? record.route ?? '')} ${record.status} ${String(record.ms ?? '?')}ms`);
  } else if (record.msg !== undefined) {
    parts.push(String(record.msg));
  }
  if (record.code !== undefined) parts.push(`${String(record.code)}: ${String(record.reason ?? '')}`);
  for (const [k, v] of Object.entries(record)) {
    if (!PLACED.has(k) && v !== undefined && v !== null) parts.push(`${k}=${value(v)}`);
  }
  if (record.requestId !== undefined) parts.push(`requestId=${String(record.requestId)}`);
  let line = parts.join(' ');
  const stack = errorText(record.err);
  if (stack !== undefined)
    line +=
      '\n' +
      stack
        .split('\n')
        .map((l) => `    ${l.trim()}`)
        .join('\n');
  return line + '\n';
}

/** Turns the text pino writes (one JSON record per line) into readable lines; anything else passes through. */
export function prettify(chunk: string): string {
  let out = '';
  for (const line of chunk.split('\n')) {
    if (line === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      out += line + '\n';
      continue;
    }
    out += typeof record === 'object' && record !== null && !Array.isArray(record) ? prettyLine(record as Record<string, unknown>) : line + '\n';
  }
  return out;
}
