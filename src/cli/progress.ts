/**
 * Progress on long work: a cli-progress bar on stderr when it is a terminal, silence
 * otherwise (pipes and logs get no control characters).
 */
import cliProgress from 'cli-progress';

export interface Progress {
  /** Sets the amount done (and the total, once it is known). */
  update(done: number, total?: number): void;
  stop(): void;
}

const SILENT: Progress = { update() {}, stop() {} };

export function createProgress(label: string, unit: string, total = 0, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled) return SILENT;
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} {bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  bar.start(total, 0, { rate: '0' });
  return {
    update(done, newTotal) {
      if (newTotal !== undefined) bar.setTotal(newTotal);
      const seconds = (Date.now() - started) / 1000;
      bar.update(done, { rate: seconds > 0 ? Math.round(done / seconds).toLocaleString('en-US') : '0' });
    },
    stop() {
      bar.stop();
    },
  };
}
