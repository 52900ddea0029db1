/**
 * Where `logwarden fetch` writes: the three formats (fetch-formats.ts), and a sink that respects backpressure so
 * memory stays flat however large the export. Each record is written as one chunk, so an
 * interrupted export ends on a record boundary.
 */

import { once } from 'node:events';
import { createWriteStream, statSync } from 'node:fs';
import type { Writable } from 'node:stream';

export { CSV_ID_STYLES, type CsvIdStyle, csvCell, csvIdCell, FORMATS, type Format, type Formatter, formatter } from './fetch-formats.ts';

/** A writable destination with backpressure; remembers a failure (EPIPE when a reader quits). */
export class Sink {
  private failure: Error | undefined;

  private constructor(
    private readonly stream: Writable,
    private readonly owned: boolean,
  ) {
    stream.on('error', (err) => (this.failure ??= err));
  }

  static stdout(): Sink {
    return new Sink(process.stdout, false);
  }

  /** Opens a file; `append` keeps what is there. */
  static async file(path: string, append: boolean): Promise<Sink> {
    const stream = createWriteStream(path, { flags: append ? 'a' : 'w' });
    await once(stream, 'open');
    return new Sink(stream, true);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (text === '') return;
    if (!this.stream.write(text)) await once(this.stream, 'drain');
    if (this.failure) throw this.failure;
  }

  /** Flushes; closes the file (standard output stays open). */
  async close(): Promise<void> {
    if (this.failure) return;
    if (this.owned) {
      this.stream.end();
      await once(this.stream, 'close');
    } else if (this.stream.writableNeedDrain) {
      await once(this.stream, 'drain');
    }
  }
}

export function isNonEmptyFile(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}
