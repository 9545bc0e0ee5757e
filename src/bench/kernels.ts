/**
 * The kernel benchmark: a Linear layer's product y = x W^T on real LLM shapes, dense and in
 * each sparse format, against a native peer (onnxruntime's MatMul) measured in the same run.
 * Speedups are ratios of medians in this run; each sparse result is also checked against the
 * dense product of the same weights.
 */
import type { Backend } from '../core/backend.js';
import { matmul, tensor } from '../core/ops.js';
import type { Tensor } from '../core/tensor.js';
import { BsrMatrix } from '../sparse/bsr.js';
import { BitmapMatrix } from '../sparse/bitmap.js';
import { CsrMatrix } from '../sparse/csr.js';
import { linear, type LinearWeight, weightBytes } from '../sparse/linear.js';
import { NmMatrix } from '../sparse/nm.js';
import { measureRounds, type RoundsOptions, type Timing } from './timing.js';
import { blockSparse, randomDense, unstructuredSparse, zeroFraction } from './weights.js';

export type KernelFormat = 'dense' | 'csr' | 'bitmap' | 'nm' | 'bsr' | 'ort';

export interface KernelRecord {
  format: KernelFormat;
  /** Fraction of zero weights. */
  sparsity: number;
  /** "2:4", "16x16", or null. */
  pattern: string | null;
  batch: number;
  rows: number;
  cols: number;
  medianMs: number;
  minMs: number;
  p90Ms: number;
  runs: number;
  /** Our dense median / this median. */
  speedupVsDense: number;
  /** The peer's dense median / this median. */
  speedupVsOrt: number;
  /** Bytes of the weight in this format. */
  weightBytes: number;
  /** Useful multiply-adds x 2 per second (zeros skipped are not counted), in GFLOP/s. */
  gflops: number;
  /** Weight bytes read per second, GB/s: how close a memory-bound product gets to bandwidth. */
  weightGBps: number;
  /** Norm-wise relative error against the dense product of the same weights (null for dense). */
  maxRelError: number | null;
}

/** A dense x W^T computed by another library, for comparison. */
export interface DensePeer {
  readonly name: string;
  create(weight: Float32Array, rows: number, cols: number, x: Float32Array, batch: number): Promise<{
    run(): Promise<Float32Array>;
    release(): Promise<void>;
  }>;
}

export interface KernelSuiteOptions {
  readonly shapes: ReadonlyArray<readonly [number, number]>;
  readonly batches: readonly number[];
  readonly csrSparsities: readonly number[];
  /** Unstructured sparsities also run as bitmap rows (the format sparsekit stores them in up to 60%). */
  readonly bitmapSparsities: readonly number[];
  readonly bsrSparsities: readonly number[];
  readonly blockSize: number;
  readonly timing: RoundsOptions;
  readonly seed: number;
}

export const FULL_KERNEL_SUITE: KernelSuiteOptions = {
  shapes: [
    [4096, 4096],
    [11008, 4096],
  ],
  batches: [1, 8, 128],
  csrSparsities: [0.5, 0.7, 0.9, 0.95],
  bitmapSparsities: [0.5, 0.7],
  bsrSparsities: [0.7, 0.9],
  blockSize: 16,
  timing: { rounds: 3, warmupRuns: 2, minRuns: 9, minTimeMs: 600, maxRuns: 150 },
  seed: 1234,
};

export const QUICK_KERNEL_SUITE: KernelSuiteOptions = {
  ...FULL_KERNEL_SUITE,
  shapes: [[4096, 4096]],
  batches: [1, 128],
  timing: { rounds: 2, warmupRuns: 2, minRuns: 6, minTimeMs: 200, maxRuns: 60 },
};

const NM_PATTERNS: readonly (readonly [number, number])[] = [
  [2, 4],
  [4, 8],
];

interface SparseCase {
  readonly format: 'csr' | 'bitmap' | 'nm' | 'bsr';
  readonly pattern: string | null;
  readonly sparsity: number;
  readonly weight: LinearWeight;
  /** The same weights densely, for the correctness check. */
  readonly dense: Tensor;
  readonly nonzeros: number;
}

export function kernelCaseCount(options: KernelSuiteOptions): number {
  const perBatch = 2 + options.csrSparsities.length + options.bitmapSparsities.length + NM_PATTERNS.length + options.bsrSparsities.length;
  return options.shapes.length * options.batches.length * perBatch;
}

/** Runs the suite; `onCase` reports each finished record (for progress display). */
export async function runKernelSuite(
  backend: Backend,
  peer: DensePeer,
  options: KernelSuiteOptions,
  onCase: (record: KernelRecord) => void = () => {},
): Promise<KernelRecord[]> {
  const records: KernelRecord[] = [];
  for (const [rows, cols] of options.shapes) {
    const denseHost = randomDense(rows, cols, options.seed);
    const dense = tensor(denseHost, [rows, cols], 'f32', backend);
    const cases = await buildSparseCases(backend, denseHost, rows, cols, options);
    for (const batch of options.batches) {
      const xHost = randomDense(batch, cols, options.seed + batch);
      const x = tensor(xHost, [batch, cols], 'f32', backend);
      const peerSession = await peer.create(denseHost, rows, cols, xHost, batch);
      const weights: LinearWeight[] = [dense, ...cases.map((c) => c.weight)];
      // The peer's block comes last in each round; the warm-up runs of the next block absorb the
      // few milliseconds its thread pool keeps spinning after work.
      const timings = await measureRounds([...weights.map((w) => () => linear(x, w).dispose()), () => peerSession.run()], options.timing);
      await peerSession.release();
      const denseTiming = timings[0];
      const peerTiming = timings[timings.length - 1];
      const record = (format: KernelFormat, sparsity: number, pattern: string | null, t: Timing, bytes: number, nonzeros: number, err: number | null): KernelRecord => ({
        format,
        sparsity,
        pattern,
        batch,
        rows,
        cols,
        medianMs: t.medianMs,
        minMs: t.minMs,
        p90Ms: t.p90Ms,
        runs: t.runs,
        speedupVsDense: denseTiming.medianMs / t.medianMs,
        speedupVsOrt: peerTiming.medianMs / t.medianMs,
        weightBytes: bytes,
        gflops: (2 * nonzeros * batch) / (t.medianMs * 1e6),
        weightGBps: bytes / (t.medianMs * 1e6),
        maxRelError: err,
      });
      const batchRecords = [
        record('dense', 0, null, denseTiming, rows * cols * 4, rows * cols, null),
        record('ort', 0, null, peerTiming, rows * cols * 4, rows * cols, null),
      ];
      for (let i = 0; i < cases.length; i++) {
        const c = cases[i];
        batchRecords.push(record(c.format, c.sparsity, c.pattern, timings[i + 1], weightBytes(c.weight), c.nonzeros, await productError(x, c)));
      }
      for (const r of batchRecords) {
        records.push(r);
        onCase(r);
      }
      x.dispose();
    }
    dense.dispose();
    for (const c of cases) {
      c.dense.dispose();
      (c.weight as { dispose(): void }).dispose();
    }
  }
  return records;
}

async function buildSparseCases(backend: Backend, dense: Float32Array, rows: number, cols: number, options: KernelSuiteOptions): Promise<SparseCase[]> {
  const cases: SparseCase[] = [];
  const add = (format: SparseCase['format'], pattern: string | null, host: Float32Array, weight: LinearWeight) => {
    const zeros = zeroFraction(host);
    cases.push({ format, pattern, sparsity: zeros, weight, dense: tensor(host, [rows, cols], 'f32', backend), nonzeros: Math.round((1 - zeros) * host.length) });
  };
  for (const s of options.csrSparsities) {
    const host = unstructuredSparse(dense, rows, cols, s, options.seed + Math.round(s * 1000));
    add('csr', null, host, CsrMatrix.fromDense(host, rows, cols, backend));
  }
  for (const s of options.bitmapSparsities) {
    // The same positions as the CSR case of this sparsity (same seed).
    const host = unstructuredSparse(dense, rows, cols, s, options.seed + Math.round(s * 1000));
    add('bitmap', null, host, BitmapMatrix.fromDense(host, rows, cols, backend));
  }
  for (const [n, m] of NM_PATTERNS) {
    const nm = NmMatrix.fromDenseByMagnitude(dense, rows, cols, n, m, backend);
    add('nm', `${n}:${m}`, await nm.toDense(), nm);
  }
  const b = options.blockSize;
  for (const s of options.bsrSparsities) {
    const host = blockSparse(dense, rows, cols, b, b, s, options.seed + 7 + Math.round(s * 1000));
    add('bsr', `${b}x${b}`, host, BsrMatrix.fromDense(host, rows, cols, b, b, backend));
  }
  return cases;
}

/** Norm-wise relative error of the format's product against the dense product of the same weights. */
async function productError(x: Tensor, c: SparseCase): Promise<number> {
  const got = linear(x, c.weight);
  const want = matmul(x, c.dense, { transposeB: true });
  const [g, w] = [await got.read(), await want.read()];
  got.dispose();
  want.dispose();
  let num = 0;
  let den = 0;
  for (let i = 0; i < w.length; i++) {
    num = Math.max(num, Math.abs(g[i] - w[i]));
    den = Math.max(den, Math.abs(w[i]));
  }
  return den === 0 ? num : num / den;
}
