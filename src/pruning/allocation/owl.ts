/**
 * OWL, Outlier Weighed Layerwise sparsity (Yin et al. 2024, "Outlier Weighed Layerwise Sparsity
 * (OWL): A Missing Secret Sauce for Pruning LLMs to High Sparsity"), as github.com/luuyin/OWL
 * computes it in lib/prune_all.py, prune_wanda_outlier (lines 853-1058):
 *
 *  1. Per decoder block b, the Wanda scores A_ij = |W_ij| * sqrt(scaler_row_j) of all the
 *     block's Linears together (lines 924, 943), scaler_row_j = mean over tokens of x_j^2
 *     (lib/layerwrapper.py), i.e. sumSquares_j / tokens here.
 *  2. Outlier ratio D_b = 100 * #{A > M * mean(A)} / #A (check_outlier_mean, lines 139-154);
 *     M = 5 (the README's runs; main.py's default is 3).
 *  3. Densities (line 964-966): D'_b = (D_b - min D) / (max D - min D) * 2 * lambda, then
 *     density_b = D'_b - mean_b(D') + (1 - target). So block sparsity = target - (D'_b - mean D'):
 *     the spread is 2 * lambda, more outliers -> denser.
 *  4. Every Linear of the block takes its block's sparsity (line 1054).
 *
 * Then, where upstream clamps a sparsity <= 0 to 0.01 (line 1057), here every layer is clamped to
 * [0, 1 - 1/n] and one constant shift makes the parameter-weighted mean exactly the target
 * (budget.ts shiftToTarget). Upstream's mean over blocks is unweighted; the blocks of a Llama are
 * all the same size, so there the shift is zero unless a clamp bites. With equal outlier ratios
 * (max = min, a division by zero upstream) every block gets the target.
 */
import { ArgumentError } from '../../core/errors.js';
import type { Allocator, AllocationLayer } from '../types.js';
import { checkLayers, checkTarget, shiftToTarget } from './budget.js';

export interface OwlOptions {
  /** M: a score is an outlier above M times its block's mean score (default 5). */
  readonly outlierThreshold?: number;
  /** lambda: block sparsities spread over target +- lambda (default 0.08). */
  readonly lambda?: number;
}

export class OwlAllocator implements Allocator {
  readonly name = 'owl';
  readonly needs = { norms: true, gram: false } as const;
  readonly searches = false;
  readonly outlierThreshold: number;
  readonly lambda: number;

  constructor(options: OwlOptions = {}) {
    this.outlierThreshold = options.outlierThreshold ?? 5;
    this.lambda = options.lambda ?? 0.08;
    if (!(this.outlierThreshold > 0) || !Number.isFinite(this.outlierThreshold)) throw new ArgumentError(`owl: outlier threshold M must be positive, got ${this.outlierThreshold}`);
    if (!(this.lambda >= 0) || !Number.isFinite(this.lambda)) throw new ArgumentError(`owl: lambda must be >= 0, got ${this.lambda}`);
  }

  async allocate(layers: readonly AllocationLayer[], targetSparsity: number): Promise<Map<string, number>> {
    checkTarget(targetSparsity);
    checkLayers(layers);
    if (layers.length === 0) return new Map();
    const blocks = [...new Set(layers.map((l) => l.block))].sort((a, b) => a - b);
    const ratios = blocks.map((b) => outlierRatio(layers.filter((l) => l.block === b), this.outlierThreshold));
    const perBlock = blockSparsities(ratios, targetSparsity, this.lambda);
    const sparsityOf = new Map(blocks.map((b, i) => [b, perBlock[i]]));
    const raw = layers.map((l) => sparsityOf.get(l.block) ?? targetSparsity);
    const sparsities = shiftToTarget(layers, raw, targetSparsity);
    return new Map(layers.map((l, i) => [l.name, sparsities[i]]));
  }
}

/** Percentage of a block's Wanda scores above M times their mean (upstream's check_outlier_mean). */
export function outlierRatio(block: readonly AllocationLayer[], m: number): number {
  const norms = block.map((l) => {
    if (!l.stats) throw new ArgumentError(`owl: layer ${l.name} has no calibration norms`);
    const { sumSquares, tokens } = l.stats;
    return Float64Array.from(sumSquares, (s) => Math.sqrt(s / Math.max(tokens, 1)));
  });
  const visit = (f: (score: number) => void) =>
    block.forEach((l, b) => {
      const x = norms[b];
      for (let r = 0, o = 0; r < l.rows; r++) for (let j = 0; j < l.cols; j++, o++) f(Math.abs(l.weight[o]) * x[j]);
    });
  let sum = 0;
  let count = 0;
  visit((a) => {
    sum += a;
    count++;
  });
  const threshold = (m * sum) / count;
  let outliers = 0;
  visit((a) => {
    if (a > threshold) outliers++;
  });
  return (100 * outliers) / count;
}

/** Block sparsities from outlier ratios: target - (D'_b - mean D'), D' = min-max scaled to [0, 2 lambda]. */
export function blockSparsities(ratios: readonly number[], target: number, lambda: number): number[] {
  const lo = Math.min(...ratios);
  const hi = Math.max(...ratios);
  if (!(hi > lo)) return ratios.map(() => target);
  const scaled = ratios.map((d) => ((d - lo) / (hi - lo)) * 2 * lambda);
  const mean = scaled.reduce((a, b) => a + b, 0) / scaled.length;
  return scaled.map((d) => 1 - (d - mean + (1 - target)));
}
