/**
 * MDGF-Exponential (Bambhaniya et al. 2024), the paper's best recipe at high sparsity: pruned
 * weights' mask value falls as alpha_t = exp(-kappa (t - t0)), 1 before t0, and 0 from the
 * fine-tuning step on (the authors' code turns the mask binary for the last fine_tune_steps).
 * alpha never reaches 0 by itself, so without a fine-tuning phase only the controller's final
 * projection onto the target pattern makes the weights exactly N:M.
 */
import { ArgumentError } from '../../core/errors.js';
import type { MaskDecaySchedule } from './types.js';

export interface ExponentialMaskDecayOptions {
  /** kappa, the decay rate per step (the authors' decay_coef). */
  readonly coefficient: number;
  /** t0: alpha is 1 up to this step. Default 0. */
  readonly startStep?: number;
  /** From this step on alpha is 0 (binary mask). Default: never. */
  readonly fineTuneStep?: number;
}

export class ExponentialMaskDecay implements MaskDecaySchedule {
  readonly name = 'mdgf-exponential';
  readonly coefficient: number;
  readonly startStep: number;
  readonly fineTuneStep: number;

  constructor(options: ExponentialMaskDecayOptions) {
    this.coefficient = options.coefficient;
    this.startStep = options.startStep ?? 0;
    this.fineTuneStep = options.fineTuneStep ?? Infinity;
    if (!(this.coefficient > 0 && Number.isFinite(this.coefficient))) throw new ArgumentError(`MDGF-Exponential: the decay coefficient must be a finite number > 0, got ${this.coefficient}`);
    if (!(this.startStep >= 0) || !(this.fineTuneStep > this.startStep)) throw new ArgumentError(`MDGF-Exponential: need 0 <= startStep < fineTuneStep, got ${this.startStep} and ${this.fineTuneStep}`);
  }

  at(step: number): number {
    if (step >= this.fineTuneStep) return 0;
    return Math.exp(-this.coefficient * Math.max(0, step - this.startStep));
  }
}
