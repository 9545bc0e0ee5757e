/**
 * Progress bars on stderr (so stdout stays clean for tables and --json), drawn only when stderr
 * is a terminal; otherwise silent, as in CI logs.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, payload?: Record<string, string>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, unit = ''): Progress {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% | {value}/{total}${unit} | {eta_formatted} left {detail}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { detail: '' });
  return {
    update: (done, payload) => bar.update(done, { detail: '', ...payload }),
    stop: () => bar.stop(),
  };
}
