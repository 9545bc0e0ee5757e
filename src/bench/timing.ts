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
  return summarize(await measureSamples(run, options));
}

/** The timed runs' durations (ms) after the warm-up runs. */
async function measureSamples(run: () => unknown, options: TimingOptions): Promise<number[]> {
  const { warmupRuns = 3, minRuns = 7, minTimeMs = 300, maxRuns = 200 } = options;
  for (let i = 0; i < warmupRuns; i++) await run();
  const times: number[] = [];
  let spent = 0;
  while (times.length < maxRuns && (times.length < minRuns || spent < minTimeMs)) {
    const start = performance.now();
    const result = run();
    // Awaited only when it is a promise (the peer's runs): awaiting a plain value still yields to
    // the microtask queue, inside the timed region of a synchronous kernel.
    if (result instanceof Promise) await result;
    const ms = performance.now() - start;
    times.push(ms);
    spent += ms;
  }
  return times;
}

function summarize(times: number[]): Timing {
  const sorted = [...times].sort((a, b) => a - b);
  return { medianMs: quantile(sorted, 0.5), minMs: sorted[0], p90Ms: quantile(sorted, 0.9), runs: sorted.length };
}

export interface RoundsOptions extends TimingOptions {
  /** Rounds over all cases; each round times every case in a block of runs. */
  readonly rounds?: number;
}

/**
 * Times several cases in rounds: each round runs every case as a block (warm-up, then timed
 * runs), in a rotating order, and the medians are taken over all rounds' runs. Blocks keep each
 * case's data hot and its threads busy, as a steady caller would; rounds spread a slow spell of
 * a shared machine over all cases, so their ratios stay fair. (Measured on these virtual
 * machines: alternating cases run by run, or idling between them, slows the next runs 1.5-3x.)
 */
export async function measureRounds(cases: readonly (() => unknown)[], options: RoundsOptions = {}): Promise<Timing[]> {
  const rounds = options.rounds ?? 3;
  const perRound: TimingOptions = {
    warmupRuns: options.warmupRuns ?? 2,
    minRuns: Math.max(1, Math.ceil((options.minRuns ?? 7) / rounds)),
    minTimeMs: (options.minTimeMs ?? 300) / rounds,
    maxRuns: Math.max(1, Math.ceil((options.maxRuns ?? 200) / rounds)),
  };
  const samples: number[][] = cases.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < cases.length; k++) {
      const i = (round + k) % cases.length;
      samples[i].push(...(await measureSamples(cases[i], perRound)));
    }
  }
  return samples.map(summarize);
}
