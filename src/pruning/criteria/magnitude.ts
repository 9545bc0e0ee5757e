/**
 * Magnitude pruning (Han et al. 2015, "Learning both Weights and Connections for Efficient
 * Neural Networks"): S_ij = |W_ij|. Needs no calibration, which makes it the baseline every
 * activation-aware method is measured against.
 */
import type { Criterion, PruneTarget } from '../types.js';

export class MagnitudeCriterion implements Criterion {
  readonly name = 'magnitude';
  readonly needs = { norms: false, gram: false };

  score(target: PruneTarget): Float32Array {
    return target.weight.map(Math.abs);
  }
}
