/**
 * Wall-clock measurement for benchmarks: warm up (JIT tier-up, caches, worker threads), then time
 * repeated runs and report order statistics. Medians, not means: shared machines are noisy.
 */

export interface TimingOptions {
  /** Untimed runs first. */
  readonly warmupRuns?: number;
  /** At least this many timed runs... */
  readonly minRuns?: number;
  /** ...and keep going until this much time was spent timing (ms), up to maxRuns. */
  readonly minTimeMs?: number;
  readonly maxRuns?: number;
}

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly p90Ms: number;
  readonly runs: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Times `run` (which may return a promise, awaited inside the timed region). */
export async function measure(run: () => unknown, options: TimingOptions = {}): Promise<Timing> {
  const { warmupRuns = 3, minRuns = 7, minTimeMs = 300, maxRuns = 200 } = options;
  for (let i = 0; i < warmupRuns; i++) await run();
  const times: number[] = [];
  let spent = 0;
  while (times.length < maxRuns && (times.length < minRuns || spent < minTimeMs)) {
    const start = performance.now();
    await run();
    const ms = performance.now() - start;
    times.push(ms);
    spent += ms;
  }
  times.sort((a, b) => a - b);
  return { medianMs: quantile(times, 0.5), minMs: times[0], p90Ms: quantile(times, 0.9), runs: times.length };
}
