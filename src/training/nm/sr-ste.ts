/**
 * SR-STE (Zhou et al. 2021, "Learning N:M Fine-grained Structured Sparse Neural Networks From
 * Scratch"): the straight-through gradient to the dense weights plus a sparse-refined
 * term that decays the pruned ones,
 *   W_{t+1} = W_t - lr (g(W~_t) + lambda_W (1 - M) ⊙ W_t),
 * so a pruned weight is pulled toward zero and the mask settles (fewer flips between steps,
 * the paper's "sparse architecture divergence"). lambda_W = 0 is plain STE.
 */
import { ArgumentError } from '../../core/errors.js';

/** lambda_W of the paper and of both authors' codes (decay = 0.0002). */
export const SR_STE_PAPER_DECAY = 2e-4;

export function checkSrSteDecay(decay: number): number {
  if (!(decay >= 0 && Number.isFinite(decay))) throw new ArgumentError(`SR-STE: the decay lambda_W must be a finite number >= 0, got ${decay}`);
  return decay;
}
