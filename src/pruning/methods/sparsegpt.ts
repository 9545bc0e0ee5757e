/**
 * SparseGPT (Frantar & Alistarh 2023, "SparseGPT: Massive Language Models Can Be Accurately
 * Pruned in One-Shot", Alg. 1), following IST-DASLab/sparsegpt's `SparseGPT.fasterprune` step by
 * step (written anew, in f64):
 *
 *   H = 2 X X^T / nsamples; dead inputs (H_ii = 0) get H_ii = 1 and W[:, i] = 0;
 *   H += percdamp * mean(diag H) * I;  Hinv = cholesky(H^-1, upper)
 *   for each block of `blocksize` columns (lazy batch updates, sec. 3.3):
 *     unstructured: prune the lowest `sparsity` fraction of W^2 / diag(Hinv)^2 over the WHOLE
 *       block, all rows together (not per row, whatever the spec's group: rows end up unevenly
 *       sparse, the layer exactly);
 *     for each column i of the block:
 *       N:M: at the start of every group of M columns, per row prune the M - N lowest of
 *         W^2 / diag(Hinv)^2 over the group (upstream: topk(..., prunen, largest=False));
 *       q = w with pruned entries zeroed; err = (w - q) / Hinv_ii
 *       W[:, i:block end] -= err * Hinv[i, i:block end]   (optimal update of the rest, eq. 3)
 *     W[:, block end:] -= Err * Hinv[block, block end:]   (the deferred update of later blocks)
 *
 * nsamples is upstream's count of calibration SEQUENCES (add_batch is called once per sequence
 * of batch 1), so H carries 2 / sequences, not 2 / tokens: pass `sequences`. The scale of H
 * cancels everywhere except in how a dead input's H_ii = 1 weighs in mean(diag H) (the
 * dampening), so without `sequences` the token count is used and only that detail differs.
 *
 * Where we differ from upstream, on purpose:
 * - Count: upstream's unstructured mask is `tmp <= sort(tmp)[int(numel * sparsity)]`, which
 *   prunes int(numel * sparsity) + 1 weights per block (more on ties). We prune exactly
 *   round(sparsity * rows * cols) in total, split over the blocks by cumulative rounding, ties to
 *   the lower flat index; `upstreamMaskCount: true` reproduces upstream's rule (the parity test).
 * - Dampening: where H + damp I (or its inverse) is not numerically positive definite we raise
 *   percdamp x10 and retry, up to 1e6 x the initial value, where upstream would fail in
 *   torch.linalg.cholesky; the value used is in the result's notes.
 * - N:M groups must not straddle blocks, so the block size is rounded down to a multiple of M
 *   (no change for M dividing 128; upstream would misalign groups for, say, M = 6).
 * - Block patterns are not part of the method and are rejected.
 */
import { ArgumentError } from '../../core/errors.js';
import { Mask } from '../../sparse/mask.js';
import { NotPositiveDefiniteError, upperCholeskyOfInverse } from '../linalg.js';
import { assertSparsity } from '../patterns/index.js';
import { pruneLowest } from '../patterns/select.js';
import type { PatternSpec, PruneMethod, PruneResult, PruneTarget } from '../types.js';

export interface SparseGptOptions {
  /** Calibration sequences behind the statistics (upstream's nsamples); default: their token count. */
  readonly sequences?: number;
  /** Columns per lazy-update block (upstream default 128). */
  readonly blocksize?: number;
  /** Dampening as a fraction of mean(diag H) (upstream default 0.01). */
  readonly percdamp?: number;
  /** Prune upstream's int(numel * sparsity) + 1 (and ties) per block instead of the exact count. */
  readonly upstreamMaskCount?: boolean;
}

/** Dampening raises (x10 each) tried before giving up. */
const MAX_DAMP_RAISES = 6;

export class SparseGpt implements PruneMethod {
  readonly name = 'sparsegpt';
  readonly needs = { norms: false, gram: true };
  readonly blocksize: number;
  readonly percdamp: number;

  constructor(readonly options: SparseGptOptions = {}) {
    this.blocksize = options.blocksize ?? 128;
    this.percdamp = options.percdamp ?? 0.01;
    if (!Number.isInteger(this.blocksize) || this.blocksize < 1) throw new ArgumentError(`sparsegpt: blocksize must be a positive integer, got ${this.blocksize}`);
    if (!(this.percdamp > 0)) throw new ArgumentError(`sparsegpt: percdamp must be positive, got ${this.percdamp}`);
    if (options.sequences !== undefined && !(Number.isInteger(options.sequences) && options.sequences >= 1)) {
      throw new ArgumentError(`sparsegpt: sequences must be a positive integer, got ${options.sequences}`);
    }
  }

  prune(target: PruneTarget, sparsity: number, pattern: PatternSpec): PruneResult {
    const { rows, cols: n, stats } = target;
    const where = `sparsegpt: ${target.name}`;
    assertSparsity(sparsity, where);
    if (pattern.kind === 'block') throw new ArgumentError(`${where}: SparseGPT prunes unstructured or N:M patterns, not ${pattern.rows}x${pattern.cols} blocks`);
    if (pattern.kind === 'nm') {
      if (Math.abs(sparsity - (1 - pattern.n / pattern.m)) > 1e-9) throw new ArgumentError(`${where}: ${pattern.n}:${pattern.m} is ${1 - pattern.n / pattern.m} sparse, not ${sparsity}`);
      if (n % pattern.m !== 0) throw new ArgumentError(`${where}: ${n} input columns are not divisible by M = ${pattern.m}`);
    }
    if (target.weight.length !== rows * n) throw new ArgumentError(`${where}: ${target.weight.length} weights, not ${rows} x ${n}`);
    if (!stats?.gram) throw new ArgumentError(`${where}: SparseGPT needs the inputs' Gram matrix X X^T from calibration`);
    if (stats.gram.length !== n * n) throw new ArgumentError(`${where}: a Gram matrix of ${stats.gram.length} entries for ${n} inputs`);
    const samples = this.options.sequences ?? stats.tokens;
    if (!(samples >= 1)) throw new ArgumentError(`${where}: the statistics cover no calibration tokens`);

    for (let i = 0; i < target.weight.length; i++) {
      if (!Number.isFinite(target.weight[i])) throw new ArgumentError(`${where}: weight ${i} is not finite (${target.weight[i]})`);
    }
    const W = Float64Array.from(target.weight);
    const H = stats.gram.map((g) => (2 * g) / samples);
    let dead = 0;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(H[i * n + i])) throw new ArgumentError(`${where}: the Gram matrix is not finite at input ${i}`);
      if (H[i * n + i] === 0) {
        // An input that was always zero: its weights never mattered; H_ii = 1 keeps H invertible.
        H[i * n + i] = 1;
        for (let r = 0; r < rows; r++) W[r * n + i] = 0;
        dead++;
      }
    }
    const { hinv, percdamp, damp, raises } = this.dampedInverseFactor(H, n, where);

    const m = pattern.kind === 'nm' ? pattern.m : 0;
    const zerosPerGroup = pattern.kind === 'nm' ? pattern.m - pattern.n : 0;
    const blocksize = m > 0 ? Math.max(m, this.blocksize - (this.blocksize % m)) : this.blocksize;
    const pruned = new Uint8Array(rows * n);
    const groupMetric = new Float64Array(Math.max(m, 1));
    const scratch = new Float64Array(Math.max(m, 1));
    let loss = 0;

    for (let i1 = 0; i1 < n; i1 += blocksize) {
      const i2 = Math.min(i1 + blocksize, n);
      const count = i2 - i1;
      const err = new Float64Array(rows * count);
      if (pattern.kind === 'unstructured') this.selectBlock(W, hinv, n, rows, i1, i2, sparsity, pruned);
      for (let i = i1; i < i2; i++) {
        const d = hinv[i * n + i];
        if (m > 0 && (i - i1) % m === 0) {
          for (let r = 0; r < rows; r++) {
            for (let t = 0; t < m; t++) groupMetric[t] = (W[r * n + i + t] / hinv[(i + t) * n + i + t]) ** 2;
            pruneLowest(groupMetric, 0, m, zerosPerGroup, (t) => void (pruned[r * n + i + t] = 1), scratch);
          }
        }
        for (let r = 0; r < rows; r++) {
          const w = W[r * n + i];
          const q = pruned[r * n + i] ? 0 : w;
          const e = (w - q) / d;
          loss += (e * e) / 2;
          W[r * n + i] = q;
          err[r * count + (i - i1)] = e;
          if (e !== 0) for (let j = i + 1; j < i2; j++) W[r * n + j] -= e * hinv[i * n + j];
        }
      }
      // The deferred update of the columns after the block: W[:, i2:] -= Err Hinv[i1:i2, i2:].
      for (let r = 0; r < rows; r++) {
        for (let i = i1; i < i2; i++) {
          const e = err[r * count + (i - i1)];
          if (e !== 0) for (let j = i2; j < n; j++) W[r * n + j] -= e * hinv[i * n + j];
        }
      }
    }

    const weight = Float32Array.from(W);
    for (let i = 0; i < weight.length; i++) {
      if (!Number.isFinite(weight[i])) throw new Error(`${where}: produced a non-finite weight at ${i} (damp ${damp}); this is a bug`);
    }
    const mask = Mask.fromPredicate([rows, n], (i) => pruned[i] === 0);
    return { weight, mask, notes: { damp, percdamp, dampRaises: raises, deadInputs: dead, error: loss } };
  }

  /** Marks the block's unstructured selection of W^2 / diag(Hinv)^2 over all its rows in `pruned`. */
  private selectBlock(W: Float64Array, hinv: Float64Array, n: number, rows: number, i1: number, i2: number, sparsity: number, pruned: Uint8Array): void {
    const count = i2 - i1;
    const metric = new Float64Array(rows * count);
    for (let r = 0; r < rows; r++) {
      for (let i = i1; i < i2; i++) metric[r * count + (i - i1)] = (W[r * n + i] / hinv[i * n + i]) ** 2;
    }
    const mark = (k: number) => void (pruned[Math.floor(k / count) * n + i1 + (k % count)] = 1);
    if (this.options.upstreamMaskCount) {
      const threshold = Float64Array.from(metric).sort()[Math.floor(metric.length * sparsity)];
      for (let k = 0; k < metric.length; k++) if (metric[k] <= threshold) mark(k);
    } else {
      // Cumulative rounding: the blocks' counts add up to exactly round(sparsity * rows * n).
      const k = Math.round(sparsity * rows * i2) - Math.round(sparsity * rows * i1);
      pruneLowest(metric, 0, metric.length, k, mark);
    }
  }

  /** Hinv = upper Cholesky of (H + damp I)^-1, raising the dampening x10 while that fails. */
  private dampedInverseFactor(H: Float64Array, n: number, where: string): { hinv: Float64Array; percdamp: number; damp: number; raises: number } {
    let meanDiag = 0;
    for (let i = 0; i < n; i++) meanDiag += H[i * n + i] / n;
    let percdamp = this.percdamp;
    for (let raises = 0; ; raises++) {
      const damp = percdamp * meanDiag;
      const damped = H.slice();
      for (let i = 0; i < n; i++) damped[i * n + i] += damp;
      try {
        return { hinv: upperCholeskyOfInverse(damped, n), percdamp, damp, raises };
      } catch (error) {
        if (!(error instanceof NotPositiveDefiniteError) || error.pivot < 0 || raises >= MAX_DAMP_RAISES) {
          throw new ArgumentError(`${where}: the Hessian is not positive definite even with dampening ${percdamp} x mean(diag H) (${(error as Error).message})`);
        }
        percdamp *= 10;
      }
    }
  }
}
