/** A synthetic Linear with calibration inputs, and its reconstruction error, for pruning tests. */
import { Random } from '../../src/core/random.js';
import type { PruneTarget } from '../../src/pruning/types.js';

export interface SyntheticLayer {
  /** Inputs [tokens, cols], row-major. */
  readonly x: Float32Array;
  readonly tokens: number;
  readonly target: PruneTarget;
}

export interface SyntheticOptions {
  readonly rows?: number;
  readonly cols?: number;
  readonly tokens?: number;
  /** Dominant directions of the inputs. */
  readonly rank?: number;
  /** Standard deviation of the independent noise, relative to the low-rank part's ~1. */
  readonly noise?: number;
  /** Standard deviation of the per-feature means (nonzero means are what DSnoT corrects). */
  readonly meanScale?: number;
  /** Feature j is scaled by e^u, u uniform in [-ln spread, ln spread]: uneven feature scales. */
  readonly scaleSpread?: number;
  /** Feature columns to overwrite: [j, source]: j becomes a copy of source, or all zero for source -1. */
  readonly overrides?: readonly (readonly [number, number])[];
}

/**
 * x_t = s ⊙ (A z_t + mu + noise), z_t ~ N(0, I_rank), A ~ N(0, 1/rank) [cols, rank]: strongly
 * correlated inputs (a few dominant directions) with uneven scales s and nonzero means mu;
 * W ~ N(0, 1). Statistics are computed here in f64, exactly as their definitions read.
 */
export function syntheticLayer(seed: number, options: SyntheticOptions = {}): SyntheticLayer {
  const { rows = 64, cols = 64, tokens = 512, rank = 4, noise = 0.3, meanScale = 1, scaleSpread = 3, overrides = [] } = options;
  const rng = new Random(seed);
  const a = Float64Array.from({ length: cols * rank }, () => rng.normal() / Math.sqrt(rank));
  const scale = Float64Array.from({ length: cols }, () => Math.exp((rng.uniform() * 2 - 1) * Math.log(scaleSpread)));
  const mu = Float64Array.from({ length: cols }, () => rng.normal() * meanScale);
  const x = new Float32Array(tokens * cols);
  const z = new Float64Array(rank);
  for (let t = 0; t < tokens; t++) {
    for (let k = 0; k < rank; k++) z[k] = rng.normal();
    for (let j = 0; j < cols; j++) {
      let v = mu[j] + noise * rng.normal();
      for (let k = 0; k < rank; k++) v += a[j * rank + k] * z[k];
      x[t * cols + j] = scale[j] * v;
    }
    for (const [j, source] of overrides) x[t * cols + j] = source < 0 ? 0 : x[t * cols + source];
  }
  const weight = Float32Array.from({ length: rows * cols }, () => rng.normal());
  const sum = new Float64Array(cols);
  const sumSquares = new Float64Array(cols);
  const gram = new Float64Array(cols * cols);
  for (let t = 0; t < tokens; t++) {
    for (let i = 0; i < cols; i++) {
      const xi = x[t * cols + i];
      sum[i] += xi;
      sumSquares[i] += xi * xi;
      for (let j = 0; j < cols; j++) gram[i * cols + j] += xi * x[t * cols + j];
    }
  }
  return { x, tokens, target: { name: `synthetic.${seed}.weight`, rows, cols, weight, stats: { tokens, sum, sumSquares, gram } } };
}

/** ||W X - W' X||_F over the layer's tokens, in f64. */
export function reconstructionError(layer: SyntheticLayer, pruned: Float32Array): number {
  const { x, tokens, target } = layer;
  const { rows, cols, weight } = target;
  const diff = Float64Array.from(weight, (w, i) => w - pruned[i]);
  let total = 0;
  for (let t = 0; t < tokens; t++) {
    for (let r = 0; r < rows; r++) {
      let s = 0;
      for (let j = 0; j < cols; j++) s += diff[r * cols + j] * x[t * cols + j];
      total += s * s;
    }
  }
  return Math.sqrt(total);
}
