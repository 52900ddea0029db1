/**
 * Progress on long work: a cli-progress bar on stderr when it is a terminal, silence
 * otherwise (pipes and logs get no control characters). The line is drawn here rather than by
 * cli-progress's placeholders, so that an unknown total never shows as `0/0` and an ETA
 * appears only once there is a rate to compute it from.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the amount done (and the total, once it is known). */
  update(done: number, total?: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** `1h 02m`, `3m 05s`, `42s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

export interface ProgressState {
  readonly done: number;
  /** 0 while unknown. */
  readonly total: number;
  readonly elapsedMs: number;
}

/**
 * The text after the label. Without a total: the amount and the rate. With one: percentage,
 * amount of total, rate, and an ETA once something was done (a rate of zero predicts nothing).
 */
export function progressText(unit: string, s: ProgressState, bar = ''): string {
  const seconds = s.elapsedMs / 1000;
  const rate = seconds > 0 ? s.done / seconds : 0;
  const rateText = `${count(rate)} ${unit}/s`;
  if (s.total <= 0) return `${count(s.done)} ${unit} | ${rateText}`;
  const total = Math.max(s.total, s.done);
  const pct = Math.floor((100 * s.done) / total);
  const parts = [`${bar ? `${bar} ` : ''}${pct}%`, `${Math.round(s.done)}/${Math.round(total)} ${unit}`, rateText];
  if (s.done >= total) parts.push(`done in ${formatDuration(seconds)}`);
  else if (s.done > 0 && rate > 0) parts.push(`ETA ${formatDuration((total - s.done) / rate)}`);
  return parts.join(' | ');
}

export function createProgress(label: string, unit: string, total = 0, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return SILENT;
  const started = Date.now();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: (options, params) => {
        const known = params.total > 0;
        const drawn = known ? cliProgress.Format.BarFormat(Math.min(1, params.value / params.total), options) : '';
        return `${label} ${progressText(unit, { done: params.value, total: params.total, elapsedMs: Date.now() - started }, drawn)}`;
      },
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) bar.setTotal(newTotal);
      bar.update(done);
    },
    stop() {
      bar.stop();
    },
  };
}
