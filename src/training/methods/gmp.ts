/**
 * Gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune"): start dense; every
 * `interval` steps from `startStep` to `endStep`, prune the smallest-magnitude weights of each
 * layer up to the cubic schedule's sparsity at that step (schedules.ts); pruned weights stay
 * pruned. Per-layer targets follow uniform or ER densities at the scheduled global sparsity.
 */
import { ArgumentError } from '../../core/errors.js';
import { type DensityDistribution, layerDensities } from '../densities.js';
import { countOnes, lowestActive } from '../mask-ops.js';
import { cubicSparsity } from '../schedules.js';
import type { MaskChange, MaskUpdateContext, SparseLayer, SparseTrainingMethod } from '../types.js';

export interface GradualMagnitudeOptions {
  readonly sparsity: number;
  readonly startStep: number;
  readonly endStep: number;
  readonly interval: number;
  readonly distribution?: DensityDistribution;
}

export class GradualMagnitudePruning implements SparseTrainingMethod {
  readonly name = 'gmp';
  readonly needsGradients = false;

  constructor(private readonly options: GradualMagnitudeOptions) {
    const { startStep, endStep, interval } = options;
    if (!Number.isInteger(interval) || interval < 1 || !(endStep > startStep) || startStep < 0) {
      throw new ArgumentError(`gmp: need 0 <= startStep < endStep and a positive integer interval, got ${startStep}, ${endStep}, ${interval}`);
    }
  }

  /** The scheduled global sparsity after `step`. */
  sparsityAt(step: number): number {
    const { sparsity, startStep, endStep, interval } = this.options;
    return cubicSparsity(step, 0, sparsity, startStep, Math.ceil((endStep - startStep) / interval), interval);
  }

  initialMasks(layers: readonly SparseLayer[]): Map<string, Uint8Array> {
    return new Map(layers.map((l) => [l.name, new Uint8Array(l.rows * l.cols).fill(1)]));
  }

  updatesAt(step: number): boolean {
    const { startStep, endStep, interval } = this.options;
    return step >= startStep && step <= endStep + interval && (step - startStep) % interval === 0;
  }

  update(layers: readonly SparseLayer[], masks: ReadonlyMap<string, Uint8Array>, context: MaskUpdateContext): Map<string, MaskChange> | null {
    if (!this.updatesAt(context.step)) return null;
    const target = this.sparsityAt(context.step);
    if (target <= 0) return null;
    const densities = layerDensities(layers, target, this.options.distribution ?? 'uniform');
    const changes = new Map<string, MaskChange>();
    for (const layer of layers) {
      const before = masks.get(layer.name)!;
      const n = before.length;
      const keep = Math.round(densities.get(layer.name)! * n);
      const drop = countOnes(before) - keep;
      if (drop <= 0) continue;
      const mask = before.slice();
      for (const i of lowestActive(context.weights.get(layer.name)!, mask, drop)) mask[i] = 0;
      changes.set(layer.name, { mask, grown: null });
    }
    return changes;
  }
}
