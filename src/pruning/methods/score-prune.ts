/**
 * Score-and-select pruning, the shape of magnitude pruning (Han et al. 2015) and Wanda (Sun et
 * al. 2023, Alg. 1): score every weight with a Criterion, keep what the Pattern selects, zero
 * the rest. No weight is updated -- that is what distinguishes these from SparseGPT.
 */
import { ArgumentError } from '../../core/errors.js';
import { patternFor } from '../patterns/index.js';
import type { Criterion, PatternSpec, PruneMethod, PruneResult, PruneTarget } from '../types.js';

export interface ScorePruneOptions {
  /**
   * Forces where unstructured scores are compared (the recipe's `group`), whatever the spec
   * passed to prune() says; absent, the spec's group is used.
   */
  readonly group?: 'row' | 'layer';
}

export class ScorePrune implements PruneMethod {
  readonly name: string;
  readonly needs: { readonly norms: boolean; readonly gram: boolean };

  constructor(readonly criterion: Criterion, readonly options: ScorePruneOptions = {}) {
    this.name = criterion.name;
    this.needs = criterion.needs;
  }

  prune(target: PruneTarget, sparsity: number, pattern: PatternSpec): PruneResult {
    const { rows, cols, weight } = target;
    if (weight.length !== rows * cols) throw new ArgumentError(`${this.name}: ${target.name} has ${weight.length} weights, not ${rows} x ${cols}`);
    const group = this.options.group;
    const spec: PatternSpec = pattern.kind === 'unstructured' && group ? { kind: 'unstructured', group } : pattern;
    const mask = patternFor(spec).select(this.criterion.score(target), rows, cols, sparsity);
    return { weight: mask.apply(weight), mask };
  }
}
