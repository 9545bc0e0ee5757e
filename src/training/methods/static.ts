/**
 * Static sparse training: a random mask drawn once, with uniform or Erdős–Rényi layer densities
 * (Mocanu et al. 2018; Liu et al. 2022, "The Unreasonable Effectiveness of Random Pruning"), kept
 * for the whole run. The baseline the dynamic methods are measured against.
 */
import { Random } from '../../core/random.js';
import { type DensityDistribution, layerDensities } from '../densities.js';
import { randomMask } from '../mask-ops.js';
import type { MaskChange, MaskUpdateContext, SparseLayer, SparseTrainingMethod } from '../types.js';

export interface StaticSparseOptions {
  readonly sparsity: number;
  readonly distribution?: DensityDistribution;
  readonly seed?: number;
}

export class StaticSparse implements SparseTrainingMethod {
  readonly name: string = 'static';
  readonly needsGradients: boolean = false;
  protected readonly rng: Random;

  constructor(protected readonly options: StaticSparseOptions) {
    this.rng = new Random(options.seed ?? 0);
  }

  /** The generator's state (mask draws, SET's regrowth), for training checkpoints. */
  randomState(): number[] {
    return this.rng.state();
  }

  restoreRandomState(state: readonly number[]): void {
    this.rng.setState(state);
  }

  initialMasks(layers: readonly SparseLayer[]): Map<string, Uint8Array> {
    const densities = layerDensities(layers, this.options.sparsity, this.options.distribution ?? 'uniform');
    return new Map(layers.map((l) => [l.name, randomMask(l.rows * l.cols, Math.round(densities.get(l.name)! * l.rows * l.cols), this.rng)]));
  }

  updatesAt(_step: number): boolean {
    return false;
  }

  update(_layers: readonly SparseLayer[], _masks: ReadonlyMap<string, Uint8Array>, _context: MaskUpdateContext): Map<string, MaskChange> | null {
    return null;
  }
}
