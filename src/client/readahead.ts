/**
 * Pages asked for ahead of the caller. A page's cursor is read from its body (`peekCursor`)
 * before the page is checked, and the next page is asked for at once: the server builds it
 * while this side checks and writes the current one, instead of each side waiting for the
 * other. At most two pages beyond the caller's are asked for or held; a request whose cursor
 * turns out not to be the page's (or that the caller no longer needs) is cancelled.
 */

/** Fetches one page; `onCursor` gets the cursor its body seems to carry, as soon as it arrives. */
export type GetPage<T> = (cursor: string | undefined, signal: AbortSignal, onCursor: (cursor: string) => void) => Promise<T>;

/** One page asked for, and the one asked for after it on the strength of its body. */
export interface Ahead<T> {
  readonly cursor: string | undefined;
  readonly index: number;
  readonly page: Promise<T>;
  readonly controller: AbortController;
  next?: Ahead<T>;
}

export class Readahead<T> {
  /** The index of the page the caller is on. */
  private reading = 0;

  constructor(
    private readonly get: GetPage<T>,
    private readonly signal: AbortSignal | undefined,
  ) {}

  /** Asks for the page at `cursor` (undefined: the first), the caller's page `index`. */
  start(cursor: string | undefined, index: number): Ahead<T> {
    const controller = new AbortController();
    const signal = this.signal ? AbortSignal.any([this.signal, controller.signal]) : controller.signal;
    const ahead: Ahead<T> = {
      cursor,
      index,
      controller,
      page: this.get(cursor, signal, (next) => this.peeked(ahead, next)),
    };
    // A failure is the caller's when it reaches that page; one it never reaches is nobody's.
    ahead.page.catch(() => undefined);
    return ahead;
  }

  /** The page after `ahead`, now that its cursor is known for sure: the one already asked for when it matches. */
  after(ahead: Ahead<T>, cursor: string): Ahead<T> {
    this.reading = ahead.index + 1;
    if (ahead.next?.cursor === cursor) return ahead.next;
    this.cancel(ahead.next);
    return (ahead.next = this.start(cursor, ahead.index + 1));
  }

  /** Cancels whatever was asked for after `ahead` (the caller stopped there). */
  stop(ahead: Ahead<T>): void {
    this.cancel(ahead.next);
    ahead.next = undefined;
  }

  private peeked(ahead: Ahead<T>, cursor: string): void {
    if (ahead.next?.cursor === cursor || ahead.index > this.reading) return;
    this.cancel(ahead.next);
    ahead.next = this.start(cursor, ahead.index + 1);
  }

  private cancel(ahead: Ahead<T> | undefined): void {
    for (let a = ahead; a; a = a.next) a.controller.abort();
  }
}
