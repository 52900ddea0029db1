/**
 * Entries over the range as bars (one user's when the view is filtered to one): per hour for
 * ranges up to three days, per day beyond (days in local time or UTC, as the table shows times).
 * The counts are the server's per whole hour, so a range that starts or ends inside an hour has
 * that hour counted whole, and the chart says so.
 */
import type { HourCount } from './api.ts';
import { bars } from './bars.ts';
import { barLabel } from './time.ts';

const HOUR_MS = 3_600_000;

export function HistogramChart(props: { hours: readonly HourCount[]; fromMs: number; toMs: number; utc: boolean; user?: string | undefined }) {
  const { unit, bars: list, later } = bars(props.hours, props.fromMs, props.toMs, props.utc);
  const max = Math.max(1, ...list.map((b) => b.count));
  const sum = list.reduce((a, b) => a + b.count, 0);
  const label = (ms: number) => barLabel(ms, unit, props.utc);
  const w = 100 / Math.max(list.length, 1);
  const of = props.user === undefined ? '' : ` of ${props.user}`;
  const peak = list.reduce((a, b) => (b.count > a.count ? b : a), list[0] ?? { startMs: props.fromMs, count: 0 });
  // The server counts whole hours: a range starting or ending inside one has its edge bars count all of it.
  const whole = props.fromMs % HOUR_MS !== 0 || props.toMs % HOUR_MS !== 0 ? '; the first and last hours counted whole' : '';
  // Entries dated after the range's end (a range open to the latest entry ends now): in the list, not drawn.
  const after = later === 0 ? '' : `; ${later} more dated after ${barLabel(props.toMs, 'hour', props.utc)}, not drawn`;
  return (
    <figure class="histogram" data-total={sum + later}>
      <svg
        viewBox="0 0 100 30"
        preserveAspectRatio="none"
        role="img"
        aria-label={`Entries${of} per ${unit}: ${sum} in all; the most, ${peak.count}, in the ${unit} of ${label(peak.startMs)}${whole}${after}.`}
      >
        {list.map((b, i) => (
          <rect key={b.startMs} x={i * w + w * 0.1} width={w * 0.8} y={30 - (b.count / max) * 30} height={(b.count / max) * 30} data-count={b.count}>
            <title>
              {label(b.startMs)}: {b.count}
            </title>
          </rect>
        ))}
      </svg>
      <figcaption>
        <span>{list[0] && label(list[0].startMs)}</span>
        <span>
          entries{of} per {unit} (peak {peak.count}
          {whole}
          {after})
        </span>
        <span>{list.at(-1) && label(list.at(-1)!.startMs)}</span>
      </figcaption>
    </figure>
  );
}
