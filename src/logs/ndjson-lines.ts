/**
 * Splits a byte stream into NDJSON lines without ever holding more than one line (bounded by
 * `maxLineBytes`) plus one chunk. A line over the bound raises LineTooLongError with its
 * number; a line that is not valid UTF-8 is refused (400) rather than decoded with
 * replacement characters; a final line without a newline counts.
 */
import { isUtf8 } from 'node:buffer';
import { invalid } from '../errors.ts';

export class LineTooLongError extends Error {
  constructor(
    readonly lineNo: number,
    readonly maxBytes: number,
  ) {
    super(`line ${lineNo}: longer than ${maxBytes} bytes`);
  }
}

const EMPTY = Buffer.alloc(0);

export async function* ndjsonLines(source: AsyncIterable<Buffer | string>, maxLineBytes: number): AsyncGenerator<{ line: string; lineNo: number }> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let lineNo = 0;
  const finish = (tail: Buffer): string => {
    const whole = parts.length === 0 ? tail : Buffer.concat([...parts, tail]);
    parts = [];
    partBytes = 0;
    const end = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.length - 1 : whole.length;
    if (!isUtf8(whole.subarray(0, end))) throw invalid(`line ${lineNo}: is not valid UTF-8`);
    return whole.toString('utf8', 0, end);
  };
  /** The length of the line held so far plus `more` bytes, without a `\r` ending it (part of a CRLF ending, not of the line). */
  const lineBytes = (more: Buffer): number => {
    const last = more.length > 0 ? more[more.length - 1] : parts[parts.length - 1]?.[parts[parts.length - 1]!.length - 1];
    return partBytes + more.length - (last === 0x0d ? 1 : 0);
  };
  for await (const chunk of source) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    let start = 0;
    for (let nl = buf.indexOf(0x0a); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      lineNo++;
      if (lineBytes(buf.subarray(start, nl)) > maxLineBytes) throw new LineTooLongError(lineNo, maxLineBytes);
      yield { line: finish(buf.subarray(start, nl)), lineNo };
      start = nl + 1;
    }
    if (start < buf.length) {
      partBytes += buf.length - start;
      parts.push(buf.subarray(start));
      if (lineBytes(EMPTY) > maxLineBytes) throw new LineTooLongError(lineNo + 1, maxLineBytes);
    }
  }
  if (partBytes > 0) {
    lineNo++;
    yield { line: finish(EMPTY), lineNo };
  }
}
