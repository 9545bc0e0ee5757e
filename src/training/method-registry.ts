/**
 * Sparse-training methods by name, with the schedules their papers use when the caller gives
 * none: SET and RigL update every `interval` steps until 75% of training (RigL's T_end), gradual
 * magnitude pruning runs from 10% to 60% of training (our classification runs; Zhu & Gupta
 * prune over a window well before the end so the network recovers).
 */
import { ArgumentError } from '../core/errors.js';
import type { DensityDistribution } from './densities.js';
import { GradualMagnitudePruning } from './methods/gmp.js';
import { Rigl } from './methods/rigl.js';
import { SetMethod } from './methods/set.js';
import { StaticSparse } from './methods/static.js';
import type { SparseTrainingMethod } from './types.js';

export const SPARSE_TRAINING_METHODS = ['dense', 'static', 'set', 'rigl', 'gmp'] as const;
export type SparseTrainingMethodName = (typeof SPARSE_TRAINING_METHODS)[number];

export interface SparseTrainingSpec {
  readonly method: SparseTrainingMethodName;
  /** Global fraction of masked weights at the end (ignored by dense). */
  readonly sparsity: number;
  readonly distribution?: DensityDistribution;
  /** Steps between mask updates (SET, RigL, GMP). */
  readonly interval?: number;
  /** SET/RigL: the initial drop fraction (alpha). */
  readonly dropFraction?: number;
  /** SET/RigL: no updates from this fraction of training on; GMP: the pruning window, as fractions of training. */
  readonly endFraction?: number;
  readonly startFraction?: number;
  readonly seed?: number;
}

/** The method for a run of `steps` steps, or null for dense training. */
export function createSparseTrainingMethod(spec: SparseTrainingSpec, steps: number): SparseTrainingMethod | null {
  const { method, sparsity, distribution = 'erk', seed = 0 } = spec;
  const interval = spec.interval ?? Math.max(1, Math.round(steps / 40));
  switch (method) {
    case 'dense':
      return null;
    case 'static':
      return new StaticSparse({ sparsity, distribution, seed });
    case 'set':
    case 'rigl': {
      const options = { sparsity, distribution, seed, interval, dropFraction: spec.dropFraction ?? 0.3, endStep: Math.max(1, Math.round((spec.endFraction ?? 0.75) * steps)) };
      return method === 'set' ? new SetMethod(options) : new Rigl(options);
    }
    case 'gmp': {
      const startStep = Math.round((spec.startFraction ?? 0.1) * steps);
      const endStep = Math.max(startStep + 1, Math.round((spec.endFraction ?? 0.6) * steps));
      return new GradualMagnitudePruning({ sparsity, distribution, interval, startStep, endStep });
    }
    default:
      throw new ArgumentError(`unknown sparse-training method '${String(method)}'; choose ${SPARSE_TRAINING_METHODS.join(', ')}`);
  }
}
