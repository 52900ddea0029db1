/**
 * A histogram range cut into the requests that read it. `GET /v2/logs/histogram` answers at
 * most 366 days of hours a request (a year and a day, so that an answer stays small): a longer
 * range is asked for a year at a time, each part after the first starting at a whole UTC hour,
 * so that no hour is counted in two parts. The last part keeps the range's end, or its lack of
 * one (open to the latest entry).
 */

/** A year of whole hours: inside the server's 366 days, with a day to spare for clocks that differ. */
const PART_MS = 365 * 86_400_000;
const HOUR_MS = 3_600_000;

export interface HistogramRange {
  readonly fromDateTime: string;
  readonly toDateTime?: string | undefined;
}

/** The parts of [fromDateTime, toDateTime) in order; `nowMs` stands for the end of an open range. */
export function histogramParts(range: HistogramRange, nowMs: number): HistogramRange[] {
  const endMs = range.toDateTime === undefined ? nowMs : Date.parse(range.toDateTime);
  const parts: HistogramRange[] = [];
  let from = range.fromDateTime;
  let startMs = Date.parse(from);
  for (;;) {
    const cut = Math.floor((startMs + PART_MS) / HOUR_MS) * HOUR_MS;
    if (cut >= endMs) {
      parts.push(range.toDateTime === undefined ? { fromDateTime: from } : { fromDateTime: from, toDateTime: range.toDateTime });
      return parts;
    }
    const to = new Date(cut).toISOString();
    parts.push({ fromDateTime: from, toDateTime: to });
    from = to;
    startMs = cut;
  }
}
