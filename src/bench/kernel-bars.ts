/**
 * The kernel benchmark's acceptance bars (issue "Foundation", part 8), checked on the records of
 * one run: sparse weights must pay on a CPU, against our dense path and the native peer.
 */
import type { KernelRecord } from './kernels.js';

export interface BarResult {
  readonly bar: string;
  readonly value: number;
  readonly threshold: number;
  /** The value must exceed the threshold, not merely reach it (orderings). */
  readonly strict?: boolean;
  /** How the value reads: a ratio (default, "1.23x") or a difference in percentage points. */
  readonly unit?: 'ratio' | 'points';
  readonly pass: boolean;
}

interface Bar {
  readonly bar: string;
  readonly select: (r: KernelRecord) => boolean;
  readonly metric: 'speedupVsDense' | 'speedupVsOrt';
  readonly threshold: number;
}

const csr90 = (r: KernelRecord) => r.format === 'csr' && Math.abs(r.sparsity - 0.9) < 0.005;

const BARS: Bar[] = [
  { bar: 'batch 1, 4096x4096, CSR 90%: vs ORT', select: (r) => r.batch === 1 && r.rows === 4096 && r.cols === 4096 && csr90(r), metric: 'speedupVsOrt', threshold: 3 },
  { bar: 'batch 1, 4096x4096, CSR 90%: vs dense', select: (r) => r.batch === 1 && r.rows === 4096 && r.cols === 4096 && csr90(r), metric: 'speedupVsDense', threshold: 5 },
  { bar: 'batch 1, 2:4: vs dense', select: (r) => r.batch === 1 && r.format === 'nm' && r.pattern === '2:4', metric: 'speedupVsDense', threshold: 1.5 },
  { bar: 'batch 128, CSR 90%: vs dense', select: (r) => r.batch === 128 && csr90(r), metric: 'speedupVsDense', threshold: 2 },
  { bar: 'batch 128, CSR 90%: vs ORT', select: (r) => r.batch === 128 && csr90(r), metric: 'speedupVsOrt', threshold: 1 },
  { bar: 'batch 128, our dense: vs ORT', select: (r) => r.batch === 128 && r.format === 'dense', metric: 'speedupVsOrt', threshold: 0.25 },
];

/** Every bar against every record it applies to (one line per shape). */
export function checkKernelBars(records: readonly KernelRecord[]): BarResult[] {
  const results: BarResult[] = [];
  for (const b of BARS) {
    for (const r of records.filter(b.select)) {
      const value = r[b.metric];
      results.push({ bar: `${b.bar} (${r.rows}x${r.cols})`, value, threshold: b.threshold, pass: value >= b.threshold });
    }
  }
  return results;
}
