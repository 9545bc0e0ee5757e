/**
 * Per-layer densities for a global sparsity: uniform, or Erdős–Rényi-Kernel (Evci et al. 2020,
 * "Rigging the Lottery", RigL; ER from Mocanu et al. 2018). Each layer's density is eps times its
 * weight shape's sum over its product, RigL's get_sparsities_erdos_renyi:
 *
 *   Linear [n_out, n_in]:          (n_in + n_out) / (n_in n_out)
 *   conv [n_out, n_in, k_h, k_w]:  (n_in + n_out + k_h + k_w) / (n_in n_out k_h k_w)
 *
 * with eps such that the kept weights are (1 - sparsity) of all. A layer whose density would
 * exceed 1 is made dense and eps solved again over the rest, one step at a time (as RigL; the
 * solver is the pruning allocator's, pruning/allocation/erk.ts, given the kernel-aware scores).
 */
import { ArgumentError } from '../core/errors.js';
import { solveErkDensities } from '../pruning/allocation/erk.js';
import type { SparseLayer } from './types.js';

export const DENSITY_DISTRIBUTIONS = ['uniform', 'erk'] as const;
export type DensityDistribution = (typeof DENSITY_DISTRIBUTIONS)[number];

export function layerDensities(layers: readonly SparseLayer[], sparsity: number, distribution: DensityDistribution): Map<string, number> {
  if (!(sparsity >= 0 && sparsity < 1)) throw new ArgumentError(`sparse training: sparsity must be in [0, 1), got ${sparsity}`);
  if (distribution === 'uniform') return new Map(layers.map((l) => [l.name, 1 - sparsity]));
  if (distribution !== 'erk') throw new ArgumentError(`unknown density distribution '${String(distribution)}'; choose ${DENSITY_DISTRIBUTIONS.join(', ')}`);
  const densities = solveErkDensities(
    layers.map((l) => l.rows * l.cols),
    layers.map(erkScore),
    sparsity,
  );
  return new Map(layers.map((l, i) => [l.name, densities[i]]));
}

/** The ERK raw score of a layer: the sum of its weight's dims over their product (see above). */
export function erkScore(layer: SparseLayer): number {
  const { rows, cols, kernel } = layer;
  if (!kernel) return (rows + cols) / (rows * cols);
  const [kh, kw] = kernel;
  if (!Number.isInteger(kh) || !Number.isInteger(kw) || kh < 1 || kw < 1 || cols % (kh * kw) !== 0) {
    throw new ArgumentError(`sparse training: ${layer.name} has ${cols} columns, not a multiple of its ${kh}x${kw} kernel`);
  }
  const inChannels = cols / (kh * kw);
  return (inChannels + rows + kh + kw) / (rows * cols);
}
