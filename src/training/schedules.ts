/** When and how much: the sparsity and drop-fraction schedules of the sparse-training papers. */

/**
 * Gradual pruning (Zhu & Gupta 2017, "To prune, or not to prune"): from s_i at step t0 to s_f
 * over n pruning steps dt apart, s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3; s_i before
 * t0, s_f after t0 + n dt.
 */
export function cubicSparsity(step: number, initial: number, final: number, start: number, steps: number, interval: number): number {
  if (step < start) return initial;
  const progress = Math.min(1, (step - start) / (steps * interval));
  return final + (initial - final) * (1 - progress) ** 3;
}

/** RigL's drop fraction (Evci et al. 2020): alpha / 2 (1 + cos(pi t / T_end)), 0 from T_end on. */
export function cosineDropFraction(step: number, alpha: number, endStep: number): number {
  if (step >= endStep) return 0;
  return (alpha / 2) * (1 + Math.cos((Math.PI * step) / endStep));
}
