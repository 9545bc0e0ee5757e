/** Learning-rate schedules: linear warmup, then cosine decay (Loshchilov & Hutter 2017, SGDR without restarts). */
import { ArgumentError } from '../../core/errors.js';

export interface LearningRateSchedule {
  /** The learning rate at `step` (0-based). */
  at(step: number): number;
}

export interface WarmupCosineOptions {
  readonly peak: number;
  readonly warmupSteps: number;
  readonly totalSteps: number;
  /** The floor, as a fraction of the peak (default 0.1). */
  readonly minRatio?: number;
}

export function warmupCosine(options: WarmupCosineOptions): LearningRateSchedule {
  const { peak, warmupSteps, totalSteps, minRatio = 0.1 } = options;
  if (!(peak > 0) || !Number.isInteger(warmupSteps) || warmupSteps < 0 || !Number.isInteger(totalSteps) || totalSteps <= warmupSteps) {
    throw new ArgumentError(`warmup-cosine: need peak > 0 and integers 0 <= warmupSteps < totalSteps, got ${peak}, ${warmupSteps}, ${totalSteps}`);
  }
  if (!(minRatio >= 0 && minRatio <= 1)) throw new ArgumentError(`warmup-cosine: minRatio must be in [0, 1], got ${minRatio}`);
  return {
    at(step: number): number {
      if (step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
      const progress = Math.min(1, (step - warmupSteps) / (totalSteps - warmupSteps));
      return peak * (minRatio + (1 - minRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
    },
  };
}

export function constantRate(rate: number): LearningRateSchedule {
  if (!(rate >= 0)) throw new ArgumentError(`constant learning rate must be >= 0, got ${rate}`);
  return { at: () => rate };
}
