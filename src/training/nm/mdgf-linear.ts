/**
 * MDGF-Linear (Bambhaniya et al. 2024): pruned weights' mask value falls linearly,
 * alpha_t = max(0, 1 - kappa (t - t0)), 1 before t0, and 0 from the fine-tuning step on (the
 * authors' code turns the mask binary for the last fine_tune_steps of training).
 *
 * Choice the paper leaves open: the authors' code counts t from the end of the dense phase (its
 * comment) but subtracts the dense steps divided by 100 (train.py); we count from `startStep`.
 */
import { ArgumentError } from '../../core/errors.js';
import type { MaskDecaySchedule } from './types.js';

export interface LinearMaskDecayOptions {
  /** kappa, the fall per step (the authors' decay_coef; default there 2e-4). */
  readonly coefficient: number;
  /** t0: alpha is 1 up to this step. Default 0. */
  readonly startStep?: number;
  /** From this step on alpha is 0 (binary mask). Default: never. */
  readonly fineTuneStep?: number;
}

export class LinearMaskDecay implements MaskDecaySchedule {
  readonly name = 'mdgf-linear';
  readonly coefficient: number;
  readonly startStep: number;
  readonly fineTuneStep: number;

  constructor(options: LinearMaskDecayOptions) {
    this.coefficient = options.coefficient;
    this.startStep = options.startStep ?? 0;
    this.fineTuneStep = options.fineTuneStep ?? Infinity;
    if (!(this.coefficient > 0 && Number.isFinite(this.coefficient))) throw new ArgumentError(`MDGF-Linear: the decay coefficient must be a finite number > 0, got ${this.coefficient}`);
    if (!(this.startStep >= 0) || !(this.fineTuneStep > this.startStep)) throw new ArgumentError(`MDGF-Linear: need 0 <= startStep < fineTuneStep, got ${this.startStep} and ${this.fineTuneStep}`);
  }

  at(step: number): number {
    if (step >= this.fineTuneStep) return 0;
    return Math.max(0, 1 - this.coefficient * Math.max(0, step - this.startStep));
  }
}
