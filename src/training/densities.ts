/**
 * Per-layer densities for a global sparsity: uniform, or Erdős–Rényi (Mocanu et al. 2018; the
 * ER of RigL's ERK for fully connected layers, density proportional to (n_in + n_out) /
 * (n_in n_out), the pruning allocator's solver: layers above density 1 made dense and the rest
 * re-solved).
 */
import { ArgumentError } from '../core/errors.js';
import { erkDensities } from '../pruning/allocation/erk.js';
import type { SparseLayer } from './types.js';

export const DENSITY_DISTRIBUTIONS = ['uniform', 'erk'] as const;
export type DensityDistribution = (typeof DENSITY_DISTRIBUTIONS)[number];

export function layerDensities(layers: readonly SparseLayer[], sparsity: number, distribution: DensityDistribution): Map<string, number> {
  if (!(sparsity >= 0 && sparsity < 1)) throw new ArgumentError(`sparse training: sparsity must be in [0, 1), got ${sparsity}`);
  if (distribution === 'uniform') return new Map(layers.map((l) => [l.name, 1 - sparsity]));
  if (distribution !== 'erk') throw new ArgumentError(`unknown density distribution '${String(distribution)}'; choose ${DENSITY_DISTRIBUTIONS.join(', ')}`);
  const densities = erkDensities(layers.map((l, block) => ({ name: l.name, rows: l.rows, cols: l.cols, block, weight: new Float32Array(0), stats: null })), sparsity);
  return new Map(layers.map((l, i) => [l.name, Math.min(1, densities[i])]));
}
