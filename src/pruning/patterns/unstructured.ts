/**
 * Unstructured selection per output row as in Wanda (Sun et al. 2023, "A Simple and Effective
 * Pruning Approach for Large Language Models", sec. 3, "per output" comparison groups), or over
 * the whole layer ('layer', as magnitude pruning classically does).
 *
 * Count: exactly round(sparsity * groupSize) weights go from each group (a row of `cols`, or the
 * layer of rows * cols). Wanda's code takes int(cols * sparsity), i.e. floor; the two agree
 * whenever sparsity * cols is a whole number (50% of an even width), and round() is immune to
 * 0.29 * 100 = 28.999999999999996. Ties: the lower flat index is pruned first (select.ts).
 */
import type { Mask } from '../../sparse/mask.js';
import type { Pattern, PatternSpec } from '../types.js';
import { allKept, assertScores, assertSparsity, pruneLowest } from './select.js';

export class UnstructuredPattern implements Pattern {
  readonly spec: PatternSpec;

  constructor(readonly group: 'row' | 'layer') {
    this.spec = { kind: 'unstructured', group };
  }

  select(scores: Float32Array, rows: number, cols: number, sparsity: number): Mask {
    assertSparsity(sparsity, `unstructured (${this.group}) pattern`);
    assertScores(scores, rows, cols, `unstructured (${this.group}) pattern`);
    const { mask, drop } = allKept(rows, cols);
    if (this.group === 'layer') {
      pruneLowest(scores, 0, rows * cols, Math.round(sparsity * rows * cols), drop);
    } else {
      const k = Math.round(sparsity * cols);
      const scratch = new Float64Array(cols);
      for (let r = 0; r < rows; r++) pruneLowest(scores, r * cols, cols, k, drop, scratch);
    }
    return mask;
  }
}
